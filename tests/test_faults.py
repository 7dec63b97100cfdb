"""Fault injection: what happens to a run when something else happens to it. Two runs on one
folder, signals (SIGTERM, SIGHUP, SIGINT) at seeded instants start-up included, a full disk (a
small tmpfs, where this machine lets the test mount one). Each case checks the exit status,
the one line said, and that nothing partial remains. The table of bad inputs, one line each,
is tests/test_cli_failures.py."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import sparseae
from sparseae.cli import main
from sparseae.cli.run_folder import RunFolder

pytestmark = [pytest.mark.skipif(os.name != "posix", reason="POSIX signals, flock and mounts"),
              pytest.mark.unconverged]
LONG = ["train", "--data", "digits", "--n-hidden", "16", "--max-iter", "1000000", "--tol", "0", "--quiet"]


def _start(argv, cwd):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "sparseae", *argv], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path, proc, timeout=120):
    deadline = time.monotonic() + timeout
    while not path.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert path.exists(), f"{path} never appeared: {proc.communicate()[1] if proc.poll() is not None else ''}"


def _no_partials(folder):
    return [p.name for p in Path(folder).rglob("*") if ".partial-" in p.name or p.name.endswith((".tmp", ".lock"))]


def test_a_second_run_on_a_folder_being_written_is_refused_and_the_first_is_whole(tmp_path, capsys):
    first = _start([*LONG, "--checkpoint-every", "1", "--out", "run"], tmp_path)
    _wait_for(tmp_path / ".run.lock", first)
    assert main([*LONG[:-3], "--max-iter", "2", "--quiet", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert f"is being written by another sparseae run (process {first.pid})" in err and err.count("\n") == 1, err
    # into the first run's fit, however slow the machine: its first checkpoint is written after an iteration
    _wait_for(tmp_path / "run" / "checkpoint.safetensors", first)
    first.send_signal(signal.SIGINT)
    _, first_err = first.communicate(timeout=60)
    assert first.returncode == 130, first_err
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    model = sparseae.load(tmp_path / "run" / "model.safetensors")
    assert metrics["stopped"] == "interrupted" and metrics["n_iter"] == model.n_iter_ >= 1
    assert _no_partials(tmp_path) == []


def test_a_resume_of_a_run_being_written_is_refused(tmp_path, capsys):
    first = _start([*LONG, "--checkpoint-every", "5", "--out", "run"], tmp_path)
    _wait_for(tmp_path / "run" / "checkpoint.safetensors", first)
    before = (tmp_path / "run" / "run.json").read_bytes()
    assert main(["train", "--resume", str(tmp_path / "run")]) == 2
    assert "is being written by another sparseae run" in capsys.readouterr().err
    first.send_signal(signal.SIGTERM)
    first.communicate(timeout=60)
    assert first.returncode == 128 + signal.SIGTERM
    assert (tmp_path / "run" / "run.json").read_bytes() == before


def test_default_run_names_started_in_the_same_second_differ(tmp_path, monkeypatch):
    from datetime import datetime

    import sparseae.cli.run_folder as run_folder

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 12, 1, 12, 0, 0)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(run_folder, "datetime", Frozen)
    with RunFolder() as a, RunFolder() as b:  # both writing at once
        assert a.final != b.final
        a.commit()
        b.commit()
    with RunFolder() as c:  # later in the same second: the names written are taken
        assert c.final not in (a.final, b.final)
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["20261201-120000", "20261201-120000-1"]


def test_a_partial_folder_a_killed_run_left_is_removed_by_the_next_run(tmp_path):
    proc = _start([*LONG, "--out", "run"], tmp_path)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".run.partial-*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert list(tmp_path.glob(".run.partial-*")), "SIGKILL leaves the partial folder behind"
    assert main(["train", "--data", "digits", "--n-hidden", "4", "--max-iter", "2", "--quiet",
                 "--out", str(tmp_path / "run")]) == 0
    assert _no_partials(tmp_path) == [] and (tmp_path / "run" / "metrics.json").exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_save_the_last_iteration_as_ctrl_c_does(tmp_path, sig):
    proc = _start([*LONG, "--solver", "gd", "--checkpoint-every", "20", "--out", "run"], tmp_path)
    _wait_for(tmp_path / "run" / "checkpoint.safetensors", proc)  # well into the fit
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err and err.count("\n") == 1
    assert f"interrupted ({signal.Signals(sig).name}) after" in err
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["stopped"] == "interrupted" and metrics["signal"] == signal.Signals(sig).name
    assert sparseae.load(tmp_path / "run" / "model.safetensors").n_iter_ == metrics["n_iter"] >= 20
    assert _no_partials(tmp_path) == []


@pytest.mark.parametrize("seed", range(6))
def test_a_signal_at_any_instant_ends_in_one_line_and_leaves_a_whole_run_or_nothing(tmp_path, seed):
    chance = random.Random(seed)
    sig = chance.choice([signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
    delay = chance.uniform(0.05, 2.5)  # start-up (imports), data, fit
    proc = _start(["train", "--data", "digits", "--n-hidden", "16", "--max-iter", "200", "--quiet", "--out", "run"],
                  tmp_path)
    time.sleep(delay)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert "Traceback" not in err, err
    assert proc.returncode in (0, 128 + sig), (proc.returncode, err)
    assert _no_partials(tmp_path) == []
    if (tmp_path / "run").exists():
        metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
        assert metrics["n_iter"] == sparseae.load(tmp_path / "run" / "model.safetensors").n_iter_
    else:
        assert proc.returncode == 128 + sig and os.listdir(tmp_path) == []


def test_an_interrupt_before_the_fit_records_its_warnings_is_still_an_interrupt(monkeypatch):
    import importlib
    import warnings

    train = importlib.import_module("sparseae.cli.train")

    class Interrupted:  # the signal lands as the with statement enters, before it binds its list
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            raise KeyboardInterrupt

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(warnings, "catch_warnings", Interrupted)
    try:
        with pytest.raises(KeyboardInterrupt):  # was an UnboundLocalError from the finally block, a traceback
            train._fit_to_max_iter(None, None, {})
    finally:
        monkeypatch.undo()  # before pytest's own warning capture needs catch_warnings again


def test_an_interrupt_on_the_edge_of_main_is_one_line_and_the_signal_status(monkeypatch, capsys):
    import sparseae.cli
    from sparseae import _entry

    def interrupted(argv=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(sparseae.cli, "main", interrupted)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        with pytest.raises(SystemExit) as exit_:
            _entry.run()
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert exit_.value.code == 130
    err = capsys.readouterr().err
    assert err == "sparseae: interrupted (SIGINT)\n" and "Traceback" not in err


def test_a_signal_as_a_temporary_file_is_created_leaves_no_file(tmp_path, monkeypatch):
    import tempfile

    from sparseae import _io, _signals

    made = tempfile.mkstemp

    def interrupted(*args, **kwargs):  # SIGTERM as the temporary file exists, before its name is kept
        fd_name = made(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # (the handler runs between bytecodes)
            pass
        return fd_name

    monkeypatch.setattr(tempfile, "mkstemp", interrupted)
    with pytest.raises(_signals.Signalled, match="SIGTERM"), _signals.handled():
        with _io.atomic_path(tmp_path / "model.safetensors") as path:
            path.write_bytes(b"never reached")
    assert os.listdir(tmp_path) == []  # was ['.model.safetensors.XXXXXXXX.tmp']


def test_a_signal_that_lands_in_a_finaliser_still_interrupts_and_prints_nothing(capsys):
    from sparseae import _signals

    class Finalised:  # a signal handled while Python runs a __del__ (or a weakref callback in a collection)
        def __del__(self):
            signal.raise_signal(signal.SIGTERM)
            for _ in range(100):  # the handler runs between these bytecodes, inside __del__
                pass

    before = sys.unraisablehook
    with pytest.raises(_signals.Signalled, match="SIGTERM"), _signals.handled():
        Finalised()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # delivered again: it surfaces here, in the main flow
            pass
    assert "Exception ignored" not in capsys.readouterr().err
    assert sys.unraisablehook is before and signal.getsignal(signal.SIGTERM) is not _signals._interrupt


# -- a full disk -----------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs: where the test may mount one (root on Linux), else the test is skipped."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root on Linux")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"this machine does not let the test mount a tmpfs: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_is_one_line_and_leaves_nothing(small_disk, tmp_path, capsys):
    X = np.random.default_rng(0).uniform(0.1, 0.9, size=(300, 64))
    np.save(tmp_path / "x.npy", X)
    big = ["train", "--data", str(tmp_path / "x.npy"), "--n-hidden", "400", "--max-iter", "2", "--quiet"]
    cases = [  # (argv, what fills the disk)
        ([*big, "--out", str(small_disk / "run")], "the run folder's model"),
        ([*big, "--checkpoint-every", "1", "--out", str(small_disk / "ckpt")], "the first checkpoint"),
    ]
    assert main([*big, "--out", str(tmp_path / "model_run")]) == 0
    model = tmp_path / "model_run" / "model.safetensors"
    rows = np.random.default_rng(1).uniform(0.1, 0.9, size=(2000, 64))
    np.save(tmp_path / "rows.npy", rows)  # 2000 x 400 features: 6.4 MB, more than the disk
    cases.append((["encode", str(model), str(tmp_path / "rows.npy"), "-o", str(small_disk / "f.npy")], "encode"))
    capsys.readouterr()
    for argv, what in cases:
        assert main(argv) == 1, what
        err = capsys.readouterr().err
        assert "No space left on device" in err and err.count("\n") == 1 and "Traceback" not in err, (what, err)
        left = [p.name for p in small_disk.rglob("*") if p.is_file()]
        if what == "the first checkpoint":  # the folder exists from the start, with run.json alone
            assert left == ["run.json"], left
            (small_disk / "ckpt" / "run.json").unlink()
            (small_disk / "ckpt").rmdir()
        else:
            assert left == [] and list(small_disk.iterdir()) == [], (what, list(small_disk.rglob("*")))
    with pytest.raises(sparseae.errors.WriteError, match="No space left on device"):
        sparseae.load(model).save(small_disk / "m.safetensors")
    assert list(small_disk.iterdir()) == []


def test_a_folder_given_as_a_file_name_is_a_write_error(tmp_path):
    model = sparseae.SparseAutoencoder(3, max_iter=2, random_state=0).fit(np.full((20, 4), 0.5))
    (tmp_path / "taken.safetensors").mkdir()
    with pytest.raises(sparseae.errors.WriteError, match="it is a folder; give a file name"):
        sparseae.save(model, tmp_path / "taken.safetensors")
    with pytest.raises(sparseae.errors.WriteError, match="it is a folder"):
        sparseae.SparseAutoencoder(3, max_iter=4, random_state=0).fit(
            np.full((20, 4), 0.5), checkpoint=tmp_path / "taken.safetensors", checkpoint_every=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.safetensors"]


def test_a_damaged_report_data_byte_is_refused_not_drawn(tmp_path, capsys):
    assert main(["train", "--data", "digits", "--n-hidden", "4", "--max-iter", "3", "--quiet",
                 "--out", str(tmp_path / "run")]) == 0
    data = tmp_path / "run" / "report_data.safetensors"
    raw = bytearray(data.read_bytes())
    raw[-5] ^= 0x01  # one bit of the last stored patch
    data.write_bytes(bytes(raw))
    capsys.readouterr()
    assert main(["report", str(tmp_path / "run")]) == 1
    assert "do not match their saved digest" in capsys.readouterr().err


def test_a_fit_too_large_for_memory_is_refused_before_allocating(monkeypatch):
    import tracemalloc

    from sparseae import memory

    monkeypatch.setattr(memory, "available_bytes", lambda: 50_000_000)  # a 50 MB machine
    X = np.random.default_rng(0).uniform(0.1, 0.9, size=(200, 64))
    tracemalloc.start()
    with pytest.raises(sparseae.errors.MemoryNeedError, match=r"needs about [\d.]+ MB .*; 50.0 MB is available"):
        sparseae.SparseAutoencoder(20_000).fit(X)  # 2.6 M parameters: 16 vectors of them, 330 MB
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5_000_000  # θ0 (20 MB) was never allocated
    sparseae.SparseAutoencoder(20, max_iter=2).fit(X)  # what fits is trained
    with pytest.raises(sparseae.errors.MemoryNeedError, match="SoftmaxRegression"):
        sparseae.SoftmaxRegression(max_iter=2).fit(np.zeros((10, 10**6 // 2)), np.arange(10) % 10)


def test_out_as_a_symlink_to_a_folder_is_written_through_the_link(tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / "link").symlink_to(target)
    argv = ["train", "--data", "digits", "--n-hidden", "4", "--max-iter", "2", "--quiet",
            "--out", str(tmp_path / "link")]
    assert main(argv) == 0
    assert (tmp_path / "link").is_symlink() and (target / "metrics.json").exists()
    first = (target / "model.safetensors").read_bytes()
    assert main([*argv, "--seed", "1", "--overwrite"]) == 0
    assert (tmp_path / "link").is_symlink() and (target / "model.safetensors").read_bytes() != first
    assert _no_partials(tmp_path) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", "link"]
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    assert main([*argv[:-1], str(tmp_path / "dangling")]) == 2


def test_an_encode_whose_chunks_cannot_fit_is_refused_before_writing(tmp_path, monkeypatch, capsys):
    from sparseae import memory

    X = np.random.default_rng(0).uniform(0.1, 0.9, size=(2000, 9))
    np.save(tmp_path / "x.npy", X)
    sparseae.SparseAutoencoder(4, max_iter=2, random_state=0).fit(X).save(tmp_path / "m.safetensors")
    monkeypatch.setattr(memory, "available_bytes", lambda: 100_000)
    argv = ["encode", str(tmp_path / "m.safetensors"), str(tmp_path / "x.npy"), "-o", str(tmp_path / "f.npy")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "encoding 2,000 rows a chunk of 9 features into 4 needs about 624 kB" in err, err
    assert "give a smaller --batch-size" in err and not (tmp_path / "f.npy").exists()
    assert main([*argv, "--batch-size", "200"]) == 0  # 62 kB a chunk
    np.testing.assert_allclose(np.load(tmp_path / "f.npy"), sparseae.load(tmp_path / "m.safetensors").transform(X))


def test_an_interrupt_that_a_c_extension_import_turns_into_an_import_error_is_an_interrupt(monkeypatch, capsys):
    """A SIGINT inside a pybind11 module's initialisation surfaces as "ImportError: initialization
    failed" (seen once in CI, in SciPy's HiGHS): with a signal received it is the interrupt."""
    import sparseae._signals as signals
    import sparseae.cli as cli

    def interrupted_import(args):
        signals.received = signal.SIGTERM
        raise ImportError("initialization failed")

    monkeypatch.setitem(cli.COMMANDS, "report", interrupted_import)
    assert main(["report", "anywhere"]) == 128 + signal.SIGTERM
    err = capsys.readouterr().err
    assert err == "sparseae report: interrupted (SIGTERM); nothing was left half-written\n"

    def broken_import(args):
        raise ImportError("a real one")

    monkeypatch.setitem(cli.COMMANDS, "report", broken_import)
    with pytest.raises(ImportError, match="a real one"):  # without a signal it is what it says
        main(["report", "anywhere"])


