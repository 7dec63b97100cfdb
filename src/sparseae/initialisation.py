r"""Where a fit starts: UFLDL's initialisation, or the one today's sparse autoencoders use.

- ``init="uniform"`` (the notes'): W(l) ~ U(±r), r = √6 / √(s_l + s_{l+1} + 1), b = 0
  (:meth:`sparseae.Layout.initial_theta`);
- ``init="tied"``: the decoder's columns random directions of unit norm (a normalised Gaussian
  draw), and the encoder their transpose, W1 = W2ᵀ (Conerly et al. 2024; Gao et al. 2024), so
  each unit starts by reading the direction it writes.

``decoder_bias_init`` sets b2, the reconstruction of an example whose code is all zeros: 0, the
rows' mean, or their geometric median (the point of least summed distance, robust to outlying
rows; Weiszfeld's iteration on up to :data:`SAMPLE_ROWS` rows); and then b1 = −W1 b2, so that at
the start the encoder sees x − b2 (SAELens's ``apply_b_dec_to_input``, folded into b1).
"""

import numpy as np
from sklearn.utils import check_random_state

from .errors import ParameterError

#: Rows the decoder bias is computed from (the first ones of the training data).
SAMPLE_ROWS = 10_000
INITS = ("uniform", "tied")
DECODER_BIAS_INITS = ("zeros", "mean", "geometric_median")


#: What "auto" means, measured (benchmarks/RESULTS.md, "Initialisation"): BatchTopK starts tied,
#: from the mean; the others as their recorded figures were measured.
AUTO = {"batchtopk": ("tied", "mean")}
#: ... and under a minibatch solver (Adam): JumpReLU tied from the mean (benchmarks/RESULTS.md,
#: "JumpReLU's thresholds under Adam": on MNIST, FVU 0.073 at L0 130 against UFLDL's start's
#: 0.144 at L0 62, 31 dead units against 179). Under L-BFGS, whose thresholds stay where they
#: start, the tied start keeps nearly every unit on (L0 235-250 of 256): UFLDL's start there.
#: TopK tied from the mean too ("TopK against SAELens, tied from the mean": held-out FVU 0.309
#: against 0.541 on the patches at k = 8, 0.332 against 0.372 on MNIST; under L-BFGS not
#: measured, so UFLDL's start stays there).
#: L1 tied from the mean too, with Adam's clipped gradient ("Adam's gradient clipped": at β = 0.1
#: held-out FVU 0.2007 at L0 8.3 against 0.4350 at L0 3.9 on the patches, 0.1449 at L0 71 against
#: 0.1706 at L0 53 on MNIST; at equal L0 at or below UFLDL's start, with a third of its dead units).
AUTO_MINIBATCH = {"jumprelu": ("tied", "mean"), "topk": ("tied", "mean"), "l1": ("tied", "mean")}
#: The tied start's decoder column norm for ``decoder_init_norm="auto"`` under a minibatch solver,
#: by penalty (else 1): 0.3, measured with Adam's clipped gradient (benchmarks/RESULTS.md, "Adam's
#: gradient clipped"). TopK: held-out FVU 0.0635 against 0.0702 on the patches at k = 32, 0.1690
#: against 0.1833 on MNIST, explained variance 0.836 against 0.820 on MiniLM's activations (width
#: 3,072) and 0.801 against 0.762 (width 16,384); BatchTopK: 0.843 against 0.826 and 0.800 against
#: 0.751 on MiniLM, FVU 0.1589 against 0.1727 on MNIST, 0.0536 against 0.0416 on the patches;
#: JumpReLU at width 16,384: 0.873 at L0 544 against 0.631 at L0 121 (β = 0.01), at width 3,072
#: 0.007 below the unit start at equal L0. L1 (decoder at unit norm, so the norm is the tied
#: encoder's scale): held-out FVU 0.1541 against 0.1625 on MNIST at L0 48.1 (SAELens 0.1626),
#: 0.1582 against 0.1673 on the patches at L0 9.7, explained variance 0.924 at L0 192 against
#: 0.921 at L0 203 on MiniLM's activations (width 3,072; 1 dead unit against 156)
#: ("L1's tied start at norm 0.3").
AUTO_DECODER_NORM = {"l1": 0.3, "topk": 0.3, "batchtopk": 0.3, "jumprelu": 0.3}


