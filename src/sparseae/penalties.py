r"""Sparsity penalties on a hidden layer (notes §3 and beyond), and their δ term.

ρ̂_j is the average activation of hidden unit j over the m examples, measured from the floor of
the layer's activation, on its interval when it has a ceiling (0 inactive, 1 fully active: for
tanh, inactive at -1, ρ̂_j is the mean of (a_j + 1)/2; notes footnote 3):

.. math:: \hat\rho_j = \frac{1}{m} \sum_{i=1}^m \frac{a^{(k)}_j(x^{(i)}) - \text{lo}}{\text{hi} - \text{lo}}
          \quad \text{(hi - lo taken as 1 for a ReLU, which has no ceiling)}

A :class:`Penalty` gives the penalty of each ρ̂_j and its derivative; J gets β times their sum,
and backpropagation adds β · penalty'(ρ̂) · dρ̂/da / m at layer k (:func:`sparsity_terms`).

- ``"kl"``, the notes' β Σ_j KL(ρ ‖ ρ̂_j), for activations with a floor and a ceiling;
- ``"l1"``, β (1/m) Σ_i Σ_j \|a_j(x_i)\|: on an activation whose floor is 0 (sigmoid, ReLU) that
  is β Σ_j ρ̂_j, so it is a penalty on ρ̂ too, with derivative 1;
- ``"topk"``: each example keeps its ``k`` largest activations of layer k and the rest are set
  to 0 (:func:`keep_top_k`, applied in the forward pass), with no term added to J: the gradient
  flows through the kept units (f' is 0 at a = 0 for sigmoid and ReLU, so the others get none).
- ``"jumprelu"``: ReLU units that stay off below a learned threshold θ_j, with the L0 penalty
  β (1/m) Σ_i Σ_j H(z_ij − θ_j) (:mod:`sparseae.jumprelu`, a ``gated`` penalty: the layer's f
  itself changes, and its term is counted in pass 2, with no pass 1).
- ``"batchtopk"``: each evaluation (a minibatch, or all m rows for a full-batch solver) keeps its
  k·m largest activations over all its rows and units (:mod:`sparseae.batchtopk`, a
  ``batch_k`` penalty), with no term added to J, and the gradient through the kept units.

L1 and TopK need a floor of 0 (tanh's 0 is the middle of its range, not "off"); KL needs a
ceiling (ρ̂ of a ReLU is unbounded). :func:`check_activation` says so.

To add a penalty: write its value and derivative (or a selection), and :func:`register` them
here. The gradient-check tests iterate over :data:`PENALTIES`, so the new one is checked at once.
"""

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .activations import ACTIVATIONS
from .errors import DataError, ParameterError


@dataclass(frozen=True)
class Penalty:
    """One sparsity penalty: ``value(rho, rho_hat)`` per unit and its ``derivative`` in ρ̂ (None
    for a penalty that adds no term); ``select(a, k, backend)``, when given, changes the sparse
    layer's activations in the forward pass. ``uses_target``/``uses_weight``: whether ρ / β
    mean anything to it; ``bounded``: it needs ρ̂ in (0, 1) (an activation with a ceiling);
    ``floor_zero``: it needs an activation whose floor is 0; ``only``: the activations it is
    defined on, when they are fewer; ``gated``: the layer's units are thresholded by learned
    θ_j (:mod:`sparseae.jumprelu`); ``batch_k``: by one threshold per evaluation that keeps k·m
    activations (:mod:`sparseae.batchtopk`)."""

    name: str
    value: Callable = None
    derivative: Callable = None
    select: Callable = None
    uses_target: bool = False
    uses_weight: bool = True
    bounded: bool = False
    floor_zero: bool = False
    only: tuple = None
    gated: bool = False
    batch_k: bool = False

    @property
    def uses_k(self):
        """Whether it needs k (TopK's per example, BatchTopK's mean per example)."""
        return self.select is not None or self.batch_k

    @property
    def thresholded(self):
        """Whether the sparse layer's f is replaced by a thresholded ReLU (no pass 1)."""
        return self.gated or self.batch_k


