"""The passes over rows: splitting the rows over cores and blocks changes nothing but rounding,
and rows kept in memory go through the first layer once."""

import numpy as np
import pytest

from sparseae import Layout, SparseObjective

KW = dict(weight_decay=1e-3, sparsity_target=0.05, sparsity_weight=3.0)


@pytest.mark.parametrize("sparse_layer", [2, 3])
def test_ranges_and_blocks_do_not_change_the_result(rng, monkeypatch, sparse_layer):
    """Rows split over 3 threads in blocks of 7 (the last one partial) give the one-block result."""
    import sparseae.engine.parallel as parallel

    X = rng.uniform(0.1, 0.9, size=(2000, 30))
    kwargs = dict(weight_decay=1e-3, sparsity_target=0.05, sparsity_weight=3.0, sparse_layer=sparse_layer)
    sizes = [30, 12, 9, 30]
    theta = Layout(sizes).initial_theta(0)
    monkeypatch.setattr(parallel, "MIN_ROWS_PER_CORE", 10**9)
    monkeypatch.setattr(parallel, "BLOCK_BYTES", 10**12)
    single = SparseObjective(sizes, X, **kwargs)(theta)
    monkeypatch.setattr(parallel, "n_cores", lambda: 3)
    monkeypatch.setattr(parallel, "MIN_ROWS_PER_CORE", 1)
    monkeypatch.setattr(parallel, "BLOCK_BYTES", 1)
    monkeypatch.setattr(parallel, "MIN_BLOCK_ROWS", 7)
    objective = SparseObjective(sizes, X, **kwargs)
    split = objective(theta)
    assert len(parallel.row_ranges(2000)) == 3 and objective._passes().block == 7
    assert split[0] == pytest.approx(single[0], rel=1e-13)
    np.testing.assert_allclose(split[1], single[1], rtol=1e-11, atol=1e-16)
    again = SparseObjective(sizes, X, **kwargs)(theta)  # same split: bit for bit
    assert again[0] == split[0] and np.array_equal(again[1], split[1])


def test_in_memory_data_is_not_read_twice(data, monkeypatch):
    """When the data fits, one pass with the activations kept: each row goes through W(1) once."""
    import sparseae.backprop as backprop

    X, _ = data
    rows_through_w1 = []
    original = backprop.forward

    def counting(Ws, bs, rows, *args, **kwargs):
        if len(Ws) == 2:  # starts at the input layer, not from kept hidden activations
            rows_through_w1.append(rows.shape[0])
        return original(Ws, bs, rows, *args, **kwargs)

    monkeypatch.setattr(backprop, "forward", counting)
    theta = Layout([20, 7, 20]).initial_theta(0)
    SparseObjective([20, 7, 20], X, **KW)(theta)
    assert sum(rows_through_w1) == len(X)
    rows_through_w1.clear()
    SparseObjective([20, 7, 20], X, chunk_size=500, **KW)(theta)
    assert sum(rows_through_w1) == 2 * len(X)  # the notes' two passes


def test_the_output_layer_in_deltas_buffer_falls_back_to_the_steps_exactly(rng, monkeypatch):
    """Where the backend promises the one-pass output layer (W a(n_l - 1) written into δ(n_l)'s
    buffer) and its pass then declines, the steps still get a(n_l) and δ(n_l) apart: the same J
    and gradient as with no fused pass at all."""
    from sparseae.engine import NumpyBackend

    X = rng.uniform(0.1, 0.9, size=(700, 16))
    sizes = [16, 7, 16]
    theta = Layout(sizes).initial_theta(0)
    monkeypatch.setenv("SPARSEAE_FUSED", "0")
    expected = SparseObjective(sizes, X, **KW)(theta)
    monkeypatch.setattr(NumpyBackend, "fuses_output", lambda self, loss, f_out: True)
    declined = SparseObjective(sizes, X, **KW)(theta)
    assert declined[0] == expected[0] and np.array_equal(declined[1], expected[1])
