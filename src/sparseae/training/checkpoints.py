"""Checkpoints of a running fit, written from what the driver and the monitor hand over, and
the checks a resumed fit makes (:mod:`sparseae.checkpoint` is the file format)."""

from ..checkpoint import Checkpoint, write_checkpoint
from ..engine.vectors import host_copy
from ..errors import ParameterError

#: Parameters a resumed fit may change: they do not change what is computed.
MAY_DIFFER = ("max_iter", "verbose", "callback")
#: The prefix of the names a driver's state dict gives what its objective carries between
#: evaluations (AuxK's counts), beside the optimizer's own state.
CARRIED = "objective."


def carried(objective):
    """``objective``'s carried state (:meth:`~sparseae.objective_base.Evaluated.carried_state`)
    under :data:`CARRIED` names, for a driver's state dict."""
    return {} if objective is None else {CARRIED + k: v for k, v in objective.carried_state().items()}


def restore(objective, state):
    """Hand ``objective`` the carried part of a driver's ``state``; returns the rest (the
    optimizer's)."""
    state = state or {}
    objective.load_carried_state({k[len(CARRIED):]: v for k, v in state.items() if k.startswith(CARRIED)})
    return {k: v for k, v in state.items() if not k.startswith(CARRIED)}


class Checkpointer:
    """``checkpointer(n_iter, theta, monitor)``, the monitor's hook: writes θ, the driver's
    state dict and the monitor's record to ``path`` (atomically). ``validation_rows``: the
    held-out rows' indices, once known; ``stage`` and ``stages``: a staged model's (a stack's)
    running stage and the completed ones."""

    def __init__(self, path, params, n_features, fingerprint, *, stage=0, stages=()):
        self.path, self.params, self.n_features, self.fingerprint = path, params, n_features, fingerprint
        self.validation_rows, self.stage, self.stages = None, stage, list(stages)

    def __call__(self, n_iter, theta, monitor):
        validation = monitor.state_dict()
        if validation is not None:
            validation["rows"] = self.validation_rows
        write_checkpoint(self.path, Checkpoint(
            params=self.params, n_features=self.n_features, n_iter=n_iter, loss_curve=list(monitor.loss_curve),
            theta=host_copy(theta), data=self.fingerprint, state=monitor.driver_state(), validation=validation,
            stage=self.stage, stages=self.stages))


def check_same_params(path, saved, mine, same=lambda name, theirs, ours: theirs == ours):
    """Raise ParameterError naming the first parameter (outside :data:`MAY_DIFFER`) in which the
    checkpoint's ``saved`` parameters differ from ``mine``; ``same`` compares one of them."""
    for name in sorted(set(mine) | set(saved)):
        if name in MAY_DIFFER:
            continue
        if not same(name, saved.get(name), mine.get(name)):
            raise ParameterError(
                f"resume_from={str(path)!r} was written by a fit with {name}={saved.get(name)!r}, not "
                f"{mine.get(name)!r}; resume with the same parameters"
            )
