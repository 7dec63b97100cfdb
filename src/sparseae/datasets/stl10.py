"""STL-10 (Coates, Lee and Ng, 2011) from its binary files, for UFLDL's convolution exercise.

The binary release (``stl10_binary/``) holds ``train_X.bin``, ``train_y.bin``, ``test_X.bin``,
``test_y.bin`` and ``unlabeled_X.bin``: images as uint8, 3 x 96 x 96 each, every channel stored
column by column (MATLAB's order), and labels as uint8 from 1 to 10 (``class_names.txt`` names
them). The images are memory-mapped, not read: the 100,000 unlabeled ones are 2.6 GiB.
"""

from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..errors import DataError, DataFileNotFoundError

SIDE, CHANNELS = 96, 3
IMAGE_BYTES = SIDE * SIDE * CHANNELS
N_CLASSES = 10


def read_stl10_images(path):
    """The images of an STL-10 ``*_X.bin`` file as an (n, 96, 96, 3) uint8 view of a memory map."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0 or size % IMAGE_BYTES:
        raise DataError(f"{str(path)!r} is not a whole number of STL-10 images ({size} bytes, not a multiple of "
                        f"{IMAGE_BYTES} = 3 x 96 x 96): truncated or not STL-10")
    raw = np.memmap(path, dtype=np.uint8, mode="r", shape=(size // IMAGE_BYTES, CHANNELS, SIDE, SIDE))
    return raw.transpose(0, 3, 2, 1)  # (n, channel, column, row) on disk -> (n, row, column, channel)


def read_stl10_labels(path, n_images):
    """The labels of an STL-10 ``*_y.bin`` file (1 to 10), checked against its images' count."""
    labels = np.fromfile(path, dtype=np.uint8)
    if len(labels) != n_images:
        raise DataError(f"{str(path)!r} holds {len(labels)} labels for {n_images} images")
    if len(labels) and (labels.min() < 1 or labels.max() > N_CLASSES):
        raise DataError(f"{str(path)!r} holds labels outside 1 .. {N_CLASSES} (found {labels.min()} .. "
                        f"{labels.max()}): not STL-10 labels")
    return labels.astype(np.int64)


def load_stl10(folder):
    """The parts of STL-10 found in a folder of its binary release, memory-mapped.

    Parameters
    ----------
    folder : str or path-like
        The release's ``stl10_binary`` folder, or any folder holding some of ``train_X.bin`` with
        ``train_y.bin``, ``test_X.bin`` with ``test_y.bin``, ``unlabeled_X.bin`` and
        ``class_names.txt``.

    Returns
    -------
    Bunch
        ``X_train``, ``X_test``, ``X_unlabeled``: images of shape (n, 96, 96, 3), uint8, views of
        memory maps (nothing is read until used); ``y_train``, ``y_test``: labels 1 to 10, int64;
        ``class_names``: the lines of ``class_names.txt``. A part whose files are absent is None.

    Raises
    ------
    DataFileNotFoundError
        If ``folder`` does not exist, holds none of the image files, or holds images without
        their labels.
    DataError
        If an image file is not a whole number of images, or a label file does not match its
        images in count or holds labels outside 1 to 10.

    Examples
    --------
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from sparseae.datasets import load_stl10
    >>> Path("stl10").mkdir()
    >>> np.arange(2 * 3 * 96 * 96, dtype=np.uint32).astype(np.uint8).tofile("stl10/train_X.bin")
    >>> np.array([1, 10], np.uint8).tofile("stl10/train_y.bin")
    >>> data = load_stl10("stl10")
    >>> data.X_train.shape, data.y_train.tolist(), data.X_test is None
    ((2, 96, 96, 3), [1, 10], True)
    >>> load_stl10(".")
    Traceback (most recent call last):
    ...
    sparseae.errors.DataFileNotFoundError: no STL-10 binary files (train_X.bin, test_X.bin, unlabeled_X.bin) in '.': ...
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataFileNotFoundError(f"STL-10 folder {str(folder)!r} does not exist")
    data = Bunch(X_train=None, y_train=None, X_test=None, y_test=None, X_unlabeled=None, class_names=None)
    for part in ("train", "test", "unlabeled"):
        images = folder / f"{part}_X.bin"
        if not images.is_file():
            continue
        data[f"X_{part}"] = read_stl10_images(images)
        if part != "unlabeled":
            labels = folder / f"{part}_y.bin"
            if not labels.is_file():
                raise DataFileNotFoundError(f"{str(images)!r} has no labels beside it ({labels.name})")
            data[f"y_{part}"] = read_stl10_labels(labels, len(data[f"X_{part}"]))
    if all(data[f"X_{part}"] is None for part in ("train", "test", "unlabeled")):
        raise DataFileNotFoundError(f"no STL-10 binary files (train_X.bin, test_X.bin, unlabeled_X.bin) in "
                                    f"{str(folder)!r}: download stl10_binary from "
                                    "https://cs.stanford.edu/~acoates/stl10/ and give its folder")
    names = folder / "class_names.txt"
    if names.is_file():
        data.class_names = [line.strip() for line in names.read_text().splitlines() if line.strip()]
    return data
