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
    r"""How much of each filter's spectral power lies along one orientation, in [0, 1].

    With P(k) the power spectrum of the zero-mean filter and θ(k) the orientation of frequency k
    (the DC term excluded),

    .. math:: \mathrm{OSI} = \frac{\left| \sum_k P(k)\, e^{2 i \theta(k)} \right|}{\sum_k P(k)}

    It is 1 for a pure oriented grating or a straight edge, and near 0 for an isotropic filter.
    White noise on 8x8 pixels scores about 0.15-0.2.

    Parameters
    ----------
    W : array_like of shape (n_filters, n_pixels)
        One filter per row, such as ``model.components_``.
    patch_shape : (int, int), optional
        The filters' (height, width). Inferred for square patches.

    Returns
    -------
    ndarray of shape (n_filters,)
        Each filter's selectivity.

    Raises
    ------
    DataError
        If W is not 2-D.
    ParameterError
        If ``patch_shape`` is not grey (h, w), or does not hold W's columns.

    Examples
    --------
    >>> import numpy as np
    >>> from sparseae import orientation_selectivity
    >>> edge = np.zeros((8, 8)); edge[:, 4:] = 1.0          # a vertical edge
    >>> noise = np.random.default_rng(0).standard_normal((8, 8))
    >>> scores = orientation_selectivity(np.stack([edge.ravel(), noise.ravel()]))
    >>> bool(scores[0] > 0.9 and scores[1] < 0.5)
    True
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
    r"""How concentrated each filter's energy is in space, in (0, 1].

    One minus the participation ratio of the squared weights over the n pixels,

    .. math:: 1 - \frac{(\sum_j w_j^2)^2}{n \sum_j w_j^4}

    It is 0 when every pixel carries the same energy, and approaches 1 when a few pixels carry
    all of it. Uniform white noise (UFLDL's initial weights) scores about 4/9, and Gaussian noise
    about 2/3.

    Parameters
    ----------
    W : array_like of shape (n_filters, n_pixels)
        One filter per row.
    patch_shape : (int, int), optional
        The filters' (height, width). Inferred for square patches.

    Returns
    -------
    ndarray of shape (n_filters,)
        Each filter's localisation.

    Raises
    ------
    DataError
        If W is not 2-D.
    ParameterError
        If ``patch_shape`` is not grey (h, w), or does not hold W's columns.

    Examples
    --------
    >>> import numpy as np
    >>> from sparseae import localisation
    >>> flat, spot = np.ones(64), np.zeros(64)
    >>> spot[27] = 1.0
    >>> localisation(np.stack([flat, spot])).round(3).tolist()
    [0.0, 0.984]
    """
    patches = _as_patches(W, patch_shape).reshape(len(W), -1)
    e = patches**2
    num = e.sum(axis=1) ** 2
    den = patches.shape[1] * (e**2).sum(axis=1)
    return 1.0 - np.divide(num, den, out=np.ones_like(num), where=den > 0)


def edge_score(W, patch_shape=None):
    """The mean orientation selectivity of the filters, the one-number summary the report uses.

    Parameters
    ----------
    W : array_like of shape (n_filters, n_pixels)
        One filter per row.
    patch_shape : (int, int), optional
        The filters' (height, width). Inferred for square patches.

    Returns
    -------
    float
        ``orientation_selectivity(W, patch_shape).mean()``.

    Raises
    ------
    DataError
        If W is not 2-D.
    ParameterError
        If ``patch_shape`` is not grey (h, w), or does not hold W's columns.

    See Also
    --------
    orientation_selectivity

    Examples
    --------
    >>> import numpy as np
    >>> from sparseae import edge_score
    >>> edges = np.zeros((2, 8, 8)); edges[0, :, 4:] = 1.0; edges[1, 4:, :] = 1.0
    >>> edge_score(edges.reshape(2, 64)) > 0.9
    True
    """
    return float(orientation_selectivity(W, patch_shape).mean())
