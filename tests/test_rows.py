"""Rows of a .npy file read in chunks, and a file that changes under a fit."""

import numpy as np
import pytest

from sparseae import SparseAutoencoder, SparseObjective
from sparseae.rows import DataChangedError, NpyRows

KW = dict(weight_decay=1e-3, sparsity_target=0.05, sparsity_weight=3.0)



def test_file_changed_between_passes_is_detected(data):
    X, path = data
    objective = SparseObjective([20, 7, 20], NpyRows(path), chunk_size=300, **KW)
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
