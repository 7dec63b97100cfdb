"""Checkpoints: what a fit needs to go on after it was killed.

A checkpoint is one safetensors file written like a model (:func:`~sparseae.persistence.
write_document`: a versioned JSON config and a digest, atomically, so a kill at any instant
leaves the previous checkpoint whole), of kind ``"Checkpoint"``. It holds the estimator's
parameters, the iterations done and their costs, θ, a fingerprint of the training data, and
the optimizer's state:

- ``solver="adam"``: Adam's moments and step count, the random state that orders the
  minibatches and ρ̂'s moving average, taken between epochs: a resumed fit is the uninterrupted
  one, bit for bit. So is ``"gd"``, whose whole state is θ.
- ``"lbfgs"``: its history too (2 x ``lbfgs_memory`` θ-sized vectors and their products), so a
  resumed fit is the uninterrupted one, bit for bit.
- ``"l-bfgs-b"`` and ``"cg"`` (SciPy's) keep their history to themselves: a resumed fit restarts
  them from the saved θ, and ends close to, not exactly at, the uninterrupted fit's cost.

With held-out rows it also holds their indices, their scores so far and the best θ.
"""

from dataclasses import dataclass

import numpy as np

from .errors import DataChangedError, ModelFileError
from .persistence import read_document, write_document

#: 2 added L-BFGS's history; files of version 1 still load.
CHECKPOINT_VERSION = 2
#: Rows of the data whose checksum the fingerprint holds (at most 1 MiB of float64).
_FINGERPRINT_BYTES = 1 << 20


@dataclass
class Checkpoint:
    """A fit's state after ``n_iter`` iterations (epochs for Adam)."""

    params: dict
    n_features: int
    n_iter: int
    loss_curve: list
    theta: np.ndarray
    data: dict
    #: Adam: ``m``, ``v``, ``t``, ``rng`` (RandomState.get_state()), ``rho_hat`` (or None)
    adam: dict = None
    #: Held-out rows: ``rows``, ``scores``, ``best``, ``since_best``, ``best_theta`` (or None)
    validation: dict = None
    #: L-BFGS: ``rows`` ([S; Y]), ``sy``, ``yy``, ``rows_g``, ``order`` (or None)
    lbfgs: dict = None


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
        raise DataChangedError(
            "the data is not the checkpoint's: same shape, but its first rows differ (checksum)"
        )


def write_checkpoint(path, ckpt):
    """Write ``ckpt`` to ``path`` atomically."""
    arrays = {"theta": ckpt.theta}
    config = {"kind": "Checkpoint", "checkpoint_version": CHECKPOINT_VERSION, "params": ckpt.params,
              "n_features": ckpt.n_features, "n_iter": ckpt.n_iter, "loss_curve": ckpt.loss_curve,
              "data": ckpt.data}  # fmt: skip
    if ckpt.adam is not None:
        _, keys, pos, has_gauss, gauss = ckpt.adam["rng"]
        arrays.update(adam_m=ckpt.adam["m"], adam_v=ckpt.adam["v"], rng_keys=keys)
        if ckpt.adam["rho_hat"] is not None:
            arrays["rho_hat"] = ckpt.adam["rho_hat"]
        config["adam"] = {"t": ckpt.adam["t"], "rng": [int(pos), int(has_gauss), float(gauss)]}
    if ckpt.validation is not None:
        v = ckpt.validation
        arrays["validation_rows"] = v["rows"]
        if v["best_theta"] is not None:
            arrays["best_theta"] = v["best_theta"]
        config["validation"] = {"scores": v["scores"], "best": v["best"], "since_best": v["since_best"]}
    if ckpt.lbfgs is not None:
        arrays.update({f"lbfgs_{name}": ckpt.lbfgs[name] for name in ("rows", "sy", "yy", "rows_g")})
        config["lbfgs"] = {"order": [int(i) for i in ckpt.lbfgs["order"]]}
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
                          theta=_float_array(arrays, "theta", path), data=dict(config["data"]))  # fmt: skip
        if "adam" in config:
            pos, has_gauss, gauss = config["adam"]["rng"]
            rng = ("MT19937", arrays["rng_keys"].astype(np.uint32), pos, has_gauss, gauss)
            ckpt.adam = {"m": _float_array(arrays, "adam_m", path), "v": _float_array(arrays, "adam_v", path),
                         "t": int(config["adam"]["t"]), "rng": rng,
                         "rho_hat": arrays.get("rho_hat")}  # fmt: skip
        if "validation" in config:
            v = config["validation"]
            ckpt.validation = {"rows": arrays["validation_rows"].astype(np.intp),
                               "scores": [float(s) for s in v["scores"]], "best": float(v["best"]),
                               "since_best": int(v["since_best"]),
                               "best_theta": arrays.get("best_theta")}  # fmt: skip
        if "lbfgs" in config:
            ckpt.lbfgs = {name: _float_array(arrays, f"lbfgs_{name}", path)
                          for name in ("rows", "sy", "yy", "rows_g")}  # fmt: skip
            order = [int(i) for i in config["lbfgs"]["order"]]
            if any(not 0 <= i < len(ckpt.lbfgs["sy"]) for i in order) or len(set(order)) != len(order):
                raise ModelFileError(f"{str(path)!r} is not a consistent checkpoint: its L-BFGS history "
                                     f"names slots {order} of {len(ckpt.lbfgs['sy'])}")  # fmt: skip
            ckpt.lbfgs["order"] = order
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(
            f"{str(path)!r} is not a consistent checkpoint: {exc!r} missing or wrong"
        ) from None
    if len(ckpt.loss_curve) != ckpt.n_iter:
        raise ModelFileError(f"{str(path)!r} is not a consistent checkpoint: {ckpt.n_iter} iterations, "
                             f"{len(ckpt.loss_curve)} costs")  # fmt: skip
    return ckpt


def _float_array(arrays, name, path):
    a = arrays[name]
    if a.dtype.kind != "f" or not np.isfinite(a).all():
        raise ModelFileError(f"{str(path)!r} is not a consistent checkpoint: {name} must hold finite floats")
    return np.array(a, dtype=np.float64)