#: Every sparsity penalty by name: what ``sparsity=`` accepts.
PENALTIES = {}


def register(penalty):
    """Make ``penalty`` available by name everywhere (estimator, objective, CLI, gradient checks)."""
    PENALTIES[penalty.name] = penalty
    return penalty


def kl_divergence(rho, rho_hat):
    r"""KL(ρ ‖ ρ̂) between Bernoulli variables of means ρ and ρ̂, elementwise (notes §3).

    .. math:: \mathrm{KL}(\rho \Vert \hat\rho) = \rho \log\frac{\rho}{\hat\rho}
              + (1-\rho) \log\frac{1-\rho}{1-\hat\rho}

    It is 0 at ρ̂ = ρ and grows without bound as ρ̂ approaches 0 or 1. The sparsity penalty is β
    times its sum over the hidden units.

    Parameters
    ----------
    rho : float or array_like
        The sparsity target ρ, in (0, 1).
    rho_hat : float or array_like
        The mean activations ρ̂_j, in (0, 1).

    Returns
    -------
    ndarray or float
        KL(ρ ‖ ρ̂), broadcast over the two arguments.

    Raises
    ------
    ParameterError
        If ρ is not in (0, 1).
    DataError
        If ρ̂ is not in (0, 1) (at 0 or 1 the divergence is infinite).

    Examples
    --------
    >>> from sparseae import kl_divergence
    >>> float(kl_divergence(0.2, 0.2))
    0.0
    >>> [round(float(v), 4) for v in kl_divergence(0.2, [0.1, 0.5, 0.9])]
    [0.0444, 0.1927, 1.3627]
    """
    rho, rho_hat = np.asarray(rho, dtype=np.float64), np.asarray(rho_hat, dtype=np.float64)
    if not np.all((rho > 0) & (rho < 1)):
        raise ParameterError(f"rho must be in (0, 1), got {rho.tolist()!r}")
    outside = ~((rho_hat > 0) & (rho_hat < 1))
    if outside.any():
        raise DataError(f"rho_hat must be in (0, 1), got {float(rho_hat[outside].ravel()[0])!r} "
                        f"({int(outside.sum())} value(s) outside)")
    return _kl(rho, rho_hat)


def _kl(rho, rho_hat):
    """KL(ρ ‖ ρ̂) on the backend's arrays, unchecked (the penalty's value: ρ̂ arrives clipped)."""
    return rho * np.log(rho / rho_hat) + (1.0 - rho) * np.log((1.0 - rho) / (1.0 - rho_hat))


def kl_divergence_derivative(rho, rho_hat):
    r"""The notes' extra δ term before β:

    .. math:: \frac{\partial\,\mathrm{KL}(\rho \Vert \hat\rho)}{\partial \hat\rho}
              = -\frac{\rho}{\hat\rho} + \frac{1-\rho}{1-\hat\rho}
    """
    return -rho / rho_hat + (1.0 - rho) / (1.0 - rho_hat)


def l1_value(rho, rho_hat):
    r"""β's share per unit of the L1 penalty on activations with floor 0: (1/m) Σ_i \|a_j\| = ρ̂_j."""
    return rho_hat


def l1_derivative(rho, rho_hat):
    """d ρ̂_j / d ρ̂_j = 1: every example's δ term is β/m, whatever its activation."""
    return np.ones_like(rho_hat)


def keep_top_k(a, k, backend):
    """TopK: in each row of ``a`` keep the k largest values, set the others to 0 (in place)."""
    backend.keep_top_k(a, k)


register(Penalty("kl", _kl, kl_divergence_derivative, uses_target=True, bounded=True))
register(Penalty("l1", l1_value, l1_derivative, floor_zero=True))
register(Penalty("topk", select=keep_top_k, uses_weight=False, floor_zero=True))
register(Penalty("jumprelu", floor_zero=True, only=("relu",), gated=True))
register(Penalty("batchtopk", uses_weight=False, floor_zero=True, only=("relu",), batch_k=True))


