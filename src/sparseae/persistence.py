"""Model files: safetensors weights with a versioned JSON config, never pickle.

A model is one ``.safetensors`` file: its tensors are the model's arrays (the autoencoder's W1,
b1, W2, b2 in the notes' orientation), and the header's metadata holds, under ``sparseae``, the
JSON ``{"format_version": 2, "kind": "SparseAutoencoder", "params": {...}, "fitted": {...}}``
(version 2 added the digest ``sparseae_sha256`` beside it; version 1 files still load).
The preprocessing transformers save the same way, and so does a ``Pipeline`` of them (``"kind":
"Pipeline", "steps": [...]``, step i's arrays stored as ``"i.NAME"``). Classes enter with
:func:`register`. Loading reads plain numbers: a model file cannot run code. Saving writes a
temporary file beside the target and renames it, so a half-written file never has the real name.
"""

import hashlib
import json
from pathlib import Path

import numpy as np

from ._io import atomic_path
from .errors import DataTypeError, ModelFileError

FORMAT_VERSION = 2  # 2 added the digest; version 1 files (without it) still load
_KEY, _DIGEST = "sparseae", "sparseae_sha256"
#: The classes a model file may hold, by name; each gives ``_get_state()`` and ``_from_state()``.
_KINDS = {}


class Saveable:
    """``model.save(path)``: write the fitted model (safetensors with its JSON config); read it
    back with :func:`sparseae.load`."""

    def _json_params(self):
        """``get_params()`` as JSON holds them: a NumPy dtype by name; a RandomState instance
        and a callback (which have no JSON form) as None."""
        params = self.get_params()
        if params.get("callback") is not None:
            params["callback"] = None
        if "dtype" in params:
            params["dtype"] = np.dtype(params["dtype"]).name
        if not (params.get("random_state") is None or isinstance(params["random_state"], int)):
            params["random_state"] = None
        return params

    def save(self, path):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        return save(self, path)


#: The modules whose classes register themselves (imported before the registry is read).
_MODEL_MODULES = ("estimator", "softmax", "stacked", "preprocessing", "convolution", "rica")


def register(cls):
    """Class decorator: ``cls`` saves and loads by its name (``_get_state``, ``_from_state``)."""
    _KINDS[cls.__name__] = cls
    return cls


def _kinds():
    """The registry, with every model module of sparseae imported (``import sparseae`` is lazy)."""
    import importlib

    for module in _MODEL_MODULES:
        importlib.import_module(f"{__package__}.{module}")
    return _KINDS


def model_state(model):
    """(config, arrays) of a fitted model or Pipeline; each class gives ``_get_state()``. A model
    that holds another nests this config in its params and the arrays under a prefix."""
    from sklearn.pipeline import Pipeline
    from sklearn.utils.validation import check_is_fitted

    if isinstance(model, Pipeline):
        steps, arrays = [], {}
        for i, (name, step) in enumerate(model.steps):
            config, step_arrays = model_state(step)
            steps.append({"name": name, **config})
            arrays.update({f"{i}.{key}": value for key, value in step_arrays.items()})
        return {"kind": "Pipeline", "steps": steps}, arrays
    kind = type(model).__name__
    if kind not in _kinds():
        raise DataTypeError(f"cannot save a {kind}; sparseae saves {sorted(_KINDS)} and Pipelines of them")
    check_is_fitted(model)
    params, fitted, arrays = model._get_state()
    return {"kind": kind, "params": params, "fitted": fitted}, arrays


def rebuild(config, arrays):
    """The model of a config and its arrays (:func:`model_state`'s inverse)."""
    from sklearn.pipeline import Pipeline

    kind = config["kind"]
    if kind == "Pipeline":
        steps = []
        for i, step in enumerate(config["steps"]):
            prefix = f"{i}."
            step_arrays = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
            steps.append((step["name"], rebuild(step, step_arrays)))
        return Pipeline(steps)
    registry = _kinds()
    if kind not in registry:
        raise ModelFileError(f"unknown model kind {kind!r}")
    return registry[kind]._from_state(config["params"], config["fitted"], arrays)


def save(model, path):
    """Write a fitted model, transformer or Pipeline of them to ``path``, as ``.safetensors``.

    The file holds the arrays as tensors and a versioned JSON config with a SHA-256 digest (see
    the site's "File formats" page). It never holds a pickle. The file is written under a
    temporary name and renamed, so a failure never leaves a half-written file under ``path``.

    Parameters
    ----------
    model : estimator
        A fitted sparseae estimator or transformer, or a scikit-learn ``Pipeline`` of them.
    path : str or path-like
        The file to write, which is replaced if it exists.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the model is not fitted.
    ParameterError
        If the model (or a step of the pipeline) is not one sparseae can save.
    OSError
        If the file cannot be written (a full disk, no permission). Nothing is left behind.

    See Also
    --------
    load

    Examples
    --------
    >>> import numpy as np
    >>> import sparseae
    >>> X = np.random.default_rng(0).uniform(size=(50, 8))
    >>> model = sparseae.SparseAutoencoder(3, tol=1e-2, random_state=0).fit(X)
    >>> sparseae.save(model, "model.safetensors").name
    'model.safetensors'
    >>> np.array_equal(sparseae.load("model.safetensors").transform(X), model.transform(X))
    True
    """
    config, arrays = model_state(model)
    return write_document(path, config, arrays)


