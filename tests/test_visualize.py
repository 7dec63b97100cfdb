import numpy as np
import pytest
from PIL import Image

from sparseae import feature_tiles, max_activation_inputs
from sparseae.visualize import save_cost_curve, save_tiles


def test_max_activation_input_is_the_normalised_weight_row(rng):
    W = rng.normal(size=(5, 16))
    X = max_activation_inputs(W)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0)
    # No other unit-norm input activates unit 0 more: W0·x <= ||W0||.
    others = rng.normal(size=(1000, 16))
    others /= np.linalg.norm(others, axis=1, keepdims=True)
    assert (others @ W[0]).max() <= W[0] @ X[0] + 1e-12


def test_tiles_layout_and_contrast(rng):
    W = rng.normal(size=(5, 9))
    W[3] = 0.0  # a dead unit shows grey, not NaN
    grid = feature_tiles(W, pad=1)
    assert grid.shape == (2 * 4 + 1, 3 * 4 + 1)  # 2 rows, 3 columns of 3x3 tiles, 1px borders
    assert grid.min() >= 0 and grid.max() <= 1
    tile0 = grid[1:4, 1:4]
    x0 = W[0] / np.linalg.norm(W[0])
    np.testing.assert_allclose(tile0, 0.5 + 0.5 * x0.reshape(3, 3) / np.abs(x0).max())
    assert np.isclose(tile0, 0).any() or np.isclose(tile0, 1).any()  # full contrast
    r, c = divmod(3, 3)
    dead = grid[1 + r * 4 : 4 + r * 4, 1 + c * 4 : 4 + c * 4]
    np.testing.assert_allclose(dead, 0.5)
    assert (grid[0] == 0).all() and (grid[:, 0] == 0).all()  # borders


def test_colour_tiles_and_bad_shapes(rng):
    assert feature_tiles(rng.normal(size=(4, 48))).shape == (2 * 5 + 1, 2 * 5 + 1, 3)
    with pytest.raises(ValueError, match="cannot show 10 features as square patches"):
        feature_tiles(rng.normal(size=(4, 10)))
    with pytest.raises(ValueError, match=r"patch_shape \(2, 2\) does not hold 10 features"):
        feature_tiles(rng.normal(size=(4, 10)), patch_shape=(2, 2))


def test_pngs_are_written(tmp_path, rng):
    path = save_tiles(rng.normal(size=(4, 16)), tmp_path / "f.png", scale=2)
    with Image.open(path) as image:
        assert image.size == ((2 * 5 + 1) * 2, (2 * 5 + 1) * 2)
    curve = save_cost_curve([3.0, 2.0, 1.5], tmp_path / "c.png")
    with Image.open(curve) as image:
        assert image.format == "PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "f.png"]  # no temp files left
