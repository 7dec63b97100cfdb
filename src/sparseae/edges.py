"""How edge-like learned filters are: orientation selectivity and spatial localisation.

Notes §4 reports that a sparse autoencoder trained on whitened natural images learns "edges at
different positions and orientations". These two scores make that claim measurable, so that a
test can compare learned filters with the random initial ones.
"""

import numpy as np

from .errors import DataError, ParameterError
from .visualize import infer_patch_shape


def _as_patches(W, patch_shape):
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2:
        raise DataError(f"W must be 2-D (n_units, n_features), got shape {W.shape}")
    shape = tuple(patch_shape) if patch_shape is not None else infer_patch_shape(W.shape[1])
    if len(shape) != 2:
        raise ParameterError(f"edge scores need grey (h, w) patches, got patch_shape {shape}")
    return W.reshape(-1, *shape)


def orientation_selectivity(W, patch_shape=None):
    r"""Per filter (row of W), how much of its spectral power lies along one orientation, in [0, 1].

    With P(k) the power spectrum of the zero-mean filter and θ(k) the orientation of frequency k
    (DC excluded),

    .. math:: \mathrm{OSI} = \frac{\left| \sum_k P(k)\, e^{2 i \theta(k)} \right|}{\sum_k P(k)}

    1 for a pure oriented grating or a straight edge, near 0 for an isotropic filter; white noise
    on 8x8 pixels scores about 0.15-0.2.
    """
    patches = _as_patches(W, patch_shape)
    patches = patches - patches.mean(axis=(1, 2), keepdims=True)
    h, w = patches.shape[1:]
    power = np.abs(np.fft.fft2(patches)) ** 2  # (n, h, w)
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    phase = np.exp(2j * np.arctan2(fy, fx))  # e^{2iθ}; θ and θ+π give the same value
    phase[0, 0] = 0.0
    total = power.sum(axis=(1, 2))
    oriented = np.abs((power * phase).sum(axis=(1, 2)))
    return np.divide(oriented, total, out=np.zeros_like(total), where=total > 0)


def localisation(W, patch_shape=None):
    r"""Per filter, how concentrated its energy is in space, in (0, 1].

    One minus the participation ratio of the squared weights over the n pixels,

    .. math:: 1 - \frac{(\sum_j w_j^2)^2}{n \sum_j w_j^4}

    0 when every pixel carries the same energy, approaching 1 when a few pixels carry it all;
    uniform white noise (UFLDL's initial weights) scores about 4/9, Gaussian noise about 2/3.
    """
    patches = _as_patches(W, patch_shape).reshape(len(W), -1)
    e = patches**2
    num = e.sum(axis=1) ** 2
    den = patches.shape[1] * (e**2).sum(axis=1)
    return 1.0 - np.divide(num, den, out=np.ones_like(num), where=den > 0)


def edge_score(W, patch_shape=None):
    """Mean orientation selectivity of the filters: the one-number summary used in reports."""
    return float(orientation_selectivity(W, patch_shape).mean())
