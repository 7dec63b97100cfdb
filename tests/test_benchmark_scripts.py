"""The benchmark scripts that need data this machine may not have still run: STL-10's on files
written in its format (tiny settings), and it says what it needs without them."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.unconverged


def script(name):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return module


def test_stl10_script_says_it_needs_the_data(tmp_path, capsys):
    assert script("convolution_stl10").main(["--data", str(tmp_path / "stl10_binary")]) == 1
    assert "needs the STL-10 binary files" in capsys.readouterr().err


def test_stl10_script_runs_the_exercise_on_files_in_the_format(tmp_path, rng, capsys):
    from test_stl10 import write_images

    for part, n in (("train", 16), ("test", 12), ("unlabeled", 6)):
        write_images(tmp_path / f"{part}_X.bin", rng.integers(0, 256, size=(n, 96, 96, 3), dtype=np.uint8))
        if part != "unlabeled":
            np.resize(np.array([1, 3, 4, 6, 2], dtype=np.uint8), n).tofile(tmp_path / f"{part}_y.bin")
    out = tmp_path / "stl.json"
    argv = ["--data", str(tmp_path), "--patches", "400", "--features", "6", "--max-iter", "3", "--json", str(out)]
    assert script("convolution_stl10").main(argv) == 0
    record = json.loads(out.read_text())
    assert record["n_train"] == 13 and record["n_test"] == 10  # the four classes' images only
    assert 0 <= record["accuracy"] <= 1
    assert "STL-10 4 classes" in capsys.readouterr().out