#: The penalties whose encoder reads x − b2 for ``center_encoder="auto"`` under a minibatch solver
#: (benchmarks/RESULTS.md, "The encoder reading x − b2"); else it reads x, b2 folded into b1 at the
#: start. L1, TopK and BatchTopK: held-out FVU lower on the patches and MNIST at every setting
#: (TopK k = 32 0.0359 against 0.0635 and 0.1652 against 0.1692), explained variance on MiniLM's
#: activations 0.804 against 0.801 at width 16,384 (0.830 against 0.836 at 3,072 after one epoch,
#: 0.880 against 0.881 after three). JumpReLU not: 0.1081 against 0.1050 at L0 82 on MNIST, and β
#: no longer holds its L0 near SAELens's at width 16,384 (1,541 at β = 0.01), though on the patches
#: it is far better (0.039 against 0.107 at L0 11).
AUTO_CENTERED = ("l1", "topk", "batchtopk")


def resolved_center_encoder(center_encoder, sparsity, minibatch=False):
    """Whether the encoder reads x − b2 in training, "auto" resolved for ``sparsity`` and the solver's kind."""
    if center_encoder != "auto":
        return bool(center_encoder)
    return bool(minibatch) and sparsity in AUTO_CENTERED


def resolved_init(init, decoder_bias_init, sparsity, minibatch=False):
    """``(init, decoder_bias_init)`` with "auto" resolved for ``sparsity`` and the solver's kind."""
    auto = AUTO_MINIBATCH.get(sparsity) if minibatch else None
    tied, bias = auto or AUTO.get(sparsity, ("uniform", "zeros"))
    return (tied if init == "auto" else init), (bias if decoder_bias_init == "auto" else decoder_bias_init)


def resolved_decoder_norm(decoder_init_norm, sparsity, minibatch=False):
    """The tied start's decoder column norm, "auto" resolved for ``sparsity`` and the solver's kind."""
    if decoder_init_norm != "auto":
        return float(decoder_init_norm)
    return AUTO_DECODER_NORM.get(sparsity, 1.0) if minibatch else 1.0


def geometric_median(X, tol=1e-9, max_iter=500):
    r"""argmin_y Σ_i ‖x_i − y‖ by Weiszfeld's iteration, from the mean: y ← Σ w_i x_i / Σ w_i with
    w_i = 1/‖x_i − y‖ (a row at y is skipped that step), until y moves by less than ``tol``
    times the rows' scale."""
    X = np.asarray(X, dtype=np.float64)
    y = X.mean(axis=0)
    scale = max(float(np.abs(X - y).max()), np.finfo(np.float64).tiny)
    for _ in range(max_iter):
        distance = np.linalg.norm(X - y, axis=1)
        near = distance > 1e-12 * scale
        w = 1.0 / distance[near]
        step = (w @ X[near]) / w.sum() - y
        y = y + step
        if np.linalg.norm(step) <= tol * scale:
            break
    return y


def decoder_bias(rows, how):
    """b2 from ``rows`` (the first rows of the training data): zeros, mean or geometric median."""
    if how == "zeros":
        return np.zeros(rows.shape[1])
    rows = np.asarray(rows[:SAMPLE_ROWS], dtype=np.float64)
    return rows.mean(axis=0) if how == "mean" else geometric_median(rows)


def initial_theta(layout, random_state, init="uniform", bias=None, decoder_norm=1.0):
    """θ for an autoencoder's ``layout`` ([n, s, n], maybe with thresholds) by ``init``, with
    decoder bias ``bias`` (None: 0) and, for "tied", decoder columns of norm ``decoder_norm``
    (W1 = W2ᵀ). The same ``random_state`` gives the same θ, bit for bit."""
    if init not in INITS:
        raise ParameterError(f"init must be one of {INITS}, got {init!r}")
    theta = layout.initial_theta(random_state)
    Ws, bs = layout.unpack(theta)
    if init == "tied":
        rng = check_random_state(random_state)
        D = rng.standard_normal(size=Ws[1].shape)  # (n, s): a column per hidden unit
        D /= np.linalg.norm(D, axis=0)
        if decoder_norm != 1.0:  # (at 1, the bits of the start before decoder_init_norm)
            D *= decoder_norm
        Ws[1][...] = D
        Ws[0][...] = D.T
    if bias is not None:
        bs[1][...] = bias
        bs[0][...] = -(Ws[0] @ bias)
    return theta
