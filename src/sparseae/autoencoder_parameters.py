"""What ``SparseAutoencoder`` accepts: each parameter's range (scikit-learn's constraints), and the
rules that tie parameters together (a penalty and the units it needs, AuxK with a k, a linear
decoder for input scaling and Matryoshka prefixes). ``fit`` checks both before it reads data."""

import numpy as np

from .activations import ACTIVATIONS
from .errors import ParameterError
from .matryoshka import check_widths
from .penalties import PENALTIES, check_penalty_parameters
from .solvers import get_solver
from .validation import CONSTRAINTS, Names

PARAMETER_CONSTRAINTS = {name: CONSTRAINTS[name] for name in (
    "n_hidden", "sparsity", "sparsity_target", "sparsity_weight", "k", "jumprelu_bandwidth", "jumprelu_steps", "aux_k",
    "aux_k_weight", "dead_after", "matryoshka", "input_scaling", "init", "decoder_bias_init", "decoder_init_norm",
    "decoder_norm", "center_encoder",
    "weight_decay", "activation", "output_activation", "solver", "max_iter", "tol",
    "learning_rate", "beta_1", "max_grad_norm", "batch_size", "lbfgs_memory", "dtype", "optimizer_dtype", "device",
    "validation_fraction",
    "early_stopping", "n_iter_no_change", "resample_dead", "warm_start", "callback", "random_state",
    "verbose")}
PARAMETER_CONSTRAINTS["max_iter"] = CONSTRAINTS["max_iter"] + [Names(("auto",))]
# It reconstructs x by squared error: an output that couples a row's units (softmax) cannot.
PARAMETER_CONSTRAINTS["output_activation"] = [Names(ACTIVATIONS, lambda act: act.elementwise)]


def check_combinations(model):
    """A ParameterError naming both parameters where ``model``'s settings contradict each other."""
    check_penalty_parameters(model.sparsity, model.activation, k=model.k, n_hidden=model.n_hidden,
                             sparsity_target=model.sparsity_target, sparsity_weight=model.sparsity_weight,
                             jumprelu_bandwidth=model.jumprelu_bandwidth, jumprelu_steps=model.jumprelu_steps)
    penalty = PENALTIES[model.sparsity]
    if model.aux_k is not None and not penalty.uses_k:
        raise ParameterError(f"aux_k is AuxK's, for sparsity 'topk' or 'batchtopk', not sparsity={model.sparsity!r}")
    if model.input_scaling is not None and model.output_activation != "linear":
        raise ParameterError(f"input_scaling needs output_activation='linear' (c is folded into a linear "
                             f"decoder), not {model.output_activation!r}")
    check_optimizer_dtype(model.optimizer_dtype, model.dtype, model.solver)
    if model.matryoshka is not None:
        check_widths(model.matryoshka, model.n_hidden)
        if model.output_activation != "linear":
            raise ParameterError(f"matryoshka needs output_activation='linear' (each prefix reconstructs x "
                                 f"linearly), not {model.output_activation!r}")
    if penalty.gated and model.resample_dead:
        raise ParameterError(f"resample_dead={model.resample_dead} does not apply to sparsity='jumprelu' (a "
                             f"resampled unit would keep its old threshold); leave resample_dead=0")


def check_optimizer_dtype(optimizer_dtype, dtype, solver):
    """``optimizer_dtype="float32"`` keeps θ in float32: only where the arithmetic is float32 and a
    minibatch solver holds θ (a full-batch solver's line search needs float64)."""
    if optimizer_dtype != "float32":
        return
    if np.dtype(dtype) != np.float32:
        raise ParameterError(f"optimizer_dtype='float32' needs dtype='float32' (θ in float32 for float64 "
                             f"arithmetic would only lose precision), not dtype={dtype!r}")
    if not get_solver(solver).minibatch:
        raise ParameterError(f"optimizer_dtype='float32' is for a minibatch solver (solver='adam'); "
                             f"solver={solver!r} keeps θ in float64")