def unsuited(penalty, activation):
    """Why ``penalty`` cannot be put on a layer of ``activation`` (a sentence), or None if it can."""
    lo, hi = activation.output_range
    if penalty.only is not None and activation.name not in penalty.only:
        return (f"sparsity={penalty.name!r} is defined on {' or '.join(map(repr, penalty.only))} units, "
                f"not activation={activation.name!r}")
    if penalty.bounded and not np.isfinite(hi):
        return (f"sparsity={penalty.name!r} needs a mean activation in (0, 1), and activation="
                f"{activation.name!r} has no ceiling (its ρ̂ is unbounded); use sparsity='l1' or "
                f"sparsity='topk' with it, or a sigmoid or tanh")
    if penalty.floor_zero and lo != 0:
        return (f"sparsity={penalty.name!r} needs an activation that is off at 0, and activation="
                f"{activation.name!r} is off at {lo:g}; use 'sigmoid' or 'relu' with it, or "
                f"sparsity='kl'")
    return None


def check_activation(penalty, activation):
    """Raise ParameterError when ``penalty`` cannot be put on a layer of ``activation``, saying why."""
    reason = unsuited(penalty, activation)
    if reason is not None:
        raise ParameterError(reason)


def mean_activation(a_sum, m, activation):
    """ρ̂ from the sparse layer's column sums over m examples, and dρ̂_j/da_ij · m."""
    lo, hi = activation.output_range
    width = hi - lo if np.isfinite(hi) else 1.0
    return (np.asarray(a_sum, dtype=np.float64) / m - lo) / width, 1.0 / width


def sparsity_terms(penalty, rho, beta, rho_hat, drho_da, m):
    r"""β Σ_j penalty(ρ, ρ̂_j), and the δ term it adds at the sparse layer, per example:

    .. math:: \frac{\beta}{m}\, \text{penalty}'(\hat\rho)\, \frac{d\hat\rho}{da}

    (host float64). For a bounded penalty (KL), ρ̂ is clipped to [ε, 1 - ε], ε the float64
    machine epsilon, so that both stay finite when a unit saturates on every example.
    """
    eps = np.finfo(np.float64).eps
    clipped = np.minimum(np.maximum(rho_hat, eps), 1.0 - eps) if penalty.bounded else rho_hat  # np.clip
    value = beta * float(penalty.value(rho, clipped).sum())
    return value, (beta * drho_da / m) * penalty.derivative(rho, clipped)


def check_penalty_parameters(sparsity, activation, *, k, n_hidden, sparsity_target, sparsity_weight,
                             jumprelu_bandwidth=1e-3, jumprelu_steps="threshold", defaults=(0.01, 3.0)):
    """A penalty's own rules, before any data is read: an activation it can work with, k for a
    selecting penalty (TopK), and a warning for ρ, β or k given to a penalty that does not use
    them (``defaults``: ρ's and β's values that count as not given)."""
    penalty = PENALTIES[sparsity]
    if sparsity_weight > 0 or penalty.uses_k or penalty.gated:
        check_activation(penalty, ACTIVATIONS[activation])
    if penalty.uses_k:
        if k is None:
            raise ParameterError(f"sparsity={sparsity!r} needs k, the hidden units each example keeps")
        if k >= n_hidden:
            raise ParameterError(f"k={k} keeps every one of the n_hidden={n_hidden} units; k must be below n_hidden")
    unused = []
    if not penalty.uses_target and sparsity_target != defaults[0]:
        unused.append(f"sparsity_target={sparsity_target}")
    if not penalty.uses_weight and sparsity_weight != defaults[1]:
        unused.append(f"sparsity_weight={sparsity_weight}")
    if not penalty.uses_k and k is not None:
        unused.append(f"k={k}")
    if not penalty.gated and jumprelu_bandwidth != 1e-3:
        unused.append(f"jumprelu_bandwidth={jumprelu_bandwidth}")
    if not penalty.gated and jumprelu_steps != "threshold":
        unused.append(f"jumprelu_steps={jumprelu_steps!r}")
    if unused:
        warnings.warn(f"sparsity={sparsity!r} does not use {' or '.join(unused)}; it is ignored", UserWarning,
                      stacklevel=4)
