"""Model files: safetensors weights with a versioned JSON config, never pickle.

A model is one ``.safetensors`` file. Its tensors are the model's arrays (for the autoencoder
W1, b1, W2, b2 in the notes' orientation); the safetensors header's metadata holds, under the
key ``sparseae``, a JSON document::

    {"format_version": 1, "kind": "SparseAutoencoder", "params": {...every hyperparameter},
     "fitted": {...n_iter_, loss_, loss_curve_, ...}}

Loading reads the header and the tensors as plain numbers: a model file cannot run code.
Saving writes a temporary file in the same folder and renames it over the target, so an
interrupted save never leaves a half-written file under the real name.
"""

import json
import os
import tempfile
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1
_KEY = "sparseae"


class ModelFileError(ValueError):
    """A model file that cannot be loaded: missing, corrupt, truncated, mismatched or newer."""


def _registry():
    from .estimator import SparseAutoencoder

    return {cls.__name__: cls for cls in (SparseAutoencoder,)}


def save(model, path):
    """Write a fitted model to ``path`` (conventionally ending in ``.safetensors``).

    The model class provides ``_get_state() -> (params, fitted, arrays)``: two JSON-able dicts
    and a dict of named arrays.
    """
    from safetensors.numpy import save_file

    kind = type(model).__name__
    if kind not in _registry():
        raise TypeError(f"cannot save a {kind}; sparseae saves {sorted(_registry())}")
    params, fitted, arrays = model._get_state()
    document = {"format_version": FORMAT_VERSION, "kind": kind, "params": params, "fitted": fitted}
    tensors = {name: np.ascontiguousarray(a) for name, a in arrays.items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={_KEY: json.dumps(document)})
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def load(path):
    """Read a model written by :func:`save`; raises :class:`ModelFileError` on a bad file."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {str(path)!r} does not exist")
    try:
        with safe_open(str(path), framework="np") as f:
            metadata = f.metadata() or {}
            arrays = {name: f.get_tensor(name) for name in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(
            f"{str(path)!r} is not a readable safetensors model file (corrupt or truncated?): {exc}"
        ) from None
    if _KEY not in metadata:
        raise ModelFileError(f"{str(path)!r} is a safetensors file but not a sparseae model")
    try:
        document = json.loads(metadata[_KEY])
        version = document["format_version"]
        kind = document["kind"]
        params, fitted = document["params"], document["fitted"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{str(path)!r} has a damaged sparseae config: {exc!r}") from None
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{str(path)!r} has an invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{str(path)!r} was written in model format version {version}, newer than this "
            f"sparseae reads (up to {FORMAT_VERSION}); upgrade sparseae to load it"
        )
    registry = _registry()
    if kind not in registry:
        raise ModelFileError(f"{str(path)!r} holds an unknown model kind {kind!r}")
    try:
        return registry[kind]._from_state(params, fitted, arrays)
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{str(path)!r} does not hold a consistent {kind}: {exc}") from None
