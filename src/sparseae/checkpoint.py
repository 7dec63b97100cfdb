"""Checkpoints: what a fit needs to go on after it was killed.

A checkpoint is one safetensors file written like a model (:func:`~sparseae.persistence.
write_document`: a versioned JSON config and a digest, atomically, so a kill at any instant
leaves the previous checkpoint whole), of kind ``"Checkpoint"``. It holds the estimator's
parameters, the iterations done and their costs, θ, a fingerprint of the training data, and
whatever the training driver hands it as its state dict (:mod:`sparseae.training`): arrays are
stored as tensors ``state.NAME``, everything else as JSON. What that state is, is the driver's:

- a minibatch solver (Adam): its moments and step count, the random state that orders the
  minibatches and ρ̂'s moving average, taken between epochs: a resumed fit is the uninterrupted
  one, bit for bit. So is ``"gd"``, whose whole state is θ.
- ``"lbfgs"``: its history (2 x ``lbfgs_memory`` θ-sized vectors and their products), so a
  resumed fit is the uninterrupted one, bit for bit.
- ``"l-bfgs-b"`` and ``"cg"`` (SciPy's) keep their history to themselves: a resumed fit restarts
  them from the saved θ, and ends close to, not exactly at, the uninterrupted fit's cost.

With held-out rows it also holds their indices and the monitor's record (scores so far, the
best θ). A model trained in stages (a stack) also saves each completed stage's θ, iterations and
costs, and the stage running.

Versions: 1 held θ only for L-BFGS; 2 added L-BFGS's history (fields ``adam`` and ``lbfgs``);
3 stores any driver's state under ``state`` and adds stages. Files of versions 1 and 2 load.
"""

from dataclasses import dataclass, field

import numpy as np

from .errors import DataChangedError, ModelFileError
from .persistence import read_document, write_document

CHECKPOINT_VERSION = 3
#: Rows of the data whose checksum the fingerprint holds (at most 1 MiB of float64).
_FINGERPRINT_BYTES = 1 << 20
_LBFGS = ("rows", "sy", "yy", "rows_g")


@dataclass
class Checkpoint:
    """A fit's state after ``n_iter`` iterations (epochs for Adam) of its running stage."""

    params: dict
    n_features: int
    n_iter: int
    loss_curve: list
    theta: np.ndarray
    data: dict
    #: the driver's state dict: arrays and JSON values by name (empty: nothing beyond θ)
    state: dict = field(default_factory=dict)
    #: held-out rows: ``rows``, ``scores``, ``best``, ``since_best``, ``best_theta`` (or None)
    validation: dict = None
    #: the stage running (0 for a model trained in one), and the completed stages before it:
    #: each ``{"theta", "n_iter", "loss_curve"}``
    stage: int = 0
    stages: list = field(default_factory=list)


