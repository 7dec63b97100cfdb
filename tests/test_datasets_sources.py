"""MNIST IDX files, scikit-learn's digits, image folders, and the --data names."""

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sparseae.datasets import (
    load_digits,
    load_image_folder,
    load_mnist,
    load_training_data,
    read_idx,
)

MNIST = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"
needs_mnist = pytest.mark.skipif(
    not (MNIST / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"the MNIST test set is not at {MNIST} (it ships beside the project, not in it)",
)


def write_idx(path, array, type_code=0x08, compress=False):
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(
        struct.pack(">I", d) for d in array.shape
    )
    raw = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trip(tmp_path, rng, compress):
    images = rng.integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    path = write_idx(tmp_path / "x-idx3-ubyte", images, compress=compress)
    np.testing.assert_array_equal(read_idx(path), images)
    floats = rng.normal(size=(3, 2))
    np.testing.assert_array_equal(
        read_idx(write_idx(tmp_path / "f.idx", floats, type_code=0x0E)), floats
    )


def test_read_idx_errors(tmp_path, rng):
    images = rng.integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    good = write_idx(tmp_path / "good-idx3-ubyte", images).read_bytes()
    (tmp_path / "short").write_bytes(good[:-7])
    with pytest.raises(ValueError, match=r"is truncated: header says shape \(5, 4, 3\)"):
        read_idx(tmp_path / "short")
    (tmp_path / "png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(20))
    with pytest.raises(ValueError, match="not an IDX file: magic number .*MNIST images have 2051"):
        read_idx(tmp_path / "png")
    (tmp_path / "gz").write_bytes(gzip.compress(good)[:-10])
    with pytest.raises(ValueError, match="not a readable gzip file"):
        read_idx(tmp_path / "gz")
    (tmp_path / "head").write_bytes(good[:9])
    with pytest.raises(ValueError, match="truncated inside its header"):
        read_idx(tmp_path / "head")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_idx(tmp_path / "missing")


@needs_mnist
def test_load_mnist_test_set():
    X, y = load_mnist(MNIST)
    assert X.shape == (10000, 784) and y.shape == (10000,)
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y)) == set(range(10))
    assert y[:5].tolist() == [7, 2, 1, 0, 4]


def test_load_mnist_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no t10k-images-idx3-ubyte"):
        load_mnist(tmp_path)


def test_digits_in_unit_range():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.min() == 0 and X.max() == 1
    assert len(y) == 1797


def _save(path, array, mode):
    Image.fromarray(array, mode=None).convert(mode).save(path)


def test_image_folder_grey_and_colour(tmp_path, rng):
    for k in range(3):
        pixels = rng.integers(0, 256, size=(12, 10, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / f"im{k}.png")
    (tmp_path / "notes.txt").write_text("ignored")
    grey = load_image_folder(tmp_path)
    colour = load_image_folder(tmp_path, colour=True)
    assert grey.shape == (3, 12, 10) and colour.shape == (3, 12, 10, 3)
    assert 0 <= grey.min() and grey.max() <= 1
    X, what = load_training_data(str(tmp_path), n_patches=20, patch_size=8, colour=True, random_state=0)
    assert X.shape == (20, 192) and "colour patches" in what
    assert X.min() >= 0.1 and X.max() <= 0.9  # normalised by default for patches


def test_image_folder_errors(tmp_path, rng):
    with pytest.raises(ValueError, match="holds no .png, .jpg or .jpeg images"):
        load_image_folder(tmp_path)
    Image.fromarray(rng.integers(0, 256, size=(12, 10), dtype=np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(rng.integers(0, 256, size=(8, 8), dtype=np.uint8)).save(tmp_path / "b.jpg")
    with pytest.raises(ValueError, match="differ in size: a.png is 10x12, b.jpg is 8x8"):
        load_image_folder(tmp_path)
    (tmp_path / "b.jpg").unlink()
    with pytest.raises(ValueError, match="patch_size 16 is larger than the images"):
        load_training_data(str(tmp_path), n_patches=5, patch_size=16)
    (tmp_path / "c.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="cannot read image"):
        load_image_folder(tmp_path)


def test_training_data_names(tmp_path, rng):
    X, what = load_training_data("natural", n_patches=50, patch_size=6, random_state=0)
    assert X.shape == (50, 36) and "built-in" in what
    X, _ = load_training_data("digits")
    assert X.shape == (1797, 64) and X.max() == 1.0  # arrays are not normalised by default
    images = rng.integers(0, 256, size=(7, 5, 5), dtype=np.uint8)
    X, _ = load_training_data(str(write_idx(tmp_path / "i-idx3-ubyte.gz", images, compress=True)))
    np.testing.assert_allclose(X, images.reshape(7, 25) / 255.0)
    labels = write_idx(tmp_path / "l-idx1-ubyte", np.arange(4, dtype=np.uint8))
    with pytest.raises(ValueError, match="holds labels"):
        load_training_data(str(labels))