def write_document(path, config, arrays):
    """Write ``{"format_version": ..., **config}`` and ``arrays`` as one safetensors file with its
    digest, atomically. Models and checkpoints are both such files."""
    from safetensors import SafetensorError
    from safetensors.numpy import save_file

    document = json.dumps({"format_version": FORMAT_VERSION, **config})
    tensors = {name: np.ascontiguousarray(a) for name, a in arrays.items()}
    metadata = {_KEY: document, _DIGEST: _digest(document, tensors)}
    with atomic_path(path, errors=(OSError, SafetensorError)) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return Path(path)


def _digest(document, tensors):
    """SHA-256 of the config and of every tensor (name, dtype, shape, bytes): a flipped byte
    anywhere in a model file is a ModelFileError, never a silently different model."""
    h = hashlib.sha256(document.encode())
    for name in sorted(tensors):
        a = tensors[name]
        h.update(f"\0{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def load(path):
    """Read a model written by :func:`save`.

    Loading reads plain numbers and JSON, so a model file cannot run code. The file's digest is
    checked first, so a damaged byte is an error and never a silently different model.

    Parameters
    ----------
    path : str or path-like
        A ``.safetensors`` file written by :func:`save` (or ``model.save``), in any format version
        up to this sparseae's.

    Returns
    -------
    estimator
        The fitted model, transformer or Pipeline, as it was saved.

    Raises
    ------
    ModelFileError
        If the file does not exist, is not a sparseae model (a checkpoint included: resume from it
        instead), comes from a newer sparseae, or is damaged.

    See Also
    --------
    save

    Examples
    --------
    >>> import numpy as np
    >>> import sparseae
    >>> X = np.random.default_rng(0).uniform(size=(50, 8))
    >>> sparseae.SparseAutoencoder(3, tol=1e-2, random_state=0).fit(X).save("model.safetensors")
    PosixPath('model.safetensors')
    >>> sparseae.load("model.safetensors")
    SparseAutoencoder(n_hidden=3, random_state=0, tol=0.01)
    >>> with open("model.safetensors", "r+b") as f:     # damage one byte of the weights
    ...     _ = f.seek(-3, 2)
    ...     _ = f.write(b"x")
    >>> sparseae.load("model.safetensors")
    Traceback (most recent call last):
    ...
    sparseae.errors.ModelFileError: 'model.safetensors' is corrupt: its contents do not match their saved digest
    """
    document, arrays = read_document(path, "model")
    if document["kind"] == "Checkpoint":
        raise ModelFileError(f"{str(path)!r} is a training checkpoint, not a model: resume from it with "
                             f"fit(X, resume_from=...) or sparseae train --resume")
    try:
        return rebuild(document, arrays)
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{str(path)!r} does not hold a consistent {document['kind']}: {exc}") from None


def read_document(path, what):
    """``(config, arrays)`` of a file written by :func:`write_document`, checked: it exists, is
    safetensors, is sparseae's, is not from a newer format, and matches its digest. ``what``
    ("model", "checkpoint") names the file in the ModelFileError raised otherwise."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"{str(path)!r} is a folder, not a {what} file (a run's is model.safetensors)")
    if not path.is_file():
        raise ModelFileError(f"{what} file {str(path)!r} does not exist")
    try:
        with safe_open(str(path), framework="np") as f:
            metadata = f.metadata() or {}
            arrays = {name: f.get_tensor(name) for name in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(
            f"{str(path)!r} is not a readable safetensors {what} file (corrupt or truncated?): {exc}"
        ) from None
    if _KEY not in metadata:
        raise ModelFileError(f"{str(path)!r} is a safetensors file but not a sparseae {what}")
    try:
        document = json.loads(metadata[_KEY])
        version = document["format_version"]
        document["kind"]
    except RecursionError:
        raise ModelFileError(f"{str(path)!r} has a damaged sparseae config: its JSON nests too deep") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelFileError(f"{str(path)!r} has a damaged sparseae config: {exc!r}") from None
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{str(path)!r} has an invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{str(path)!r} was written in format version {version}, newer than this "
            f"sparseae reads (up to {FORMAT_VERSION}); upgrade sparseae to load it"
        )
    if (version >= 2 or _DIGEST in metadata) and metadata.get(_DIGEST) != _digest(metadata[_KEY], arrays):
        raise ModelFileError(f"{str(path)!r} is corrupt: its contents do not match their saved digest")
    return document, arrays
