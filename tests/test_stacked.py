"""Stacked sparse autoencoders: pretraining, softmax, fine-tuning through the core's objective."""


import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss

import sparseae
from sparseae import (
    ParameterError,
    SparseObjective,
    StackedSparseAutoencoder,
    check_gradient,
)
from sparseae.softmax import one_hot

pytestmark = pytest.mark.unconverged


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    X, y = X[order] / 16.0, y[order]
    return X[:900], y[:900], X[900:1500], y[900:1500]


@pytest.fixture(scope="module")
def stack(digits):
    X, y, _, _ = digits
    # λ = 1e-4: UFLDL's 3e-3 is for 784-pixel MNIST; on 64 pixels it silences the second layer.
    return StackedSparseAutoencoder((36, 25), weight_decay=1e-4, pretrain_iter=150, finetune_iter=150,
                                        random_state=0).fit(X, y)


def test_gradient_check_of_the_fine_tuning_objective_of_a_three_layer_stack(rng):
    X, idx = rng.uniform(0.05, 0.95, size=(15, 7)), np.arange(15) % 3
    objective = SparseObjective([7, 6, 5, 4, 3], X, one_hot(idx, 3), output_activation="softmax",
                                loss="cross_entropy", weight_decay=(0.0, 0.0, 0.0, 1e-2))
    theta = objective.layout.initial_theta(0) + rng.normal(0, 0.01, size=objective.size)
    assert check_gradient(objective, theta, epsilon=1e-4) < 1e-9


def test_fine_tuning_beats_the_pretrained_stack(digits, stack):
    _, _, X_test, y_test = digits
    top = X_test
    for autoencoder in stack.autoencoders_:
        top = autoencoder.transform(top)
    before, after = stack.softmax_.predict_proba(top), stack.predict_proba(X_test)
    # The held-out cross-entropy, not the accuracy, whose 600 digits move by one when rounding
    # moves the unconverged fit: here 0.180 -> 0.123 (0.22 -> 0.10-0.13 for seeds 1-3), with
    # accuracy 0.963 -> 0.970. Fine-tuning must take at least a fifth off it, and not lose digits.
    assert log_loss(y_test, after) < 0.8 * log_loss(y_test, before)
    accuracy_before = stack.softmax_.score(top, y_test)
    assert stack.score(X_test, y_test) >= accuracy_before and accuracy_before > 0.9


def test_pretrained_parts_are_kept_unchanged_and_the_network_starts_from_them(digits):
    X, y, _, _ = digits
    frozen = StackedSparseAutoencoder((20,), weight_decay=1e-4, pretrain_iter=30, finetune_iter=0,
                                          random_state=1).fit(X, y)
    np.testing.assert_array_equal(frozen.coefs_[0].T, frozen.autoencoders_[0].components_)
    np.testing.assert_array_equal(frozen.coefs_[1].T, frozen.softmax_.coef_)
    tuned = StackedSparseAutoencoder((20,), weight_decay=1e-4, pretrain_iter=30, finetune_iter=20,
                                         random_state=1).fit(X, y)
    np.testing.assert_array_equal(tuned.autoencoders_[0].components_, frozen.autoencoders_[0].components_)
    assert not np.allclose(tuned.coefs_[0].T, tuned.autoencoders_[0].components_)
    assert tuned.loss_ < frozen.loss_ and len(tuned.loss_curve_) == tuned.n_iter_ > 0


def test_transform_is_the_top_hidden_layer_and_probabilities_sum_to_one(digits, stack):
    _, _, X_test, _ = digits
    assert stack.transform(X_test).shape == (len(X_test), 25)
    np.testing.assert_allclose(stack.predict_proba(X_test).sum(axis=1), 1.0, rtol=1e-14)


def test_saves_and_loads_with_its_parts(tmp_path, digits, stack):
    _, _, X_test, _ = digits
    loaded = sparseae.load(stack.save(tmp_path / "stack.safetensors"))
    np.testing.assert_array_equal(loaded.predict_proba(X_test), stack.predict_proba(X_test))
    np.testing.assert_array_equal(loaded.autoencoders_[1].components_, stack.autoencoders_[1].components_)
    np.testing.assert_array_equal(loaded.softmax_.coef_, stack.softmax_.coef_)


@pytest.mark.parametrize("sizes", [(), (10, 0), (3.5,)])
def test_bad_hidden_layer_sizes_are_named(digits, sizes):
    X, y, _, _ = digits
    with pytest.raises(ParameterError, match="hidden_layer_sizes must be one or more positive integers"):
        StackedSparseAutoencoder(sizes).fit(X, y)


def test_a_stack_trains_from_a_npy_file_as_from_memory(tmp_path, digits):
    """The first layer and fine-tuning read the file in chunks (the exact two-pass objective)."""
    X, y, X_test, _ = digits
    np.save(tmp_path / "x.npy", X)
    kwargs = dict(hidden_layer_sizes=(20, 12), weight_decay=1e-4, pretrain_iter=25, finetune_iter=25,
                  batch_size=256, random_state=0)
    in_memory = StackedSparseAutoencoder(**kwargs).fit(X, y)
    for source in (str(tmp_path / "x.npy"), np.load(tmp_path / "x.npy", mmap_mode="r")):
        from_file = StackedSparseAutoencoder(**kwargs).fit(source, y)
        assert from_file.n_features_in_ == 64
        assert from_file.loss_ == pytest.approx(in_memory.loss_, rel=1e-6)
        np.testing.assert_allclose(from_file.predict_proba(X_test), in_memory.predict_proba(X_test), atol=1e-5)


def test_any_finite_x_trains_through_a_linear_first_decoder_and_pixels_keep_the_sigmoid(digits, tmp_path):
    X, y, X_test, y_test = digits
    mean, std = X.mean(axis=0), X.std(axis=0) + 1e-3
    standardised, test = (X - mean) / std, (X_test - mean) / std  # outside [0, 1]: as sklearn's checks feed
    params = dict(hidden_layer_sizes=(20,), weight_decay=1e-4, pretrain_iter=60, finetune_iter=60, random_state=0)
    model = StackedSparseAutoencoder(**params).fit(standardised, y)
    assert model.first_output_activation_ == "linear" == model.autoencoders_[0].output_activation
    assert model.score(test, y_test) > 0.9
    loaded = sparseae.load(model.save(tmp_path / "stack.safetensors"))
    assert loaded.first_output_activation_ == "linear"
    np.testing.assert_array_equal(loaded.predict(test), model.predict(test))
    # pixels in [0, 1]: UFLDL's sigmoid decoder, exactly as when it is asked for
    auto = StackedSparseAutoencoder(**params).fit(X, y)
    sigmoid = StackedSparseAutoencoder(**params, first_output_activation="sigmoid").fit(X, y)
    assert auto.first_output_activation_ == "sigmoid"
    np.testing.assert_array_equal(auto.theta_, sigmoid.theta_)
    with pytest.raises(sparseae.DataError, match="outside \\[0, 1\\] that a sigmoid output layer can produce"):
        StackedSparseAutoencoder(**params, first_output_activation="sigmoid").fit(standardised, y)
