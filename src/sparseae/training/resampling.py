"""Dead units found on all the training rows and resampled between windows
(:mod:`sparseae.resample` has the rule), for either driver."""

import numpy as np

from ..resample import dead_units, resample


class Resampler:
    """``objective``: J on all the training rows (its ρ̂ finds the dead units); ``rows``: the
    examples new units start from (in memory); ``rng``: the draws, unless a call brings its own."""

    def __init__(self, objective, rows, rng):
        self.objective, self.rows, self.rng = objective, np.asarray(rows), rng

    def dead(self, theta):
        """The units active on no training row at θ: those pass 1 sums to 0, or those BatchTopK's
        selection over all the rows keeps nowhere (no pass 2 either way; a thresholded layer's
        other gates count in pass 2, so J's ρ̂ there)."""
        o = self.objective
        if o.thresholded and not o.penalty.batch_k:
            return dead_units(o.terms(theta)["rho_hat"])
        network = o.effective_theta(theta)
        if o.penalty.batch_k:
            return np.flatnonzero(~o.batch_active(network))
        return dead_units(o.hidden_sums(network))

    def resample(self, theta, dead, rng=None, network_theta=None):
        """Resample ``dead`` in place on θ: ``(count, mask of θ's entries changed)``."""
        o = self.objective
        reads = o.layout.unpack(theta)[1][-1] if o.center_encoder else None  # the encoder reads x − b2 (θ's b2)
        changed = resample(o.layout, theta, dead, self.rows, o.f.name, o.f_out.name, o.top_k,
                           self.rng if rng is None else rng, network_theta, centered_at=reads)
        return len(dead), changed
