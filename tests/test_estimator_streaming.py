"""The streaming solver: Adam on minibatches, partial_fit, ρ̂ as a moving average."""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sparseae import SparseAutoencoder, SparseObjective

KW = dict(weight_decay=1e-3, sparsity_target=0.05, sparsity_weight=3.0)


@pytest.fixture
def X(rng):
    return rng.uniform(0.05, 0.95, size=(600, 16))


def test_adam_fit_lowers_the_exact_cost(X):
    start = SparseAutoencoder(6, solver="adam", max_iter=1, random_state=0, **KW).fit(X)
    longer = SparseAutoencoder(6, solver="adam", max_iter=30, random_state=0, **KW).fit(X)
    assert longer.n_iter_ == 30 and len(longer.loss_curve_) == 30
    assert longer.loss_ < start.loss_
    exact = SparseObjective([16, 6, 16], X, **KW)(longer.theta_)[0]
    assert longer.loss_ == pytest.approx(exact, rel=1e-12)  # loss_ is the exact full J_sparse


def test_adam_is_reproducible(X):
    a = SparseAutoencoder(6, solver="adam", max_iter=3, random_state=4, **KW).fit(X)
    b = SparseAutoencoder(6, solver="adam", max_iter=3, random_state=4, **KW).fit(X)
    np.testing.assert_array_equal(a.theta_, b.theta_)


def test_partial_fit_continues_where_it_stopped(X):
    model = SparseAutoencoder(6, random_state=0, batch_size=100, **KW)
    model.partial_fit(X[:300])
    first = model.theta_.copy()
    assert model.n_iter_ == 1
    model.partial_fit(X[300:])
    assert model.n_iter_ == 2 and len(model.loss_curve_) == 2
    assert not np.array_equal(first, model.theta_)
    with pytest.raises(ValueError, match="X has 15 features, but SparseAutoencoder is expecting 16"):
        model.partial_fit(X[:, :15])
    # A fresh fit starts over: the streaming state is discarded.
    with pytest.warns(ConvergenceWarning):
        model.set_params(max_iter=3).fit(X[:100])
    assert model.n_iter_ <= 3 and not hasattr(model, "_adam_state")


def test_partial_fit_on_a_file(tmp_path, X):
    np.save(tmp_path / "x.npy", X)
    model = SparseAutoencoder(6, random_state=0, batch_size=128, **KW).partial_fit(tmp_path / "x.npy")
    assert model.n_iter_ == 1 and model.n_features_in_ == 16
