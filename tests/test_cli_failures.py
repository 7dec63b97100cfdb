"""Every subcommand x every failure class a user can hit: the exit code (2 usage, 1 anything
else), exactly one line on stderr that names the problem in the command line's words, no
traceback, and no file left anywhere (under a final name or a temporary one)."""

import os
import re
import struct
import tempfile

import numpy as np
import pytest
from safetensors.numpy import save_file

import sparseae
from sparseae import SparseAutoencoder
from sparseae.cli import main

pytestmark = pytest.mark.unconverged


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Good and bad inputs of every kind, made once; each test runs in a fresh folder beside them."""
    d = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    X = rng.uniform(0.1, 0.9, size=(40, 9))
    np.save(d / "good.npy", X)
    SparseAutoencoder(4, max_iter=3, random_state=0).fit(X).save(d / "model.safetensors")
    good_model = (d / "model.safetensors").read_bytes()
    (d / "truncated.safetensors").write_bytes(good_model[:-40])
    (d / "corrupt.safetensors").write_bytes(good_model[:8] + b"\x7f" * 40 + good_model[48:])
    save_file({"x": np.zeros(3)}, str(d / "foreign.safetensors"))
    (d / "a_folder.safetensors").mkdir()
    (d / "empty.npy").write_bytes(b"")
    np.save(d / "no_rows.npy", np.zeros((0, 9)))
    (d / "truncated.npy").write_bytes((d / "good.npy").read_bytes()[:-100])
    (d / "corrupt.npy").write_bytes(b"\x93NUMPY garbage" + bytes(range(50)))
    np.save(d / "three_d.npy", np.zeros((4, 3, 3)))
    nan = X.copy()
    nan[3, 2] = np.nan
    np.save(d / "nan.npy", nan)
    np.save(d / "eight.npy", X[:, :8])
    np.save(d / "wide_range.npy", X * 5)
    np.save(d / "huge.npy", np.full((20, 9), 1e200))
    np.savez(d / "two.npz", a=X, b=X)
    (d / "empty.csv").write_text("")
    (d / "header.csv").write_text("a,b,c\n")
    (d / "notes.txt").write_text("not data\n")
    (d / "mnist").mkdir()
    idx = struct.pack(">IIII", 2051, 10, 28, 28) + bytes(100)  # header says 10 images, has 100 bytes
    (d / "mnist" / "t10k-images-idx3-ubyte").write_bytes(idx)
    (d / "mnist" / "t10k-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, 10) + bytes(10))
    y = (X[:, 0] > 0.5).astype(int)
    np.savez(d / "labeled.npz", X=X, y=y)
    np.savez(d / "one_class.npz", X=X, y=np.zeros(40))
    np.save(d / "labels_short.npy", y[:-1])
    np.save(d / "labels_nan.npy", np.where(np.arange(40) == 7, np.nan, y))
    sparseae.SoftmaxRegression(max_iter=5, random_state=0).fit(X, y).save(d / "classifier.safetensors")
    readonly = d / "readonly"
    readonly.mkdir()
    readonly.chmod(0o555)
    (d / "existing.png").write_bytes(b"not replaced")
    deep = "[" * 100_000 + "]" * 100_000  # nests deeper than Python's JSON parser recurses
    save_file({"x": np.zeros(3)}, str(d / "deep.safetensors"), metadata={"sparseae": deep})
    (d / "deep_run").mkdir()
    (d / "deep_run" / "metrics.json").write_text(deep)
    (d / "list_run").mkdir()
    (d / "list_run" / "metrics.json").write_text("[]")
    overflow = struct.pack(">IIII", 2051, 2**31, 2**31, 4) + bytes(64)  # 2^64 values: int64 overflows to 0
    (d / "overflow-idx3-ubyte").write_bytes(overflow)
    (d / "bad_first_row.csv").write_text("0.1,0.2x,0.3\n" + "0.4,0.5,0.6\n" * 5)
    (d / "bad_row_7.csv").write_text("a,b,c\n" + "0.4,0.5,0.6\n" * 4 + "\n0.1,,0.3\n")
    return d


def _torch_device_message():
    try:
        import torch  # noqa: F401
    except ImportError:
        return r"--device needs PyTorch|device= needs PyTorch"
    return r"--device mps cannot be used by PyTorch"


# (subcommand, failure class, argv with {d} for the inputs' folder, exit code, what stderr says)
CASES = [
    ("(none)", "bad flag", [], 2, r"^sparseae: error: the following arguments are required: COMMAND$"),
    ("train", "bad flag", ["train", "--bogus"], 2, r"unrecognized arguments: --bogus"),
    ("train", "bad value", ["train", "--n-hidden", "0"], 2, r"^sparseae train: error: --n-hidden must be an int in the range \[1, inf\)"),
    ("train", "bad value", ["train", "--sparsity-target", "1.5"], 2, r"--sparsity-target must be a float in the range \(0.0, 1.0\)\. Got 1.5"),
    ("train", "bad value", ["train", "--activation", "softplus"], 2, r"--activation must be a str among \{'sigmoid', 'tanh', 'relu'\}"),
    ("train", "bad value", ["train", "--seed", "-1"], 2, r"^sparseae train: error: argument --seed: expected a whole number >= 0, got '-1'$"),
    ("train", "bad value", ["train", "--max-iter", "many"], 2, r"argument --max-iter: expected a whole number >= 1 or auto, got 'many'"),
    ("train", "bad value", ["train", "--patches", "0"], 2, r"argument --patches: expected a whole number >= 1, got '0'"),
    ("train", "bad value", ["train", "--dtype", "float16"], 2, r"--dtype must be a str among \{'float64', 'float32'\}"),
    ("train", "missing file", ["train", "--data", "{d}/missing.npy"], 1, r"data file '.*missing.npy' does not exist"),
    ("train", "empty file", ["train", "--data", "{d}/empty.npy"], 1, r"cannot read '.*empty.npy' as .npy"),
    ("train", "empty file", ["train", "--data", "{d}/no_rows.npy"], 1, r"X is empty: shape \(0, 9\)"),
    ("train", "empty file", ["train", "--data", "{d}/empty.csv"], 1, r"empty.csv' holds no rows of numbers"),
    ("train", "empty file", ["train", "--data", "{d}/header.csv"], 1, r"header.csv' holds no rows of numbers \(empty, or a header alone\)"),
    ("train", "truncated file", ["train", "--data", "{d}/truncated.npy"], 1, r"truncated.npy' is truncated: its header says shape \(40, 9\) \(3008 bytes\), the file has 2908 bytes"),
    ("encode", "truncated file", ["encode", "{d}/model.safetensors", "{d}/truncated.npy", "-o", "f.npy"], 1, r"truncated.npy' is truncated"),
    ("train", "corrupt file", ["train", "--data", "{d}/corrupt.npy"], 1, r"cannot read '.*corrupt.npy' as .npy"),
    ("train", "foreign file", ["train", "--data", "{d}/notes.txt"], 1, r"must end in .npy, .npz or .csv, got '.txt'"),
    ("train", "foreign file", ["train", "--data", "{d}/two.npz"], 1, r"holds 2 arrays \['a', 'b'\]; say which with key \(--key\)"),
    ("train", "foreign file", ["train", "--data", "{d}/two.npz", "--key", "c"], 1, r"has no array 'c'; it holds \['a', 'b'\]"),
    ("train", "wrong shape", ["train", "--data", "{d}/three_d.npy"], 1, r"holds an array of shape \(4, 3, 3\); fit needs 2-D rows"),
    ("train", "NaN", ["train", "--data", "{d}/nan.npy"], 1, r"X has 1 NaN or infinite values \(first at row 3, column 2\)"),
    ("train", "value range", ["train", "--data", "{d}/wide_range.npy"], 1, r"outside \[0, 1\] .* \(--output-activation linear\)"),
    ("train", "non-finite cost", ["train", "--data", "{d}/huge.npy", "--output-activation", "linear"], 1,
     r"the cost became non-finite after 0 iterations .* before the first iteration completed; nothing written"),
    ("train", "existing output", ["train", "--data", "{d}/good.npy", "--out", "{d}"], 2,
     r"--out '.*' already exists and is not an empty folder; choose another or pass --overwrite"),
    ("train", "read-only output", ["train", "--data", "{d}/good.npy", "--out", "{d}/readonly/run"], 1,
     r"cannot write to '.*readonly': Permission denied"),
    ("train", "device unavailable", ["train", "--device", "mps"], 1, _torch_device_message()),
    ("encode", "bad flag", ["encode", "{d}/model.safetensors", "{d}/good.npy"], 2, r"the following arguments are required: -o/--output"),
    ("encode", "bad value", ["encode", "{d}/model.safetensors", "{d}/good.npy", "-o", "f.npy", "--batch-size", "0"], 2,
     r"argument --batch-size: expected a whole number >= 1, got '0'"),
    ("encode", "missing file", ["encode", "{d}/nope.safetensors", "{d}/good.npy", "-o", "f.npy"], 1, r"model file '.*nope.safetensors' does not exist"),
    ("encode", "missing file", ["encode", "{d}/model.safetensors", "{d}/nope.npy", "-o", "f.npy"], 1, r"data file '.*nope.npy' does not exist"),
    ("encode", "empty file", ["encode", "{d}/model.safetensors", "{d}/no_rows.npy", "-o", "f.npy"], 1, r"holds no rows \(shape \(0, 9\)\); there is nothing to encode"),
    ("encode", "empty file", ["encode", "{d}/model.safetensors", "{d}/empty.npy", "-o", "f.npy"], 1, r"cannot read '.*empty.npy' as .npy"),
    ("encode", "empty file", ["encode", "{d}/model.safetensors", "{d}/header.csv", "-o", "f.npy"], 1, r"holds no rows of numbers"),
    ("encode", "truncated file", ["encode", "{d}/truncated.safetensors", "{d}/good.npy", "-o", "f.npy"], 1, r"not a readable safetensors model file \(corrupt or truncated\?\)"),
    ("encode", "corrupt file", ["encode", "{d}/corrupt.safetensors", "{d}/good.npy", "-o", "f.npy"], 1, r"corrupt"),
    ("encode", "foreign file", ["encode", "{d}/foreign.safetensors", "{d}/good.npy", "-o", "f.npy"], 1, r"is a safetensors file but not a sparseae model"),
    ("encode", "foreign file", ["encode", "{d}/a_folder.safetensors", "{d}/good.npy", "-o", "f.npy"], 1, r"is a folder, not a model file"),
    ("encode", "foreign file", ["encode", "{d}/model.safetensors", "{d}/two.npz", "-o", "f.npy"], 1, r"say which with key \(--key\)"),
    ("encode", "wrong shape", ["encode", "{d}/model.safetensors", "{d}/eight.npy", "-o", "f.npy"], 1, r"X has 8 features, but SparseAutoencoder is expecting 9"),
    ("encode", "wrong shape", ["encode", "{d}/model.safetensors", "{d}/three_d.npy", "-o", "f.npy"], 1, r"holds an array of shape \(4, 3, 3\); encode needs 2-D rows"),
    ("encode", "NaN", ["encode", "{d}/model.safetensors", "{d}/nan.npy", "-o", "f.npy"], 1, r"data has 1 NaN or infinite values \(first at row 3, column 2\)"),
    ("encode", "existing output", ["encode", "{d}/model.safetensors", "{d}/good.npy", "-o", "{d}/good.npy"], 2, r"-o '.*good.npy' already exists; choose another or pass --overwrite"),
    ("encode", "read-only output", ["encode", "{d}/model.safetensors", "{d}/good.npy", "-o", "{d}/readonly/f.npy"], 1, r"readonly.*: Permission denied"),
    ("show", "bad flag", ["show"], 2, r"the following arguments are required: model"),
    ("show", "bad value", ["show", "{d}/model.safetensors", "--patch-shape", "2", "2"], 2, r"patch_shape \(2, 2\) does not hold 9 features"),
    ("show", "missing file", ["show", "{d}/nope.safetensors"], 1, r"does not exist"),
    ("show", "truncated file", ["show", "{d}/truncated.safetensors"], 1, r"corrupt or truncated"),
    ("show", "foreign file", ["show", "{d}/foreign.safetensors"], 1, r"not a sparseae model"),
    ("show", "existing output", ["show", "{d}/model.safetensors", "-o", "{d}/existing.png"], 2, r"already exists; choose another or pass --overwrite"),
    ("show", "wrong extension", ["show", "{d}/model.safetensors", "-o", "x.jpg"], 2, r"-o 'x.jpg': this command writes .png files"),
    ("encode", "wrong extension", ["encode", "{d}/model.safetensors", "{d}/good.npy", "-o", "f.csv"], 2, r"writes .npy files"),
    ("predict", "wrong extension", ["predict", "{d}/classifier.safetensors", "{d}/good.npy", "-o", "f.npy"], 2, r"writes .csv files"),
    ("encode", "deep JSON", ["encode", "{d}/deep.safetensors", "{d}/good.npy", "-o", "f.npy"], 1, r"damaged sparseae config: its JSON nests too deep"),
    ("report", "deep JSON", ["report", "{d}/deep_run"], 1, r"metrics.json' is damaged: its JSON nests too deep to read"),
    ("report", "not an object", ["report", "{d}/list_run"], 1, r"metrics.json' is damaged: it holds a JSON list, not an object"),
    ("train", "overflowing IDX", ["train", "--data", "{d}/overflow-idx3-ubyte"], 1, r"is truncated: header says shape \(2147483648, 2147483648, 4\)"),
    ("train", "cannot apply", ["train", "--data", "{d}/good.npy", "--key", "X"], 2, r"--key names one array of a .npz file; --data .*good.npy is not one"),
    ("encode", "cannot apply", ["encode", "{d}/model.safetensors", "{d}/good.npy", "-o", "f.npy", "--key", "X"], 2, r"--key X names one array of a .npz file; '.*good.npy' is not one"),
    ("train", "cannot apply", ["train", "--data", "{d}/good.npy", "--colour"], 2, r"--colour samples RGB patches of a folder of images"),
    ("train", "cannot apply", ["train", "--data", "{d}/good.npy", "--patches", "500"], 2, r"--patches is for patches of images"),
    ("train", "cannot apply", ["train", "--data", "digits", "--patch-size", "4"], 2, r"--patch-size is for patches of images"),
    ("train", "cannot apply", ["train", "--stream", "--solver", "lbfgs"], 2, r"--stream trains with a minibatch solver \(adam\); --solver lbfgs needs all the data"),
    ("train", "too large", ["train", "--n-hidden", "100000000"], 1, r"needs about [\d.]+ TB of memory .*; [\d.]+ [GMT]B is available: use fewer hidden units"),
    ("stack", "too large", ["stack", "--data", "{d}/labeled.npz", "--hidden", "100000000", "1000"], 1, r"a 9-100000000-1000-2 StackedSparseAutoencoder .* needs about"),
    ("train", "malformed CSV", ["train", "--data", "{d}/bad_first_row.csv"], 1, r"bad_first_row.csv', line 1: '0.2x' is not a number"),
    ("train", "malformed CSV", ["train", "--data", "{d}/bad_row_7.csv"], 1, r"bad_row_7.csv', line 7: '' is not a number"),
    ("show", "read-only output", ["show", "{d}/model.safetensors", "-o", "{d}/readonly/f.png"], 1, r"readonly.*: Permission denied"),
    ("stack", "bad flag", ["stack"], 2, r"^sparseae stack: error: give --data \(with --labels unless the file holds them\) or --mnist"),
    ("stack", "bad value", ["stack", "--data", "{d}/labeled.npz", "--hidden", "0"], 2, r"argument --hidden: expected a whole number >= 1, got '0'"),
    ("stack", "bad value", ["stack", "--data", "{d}/labeled.npz", "--test-fraction", "1"], 2, r"--test-fraction must be in \[0, 1\), got 1.0"),
    ("stack", "bad value", ["stack", "--data", "{d}/labeled.npz", "--weight-decay", "-1"], 2, r"--weight-decay must be a float in the range \[0.0, inf\)"),
    ("stack", "missing file", ["stack", "--data", "{d}/missing.npz"], 1, r"data file '.*missing.npz' does not exist"),
    ("stack", "no labels", ["stack", "--data", "{d}/good.npy"], 2, r"holds no labels: give the labels file too \(--labels\)"),
    ("stack", "wrong shape", ["stack", "--data", "{d}/good.npy", "--labels", "{d}/labels_short.npy"], 1,
     r"holds 40 examples but '.*labels_short.npy' holds 39 labels"),
    ("stack", "one class", ["stack", "--data", "{d}/one_class.npz"], 1, r"y holds one class"),
    ("stack", "NaN", ["stack", "--data", "{d}/good.npy", "--labels", "{d}/labels_nan.npy"], 1, r"y has 1 NaN or infinite labels \(first at row 7\)"),
    ("stack", "existing output", ["stack", "--data", "{d}/labeled.npz", "--out", "{d}"], 2, r"--out '.*' already exists"),
    ("predict", "bad flag", ["predict", "{d}/classifier.safetensors", "{d}/good.npy"], 2, r"required: -o/--output"),
    ("predict", "foreign file", ["predict", "{d}/model.safetensors", "{d}/good.npy", "-o", "l.csv"], 1, r"holds a SparseAutoencoder, not a classifier"),
    ("predict", "wrong shape", ["predict", "{d}/classifier.safetensors", "{d}/eight.npy", "-o", "l.csv"], 1, r"X has 8 features, but SoftmaxRegression is expecting 9"),
    ("predict", "NaN", ["predict", "{d}/classifier.safetensors", "{d}/nan.npy", "-o", "l.csv"], 1, r"data has 1 NaN"),
    ("predict", "existing output", ["predict", "{d}/classifier.safetensors", "{d}/good.npy", "-o", "{d}/header.csv"], 2, r"already exists"),
    ("predict", "read-only output", ["predict", "{d}/classifier.safetensors", "{d}/good.npy", "-o", "{d}/readonly/l.csv"], 1, r"Permission denied"),
    ("gradcheck", "bad flag", ["gradcheck", "--bogus"], 2, r"unrecognized arguments: --bogus"),
    ("gradcheck", "bad value", ["gradcheck", "--threshold", "nan"], 2, r"argument --threshold: expected a positive number, got 'nan'"),
    ("gradcheck", "bad value", ["gradcheck", "--threshold", "-1"], 2, r"argument --threshold: expected a positive number, got '-1'"),
    ("gradcheck", "bad value", ["gradcheck", "--epsilon", "0"], 2, r"argument --epsilon: expected a positive number, got '0'"),
    ("selftaught", "bad flag", ["selftaught"], 2, r"the following arguments are required: --mnist"),
    ("selftaught", "bad value", ["selftaught", "--mnist", "{d}/mnist", "--n-hidden", "0"], 2, r"argument --n-hidden: expected a whole number >= 1"),
    ("selftaught", "missing file", ["selftaught", "--mnist", "{d}/nowhere"], 1, r"no t10k-images-idx3-ubyte\[.gz\] in"),
    ("selftaught", "missing file", ["selftaught", "--mnist", "{d}/nowhere", "--out", "results"], 1, r"no t10k-images-idx3-ubyte\[.gz\] in"),
    ("selftaught", "truncated file", ["selftaught", "--mnist", "{d}/mnist"], 1, r"is truncated: header says shape \(10, 28, 28\)"),
    ("selftaught", "existing output", ["selftaught", "--mnist", "{d}/mnist", "--out", "{d}"], 2, r"--out '.*' already exists"),
    ("conv", "bad flag", ["conv"], 2, r"the following arguments are required: --mnist"),
    ("conv", "bad value", ["conv", "--mnist", "{d}/mnist", "--n-train", "0"], 2, r"argument --n-train: expected a whole number >= 10"),
    ("conv", "missing file", ["conv", "--mnist", "{d}/nowhere", "--out", "results"], 1, r"no t10k-images-idx3-ubyte\[.gz\] in"),
    ("conv", "truncated file", ["conv", "--mnist", "{d}/mnist"], 1, r"is truncated: header says shape \(10, 28, 28\)"),
    ("conv", "existing output", ["conv", "--mnist", "{d}/mnist", "--out", "{d}"], 2, r"--out '.*' already exists"),
]


def _tree(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture
def unwritable(monkeypatch, files):
    """The readonly folder refuses new files: by its permissions, or, for root (whom permissions
    do not stop, as in CI), by failing the calls that create files there as the kernel would."""
    if os.geteuid() != 0:
        return
    readonly = str(files / "readonly")

    def guard(original):
        def create(*args, dir=None, **kwargs):
            if dir is not None and str(dir).startswith(readonly):
                raise PermissionError(13, "Permission denied", str(dir))
            return original(*args, dir=dir, **kwargs)

        return create

    monkeypatch.setattr(tempfile, "mkstemp", guard(tempfile.mkstemp))
    monkeypatch.setattr(tempfile, "mkdtemp", guard(tempfile.mkdtemp))


@pytest.mark.parametrize("command, failure, argv, code, says", CASES,
                         ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_failure_is_one_line_and_leaves_nothing(command, failure, argv, code, says, files, tmp_path,
                                                monkeypatch, capsys, unwritable):
    monkeypatch.chdir(tmp_path)
    inputs_before, here_before = _tree(files), _tree(tmp_path)
    argv = [a.replace("{d}", str(files)) for a in argv]
    common = ["--quiet", "--max-iter", "3"] if command == "train" else []
    assert main(argv + common if argv[:1] == ["train"] and len(argv) > 1 else argv) == code
    out, err = capsys.readouterr()
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err and re.search(says, err.strip()), err
    assert err.startswith("sparseae")
    assert _tree(files) == inputs_before and _tree(tmp_path) == here_before  # nothing written


def test_a_divergence_after_some_iterations_saves_them_and_says_where(tmp_path, capsys):
    X = np.random.default_rng(0).normal(size=(50, 9))
    np.save(tmp_path / "x.npy", X)
    out = tmp_path / "run"
    argv = ["train", "--data", str(tmp_path / "x.npy"), "--n-hidden", "4", "--output-activation", "linear",
            "--solver", "gd", "--learning-rate", "20", "--max-iter", "1000", "--tol", "0", "--out", str(out), "--quiet"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    import json

    import sparseae

    metrics = json.loads((out / "metrics.json").read_text())  # (72 iterations on this machine's CPU)
    assert metrics["stopped"] == "diverged" and metrics["n_iter"] >= 1
    assert err.count("\n") == 1 and f"non-finite after {metrics['n_iter']} iterations" in err
    assert f"saved the last completed iteration to {out}/" in err
    assert np.isfinite(sparseae.load(out / "model.safetensors").loss_)


def test_an_existing_run_is_replaced_only_with_overwrite(tmp_path, capsys):
    X = np.random.default_rng(0).uniform(0.1, 0.9, size=(40, 9))
    np.save(tmp_path / "x.npy", X)
    argv = ["train", "--data", str(tmp_path / "x.npy"), "--n-hidden", "3", "--max-iter", "2", "--quiet",
            "--out", str(tmp_path / "run")]
    assert main(argv) == 0
    first = (tmp_path / "run" / "model.safetensors").read_bytes()
    assert main(argv + ["--seed", "1"]) == 2
    assert (tmp_path / "run" / "model.safetensors").read_bytes() == first
    assert main(argv + ["--seed", "1", "--overwrite"]) == 0
    assert (tmp_path / "run" / "model.safetensors").read_bytes() != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "x.npy"]  # no partial or old left
