"""The one registry of solvers: a name, its kind, its defaults and how it runs.

Each solver module registers itself (:mod:`sparseae.optim`): a full-batch solver with the
function that minimises a tracked J(θ) (``run(tracker, theta0, **options)``, the options it takes
named in ``options``), a minibatch solver with its optimizer's class (``run(size, beta_1,
values=None, max_grad_norm=None, dtype=np.float64)``, an object with ``step``, ``state_dict`` and
``load_state_dict``; ``values``: the entries of θ to step as
:class:`~sparseae.training.result.Settings` says; ``dtype``: θ's and its state's). Everything that needs solver
names reads them here: parameter validation, ``--solver`` on the command line, checkpoints
(what a solver saves, and whether a resumed fit is the uninterrupted one), ``sparseae
gradcheck``. The training layer picks the driver by ``kind`` (:mod:`sparseae.training`).

To add a solver: a module with its function or optimizer, and one :func:`register` call.
"""

from dataclasses import dataclass

FULL_BATCH, MINIBATCH = "full batch", "minibatch"


@dataclass(frozen=True)
class Solver:
    """A registered solver.

    ``max_iter``: iterations (epochs for a minibatch solver) for ``max_iter="auto"``;
    ``learning_rate``: the step for ``learning_rate="auto"`` (None: the solver takes no step);
    ``beta_1``: the momentum for ``beta_1="auto"`` by sparsity penalty (None: no momentum);
    ``max_grad_norm``: the gradient clipping for ``max_grad_norm="auto"`` by sparsity penalty
    (None: a solver without it);
    ``exact_resume``: whether a fit resumed from a checkpoint is the uninterrupted one bit for bit;
    ``device_vectors``: whether it keeps θ and its vectors where the objective computes (a GPU).
    """

    name: str
    kind: str
    run: object
    summary: str
    max_iter: int = 400
    learning_rate: float = None
    beta_1: dict = None
    max_grad_norm: dict = None
    options: tuple = ()
    exact_resume: bool = True
    device_vectors: bool = False

    @property
    def minibatch(self):
        return self.kind == MINIBATCH


#: Solvers by name, in the order they were registered (the default first). The registrations
#: live beside the solvers, in :mod:`sparseae.optim`; :func:`registered` loads them.
SOLVERS = {}


def registered():
    """SOLVERS, with sparseae.optim's registrations loaded (``import sparseae`` loads lazily)."""
    import importlib

    importlib.import_module(f"{__package__}.optim")
    return SOLVERS


def register(solver):
    """Make ``solver`` valid by its name everywhere solver names are read."""
    if solver.kind not in (FULL_BATCH, MINIBATCH):
        from .errors import ParameterError

        raise ParameterError(f"a solver's kind is {FULL_BATCH!r} or {MINIBATCH!r}, got {solver.kind!r}")
    SOLVERS[solver.name] = solver
    return solver


def get_solver(name):
    """The registered solver ``name``; a ParameterError listing the names otherwise."""
    from .errors import ParameterError

    try:
        return registered()[name]
    except (KeyError, TypeError):
        raise ParameterError(f"solver must be one of {sorted(SOLVERS)}, got {name!r}") from None


def help_text():
    """``--solver``'s help: each name with its summary, the default first."""
    solvers = registered()
    return "; ".join(f"{s.name}: {s.summary}" for s in solvers.values()) + f" ({next(iter(solvers))})"
