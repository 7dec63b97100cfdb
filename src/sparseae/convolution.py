r"""UFLDL's "Working with large images": features learned on small patches, convolved over whole
images and pooled (Convolution and pooling; the STL-10 exercise).

For a fitted encoder with code a = f(W x + b) on p x q patches, the convolved feature of unit j at
position (r, c) of image I is its code on the patch whose top-left corner is there ("valid"
positions only, every ``stride`` pixels):

.. math:: a_j(r, c) = f\Big(\sum_{u < p,\, v < q} W_{j, (u, v)}\, I(r s + u, c s + v) + b_j\Big)

and pooling summarises each map over non-overlapping p' x q' regions: their mean (UFLDL's
``cnnPool``), their maximum, or RICA's square-square-root √(Σ a² + ε) (``"l2"``, the newer
tutorial's ``feedfowardRICA``). The convolution is one matrix product per block of images: the
blocks' patches are copied as rows (from a strided view of the images) and multiplied by the
folded weights of :mod:`sparseae.patch_code` at once, one block per core.
"""

import numbers
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from . import persistence
from .engine import parallel
from .errors import DataError, ParameterError
from .patch_code import PatchCode, unfrozen

POOLINGS = ("mean", "max", "l2")
#: Bytes of one core's buffers (its block's patches and codes) in the transform.
BLOCK_BYTES = 1 << 22
#: Bytes of images read at once when ``batch_size="auto"``.
BATCH_BYTES = 1 << 26


