"""Visualising what each hidden unit has learned (notes §4), and the cost per iteration.

:func:`feature_tiles` is a pure function, array in and array out, so tests can check it without
a display; :func:`save_tiles` and :func:`save_cost_curve` write PNG files.
"""

import io
import math
from pathlib import Path

import numpy as np

from ._io import atomic_path
from .errors import DataError, ParameterError


def max_activation_inputs(W):
    r"""The norm-bounded input that maximally activates each hidden unit (notes §4).

    Under ‖x‖² ≤ 1, unit i of W(1) is most active at

    .. math:: x_j = \frac{W^{(1)}_{ij}}{\sqrt{\sum_j (W^{(1)}_{ij})^2}}

    A unit whose weights are all zero gets a zero row.

    Parameters
    ----------
    W : array_like of shape (n_hidden, n_features)
        W(1), such as ``model.components_``.

    Returns
    -------
    ndarray of shape (n_hidden, n_features)
        One input per row, each of norm 1 (or 0).

    Raises
    ------
    DataError
        If W is not 2-D.

    Examples
    --------
    >>> import numpy as np
    >>> from sparseae import max_activation_inputs
    >>> max_activation_inputs(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
    [[0.6, 0.8], [0.0, 0.0]]
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2:
        raise DataError(f"W must be 2-D (n_hidden, n_features), got shape {W.shape}")
    norms = np.linalg.norm(W, axis=1, keepdims=True)
    return np.divide(W, norms, out=np.zeros_like(W), where=norms > 0)


def infer_patch_shape(n_features):
    """(p, p) for p² features, (p, p, 3) for 3p² (colour); otherwise a ValueError."""
    p = math.isqrt(n_features)
    if p * p == n_features:
        return (p, p)
    p = math.isqrt(n_features // 3)
    if n_features % 3 == 0 and 3 * p * p == n_features:
        return (p, p, 3)
    raise ParameterError(
        f"cannot show {n_features} features as square patches; pass patch_shape explicitly"
    )


def feature_tiles(W, patch_shape=None, n_cols=None, pad=1):
    """One tile per hidden unit, its maximally activating input, laid out on a grid.

    Each tile is contrast-normalised on its own, as UFLDL's ``display_network`` does: its largest
    absolute value maps to 0 or 1, and zero maps to 0.5 (grey).

    Parameters
    ----------
    W : array_like of shape (n_hidden, n_features)
        W(1), such as ``model.components_``.
    patch_shape : tuple, optional
        (h, w), or (h, w, 3) for colour. Inferred for square grey patches.
    n_cols : int, optional
        Tiles per row of the grid. Default ⌈√n_hidden⌉.
    pad : int, default 1
        Pixels of black border between the tiles.

    Returns
    -------
    ndarray of shape (H, W) or (H, W, 3)
        The image, float64 in [0, 1].

    Raises
    ------
    DataError
        If W is not 2-D.
    ParameterError
        If ``patch_shape`` does not hold W's columns, or none is given and they are not a square.

    Examples
    --------
    >>> import numpy as np
    >>> from sparseae import feature_tiles
    >>> W = np.random.default_rng(0).standard_normal((25, 64))    # 25 units of 8x8 patches
    >>> image = feature_tiles(W)
    >>> image.shape, bool(image.min() >= 0 and image.max() <= 1)
    ((46, 46), True)
    """
    X = max_activation_inputs(W)
    n_tiles, n_features = X.shape
    patch_shape = tuple(patch_shape) if patch_shape is not None else infer_patch_shape(n_features)
    if math.prod(patch_shape) != n_features:
        raise ParameterError(f"patch_shape {patch_shape} does not hold {n_features} features")
    scale = np.abs(X).max(axis=1, keepdims=True)
    tiles = 0.5 + 0.5 * np.divide(X, scale, out=np.zeros_like(X), where=scale > 0)
    tiles = tiles.reshape((n_tiles, *patch_shape))
    n_cols = n_cols or math.ceil(math.sqrt(n_tiles))
    n_rows = math.ceil(n_tiles / n_cols)
    h, w = patch_shape[:2]
    grid = np.zeros((n_rows * (h + pad) + pad, n_cols * (w + pad) + pad, *patch_shape[2:]))
    for k in range(n_tiles):
        r, c = divmod(k, n_cols)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        grid[top : top + h, left : left + w] = tiles[k]
    return grid


def image_png(image, scale=8):
    """An array in [0, 1] as PNG bytes, each pixel enlarged to ``scale`` x ``scale``."""
    from PIL import Image

    if not isinstance(scale, int) or scale < 1:
        raise ParameterError(f"scale must be a positive integer, got {scale!r}")
    pixels = np.clip(np.asarray(image) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    pixels = pixels.repeat(scale, axis=0).repeat(scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def save_image(image, path, scale=8):
    """Write an array in [0, 1] as a PNG, each pixel enlarged to ``scale`` x ``scale``."""
    data = image_png(image, scale)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def save_tiles(W, path, patch_shape=None, scale=None):
    """Write :func:`feature_tiles` of W as a PNG; returns the path.

    ``scale`` enlarges each pixel; by default 8 for 8x8 patches, 2 for 28x28 digits.
    """
    with atomic_path(path) as tmp:
        tmp.write_bytes(tiles_png(W, patch_shape, scale))
    return Path(path)


def tiles_png(W, patch_shape=None, scale=None, n_cols=None):
    """:func:`feature_tiles` of W as PNG bytes (``scale`` as for :func:`save_tiles`)."""
    tiles = feature_tiles(W, patch_shape, n_cols=n_cols)
    if scale is None:
        side = max(tiles.shape[0] // max(1, math.isqrt(len(W))), 1)
        scale = max(1, min(8, 64 // side))
    return image_png(tiles, scale=scale)


def layer_features(Ws):
    """Each unit of the last layer of ``Ws`` (W(1), W(2), ...) as an input pattern: the weighted
    combination of the first layer's features, W(l) ... W(2) W(1) (UFLDL's visualisation of a
    deeper layer); for W(1) alone, W(1)."""
    combined = Ws[0]
    for W in Ws[1:]:
        combined = W @ combined
    return combined


def _save_figure(fig, path):
    import matplotlib.pyplot as plt

    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=100)
    finally:
        plt.close(fig)
    return Path(path)


def save_confusion_matrix(y_true, y_pred, classes, path):
    """Plot the confusion matrix (rows: true class, columns: predicted; counts) to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    counts = confusion_matrix(y_true, y_pred, labels=classes)
    fig, ax = plt.subplots(figsize=(1.0 + 0.45 * len(classes), 0.8 + 0.45 * len(classes)))
    ax.imshow(counts, cmap="Blues")
    ticks = np.arange(len(classes))
    ax.set_xticks(ticks, [str(c) for c in classes])
    ax.set_yticks(ticks, [str(c) for c in classes])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (i, j), n in np.ndenumerate(counts):
        ax.text(j, i, str(n), ha="center", va="center", fontsize=7,
                color="white" if n > counts.max() / 2 else "black")
    ax.set_title(f"accuracy {np.trace(counts) / max(1, counts.sum()):.2%}")
    fig.tight_layout()
    return _save_figure(fig, path)


def save_cost_curve(loss_curve, path, validation_scores=None):
    """Plot J_sparse per iteration (log scale; held-out rows too when given) to a PNG."""
    from .figures import cost_curves

    return _save_figure(cost_curves(loss_curve, validation_scores), path)
