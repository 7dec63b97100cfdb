"""Edge scores (notes §4's "edge detectors", measured) on synthetic filters with known answers."""

import numpy as np
import pytest

from sparseae import ParameterError, edge_score, localisation, orientation_selectivity


def gabor(angle, size=8, wavelength=4.0, sigma=1.8, phase=0.0):
    """An oriented grating under a Gaussian envelope, centred: what V1 (and the notes) look like."""
    y, x = np.mgrid[:size, :size] - (size - 1) / 2
    along = x * np.cos(angle) + y * np.sin(angle)
    envelope = np.exp(-(x**2 + y**2) / (2 * sigma**2))
    return (envelope * np.cos(2 * np.pi * along / wavelength + phase)).ravel()


@pytest.fixture
def gabors():
    return np.array([gabor(a, phase=p) for a in np.linspace(0, np.pi, 6, endpoint=False)
                     for p in (0.0, np.pi / 2)])


def test_gabor_filters_are_oriented_and_noise_is_not(gabors, rng):
    noise = rng.uniform(-1, 1, size=(200, 64))
    assert orientation_selectivity(gabors).min() > 0.6
    assert orientation_selectivity(noise).mean() < 0.3
    assert edge_score(gabors) == pytest.approx(orientation_selectivity(gabors).mean())


def test_a_straight_grating_scores_one_at_any_angle():
    y, x = np.mgrid[:8, :8]
    vertical, horizontal = np.cos(np.pi * x / 2).ravel(), np.cos(np.pi * y / 2).ravel()
    np.testing.assert_allclose(orientation_selectivity(np.array([vertical, horizontal])), 1.0, atol=1e-12)


def test_localisation_orders_a_point_a_gabor_and_flat_noise(gabors, rng):
    point = np.zeros(64)
    point[27] = 1.0
    flat = np.ones(64)
    uniform = rng.uniform(-1, 1, size=(400, 64))
    scores = localisation(np.array([point, flat]))
    assert scores[0] == pytest.approx(1 - 1 / 64) and scores[1] == pytest.approx(0.0, abs=1e-15)
    assert localisation(uniform).mean() == pytest.approx(4 / 9, abs=0.03)  # the docstring's figure
    assert localisation(gabors).mean() > localisation(uniform).mean() + 0.15


def test_shapes_are_checked():
    with pytest.raises(ParameterError, match="edge scores need grey"):
        orientation_selectivity(np.zeros((2, 12)), patch_shape=(2, 2, 3))
