r"""BatchTopK (Bussmann et al. 2024): each evaluation keeps the k·m largest activations of its m
rows, over all rows and units at once, so that an example may use more units than k and another
fewer, with k per example on average.

.. math:: a_{ij} = \mathrm{relu}(z_{ij})\, [\mathrm{relu}(z_{ij}) \ge t], \qquad
          t = \text{the } (k m)\text{-th largest of } \{\mathrm{relu}(z_{ij})\}

J has no sparsity term; the gradient flows through the kept units (t is held fixed, as the
selection is). The selection pass (``sparseae.passes.RowPasses.largest``) finds t exactly
whatever the blocks, cores or chunks: the k·m largest of the whole lie among the k·m largest of
each part. ``transform`` uses one threshold for every unit, the smallest kept activation of the
training rows at the fitted weights (so the training rows keep k per example on average; SAELens
keeps a running average of it over its steps instead), exported to SAELens as a JumpReLU SAE with
that threshold everywhere, as SAELens itself saves BatchTopK.
"""

import numpy as np

from .engine.backend import largest_values as keep_largest  # the count largest, unordered


def smallest_kept(candidates, count):
    """t, the smallest of the ``count`` largest values, from the parts' candidates (host arrays,
    merged one at a time: at most 2·count values are held)."""
    best = np.zeros(0)
    for part in candidates:
        best = keep_largest(np.concatenate([best, part]), count)
    return float(best.min()) if best.size else 0.0


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