def data_fingerprint(source, m, n):
    """``{"rows", "columns", "sha256"}``: the data's shape and a checksum of its first rows
    (as float64), enough to tell a resumed fit that it was given other data."""
    import hashlib

    k = max(1, min(m, _FINGERPRINT_BYTES // (8 * n)))
    first = source.rows(0, k) if hasattr(source, "rows") else source[:k]
    first = np.ascontiguousarray(np.asarray(first), dtype=np.float64)
    return {"rows": int(m), "columns": int(n), "sha256": hashlib.sha256(first.tobytes()).hexdigest()}


def check_same_data(saved, now):
    """Raise DataChangedError when the fingerprint ``now`` differs from the checkpoint's."""
    if (saved["rows"], saved["columns"]) != (now["rows"], now["columns"]):
        raise DataChangedError(
            f"the data is not the checkpoint's: it has {now['rows']} rows x {now['columns']} columns, "
            f"the checkpointed fit had {saved['rows']} x {saved['columns']}"
        )
    if saved["sha256"] != now["sha256"]:
        raise DataChangedError("the data is not the checkpoint's: same shape, but its first rows differ (checksum)")


def write_checkpoint(path, ckpt):
    """Write ``ckpt`` to ``path`` atomically."""
    arrays = {"theta": ckpt.theta}
    config = {"kind": "Checkpoint", "checkpoint_version": CHECKPOINT_VERSION, "params": ckpt.params,
              "n_features": ckpt.n_features, "n_iter": ckpt.n_iter, "loss_curve": ckpt.loss_curve,
              "data": ckpt.data, "state": {}, "stage": ckpt.stage, "stages": []}
    for name, value in ckpt.state.items():
        if isinstance(value, np.ndarray):
            arrays[f"state.{name}"] = value
        else:
            config["state"][name] = value
    for i, done in enumerate(ckpt.stages):
        arrays[f"stage{i}.theta"] = done["theta"]
        config["stages"].append({"n_iter": int(done["n_iter"]), "loss_curve": list(done["loss_curve"])})
    if ckpt.validation is not None:
        v = ckpt.validation
        arrays["validation_rows"] = v["rows"]
        if v["best_theta"] is not None:
            arrays["best_theta"] = v["best_theta"]
        config["validation"] = {"scores": v["scores"], "best": v["best"], "since_best": v["since_best"]}
    write_document(path, config, arrays)


def read_checkpoint(path):
    """Read a checkpoint; a missing, corrupt, foreign or too new file is a ModelFileError."""
    config, arrays = read_document(path, "checkpoint")
    if config["kind"] != "Checkpoint":
        raise ModelFileError(f"{str(path)!r} is a saved {config['kind']}, not a training checkpoint")
    try:
        version = config["checkpoint_version"]
        if not isinstance(version, int) or version > CHECKPOINT_VERSION:
            raise ModelFileError(
                f"{str(path)!r} is a checkpoint of version {version!r}, newer than this sparseae "
                f"reads (up to {CHECKPOINT_VERSION}); upgrade sparseae to resume from it"
            )
        ckpt = Checkpoint(params=dict(config["params"]), n_features=int(config["n_features"]),
                          n_iter=int(config["n_iter"]), loss_curve=[float(c) for c in config["loss_curve"]],
                          theta=_float_array(arrays, "theta", path), data=dict(config["data"]))
        ckpt.state = _state(config, arrays, version, path)
        ckpt.stage = int(config.get("stage", 0))
        for i, done in enumerate(config.get("stages", [])):
            ckpt.stages.append({"theta": _float_array(arrays, f"stage{i}.theta", path),
                                "n_iter": int(done["n_iter"]),
                                "loss_curve": [float(c) for c in done["loss_curve"]]})
        if "validation" in config:
            v = config["validation"]
            ckpt.validation = {"rows": arrays["validation_rows"].astype(np.intp),
                               "scores": [float(s) for s in v["scores"]], "best": float(v["best"]),
                               "since_best": int(v["since_best"]), "best_theta": arrays.get("best_theta")}
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelFileError(f"{str(path)!r} is not a consistent checkpoint: {exc!r} missing or wrong") from None
    if len(ckpt.loss_curve) != ckpt.n_iter:
        raise ModelFileError(f"{str(path)!r} is not a consistent checkpoint: {ckpt.n_iter} iterations, "
                             f"{len(ckpt.loss_curve)} costs")
    return ckpt


def _state(config, arrays, version, path):
    """The driver's state dict; versions 1 and 2 kept Adam's and L-BFGS's in fields of their own."""
    if version >= 3:
        state = dict(config["state"])
        state.update({name[len("state."):]: a for name, a in arrays.items() if name.startswith("state.")})
        return state
    state = {}
    if "adam" in config:  # version 2's names, as the minibatch driver's state dict has them
        pos, has_gauss, gauss = config["adam"]["rng"]
        state = {"m": _float_array(arrays, "adam_m", path), "v": _float_array(arrays, "adam_v", path),
                 "t": int(config["adam"]["t"]), "rng_keys": arrays["rng_keys"], "rng_pos": int(pos),
                 "rng_has_gauss": int(has_gauss), "rng_gauss": float(gauss)}
        if "rho_hat" in arrays:
            state["rho_hat"] = arrays["rho_hat"]
    if "lbfgs" in config:
        state = {name: _float_array(arrays, f"lbfgs_{name}", path) for name in _LBFGS}
        state["order"] = [int(i) for i in config["lbfgs"]["order"]]
    return state


def _float_array(arrays, name, path):
    a = arrays[name]
    if a.dtype.kind != "f" or not np.isfinite(a).all():
        raise ModelFileError(f"{str(path)!r} is not a consistent checkpoint: {name} must hold finite floats")
    return np.array(a, dtype=np.float64)
