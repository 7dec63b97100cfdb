import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

import sparseae
from sparseae import PatchNormalizer, PCAWhitening, SparseAutoencoder, ZCAWhitening
from sparseae.datasets import normalize_patches

pytestmark = pytest.mark.unconverged


@pytest.fixture
def X(rng):
    # Correlated data: a random mixing of independent features with very different scales.
    return rng.normal(size=(400, 6)) * [5, 3, 2, 1, 0.5, 0.1] @ rng.normal(size=(6, 6)) + 2.0


def test_patch_normalizer_matches_the_one_shot_function(rng):
    X = rng.normal(size=(300, 16)) * 4
    model = PatchNormalizer().fit(X)
    np.testing.assert_allclose(model.transform(X), normalize_patches(X))
    # New data uses the training scale, not its own.
    Z = rng.normal(size=(50, 16)) * 4 * 0.5
    np.testing.assert_allclose(model.transform(Z)[0], np.clip(
        (Z[0] - Z[0].mean()) / model.limit_[0], -1, 1) * 0.4 + 0.5)
    back = model.inverse_transform(model.transform(X))
    centred = X - X.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(back, np.clip(centred, -model.limit_[0], model.limit_[0]))


def test_pca_whitening_gives_identity_covariance(X):
    model = PCAWhitening(retained_variance=1.0).fit(X)
    Y = model.transform(X)
    assert Y.shape == (400, 6)
    np.testing.assert_allclose(Y.T @ Y / len(Y), np.eye(6), atol=1e-10)
    np.testing.assert_allclose(model.inverse_transform(Y), X, atol=1e-10)


def test_pca_keeps_the_fewest_components_for_the_fraction(X):
    full = PCAWhitening(retained_variance=1.0).fit(X)
    fractions = np.cumsum(full.explained_variance_) / full.explained_variance_.sum()
    for target in (0.5, 0.9, 0.99):
        k = PCAWhitening(retained_variance=target).fit(X).components_.shape[0]
        assert fractions[k - 1] >= target
        assert k == 1 or fractions[k - 2] < target
    model = PCAWhitening(retained_variance=0.9).fit(X)
    assert list(model.get_feature_names_out()) == [
        f"pcawhitening{i}" for i in range(model.components_.shape[0])
    ]


def test_zca_whitening_with_epsilon(X):
    model = ZCAWhitening(epsilon=1e-9).fit(X)
    Y = model.transform(X)
    np.testing.assert_allclose(Y.T @ Y / len(Y), np.eye(6), atol=1e-6)
    # ZCA is the whitening closest to the data: symmetric, so it keeps pixels in place.
    M = model._matrix(-0.5)
    np.testing.assert_allclose(M, M.T)
    regularised = ZCAWhitening(epsilon=0.1).fit(X)
    Yr = regularised.transform(X)
    variances = np.diag(Yr.T @ Yr / len(Yr))
    assert np.all(variances < 1.0)  # ε damps every direction, the weak ones most
    np.testing.assert_allclose(regularised.inverse_transform(Yr), X, atol=1e-10)


@pytest.mark.parametrize(
    "model, match",
    [
        (ZCAWhitening(epsilon=0.0), r"'epsilon' parameter of ZCAWhitening .* \(0.0, inf\)\. Got 0.0"),
        (ZCAWhitening(epsilon=-1), r"'epsilon' parameter of ZCAWhitening"),
        (PCAWhitening(retained_variance=0.0), r"'retained_variance' .* \(0.0, 1.0\]\. Got 0.0"),
        (PCAWhitening(retained_variance=1.5), r"'retained_variance' .* \(0.0, 1.0\]\. Got 1.5"),
        (PCAWhitening(epsilon=-0.1), r"'epsilon' parameter of PCAWhitening .* \[0.0, inf\)"),
    ],
)
def test_bad_parameters(X, model, match):
    with pytest.raises(ValueError, match=match):
        model.fit(X)


def test_wrong_widths_say_expected_and_got(X):
    model = PCAWhitening(retained_variance=0.9).fit(X)
    k = model.components_.shape[0]
    with pytest.raises(ValueError, match="X has 5 features, but PCAWhitening is expecting 6"):
        model.transform(X[:, :5])
    with pytest.raises(ValueError, match=f"X has {k + 1} features, but PCAWhitening.inverse_transform expects {k}"):
        model.inverse_transform(np.zeros((2, k + 1)))


def test_saved_pipeline_reproduces_transform_exactly(tmp_path, rng):
    X = rng.uniform(size=(300, 16))
    pipe = make_pipeline(
        ZCAWhitening(epsilon=0.1),
        SparseAutoencoder(5, output_activation="linear", max_iter=15, random_state=0),
    )
    pipe.fit(X)
    path = sparseae.save(pipe, tmp_path / "pipe.safetensors")
    loaded = sparseae.load(path)
    assert [name for name, _ in loaded.steps] == ["zcawhitening", "sparseautoencoder"]
    np.testing.assert_array_equal(loaded.transform(X), pipe.transform(X))
    for model in (PatchNormalizer(), PCAWhitening(0.95, epsilon=0.01)):
        model.fit(X)
        again = sparseae.load(sparseae.save(model, tmp_path / "m.safetensors"))
        assert again.get_params() == model.get_params()
        np.testing.assert_array_equal(again.transform(X), model.transform(X))
        np.testing.assert_array_equal(
            again.inverse_transform(again.transform(X)), model.inverse_transform(model.transform(X))
        )


def test_cannot_save_foreign_steps(tmp_path, rng):
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(StandardScaler()).fit(rng.normal(size=(5, 2)))
    with pytest.raises(TypeError, match="cannot save a StandardScaler"):
        sparseae.save(pipe, tmp_path / "p.safetensors")
    assert not (tmp_path / "p.safetensors").exists()
