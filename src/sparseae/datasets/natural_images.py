"""The built-in natural images (notes §4's footnote): whitened photographs from scikit-image.

UFLDL's exercise trains on IMAGES, ten 512x512 natural images that Olshausen whitened for the
sparse coding experiments. We rebuild the same kind of set from the photographs that
scikit-image ships inside its wheel (nothing is downloaded at run time): each is turned grey,
cropped to its central square, resized to ``size`` x ``size``, and whitened as Olshausen did,
by multiplying its spectrum by the filter f·exp(-(f/f0)^4) with f0 = 0.4·N, which flattens the
1/f amplitude spectrum of natural images and rolls off the highest frequencies. The set is then
scaled to variance 0.1 and cached.
"""

import numpy as np

from .._io import atomic_path, cache_dir
from ..errors import DataError, ParameterError

#: skimage.data photographs of natural scenes, objects and textures, all shipped in the wheel.
PHOTOGRAPHS = (
    "astronaut", "camera", "chelsea", "coffee", "rocket", "grass", "gravel", "brick", "coins", "moon",
)
FORMAT_VERSION = 1


def whiten_images(images):
    r"""Olshausen's whitening of square images, each on its own.

    .. math:: \hat I_w(f) = \hat I(f) \cdot f \, e^{-(f/f_0)^4}, \qquad f_0 = 0.4 N

    with :math:`\hat I` the image's 2-D Fourier transform and f the radial frequency in cycles
    per image: the filter flattens the 1/f amplitude spectrum of natural images and rolls off the
    highest frequencies.

    Parameters
    ----------
    images : array-like of shape (k, N, N)
        Grey square images.

    Returns
    -------
    ndarray of shape (k, N, N), float64
        The whitened images: real, each of mean zero (the filter is 0 at f = 0).

    Raises
    ------
    DataError
        If ``images`` is not a stack of square images.

    Examples
    --------
    >>> import numpy as np
    >>> from sparseae.datasets import whiten_images
    >>> images = np.random.default_rng(0).normal(size=(2, 32, 32)).cumsum(axis=1).cumsum(axis=2)
    >>> white = whiten_images(images)
    >>> white.shape, bool(np.allclose(white.mean(axis=(1, 2)), 0))
    ((2, 32, 32), True)
    >>> whiten_images(np.zeros((2, 32, 16)))
    Traceback (most recent call last):
    ...
    sparseae.errors.DataError: images must have shape (k, N, N), got (2, 32, 16)
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise DataError(f"images must have shape (k, N, N), got {images.shape}")
    n = images.shape[1]
    freqs = np.fft.fftfreq(n) * n  # cycles per image, in FFT order
    f = np.hypot(freqs[:, None], freqs[None, :])
    f0 = 0.4 * n
    filt = f * np.exp(-((f / f0) ** 4))
    return np.real(np.fft.ifft2(np.fft.fft2(images) * filt))


def _load_photographs(size):
    from skimage import data
    from skimage.color import rgb2gray
    from skimage.transform import resize

    out = np.empty((len(PHOTOGRAPHS), size, size))
    for k, name in enumerate(PHOTOGRAPHS):
        image = getattr(data, name)()
        if image.ndim == 3:
            image = rgb2gray(image[..., :3])
        image = image.astype(np.float64)
        h, w = image.shape
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        square = image[top : top + side, left : left + side]
        out[k] = resize(square, (size, size), anti_aliasing=True, preserve_range=True)
    return out


def build_natural_images(size=256):
    """Build the set without the cache: grey, square, whitened, scaled to variance 0.1."""
    images = whiten_images(_load_photographs(size))
    return np.sqrt(0.1) * images / np.sqrt(images.var(axis=(1, 2)).mean())


def natural_images(size=256, cache=True):
    """Ten whitened natural images, the built-in stand-in for UFLDL's ``IMAGES``.

    Built from scikit-image's photographs (shipped in its wheel; nothing is downloaded) on first
    use, about a second, then read from the cache folder (``$SPARSEAE_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/sparseae``). A cache file that is unreadable or of the wrong shape is
    rebuilt; a cache that cannot be written is skipped.

    Parameters
    ----------
    size : int, default 256
        The side of each image, at least 16.
    cache : bool, default True
        Read and write the cache; False builds the set every time.

    Returns
    -------
    ndarray of shape (10, size, size), float64
        Grey, whitened (:func:`whiten_images`), scaled so that the variance over all ten is 0.1.

    Raises
    ------
    ParameterError
        If ``size`` is not an integer of at least 16.

    Examples
    --------
    >>> from sparseae.datasets import natural_images
    >>> images = natural_images(64, cache=False)
    >>> images.shape, round(float(images.var()), 6)
    ((10, 64, 64), 0.1)
    >>> natural_images(8)
    Traceback (most recent call last):
    ...
    sparseae.errors.ParameterError: size must be an integer >= 16, got 8
    """
    if not isinstance(size, int) or size < 16:
        raise ParameterError(f"size must be an integer >= 16, got {size!r}")
    path = cache_dir() / f"natural_images_v{FORMAT_VERSION}_{size}.npy"
    if cache and path.is_file():
        try:
            images = np.load(path, allow_pickle=False)
            if images.shape == (len(PHOTOGRAPHS), size, size) and images.dtype == np.float64:
                return images
        except (OSError, ValueError):
            pass
    images = build_natural_images(size)
    if cache:
        try:
            with atomic_path(path) as tmp:
                with open(tmp, "wb") as fh:
                    np.save(fh, images)
        except OSError:
            pass  # a read-only home is no reason to fail: the set is simply rebuilt next time
    return images
