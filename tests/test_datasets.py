import numpy as np
import pytest

from sparseae.datasets import (
    load_array,
    natural_images,
    normalize_patches,
    sample_patches,
    whiten_images,
)
from sparseae.datasets.natural_images import PHOTOGRAPHS, cache_dir


def test_natural_images_shape_variance_and_cache():
    images = natural_images()
    assert images.shape == (len(PHOTOGRAPHS), 256, 256)
    assert images.var() == pytest.approx(0.1, rel=1e-12)
    assert abs(images.mean()) < 1e-3
    cached = list(cache_dir().glob("natural_images_v1_256.npy"))
    assert len(cached) == 1
    np.testing.assert_array_equal(natural_images(), images)


def test_corrupt_cache_is_rebuilt():
    images = natural_images(size=64)
    path = cache_dir() / "natural_images_v1_64.npy"
    path.write_bytes(b"not an array")
    np.testing.assert_array_equal(natural_images(size=64), images)


def test_whitening_flattens_a_one_over_f_spectrum(rng):
    """Natural images have amplitude ~ 1/f; after whitening the mid band is flat."""
    n = 128
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(n) * n, np.fft.fftfreq(n) * n))
    f[0, 0] = 1.0
    phases = np.exp(2j * np.pi * rng.uniform(size=(n, n)))
    image = np.real(np.fft.ifft2(phases / f))[None]
    white = whiten_images(image)[0]
    amp = np.abs(np.fft.fft2(white))
    low = amp[(f > 4) & (f < 8)].mean()
    mid = amp[(f > 16) & (f < 24)].mean()
    raw_amp = np.abs(np.fft.fft2(image[0]))
    assert raw_amp[(f > 4) & (f < 8)].mean() / raw_amp[(f > 16) & (f < 24)].mean() > 2.5
    assert 0.8 < low / mid < 1.25
    assert white.mean() == pytest.approx(0.0, abs=1e-12)  # f = 0 is removed


def test_sample_patches_are_slices_of_the_images(rng):
    images = rng.normal(size=(3, 20, 30))
    patches = sample_patches(images, 50, 5, random_state=0)
    assert patches.shape == (50, 25)
    # Replay the draws to find each patch's origin.
    state = np.random.RandomState(0)
    which = state.randint(3, size=50)
    top = state.randint(16, size=50)
    left = state.randint(26, size=50)
    for k in range(50):
        expected = images[which[k], top[k] : top[k] + 5, left[k] : left[k] + 5]
        np.testing.assert_array_equal(patches[k].reshape(5, 5), expected)


def test_colour_patches_and_reproducibility(rng):
    images = rng.uniform(size=(2, 16, 16, 3))
    a = sample_patches(images, 10, 8, random_state=1)
    assert a.shape == (10, 192)
    np.testing.assert_array_equal(a, sample_patches(images, 10, 8, random_state=1))


def test_sample_patches_bad_input(rng):
    with pytest.raises(ValueError, match="patch_size 9 is larger than the images"):
        sample_patches(rng.normal(size=(2, 8, 8)), 5, 9)
    with pytest.raises(ValueError, match="images must have shape"):
        sample_patches(rng.normal(size=(8, 8)), 5, 4)
    with pytest.raises(ValueError, match="n_patches must be a positive integer"):
        sample_patches(rng.normal(size=(2, 8, 8)), 0, 4)


def test_normalize_patches_follows_ufldl(rng):
    X = rng.normal(size=(500, 16)) * 5 + 3
    Y = normalize_patches(X)
    centred = X - X.mean(axis=1, keepdims=True)
    limit = 3 * centred.std()
    expected = (np.clip(centred, -limit, limit) / limit + 1) * 0.4 + 0.1
    np.testing.assert_allclose(Y, expected)
    assert Y.min() >= 0.1 and Y.max() <= 0.9
    assert Y.min() == pytest.approx(0.1) and Y.max() == pytest.approx(0.9)  # truncation happened
    np.testing.assert_allclose(normalize_patches(np.ones((3, 4))), 0.5)


def test_load_array_formats(tmp_path, rng):
    X = rng.normal(size=(5, 3))
    np.save(tmp_path / "x.npy", X)
    np.savez(tmp_path / "one.npz", data=X)
    np.savez(tmp_path / "two.npz", a=X, b=X)
    np.savetxt(tmp_path / "x.csv", X, delimiter=",")
    (tmp_path / "h.csv").write_text("a,b,c\n" + "\n".join(",".join(map(str, r)) for r in X))
    for name in ("x.npy", "one.npz", "x.csv", "h.csv"):
        np.testing.assert_allclose(load_array(tmp_path / name), X)
    np.testing.assert_allclose(load_array(tmp_path / "two.npz", key="b"), X)
    with pytest.raises(ValueError, match="holds 2 arrays"):
        load_array(tmp_path / "two.npz")


def test_load_array_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_array(tmp_path / "missing.npy")
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(ValueError, match="cannot read"):
        load_array(tmp_path / "bad.npy")
    (tmp_path / "x.txt").write_text("1,2")
    with pytest.raises(ValueError, match="must end in .npy, .npz or .csv"):
        load_array(tmp_path / "x.txt")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="cannot read"):
        load_array(tmp_path / "obj.npy")  # never unpickles
