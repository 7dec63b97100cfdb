r"""Sparsity penalties on a hidden layer's mean activations ρ̂, and their δ term (notes §3).

ρ̂_j is the average activation of hidden unit j over the m examples, measured on the interval
of the layer's activation (0 inactive, 1 fully active: for tanh, inactive at -1, ρ̂_j is the
mean of (a_j + 1)/2; notes footnote 3):

.. math:: \hat\rho_j = \frac{1}{m} \sum_{i=1}^m \frac{a^{(k)}_j(x^{(i)}) - \text{lo}}{\text{hi} - \text{lo}}

A :class:`Penalty` gives the penalty of each ρ̂_j and its derivative; J gets β times their sum,
and backpropagation adds β · penalty'(ρ̂) · dρ̂/da / m at layer k (:func:`sparsity_terms`).

To add a penalty on ρ̂: write its value and derivative, and :func:`register` them here. The
gradient-check tests iterate over :data:`PENALTIES`, so the new one is checked at once.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Penalty:
    """One sparsity penalty: ``value(rho, rho_hat)`` per unit and its ``derivative`` in ρ̂."""

    name: str
    value: Callable
    derivative: Callable


PENALTIES = {}


def register(penalty):
    PENALTIES[penalty.name] = penalty
    return penalty


def kl_divergence(rho, rho_hat):
    r"""KL(ρ ‖ ρ̂) between Bernoulli variables of means ρ and ρ̂, elementwise.

    .. math:: \mathrm{KL}(\rho \Vert \hat\rho) = \rho \log\frac{\rho}{\hat\rho}
              + (1-\rho) \log\frac{1-\rho}{1-\hat\rho}
    """
    return rho * np.log(rho / rho_hat) + (1.0 - rho) * np.log((1.0 - rho) / (1.0 - rho_hat))


def kl_divergence_derivative(rho, rho_hat):
    r"""The notes' extra δ term before β:

    .. math:: \frac{\partial\,\mathrm{KL}(\rho \Vert \hat\rho)}{\partial \hat\rho}
              = -\frac{\rho}{\hat\rho} + \frac{1-\rho}{1-\hat\rho}
    """
    return -rho / rho_hat + (1.0 - rho) / (1.0 - rho_hat)


register(Penalty("kl", kl_divergence, kl_divergence_derivative))


def mean_activation(a_sum, m, activation):
    """ρ̂ from the sparse layer's column sums over m examples, and dρ̂_j/da_ij · m."""
    lo, hi = activation.output_range
    return (np.asarray(a_sum, dtype=np.float64) / m - lo) / (hi - lo), 1.0 / (hi - lo)


def sparsity_terms(penalty, rho, beta, rho_hat, drho_da, m):
    r"""β Σ_j penalty(ρ, ρ̂_j), and the δ term it adds at the sparse layer, per example:

    .. math:: \frac{\beta}{m}\, \text{penalty}'(\hat\rho)\, \frac{d\hat\rho}{da}

    (host float64). ρ̂ is clipped to [ε, 1 - ε], ε the float64 machine epsilon, so that both
    stay finite when a unit saturates on every example.
    """
    eps = np.finfo(np.float64).eps
    clipped = np.clip(rho_hat, eps, 1.0 - eps)
    value = beta * float(penalty.value(rho, clipped).sum())
    return value, (beta * drho_da / m) * penalty.derivative(rho, clipped)
