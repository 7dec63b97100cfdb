r"""BatchTopK (Bussmann et al. 2024): each evaluation keeps the k·m largest activations of its m
rows, over all rows and units at once, so that an example may use more units than k and another
fewer, with k per example on average.

.. math:: a_{ij} = \mathrm{relu}(z_{ij})\, [\mathrm{relu}(z_{ij}) \ge t], \qquad
          t = \text{the } (k m)\text{-th largest of } \{\mathrm{relu}(z_{ij})\}

J has no sparsity term; the gradient flows through the kept units (t is held fixed, as the
selection is). The selection pass (``sparseae.passes.RowPasses.largest``) finds t exactly
whatever the blocks, cores or chunks: the k·m largest of the whole lie among the k·m largest of
each part. ``transform`` uses one threshold for every unit, from the training rows at the fitted
weights: halfway between the smallest kept activation t and the largest one left out, so that
``transform``'s z > threshold keeps exactly the selection's units on the training rows (k per
example on average), and a rounding of z (float32, another BLAS, SAELens) does not flip the
selection's own boundary value, which t itself would be. SAELens keeps a running average of t
over its steps instead. Exported to SAELens as a JumpReLU SAE with that threshold everywhere, as
SAELens itself saves BatchTopK.
"""

import numpy as np

from .engine.backend import largest_values as keep_largest  # the count largest, unordered


def thresholds(candidates, count):
    """``(t, inference)`` from the parts' candidates (each part's ``count + 1`` largest values,
    host arrays, merged one at a time: at most 2·count + 2 values are held): t, the smallest of
    the ``count`` largest (the training gate); ``inference``, halfway between t and the largest
    value below it (0 where there is none), or 0 where t is (fewer than ``count`` positive values:
    the gate is then z > 0)."""
    best = np.zeros(0)
    for part in candidates:
        best = keep_largest(np.concatenate([best, part]), count + 1)
    if best.size <= count:
        t, below = (float(best.min()) if best.size else 0.0), 0.0
    else:
        below, t = (float(v) for v in np.partition(best, 1)[:2])  # the (count + 1)-th and count-th largest
    return t, ((t + below) / 2 if t > 0 else 0.0)  # (the values are ReLU activations: below ≥ 0)


class BatchTopK:
    """The sparse layer of one evaluation, given t: ``forward`` as its f (relu, then the values
    below t set to 0), ``backward`` as its f′ (the gradient through the kept units only)."""

    def __init__(self, threshold, backend):
        self.threshold, self.backend = float(threshold), backend

    def forward(self, z, b=None, record=None):
        if b is not None:
            z += b
        on = z >= self.threshold if self.threshold > 0 else z > 0  # t ≤ 0: fewer than k·m are positive
        z *= on
        if record is not None:
            record.add(self.backend, on, z)
        return z

    def backward(self, delta, a, m, record):
        delta *= a != 0
        return delta
