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


def test_jumprelu_starts_compares_at_each_saelens_points_l0_paired_by_seed():
    """sparseae's FVU is read off each seed's curve at SAELens's L0 (linear in log L0); a SAELens
    point outside a curve's L0 range is not extrapolated."""
    compare = script("jumprelu_starts").compare
    rows = []
    for seed in (0, 1):
        for l0 in (20.0, 40.0, 80.0):  # sparseae: FVU = 1 - 0.2 ln L0 (+ 0.01 for seed 1)
            rows.append(dict(library="sparseae", start="defaults", seed=seed, l0=l0, dead=seed,
                             fvu=1 - 0.2 * np.log(l0) + 0.01 * seed))
        rows.append(dict(library="SAELens", start="norm 0.1", seed=seed, l0=30.0 + 20 * seed, dead=5, fvu=0.3))
    rows.append(dict(library="SAELens", start="norm 0.3", seed=0, l0=100.0, dead=1, fvu=0.2))  # beyond the curves
    (row,) = compare(rows)
    assert row["saelens_start"] == "norm 0.1" and row["points"] == 2
    expected = np.mean([np.mean([1 - 0.2 * np.log(l0) + 0.01 * s for s in (0, 1)]) for l0 in (30.0, 50.0)])
    assert row["sparseae_fvu"] == pytest.approx(expected, rel=1e-12)
    assert row["paired_mean"] == pytest.approx(expected - 0.3, rel=1e-12)
    assert row["sparseae_dead"] == [0, 1] and row["saelens_dead"] == [5, 5]
