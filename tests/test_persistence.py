import json
import struct

import numpy as np
import pytest
from safetensors.numpy import save_file

import sparseae
from sparseae import ModelFileError, SparseAutoencoder
from sparseae.persistence import _digest

pytestmark = pytest.mark.unconverged


@pytest.fixture(scope="module")
def model():
    X = np.random.default_rng(0).uniform(0.1, 0.9, size=(40, 9))
    return SparseAutoencoder(4, max_iter=10, random_state=3, activation="tanh").fit(X), X


def test_round_trip_is_exact(tmp_path, model):
    model, X = model
    path = model.save(tmp_path / "m.safetensors")
    loaded = sparseae.load(path)
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    np.testing.assert_array_equal(loaded.theta_, model.theta_)
    assert loaded.loss_ == model.loss_ and loaded.loss_curve_ == model.loss_curve_
    np.testing.assert_array_equal(loaded.loss_terms_["rho_hat"], model.loss_terms_["rho_hat"])
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def test_file_is_safetensors_with_versioned_json(tmp_path, model):
    model, _ = model
    path = model.save(tmp_path / "m.safetensors")
    raw = path.read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_len])
    config = json.loads(header["__metadata__"]["sparseae"])
    assert config["format_version"] == 2
    assert len(header["__metadata__"]["sparseae_sha256"]) == 64
    assert config["kind"] == "SparseAutoencoder"
    assert config["params"]["activation"] == "tanh"
    assert set(header) - {"__metadata__"} == {"W1", "b1", "W2", "b2", "rho_hat"}


def _rewrite(path, out, mutate):
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as f:
        arrays = {k: f.get_tensor(k) for k in f.keys()}
        config = json.loads(f.metadata()["sparseae"])
    mutate(config, arrays)
    document = json.dumps(config)  # well formed, with a digest that matches: a buggy writer's file
    save_file(arrays, str(out), metadata={"sparseae": document, "sparseae_sha256": _digest(document, arrays)})
    return out


def _flip(raw, offset):
    raw = bytearray(raw)
    raw[offset] ^= 0x01
    return bytes(raw)


def test_a_flipped_byte_in_a_weight_or_the_config_is_caught(tmp_path, model):
    model, _ = model
    good = model.save(tmp_path / "good.safetensors").read_bytes()
    (header_len,) = struct.unpack("<Q", good[:8])
    weights, config = tmp_path / "w.safetensors", tmp_path / "c.safetensors"
    weights.write_bytes(_flip(good, len(good) - 20))  # inside the last tensor's float64 bytes
    at = good.index(b'n_hidden\\": ') + len(b'n_hidden\\": ')  # the config's first digit of n_hidden
    config.write_bytes(good[:at] + bytes([good[at] ^ 0x01]) + good[at + 1 :])  # 4 -> 5 hidden units
    assert config.read_bytes() != good and len(config.read_bytes()) == len(good)
    for path in (weights, config):
        with pytest.raises(ModelFileError, match="do not match their saved digest"):
            sparseae.load(path)


def test_format_version_1_files_without_a_digest_still_load(tmp_path, model):
    model, X = model

    def version_1(config, arrays):
        config["format_version"] = 1

    path = _rewrite(model.save(tmp_path / "m.safetensors"), tmp_path / "v1.safetensors", version_1)
    from safetensors import safe_open
    from safetensors.numpy import load_file

    with safe_open(str(path), framework="np") as f:
        metadata = dict(f.metadata())
    del metadata["sparseae_sha256"]
    save_file(load_file(str(path)), str(path), metadata=metadata)
    np.testing.assert_array_equal(sparseae.load(path).transform(X), model.transform(X))


def test_bad_files_get_clear_errors(tmp_path, model):
    model, _ = model
    good = model.save(tmp_path / "good.safetensors")
    with pytest.raises(ModelFileError, match="does not exist"):
        sparseae.load(tmp_path / "missing.safetensors")
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(good.read_bytes()[:-50])
    with pytest.raises(ModelFileError, match="corrupt or truncated"):
        sparseae.load(truncated)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00" * 7)
    with pytest.raises(ModelFileError, match="corrupt or truncated"):
        sparseae.load(garbage)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"x": np.zeros(2)}, str(foreign))
    with pytest.raises(ModelFileError, match="not a sparseae model"):
        sparseae.load(foreign)

    def newer(config, arrays):
        config["format_version"] = 99

    with pytest.raises(ModelFileError, match="version 99, newer than this sparseae reads"):
        sparseae.load(_rewrite(good, tmp_path / "newer.safetensors", newer))

    def mismatched(config, arrays):
        arrays["W1"] = np.zeros((5, 9))

    with pytest.raises(ModelFileError, match=r"W1 has shape \(5, 9\), expected \(4, 9\)"):
        sparseae.load(_rewrite(good, tmp_path / "mismatch.safetensors", mismatched))

    def bad_param(config, arrays):
        config["params"]["sparsity_target"] = 2.0

    expected = "'sparsity_target' parameter of SparseAutoencoder must be a float in the range"
    with pytest.raises(ModelFileError, match=expected):
        sparseae.load(_rewrite(good, tmp_path / "param.safetensors", bad_param))

    def nan_weights(config, arrays):
        arrays["b2"] = np.full(9, np.nan)

    with pytest.raises(ModelFileError, match="b2 must hold finite"):
        sparseae.load(_rewrite(good, tmp_path / "nan.safetensors", nan_weights))


def test_interrupted_save_leaves_old_file_intact(tmp_path, model, monkeypatch):
    model, _ = model
    path = model.save(tmp_path / "m.safetensors")
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("safetensors.numpy.save_file", crash)
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def test_unfitted_model_cannot_be_saved(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SparseAutoencoder().save(tmp_path / "m.safetensors")


def test_saved_file_has_the_permissions_of_a_plain_write(tmp_path, model):
    import os

    model, _ = model
    path = model.save(tmp_path / "m.safetensors")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_model_fitted_with_a_callback_saves_without_it(tmp_path, rng):
    """A callback has no JSON form: the file holds None for it, and everything else."""
    X = rng.uniform(0, 1, size=(50, 8))
    calls = []
    model = sparseae.SparseAutoencoder(3, max_iter=3, random_state=0, callback=calls.append)
    with pytest.warns(Warning):
        model.fit(X)
    assert len(calls) == 3
    model.save(tmp_path / "m.safetensors")
    loaded = sparseae.load(tmp_path / "m.safetensors")
    assert loaded.callback is None
    np.testing.assert_array_equal(loaded.theta_, model.theta_)
