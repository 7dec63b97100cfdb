"""The notes' two-pass method: chunked and out-of-core evaluation equal the in-memory one."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sparseae import Layout, SparseAutoencoder, SparseObjective
from sparseae.rows import DataChangedError, NpyRows

KW = dict(weight_decay=1e-3, sparsity_target=0.05, sparsity_weight=3.0)


@pytest.fixture
def data(tmp_path, rng):
    X = rng.uniform(0.05, 0.95, size=(1000, 20))
    path = tmp_path / "x.npy"
    np.save(path, X)
    return X, path


def rel(a, b):
    return abs(a - b) / abs(b)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
@pytest.mark.parametrize("batch_size", [1, 137, 999])
def test_chunked_objective_equals_in_memory(data, activation, batch_size):
    X, path = data
    theta = Layout([20, 7, 20]).initial_theta(0) + 0.01
    reference = SparseObjective([20, 7, 20], X, activation=activation, **KW)
    c0, g0 = reference(theta)
    for source in (X, NpyRows(path), NpyRows(np.load(path, mmap_mode="r"))):
        objective = SparseObjective(
            [20, 7, 20], source, activation=activation, batch_size=batch_size, **KW
        )
        c, g = objective(theta)
        assert rel(c, c0) < 1e-12
        assert np.linalg.norm(g - g0) / np.linalg.norm(g0) < 1e-12
        terms = objective.terms(theta)
        np.testing.assert_allclose(terms["rho_hat"], reference.terms(theta)["rho_hat"], rtol=1e-12)


def test_fit_from_a_path_matches_the_in_memory_fit(data):
    X, path = data
    kwargs = dict(n_hidden=7, max_iter=60, random_state=0, **KW)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        in_memory = SparseAutoencoder(**kwargs).fit(X)
        from_path = SparseAutoencoder(batch_size=300, **kwargs).fit(str(path))
        from_memmap = SparseAutoencoder(batch_size=300, **kwargs).fit(np.load(path, mmap_mode="r"))
    for model in (from_path, from_memmap):
        assert rel(model.loss_, in_memory.loss_) < 1e-6
        assert model.n_features_in_ == 20
        np.testing.assert_allclose(model.transform(X), in_memory.transform(X), atol=1e-4)


@pytest.fixture
def row_reads(monkeypatch):
    """The sizes of the chunks read from .npy files during the test."""
    reads = []
    original = NpyRows.rows

    def spy(self, start, stop):
        reads.append(stop - start)
        return original(self, start, stop)

    monkeypatch.setattr(NpyRows, "rows", spy)
    return reads


def test_auto_batch_size_reads_a_file_in_chunks(data, monkeypatch, row_reads):
    import sparseae._data as data_module

    X, path = data
    monkeypatch.setattr(data_module, "CHUNK_BYTES", 100 * 8 * (20 + 2 * (20 + 7)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        SparseAutoencoder(7, max_iter=2, **KW).fit(path)
    assert max(row_reads) == 256  # the floor on chunk rows; never the whole file at once


def test_nan_in_a_chunk_names_the_global_row(tmp_path, data):
    X, _ = data
    X = X.copy()
    X[731, 5] = np.nan
    np.save(tmp_path / "bad.npy", X)
    with pytest.raises(ValueError, match=r"first at row 731, column 5"):
        SparseAutoencoder(7, batch_size=100).fit(tmp_path / "bad.npy")


def test_file_changed_between_passes_is_detected(data):
    X, path = data
    objective = SparseObjective([20, 7, 20], NpyRows(path), batch_size=300, **KW)
    theta = objective.layout.initial_theta(0)
    objective(theta)
    np.save(path, X[:500])  # rewritten: another shape
    with pytest.raises(DataChangedError, match="changed while it was being read"):
        objective(theta)


def test_truncated_and_foreign_files(tmp_path, data):
    _, path = data
    raw = path.read_bytes()
    (tmp_path / "short.npy").write_bytes(raw[:-100])
    with pytest.raises(ValueError, match="is truncated"):
        NpyRows(tmp_path / "short.npy")
    (tmp_path / "junk.npy").write_bytes(b"junk" * 10)
    with pytest.raises(ValueError, match="cannot read .* as .npy"):
        NpyRows(tmp_path / "junk.npy")
    np.save(tmp_path / "three.npy", np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="fit needs 2-D rows"):
        SparseAutoencoder().fit(tmp_path / "three.npy")


def test_in_memory_data_is_not_read_twice(data, monkeypatch):
    """When the data fits, one pass with the activations kept: each row goes through W(1) once."""
    import sparseae.backprop as backprop

    X, _ = data
    rows_through_w1 = []
    original = backprop.forward

    def counting(Ws, bs, rows, *args, **kwargs):
        if len(Ws) == 2:  # starts at the input layer, not from kept hidden activations
            rows_through_w1.append(rows.shape[0])
        return original(Ws, bs, rows, *args, **kwargs)

    monkeypatch.setattr(backprop, "forward", counting)
    theta = Layout([20, 7, 20]).initial_theta(0)
    SparseObjective([20, 7, 20], X, **KW)(theta)
    assert sum(rows_through_w1) == len(X)
    rows_through_w1.clear()
    SparseObjective([20, 7, 20], X, batch_size=500, **KW)(theta)
    assert sum(rows_through_w1) == 2 * len(X)  # the notes' two passes


def test_interrupt_keeps_last_completed_parameters(data, monkeypatch):
    X, _ = data
    model = SparseAutoencoder(7, max_iter=50, random_state=0, **KW)
    import sparseae.objective as objective_module

    original = objective_module.SparseObjective.evaluate
    count = [0]

    def interrupting(self, theta):
        count[0] += 1
        if count[0] == 12:
            raise KeyboardInterrupt
        return original(self, theta)

    monkeypatch.setattr(objective_module.SparseObjective, "evaluate", interrupting)
    with pytest.warns(UserWarning, match="keeps the parameters of the last completed iteration"):
        with pytest.raises(KeyboardInterrupt):
            model.fit(X)
    assert 0 < model.n_iter_ < 12
    assert len(model.loss_curve_) == model.n_iter_
    assert model.loss_ == pytest.approx(model.loss_curve_[-1], rel=1e-12)


def test_command_line_trains_from_a_npy_in_chunks(tmp_path, data, row_reads):
    """`sparseae train --data big.npy --batch-size N` reads the file in chunks, never whole."""
    import json

    from sparseae.cli import main

    X, path = data
    out = tmp_path / "run"
    argv = ["train", "--data", str(path), "--batch-size", "250", "--n-hidden", "7",
            "--max-iter", "5", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    assert row_reads and max(row_reads) == 250
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_examples"] == 1000 and metrics["layer_sizes"] == [20, 7, 20]
    exact = SparseObjective([20, 7, 20], X, weight_decay=1e-4, sparsity_target=0.01,
                            sparsity_weight=3.0)  # fmt: skip
    model = __import__("sparseae").load(out / "model.safetensors")
    assert metrics["cost"] == pytest.approx(exact(model.theta_)[0], rel=1e-12)


def test_command_line_streaming_solver(tmp_path, data):
    from sparseae.cli import main

    _, path = data
    out = tmp_path / "run"
    argv = ["train", "--data", str(path), "--solver", "adam", "--batch-size", "100",
            "--n-hidden", "7", "--max-iter", "3", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    assert (out / "model.safetensors").exists()