def test_a_taken_out_is_refused_before_the_data_is_read(tmp_path, monkeypatch, capsys):
    import sparseae.datasets as datasets

    monkeypatch.setattr(datasets, "load_training_data", lambda *a, **k: pytest.fail("the data was read"))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "old.txt").write_text("kept")
    assert main(["train", "--out", str(tmp_path / "run"), "--quiet"]) == 2
    assert "already exists and is not an empty folder" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"] and (tmp_path / "run" / "old.txt").exists()


def test_a_signal_while_pytorch_is_imported_waits_for_the_import(tmp_path):
    """A NumPy fit imports PyTorch for its borrowed kernels; a SIGINT inside PyTorch's C++ module
    set-up ended the process with "terminate called after throwing an instance of
    'pybind11::error_already_set'" (SIGABRT, seen in this file's random-instant test). The import
    now holds signals back: it completes, and the interrupt comes after it."""
    pytest.importorskip("torch", reason="PyTorch not installed (optional extra)")
    script = tmp_path / "import_interrupted.py"
    script.write_text(
        "import os, signal, sys\n"
        "from sparseae import _signals\n"
        "from sparseae.engine import kernels\n"
        "class Finder:\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'torch.functional':  # partway through `import torch`\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "        return None\n"
        "sys.meta_path.insert(0, Finder())\n"
        "with _signals.handled():\n"
        "    try:\n"
        "        kernels.torch_module()\n"
        "    except KeyboardInterrupt:\n"
        "        torch = sys.modules.get('torch')\n"
        "        print('interrupted after the import:', hasattr(torch, 'matmul') and kernels._torch is torch)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "SPARSEAE_TORCH_KERNELS"}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "interrupted after the import: True", (done.stdout, done.stderr)
