r"""Dead units, and bringing them back by resampling.

With ReLU units or TopK a unit can stop firing on every example; then no gradient reaches it
(f' is 0 at a = 0, and TopK passes none to the units it drops) and it stays dead for the rest of
the fit: capacity lost. ``SparseAutoencoder(resample_dead=W)`` checks, every W iterations (epochs
for Adam), which units are active on no training example (their column sums are exactly 0:
:func:`dead_units`) and gives each a new start (:func:`resample`): an example the model
reconstructs badly, drawn with probability proportional to its squared error, becomes the unit's
encoder row and its decoder column, so the unit fires on what the others miss.

Why resampling and not an auxiliary loss: benchmarks/RESULTS.md ("Dead units") measures the dead
units of L1 and TopK fits with and without it; an auxiliary loss (TopK's AuxK) needs a second
TopK over the dead units in every evaluation and a term in every gradient, where resampling
costs one pass per window and leaves the objective (and its gradient checks) as it is.
"""

import numpy as np

from .network import forward

#: Rows of the training data the resampling draws its examples from.
SAMPLE_ROWS = 10_000
#: The fraction of those rows a resampled unit starts by firing on.
FIRING = 0.05


def dead_units(rho_hat):
    """Indices of the units whose mean activation (from pass 1 over all the rows) is exactly 0:
    for units whose floor is 0 (ReLU, or dropped by TopK), active on no example."""
    return np.flatnonzero(np.asarray(rho_hat) <= 0.0)


def resample(layout, theta, dead, X, activation, output_activation, top_k, rng, network_theta=None, centered_at=None):
    r"""Give each unit in ``dead`` a new start, in place on θ; returns the mask of θ's entries that
    changed (to reset an optimizer's state). The reconstruction errors are those of
    ``network_theta``, the weights the network uses (θ with a unit-norm decoder), by default θ,
    computed in the rows' dtype where they are float32 (a float32 fit's), else in float64.

    For each dead unit j, an example x is drawn from the rows X with probability proportional to
    its squared reconstruction error; then W1[j] = d · 0.2 · (mean norm of the live rows of W1),
    with d = (x - x̄) / ‖x - x̄‖ (x̄ the rows' mean), b1[j] such that the unit fires on the
    ``FIRING`` fraction of the rows it projects most strongly (x among them), and
    W2[:, j] = (x - h(x)) / ‖x - h(x)‖ · (mean norm of the live columns of W2).
    ``centered_at``: θ's encoder reads x − c (``center_encoder``, c = b2), and b1[j] is for those rows.
    """
    Ws, bs = layout.unpack(theta)
    X = np.asarray(X)
    if X.dtype != np.float32:
        X = np.asarray(X, dtype=np.float64)
    # the model's reconstructions in the rows' dtype (float32 rows: a float32 fit's; float64 otherwise)
    network = np.asarray(theta if network_theta is None else network_theta, dtype=X.dtype)
    a = forward(*layout.unpack(network), X, activation, output_activation, top_k=top_k)
    residual = X - a[-1]
    error = np.einsum("ij,ij->i", residual, residual)
    p = error / error.sum() if error.sum() > 0 else None
    picks = rng.choice(len(X), size=len(dead), replace=len(dead) > len(X), p=p)
    alive = np.setdiff1d(np.arange(Ws[0].shape[0]), dead)
    enc_norm = np.linalg.norm(Ws[0][alive], axis=1).mean() if len(alive) else 1.0
    dec_norm = np.linalg.norm(Ws[1][:, alive], axis=0).mean() if len(alive) else 1.0
    changed = np.zeros_like(theta, dtype=bool)
    mask_W, mask_b = layout.unpack(changed)
    tiny = np.finfo(np.float64).tiny
    mean = X.mean(axis=0)
    for j, i in zip(dead, picks):
        d, r = X[i] - mean, residual[i]
        Ws[0][j] = d / max(np.linalg.norm(d), tiny) * 0.2 * enc_norm
        # the rows as θ's encoder reads them, x − c (c = centered_at), projected: X w − c·w
        reads = X @ Ws[0][j] - (0.0 if centered_at is None else float(np.dot(centered_at, Ws[0][j])))
        bs[0][j] = -np.quantile(reads, 1.0 - FIRING)
        Ws[1][:, j] = r / max(np.linalg.norm(r), tiny) * dec_norm
        mask_W[0][j], mask_b[0][j], mask_W[1][:, j] = True, True, True
    return changed
