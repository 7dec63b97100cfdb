"""Shard folders as training data: rows across shards, checksums, dtypes, the CLI and Dask."""

import json

import numpy as np
import pytest

from sparseae import DataError, SparseAutoencoder, load
from sparseae.errors import DataChangedError, DataFileNotFoundError
from sparseae.shards import ShardRows, write_manifest, write_shard

pytestmark = pytest.mark.unconverged


def make_folder(path, parts, dtype=np.float32, complete=True):
    path.mkdir()
    shards = [write_shard(path, f"shard_{i:05d}.npy", part.astype(dtype)) for i, part in enumerate(parts)]
    write_manifest(path, {"kind": "test rows", "shards": shards, "complete": complete})
    return path


@pytest.fixture
def parts(rng):
    return [rng.standard_normal((n, 6)) for n in (40, 7, 25)]


def test_rows_slices_and_indices_span_the_shards(tmp_path, parts):
    rows = ShardRows(make_folder(tmp_path / "s", parts))
    whole = np.concatenate(parts).astype(np.float32)
    assert rows.shape == (72, 6) and rows.dtype == np.float32 and len(rows) == 72
    np.testing.assert_array_equal(rows.rows(0, 72), whole)
    np.testing.assert_array_equal(rows.rows(35, 50), whole[35:50])  # three shards in one read
    np.testing.assert_array_equal(rows[10:60:3], whole[10:60:3])
    index = np.array([71, 0, 45, 40, 39, 46])
    np.testing.assert_array_equal(rows[index], whole[index])
    np.testing.assert_array_equal(np.asarray(rows), whole)


def test_fit_from_a_shard_folder_equals_the_fit_in_memory(tmp_path, parts):
    folder = make_folder(tmp_path / "s", parts, dtype=np.float64)
    X = np.concatenate(parts)
    kw = dict(activation="relu", output_activation="linear", sparsity="l1", sparsity_weight=1e-3, max_iter=15,
              random_state=0)
    a = SparseAutoencoder(5, **kw).fit(X)
    b = SparseAutoencoder(5, batch_size=30, **kw).fit(folder)  # chunks of 30 rows across the shards
    np.testing.assert_allclose(b.coefs_[0], a.coefs_[0], rtol=1e-9, atol=1e-12)
    c = SparseAutoencoder(5, **kw).fit(str(folder))
    np.testing.assert_allclose(c.coefs_[0], a.coefs_[0], rtol=1e-9, atol=1e-12)


def test_a_changed_missing_or_mixed_shard_is_refused(tmp_path, parts):
    folder = make_folder(tmp_path / "s", parts)
    data = np.load(folder / "shard_00001.npy")
    data[0, 0] += 1
    np.save(folder / "shard_00001.npy", data)
    with pytest.raises(DataChangedError, match="shard 'shard_00001.npy' .* has changed.*SHA-256"):
        ShardRows(folder)
    (folder / "shard_00001.npy").unlink()
    with pytest.raises(DataFileNotFoundError, match="shard 'shard_00001.npy' .* is missing"):
        SparseAutoencoder(3).fit(folder)
    mixed = tmp_path / "m"
    mixed.mkdir()
    shards = [write_shard(mixed, "a.npy", parts[0].astype(np.float32)), write_shard(mixed, "b.npy", parts[1])]
    write_manifest(mixed, {"shards": shards})
    with pytest.raises(DataError, match="mix dtypes \\(float32, float64\\)"):
        ShardRows(mixed)
    partial = make_folder(tmp_path / "p", parts, complete=False)
    with pytest.raises(DataError, match="incomplete \\(an interrupted run\\)"):
        ShardRows(partial)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "manifest.json").write_text(json.dumps({"format_version": 99, "shards": []}))
    with pytest.raises(DataError, match="format version 99"):
        ShardRows(tmp_path / "bad")
    (tmp_path / "plain").mkdir()
    with pytest.raises(DataError, match="folder without a shard manifest"):
        SparseAutoencoder(3).fit(tmp_path / "plain")


def test_the_cli_trains_on_a_shard_folder(tmp_path, parts):
    from sparseae.cli import main

    folder = make_folder(tmp_path / "s", [p * 0.1 for p in parts])
    out = tmp_path / "run"
    # the command: on a folder of activations ReLU units and the linear decoder by default
    argv = ["train", "--data", str(folder), "--n-hidden", "8", "--sparsity", "topk", "--k", "2", "--solver", "adam",
            "--max-iter", "3", "--dtype", "float32", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_examples"] == 72
    model = load(out / "model.safetensors")
    assert (model.activation, model.output_activation) == ("relu", "linear")
    argv[-3:-1] = ["--out", str(tmp_path / "tanh")]
    assert main([*argv, "--activation", "sigmoid"]) == 0  # a flag given still wins
    assert load(tmp_path / "tanh" / "model.safetensors").activation == "sigmoid"


def test_as_a_dask_array(tmp_path, parts):
    pytest.importorskip("dask.array", reason="Dask is not installed (pip install 'sparseae[dask]')")
    rows = ShardRows(make_folder(tmp_path / "s", parts))
    array = rows.to_dask()
    assert array.shape == (72, 6) and array.chunks[0] == (40, 7, 25)
    np.testing.assert_array_equal(array.compute(), np.concatenate(parts).astype(np.float32))


def test_encode_reads_a_shard_folder_shard_by_shard(tmp_path, parts, capsys):
    """``sparseae encode MODEL acts/``: the features of every row of every shard, in order,
    equal to transform on the rows in memory; a chunk that spans two shards included."""
    from sparseae.cli import main

    folder = make_folder(tmp_path / "s", parts, dtype=np.float64)
    X = np.concatenate(parts)
    model = SparseAutoencoder(5, sparsity="topk", k=2, activation="relu", output_activation="linear", max_iter=5,
                              random_state=0).fit(X)
    path = model.save(tmp_path / "m.safetensors")
    out = tmp_path / "features.npy"
    assert main(["encode", str(path), str(folder), "-o", str(out), "--batch-size", "30"]) == 0
    np.testing.assert_allclose(np.load(out), model.transform(X), rtol=1e-12, atol=1e-15)
    assert "72 rows" in capsys.readouterr().out
    assert main(["encode", str(path), str(folder), "-o", str(tmp_path / "k.npy"), "--key", "X"]) == 2  # usage
    assert "drop key" in capsys.readouterr().err
    assert not (tmp_path / "k.npy").exists()
