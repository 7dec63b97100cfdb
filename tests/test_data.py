"""What fit accepts (sparseae._data): arrays, .npy paths and memmaps read in chunks, checked
once with errors that name the global row; the minibatches of an epoch."""


import numpy as np
import pytest

from sparseae import SparseAutoencoder
from sparseae._data import minibatches

pytestmark = pytest.mark.unconverged

KW = dict(weight_decay=1e-3, sparsity_target=0.05, sparsity_weight=3.0)


def test_fit_from_a_path_matches_the_in_memory_fit(data):
    X, path = data
    kwargs = dict(n_hidden=7, max_iter=60, random_state=0, **KW)
    in_memory = SparseAutoencoder(**kwargs).fit(X)
    from_path = SparseAutoencoder(batch_size=300, **kwargs).fit(str(path))
    from_memmap = SparseAutoencoder(batch_size=300, **kwargs).fit(np.load(path, mmap_mode="r"))
    for model in (from_path, from_memmap):
        assert rel(model.loss_, in_memory.loss_) < 1e-6
        assert model.n_features_in_ == 20
        np.testing.assert_allclose(model.transform(X), in_memory.transform(X), atol=1e-4)


def test_auto_batch_size_reads_a_file_in_chunks(data, monkeypatch, row_reads):
    import sparseae._data as data_module

    X, path = data
    monkeypatch.setattr(data_module, "CHUNK_BYTES", 100 * 8 * (20 + 2 * (20 + 7)))
    SparseAutoencoder(7, max_iter=2, **KW).fit(path)
    assert max(row_reads) == 256  # the floor on chunk rows; never the whole file at once


def test_nan_in_a_chunk_names_the_global_row(tmp_path, data):
    X, _ = data
    X = X.copy()
    X[731, 5] = np.nan
    np.save(tmp_path / "bad.npy", X)
    with pytest.raises(ValueError, match=r"first at row 731, column 5"):
        SparseAutoencoder(7, batch_size=100).fit(tmp_path / "bad.npy")


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


def rel(a, b):
    return abs(a - b) / abs(b)


def test_minibatches_cover_every_row_once_per_epoch(rng, data):
    X, path = data
    for source in (X, str(path)):
        from sparseae._data import as_rows

        rows = [x for x, _ in minibatches(X if source is X else as_rows(source), 300, np.random.RandomState(0))]
        assert [len(r) for r in rows].count(100) == 1 and sum(len(r) for r in rows) == 1000
        seen = np.sort(np.concatenate(rows), axis=0)
        np.testing.assert_array_equal(seen, np.sort(X, axis=0))


def test_row_chunks_name_the_global_row_whatever_holds_the_rows(tmp_path, data):
    from sparseae._data import row_chunks
    from sparseae.errors import DataError

    X, _ = data
    bad = X.copy()
    bad[731, 5] = np.inf
    np.save(tmp_path / "bad.npy", bad)
    for source in (bad, str(tmp_path / "bad.npy"), np.load(tmp_path / "bad.npy", mmap_mode="r")):
        chunks = row_chunks(source, 250, "data")
        start, first = next(chunks)
        assert start == 0 and first.shape == (250, 20)
        with pytest.raises(DataError, match=r"data has 1 NaN or infinite values \(first at row 731, column 5\)"):
            list(chunks)
    assert [len(c) for _, c in row_chunks(X.tolist(), 400)] == [400, 400, 200]  # any array-like