def _pair(value, name):
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value, value)
    try:
        pair = tuple(value)
    except TypeError:
        pair = ()
    if len(pair) != 2 or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1
                                 for v in pair):
        raise ParameterError(f"{name} must be a positive whole number or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def _divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


def open_images(X):
    """Images as an array (a ``.npy`` path is memory-mapped, not read): (n, h, w) or (n, h, w, C)."""
    if isinstance(X, (str, Path)):
        path = Path(X)
        if not path.is_file():
            raise DataError(f"X: image file {str(path)!r} does not exist")
        try:
            X = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise DataError(f"X: {str(path)!r} is not a readable .npy file of images: {exc}") from None
    elif not hasattr(X, "shape") or not hasattr(X, "dtype"):
        X = np.asarray(X)
    if X.ndim not in (3, 4) or 0 in X.shape:
        raise DataError(f"X must hold images of shape (n, height, width) or (n, height, width, channels), "
                        f"got shape {tuple(X.shape)}")
    if X.dtype.kind not in "biuf":
        raise DataError(f"X must hold numbers, got dtype {X.dtype}")
    return X


@persistence.register
class ConvolutionalFeatures(TransformerMixin, BaseEstimator):
    """A fitted encoder convolved over whole images and pooled, as a scikit-learn transformer.

    Parameters
    ----------
    encoder : fitted estimator
        What each patch becomes: a :class:`~sparseae.SparseAutoencoder`, a :class:`~sparseae.RICA`,
        a Pipeline of preprocessing (:class:`~sparseae.ZCAWhitening`,
        :class:`~sparseae.PatchNormalizer`, ...) ending in one, or any fitted transformer of
        flattened patches (applied patch by patch). ``clone`` (GridSearchCV) clones it unfitted:
        wrap it in ``sklearn.frozen.FrozenEstimator`` to search over what follows it. Its patches are flattened as
        :func:`sparseae.datasets.sample_patches` flattens them: (p, q) or (p, q, C) in C order.
    patch_shape : int or (int, int), default (8, 8)
        The encoder's patch, p x q pixels.
    pool_size : int or (int, int), optional
        The pooling regions, p' x q' convolved positions each; they must tile the convolved map
        (h - p) // stride + 1 by (w - q) // stride + 1 exactly. Default: one region, the whole map.
    pooling : {"mean", "max", "l2"}, default "mean"
        Each region's mean, maximum, or √(Σ a² + ``pool_epsilon``) (RICA's).
    stride : int, default 1
        Pixels between patch positions.
    batch_size : int or "auto", default "auto"
        Images read at once (memory is bounded by it: a memory-mapped ``.npy`` of images larger
        than memory works); "auto": about 64 MiB of them.
    pool_epsilon : float, default 0.01
        ε of ``pooling="l2"`` (the tutorial's RICA exercise uses 0.01).
    verbose : int or "auto", default "auto"
        A progress bar over the images: "auto" when there is more than one batch of them.

    Attributes
    ----------
    image_shape_ : tuple
        (height, width, channels) of the images fitted.
    map_shape_ : tuple
        (rows, columns) of each convolved map.
    pooled_shape_ : tuple
        (rows, columns) of each pooled map.
    n_units_ : int
        The encoder's units (maps per image).
    n_features_out_ : int
        ``n_units_`` · rows · columns of the pooled maps. The output's columns are unit by unit,
        each unit's pooled map in C order (reshape a row to ``(n_units_, *pooled_shape_)``).

    Raises
    ------
    ParameterError
        From ``fit``, if the encoder is not fitted, ``pool_size`` does not tile the convolved map
        (the message lists the sizes that do), or another parameter is out of range.
    DataError
        If the images are smaller than a patch, grey where the encoder is colour (or the other
        way round), of another shape than those fitted, or hold NaN pixels (the image is named).

    Examples
    --------
    >>> import numpy as np
    >>> import sparseae
    >>> from sparseae.datasets import load_digits, sample_patches
    >>> X, _ = load_digits()
    >>> images = X.reshape(-1, 8, 8)
    >>> encoder = sparseae.SparseAutoencoder(6, tol=1e-3, random_state=0)
    >>> encoder = encoder.fit(sample_patches(images, 2000, 3, random_state=0))
    >>> conv = sparseae.ConvolutionalFeatures(encoder, patch_shape=3, pool_size=3).fit(images)
    >>> conv.map_shape_, conv.pooled_shape_, conv.transform(images[:5]).shape
    ((6, 6), (2, 2), (5, 24))
    >>> first = conv.transform(images[:1])[0, 0]     # unit 0, top-left region: the mean of 9 codes
    >>> patches = [images[0, r:r + 3, c:c + 3].ravel() for r in range(3) for c in range(3)]
    >>> bool(np.isclose(first, encoder.transform(np.array(patches))[:, 0].mean()))
    True
    """

    def __init__(self, encoder, *, patch_shape=(8, 8), pool_size=None, pooling="mean", stride=1, batch_size="auto",
                 pool_epsilon=0.01, verbose="auto"):
        self.encoder, self.patch_shape, self.pool_size, self.pooling = encoder, patch_shape, pool_size, pooling
        self.stride, self.batch_size, self.pool_epsilon, self.verbose = stride, batch_size, pool_epsilon, verbose

    # -- the shapes ----------------------------------------------------------------------------

    def _check_params(self):
        patch = _pair(self.patch_shape, "patch_shape")
        if self.pooling not in POOLINGS:
            raise ParameterError(f"pooling must be one of {', '.join(map(repr, POOLINGS))}, got {self.pooling!r}")
        stride = self.stride
        if isinstance(stride, bool) or not isinstance(stride, numbers.Integral) or stride < 1:
            raise ParameterError(f"stride must be a positive whole number, got {stride!r}")
        if not (self.batch_size == "auto" or (isinstance(self.batch_size, numbers.Integral)
                                              and not isinstance(self.batch_size, bool) and self.batch_size >= 1)):
            raise ParameterError(f"batch_size must be a positive whole number or 'auto', got {self.batch_size!r}")
        if not (isinstance(self.pool_epsilon, numbers.Real) and np.isfinite(self.pool_epsilon)
                and self.pool_epsilon >= 0):
            raise ParameterError(f"pool_epsilon must be a finite number ≥ 0, got {self.pool_epsilon!r}")
        if self.verbose != "auto" and not isinstance(self.verbose, numbers.Integral):
            raise ParameterError(f"verbose must be a whole number or 'auto', got {self.verbose!r}")
        return patch, int(stride)

    def _shapes(self, image_shape, code):
        """``(patch, stride, map, pooled map, pool)`` shapes for images of ``image_shape`` (h, w, C)."""
        (p, q), stride = self._check_params()
        h, w, channels = image_shape
        if p > h or q > w:
            raise DataError(f"X: the images ({h} x {w}) are smaller than a patch ({p} x {q})")
        if p * q * channels != code.n_features:
            kind = "grey" if channels == 1 else f"{channels}-channel"
            raise DataError(f"patch_shape ({p}, {q}) on {kind} images gives patches of {p * q * channels} values, "
                            f"but the encoder takes {code.n_features}: check patch_shape and the images' channels")
        rows, cols = (h - p) // stride + 1, (w - q) // stride + 1
        pool = (rows, cols) if self.pool_size is None else _pair(self.pool_size, "pool_size")
        for size, extent, axis in ((pool[0], rows, "rows"), (pool[1], cols, "columns")):
            if extent % size:
                raise ParameterError(
                    f"pool_size {pool} does not tile the {rows} x {cols} convolved map: {size} does not divide its "
                    f"{extent} {axis} (pool sizes that do: {', '.join(map(str, _divisors(extent)))})")
        return (p, q), stride, (rows, cols), (rows // pool[0], cols // pool[1]), pool

    @staticmethod
    def _image_shape(X):
        return (int(X.shape[1]), int(X.shape[2]), 1 if X.ndim == 3 else int(X.shape[3]))

    def fit(self, X, y=None):
        """Check the encoder, the patch and pooling shapes against images like X's (nothing is
        learned: the encoder is fitted already). Returns self."""
        code = PatchCode(self.encoder)
        X = open_images(X)
        self.image_shape_ = self._image_shape(X)
        _, _, self.map_shape_, self.pooled_shape_, _ = self._shapes(self.image_shape_, code)
        self.n_units_ = code.n_units
        self.n_features_out_ = self.n_units_ * self.pooled_shape_[0] * self.pooled_shape_[1]
        return self

    def get_feature_names_out(self, input_features=None):
        """``conv{j}_r{r}_c{c}``: unit j's pooled value in region (r, c)."""
        check_is_fitted(self)
        rows, cols = self.pooled_shape_
        return np.array([f"conv{j}_r{r}_c{c}" for j in range(self.n_units_) for r in range(rows)
                         for c in range(cols)], dtype=object)

    # -- the transform -------------------------------------------------------------------------

    def transform(self, X):
        """The pooled features of each image: an (n, ``n_features_out_``) float64 array."""
        check_is_fitted(self)
        code = PatchCode(self.encoder)
        X = open_images(X)
        if self._image_shape(X) != tuple(self.image_shape_):
            raise DataError(f"X has images of shape {self._image_shape(X)} (height, width, channels), but this "
                            f"ConvolutionalFeatures was fitted on {tuple(self.image_shape_)}")
        if code.n_units != self.n_units_:
            raise DataError(f"the encoder now has {code.n_units} units, not the {self.n_units_} fitted: refit")
        patch, stride, maps, pooled, pool = self._shapes(self.image_shape_, code)
        shape = (patch, stride, maps)
        n = X.shape[0]
        out = np.empty((n, self.n_features_out_))
        positions = maps[0] * maps[1]
        block = max(1, BLOCK_BYTES // (8 * positions * (code.n_features + code.n_units)))
        batch = self.batch_size if self.batch_size != "auto" else max(
            block, BATCH_BYTES // (8 * int(np.prod(self.image_shape_))))
        block = min(block, batch)
        show = self.verbose == "auto" and n > batch or self.verbose not in ("auto", 0)
        buffers = {}

        def run(i, lo, hi):  # one core's images [lo, hi) of the batch
            if i not in buffers:
                rows = block * positions
                buffers[i] = (code.patch_buffer(rows), np.empty((rows, code.n_units)))
            for start, stop in parallel.blocks(lo, hi, block):
                self._block(images[start:stop], code, buffers[i], shape, pooled, pool, out[first + start:first + stop])

        with tqdm(total=n, desc="convolving", unit="image", disable=not show) as bar, parallel.single_threaded_blas():
            for first in range(0, n, batch):
                images = np.asarray(X[first:first + batch], dtype=np.float64)
                bad = ~np.isfinite(images.reshape(len(images), -1)).all(axis=1)
                if bad.any():
                    raise DataError(f"X: image {first + int(np.argmax(bad))} has NaN or infinite pixels")
                m = len(images)
                parts = max(1, min(parallel.n_cores(), -(-m // block)))
                parallel.over_rows(run, [(m * k // parts, m * (k + 1) // parts) for k in range(parts)])
                bar.update(m)
        return out

    def _block(self, images, code, buffers, shape, pooled, pool, out):
        """The pooled features of a block of images into ``out`` (its rows); ``shape``: the
        patch, the stride and the convolved map."""
        (p, q), stride, maps = shape
        b, positions = len(images), maps[0] * maps[1]
        windows = np.lib.stride_tricks.sliding_window_view(images, (p, q), axis=(1, 2))[:, ::stride, ::stride]
        if images.ndim == 4:  # (b, rows, cols, C, p, q) -> a patch as (p, q, C), as patches are flattened
            windows = windows.transpose(0, 1, 2, 4, 5, 3)
        patches = buffers[0][: b * positions]
        # a view (splitting each axis of the patches' columns never copies), past any ones column
        np.copyto(patches[:, : code.n_features].reshape(windows.shape), windows)
        a = code.codes(patches, buffers[1][: b * positions])  # (b · positions, units)
        regions = a.reshape(b, pooled[0], pool[0], pooled[1], pool[1], code.n_units)
        if self.pooling == "mean":
            result = regions.mean(axis=(2, 4))
        elif self.pooling == "max":
            result = regions.max(axis=(2, 4))
        else:
            result = np.sqrt(np.einsum("brucvj,brucvj->brcj", regions, regions) + self.pool_epsilon)
        out.reshape(b, code.n_units, pooled[0], pooled[1])[...] = result.transpose(0, 3, 1, 2)

    # -- persistence: the encoder's state nested in this one's --------------------------------

    def _get_state(self):
        config, arrays = persistence.model_state(unfrozen(self.encoder))  # (saved unwrapped)
        params = {k: v for k, v in self.get_params(deep=False).items() if k != "encoder"}
        params["encoder"] = config
        fitted = {"image_shape_": list(self.image_shape_)}
        return params, fitted, {f"encoder.{name}": value for name, value in arrays.items()}

    @classmethod
    def _from_state(cls, params, fitted, arrays):
        params = dict(params)
        encoder = persistence.rebuild(params.pop("encoder"),
                                      {k[len("encoder."):]: v for k, v in arrays.items() if k.startswith("encoder.")})
        for name in ("patch_shape", "pool_size", "stride"):
            if isinstance(params.get(name), list):
                params[name] = tuple(params[name])
        shape = fitted["image_shape_"]
        if not (isinstance(shape, list) and len(shape) == 3 and all(isinstance(v, int) and v >= 1 for v in shape)):
            raise DataError(f"image_shape_ must be three positive whole numbers, got {shape!r}")
        images = np.zeros((1, shape[0], shape[1]) if shape[2] == 1 else (1, *shape))
        return cls(encoder, **params).fit(images)

    def save(self, path):
        check_is_fitted(self)
        return persistence.save(self, path)
