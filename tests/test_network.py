import numpy as np
import pytest

from sparseae import Layout, forward


def test_unpack_gives_views_in_notes_orientation():
    layout = Layout([4, 3, 2])
    theta = np.arange(layout.size, dtype=float)
    Ws, bs = layout.unpack(theta)
    assert [W.shape for W in Ws] == [(3, 4), (2, 3)]
    assert [b.shape for b in bs] == [(3,), (2,)]
    assert layout.size == 3 * 4 + 3 + 2 * 3 + 2
    for part in Ws + bs:
        assert np.shares_memory(part, theta)
    Ws[1][0, 0] = -7.0
    assert theta[15] == -7.0  # W2 starts after W1 (12) and b1 (3)


def test_initialisation_bounds_and_zero_biases():
    layout = Layout([64, 25, 64])
    theta = layout.initial_theta(0)
    Ws, bs = layout.unpack(theta)
    r = np.sqrt(6) / np.sqrt(64 + 25 + 1)
    for W in Ws:
        assert np.abs(W).max() <= r
        assert np.abs(W).max() > 0.95 * r  # uniform over the whole interval
    for b in bs:
        assert not b.any()


def test_initialisation_is_reproducible():
    layout = Layout([5, 4, 5])
    np.testing.assert_array_equal(layout.initial_theta(3), layout.initial_theta(3))
    assert not np.array_equal(layout.initial_theta(3), layout.initial_theta(4))


def test_forward_matches_equations_6_7():
    layout = Layout([2, 2, 1])
    theta = np.array([1.0, -1.0, 0.5, 2.0, 0.1, -0.2, 3.0, -4.0, 0.3])
    Ws, bs = layout.unpack(theta)
    x = np.array([[0.3, 0.7]])
    z2 = Ws[0] @ x[0] + bs[0]
    a2 = 1 / (1 + np.exp(-z2))
    a3 = Ws[1] @ a2 + bs[1]  # linear output
    out = forward(Ws, bs, x, "sigmoid", "linear")
    np.testing.assert_allclose(out[1][0], a2)
    np.testing.assert_allclose(out[2][0], a3)
    assert len(forward(Ws, bs, x, n_layers=2)) == 2


@pytest.mark.parametrize("sizes", [[3], [3, 0, 3], [3, 2.5, 3], []])
def test_bad_layer_sizes(sizes):
    with pytest.raises(ValueError, match="layer_sizes"):
        Layout(sizes)


def test_forward_names_a_bad_activation_and_a_bad_shape():
    import sparseae

    layout = sparseae.Layout([4, 3, 4])
    Ws, bs = layout.unpack(layout.initial_theta(0))
    with pytest.raises(sparseae.ParameterError, match=r"activation must be one of \[.*'sigmoid'.*\], got 'sigmoyd'"):
        sparseae.forward(Ws, bs, np.ones((2, 4)), activation="sigmoyd")
    with pytest.raises(sparseae.DataError, match=r"W\(1\) of shape \(3, 4\) and b\(1\) of shape \(3,\) do not fit "
                                                 r"layer 1's 5 units"):
        sparseae.forward(Ws, bs, np.ones((2, 5)))
    with pytest.raises(sparseae.DataError, match="X must be 2-D"):
        sparseae.forward(Ws, bs, np.ones(4))
