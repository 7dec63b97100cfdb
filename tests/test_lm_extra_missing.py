"""Without the lm extra, asking for a transformer's activations is a one-line error saying how
to install it (exit 1 on the command line); nothing is written."""

import sys

import pytest

from sparseae.errors import DependencyError


@pytest.mark.parametrize("missing", ["torch", "transformers", "all_minilm_l6_v2"])
def test_the_error_says_which_extra_to_install(monkeypatch, tmp_path, missing, capsys):
    monkeypatch.setitem(sys.modules, missing, None)  # import of it fails as if not installed
    # (PyTorch missing too is how the README's test command runs: `pip install ".[test]"` alone)
    from sparseae.datasets import transformer_activations

    with pytest.raises(DependencyError, match=r"pip install 'sparseae\[lm\]'"):
        transformer_activations(["a passage long enough to be a passage of its own"], out=tmp_path / "a")
    from sparseae.cli import main

    assert main(["activations", "-o", str(tmp_path / "b")]) == 1
    assert "sparseae[lm]" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
