"""STL-10's binary format, on small files this test writes as the dataset's README describes it:
uint8, per image the red, green and blue 96 x 96 channels, each stored column by column."""

import numpy as np
import pytest

from sparseae import DataError
from sparseae.datasets import load_stl10
from sparseae.errors import DataFileNotFoundError


def write_images(path, images):
    with open(path, "wb") as f:
        for image in images:
            for c in range(3):
                f.write(np.asarray(image[:, :, c], dtype=np.uint8).flatten(order="F").tobytes())


@pytest.fixture
def folder(tmp_path, rng):
    images = {part: rng.integers(0, 256, size=(n, 96, 96, 3), dtype=np.uint8)
              for part, n in (("train", 5), ("test", 3), ("unlabeled", 4))}
    for part, x in images.items():
        write_images(tmp_path / f"{part}_X.bin", x)
    for part in ("train", "test"):
        np.arange(1, len(images[part]) + 1, dtype=np.uint8).tofile(tmp_path / f"{part}_y.bin")
    (tmp_path / "class_names.txt").write_text("\n".join(["airplane", "bird", "car", "cat", "deer", "dog", "horse",
                                                         "monkey", "ship", "truck"]) + "\n")
    return tmp_path, images


def test_reads_images_labels_and_names(folder):
    path, images = folder
    data = load_stl10(path)
    for part in ("train", "test", "unlabeled"):
        np.testing.assert_array_equal(data[f"X_{part}"], images[part])
        assert data[f"X_{part}"].dtype == np.uint8 and data[f"X_{part}"].shape[1:] == (96, 96, 3)
    np.testing.assert_array_equal(data.y_train, [1, 2, 3, 4, 5])
    assert data.class_names[2] == "car"
    raw = np.fromfile(path / "train_X.bin", dtype=np.uint8)
    assert data.X_train[0, 0, 1, 0] == raw[96]  # column-major: the second column starts at byte 96
    assert data.X_train[0, 0, 0, 1] == raw[96 * 96]  # then green


def test_a_missing_part_is_none_and_no_part_is_an_error(folder, tmp_path_factory):
    path, _ = folder
    (path / "unlabeled_X.bin").unlink()
    assert load_stl10(path).X_unlabeled is None
    empty = tmp_path_factory.mktemp("empty")
    with pytest.raises(DataFileNotFoundError, match="no STL-10 binary files"):
        load_stl10(empty)
    with pytest.raises(DataFileNotFoundError, match="does not exist"):
        load_stl10(empty / "nowhere")


def test_truncated_images_and_wrong_labels_are_named(folder):
    path, _ = folder
    data = (path / "test_X.bin").read_bytes()
    (path / "test_X.bin").write_bytes(data[:-10])
    with pytest.raises(DataError, match="test_X.bin.*not a whole number of STL-10 images.*truncated"):
        load_stl10(path)
    (path / "test_X.bin").write_bytes(data)
    np.array([1, 2], dtype=np.uint8).tofile(path / "test_y.bin")
    with pytest.raises(DataError, match="2 labels for 3 images"):
        load_stl10(path)
    np.array([0, 2, 11], dtype=np.uint8).tofile(path / "test_y.bin")
    with pytest.raises(DataError, match="outside 1 .. 10"):
        load_stl10(path)
    (path / "test_y.bin").unlink()
    with pytest.raises(DataFileNotFoundError, match="no labels"):
        load_stl10(path)
