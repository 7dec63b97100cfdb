"""ConvolutionalFeatures against the naive computation (every patch extracted, transformed by the
encoder itself, pooled by loops), for every pooling, channel count and kind of encoder; its
memory bound, its files and its errors."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from sparseae import (
    RICA,
    ConvolutionalFeatures,
    DataError,
    ParameterError,
    PatchNormalizer,
    PCAWhitening,
    SoftmaxRegression,
    SparseAutoencoder,
    ZCAWhitening,
    load,
    save,
)
from sparseae.patch_code import PatchCode

pytestmark = pytest.mark.unconverged


def naive(encoder, images, patch, pool, pooling, stride=1, eps=0.01):
    """Extract every patch, transform it with the encoder, pool each region with a loop."""
    p, q = patch
    h, w = images.shape[1:3]
    rows, cols = (h - p) // stride + 1, (w - q) // stride + 1
    out = []
    for image in images:
        patches = np.array([image[r * stride:r * stride + p, c * stride:c * stride + q].reshape(-1)
                            for r in range(rows) for c in range(cols)])
        maps = encoder.transform(patches).reshape(rows, cols, -1)
        pr, pc = rows // pool[0], cols // pool[1]
        pooled = np.empty((maps.shape[2], pr, pc))
        for a in range(pr):
            for b in range(pc):
                region = maps[a * pool[0]:(a + 1) * pool[0], b * pool[1]:(b + 1) * pool[1]]
                pooled[:, a, b] = {"mean": lambda r: r.mean(axis=(0, 1)), "max": lambda r: r.max(axis=(0, 1)),
                                   "l2": lambda r: np.sqrt((r**2).sum(axis=(0, 1)) + eps)}[pooling](region)
        out.append(pooled.reshape(-1))
    return np.array(out)


def encoders(n_features, rng):
    """One of each kind: affine + f, TopK, folded ZCA and PCA, PatchNormalizer patch by patch,
    RICA, JumpReLU, and a transformer with no affine form (scikit-learn's, applied patch by patch)."""
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    X = rng.uniform(0, 1, size=(300, n_features))
    linear = dict(output_activation="linear", max_iter=5, random_state=0)
    return {
        "sigmoid": SparseAutoencoder(6, max_iter=5, random_state=0).fit(X),
        "topk": SparseAutoencoder(7, sparsity="topk", k=2, activation="relu", **linear).fit(X),
        "jumprelu": SparseAutoencoder(5, sparsity="jumprelu", activation="relu", sparsity_weight=0.01,
                                      **linear).fit(X),
        "zca": make_pipeline(ZCAWhitening(0.1), SparseAutoencoder(6, **linear)).fit(X),
        "pca": make_pipeline(PCAWhitening(0.9), SparseAutoencoder(4, **linear)).fit(X),
        "normalizer": make_pipeline(PatchNormalizer(), SparseAutoencoder(5, max_iter=5, random_state=0)).fit(X),
        "rica": make_pipeline(ZCAWhitening(0.1), RICA(8, max_iter=5, random_state=0)).fit(X),
        "other": make_pipeline(StandardScaler(), FunctionTransformer(np.tanh)).fit(X),
    }


@pytest.mark.parametrize("channels", [None, 1, 3])
def test_equal_to_the_naive_computation(rng, channels):
    shape = (4, 12, 11) if channels is None else (4, 12, 11, channels)
    images = rng.uniform(0, 1, size=shape)
    for name, encoder in encoders(4 * 3 * (channels or 1), rng).items():
        for pooling in ("mean", "max", "l2"):
            features = ConvolutionalFeatures(encoder, patch_shape=(4, 3), pool_size=3, pooling=pooling)
            got = features.fit_transform(images)
            expected = naive(encoder, images, (4, 3), (3, 3), pooling)
            assert got.shape == expected.shape == (4, features.n_units_ * 9)
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12, err_msg=f"{name}, {pooling}")


def test_linear_preprocessing_is_folded_and_the_rest_is_not(rng):
    codes = {name: PatchCode(e) for name, e in encoders(16, rng).items()}
    assert codes["sigmoid"].folded and codes["zca"].folded and codes["pca"].folded and codes["rica"].folded
    assert not codes["normalizer"].folded and codes["normalizer"].W is not None  # normaliser first, then W
    assert codes["other"].W is None and codes["other"].n_units == 16


def test_a_folded_code_takes_the_bias_through_a_column_of_ones(rng):
    P = rng.uniform(0, 1, size=(7, 16))
    for name, encoder in encoders(16, rng).items():
        code = PatchCode(encoder)
        buffer = code.patch_buffer(7)
        assert buffer.shape == (7, 16 + code.folded) and (not code.folded or (buffer[:, -1] == 1).all()), name
        buffer[:, :16] = P
        np.testing.assert_allclose(code.codes(buffer), encoder.transform(P), rtol=0, atol=1e-13, err_msg=name)


def test_stride_pool_shapes_and_global_pooling(rng):
    images = rng.uniform(0, 1, size=(3, 13, 17))
    encoder = encoders(9, rng)["sigmoid"]
    features = ConvolutionalFeatures(encoder, patch_shape=3, stride=2, pool_size=(3, 2), pooling="max").fit(images)
    assert features.map_shape_ == (6, 8) and features.pooled_shape_ == (2, 4)
    np.testing.assert_allclose(features.transform(images), naive(encoder, images, (3, 3), (3, 2), "max", stride=2),
                               rtol=0, atol=1e-12)
    whole = ConvolutionalFeatures(encoder, patch_shape=3).fit(images)
    assert whole.pooled_shape_ == (1, 1)
    np.testing.assert_allclose(whole.transform(images), encoder.transform(
        np.array([im[r:r + 3, c:c + 3].reshape(-1) for im in images for r in range(11) for c in range(15)])
    ).reshape(3, 165, -1).mean(axis=1), atol=1e-12)
    names = features.get_feature_names_out()
    assert len(names) == features.n_features_out_ and names[1] == "conv0_r0_c1"


def test_batches_and_a_memory_mapped_file_give_the_same_features(rng, tmp_path):
    images = rng.uniform(0, 1, size=(23, 10, 10)).astype(np.float32)
    encoder = encoders(16, rng)["zca"]
    whole = ConvolutionalFeatures(encoder, patch_shape=4, pool_size=7).fit_transform(images)
    np.save(tmp_path / "images.npy", images)
    batched = ConvolutionalFeatures(encoder, patch_shape=4, pool_size=7, batch_size=5, verbose=0)
    # the products have other shapes (fewer rows a block), which BLAS may round differently
    np.testing.assert_allclose(batched.fit_transform(tmp_path / "images.npy"), whole, rtol=1e-13, atol=1e-15)


def test_memory_is_bounded_by_the_batch_not_the_file(rng, tmp_path):
    """A memory-mapped file is read batch by batch: the transform's peak allocations (output
    aside) stay far below the file's size."""
    import tracemalloc

    path = tmp_path / "images.npy"
    np.save(path, rng.uniform(0, 1, size=(2000, 28, 28)))  # 12.5 MB
    features = ConvolutionalFeatures(encoders(16, rng)["sigmoid"], patch_shape=4, batch_size=10, verbose=0)
    images = np.load(path, mmap_mode="r")
    features.fit(images[:1])
    tracemalloc.start()
    try:
        out = features.transform(images)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.shape == (2000, 6)
    assert peak - out.nbytes < path.stat().st_size / 4


def test_in_a_classification_pipeline_and_saved(rng, tmp_path):
    images = rng.uniform(0, 1, size=(40, 9, 9))
    y = (images[:, :, :4].mean(axis=(1, 2)) > images[:, :, 5:].mean(axis=(1, 2))).astype(int)
    encoder = encoders(9, rng)["rica"]
    pipe = make_pipeline(ConvolutionalFeatures(encoder, patch_shape=3, pool_size=7, pooling="l2"),
                         SoftmaxRegression(max_iter=30, random_state=0)).fit(images, y)
    back = load(save(pipe, tmp_path / "pipe.safetensors"))
    np.testing.assert_array_equal(back.predict_proba(images), pipe.predict_proba(images))
    conv = load(pipe.steps[0][1].save(tmp_path / "conv.safetensors"))
    assert conv.get_params(deep=False)["pool_size"] == 7 and conv.pooling == "l2"


def test_a_frozen_encoder_survives_grid_search_and_saves(rng, tmp_path):
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import GridSearchCV

    images = rng.uniform(0, 1, size=(60, 9, 9))
    y = (images[:, :4].mean(axis=(1, 2)) > images[:, 5:].mean(axis=(1, 2))).astype(int)
    encoder = encoders(9, rng)["sigmoid"]
    pipe = make_pipeline(ConvolutionalFeatures(FrozenEstimator(encoder), patch_shape=3, pool_size=7),
                         SoftmaxRegression(max_iter=20, random_state=0))
    search = GridSearchCV(pipe, {"softmaxregression__weight_decay": [1e-4, 1e-2]}, cv=2).fit(images, y)
    features = search.best_estimator_[0]
    np.testing.assert_array_equal(features.transform(images),
                                  ConvolutionalFeatures(encoder, patch_shape=3, pool_size=7).fit_transform(images))
    back = load(features.save(tmp_path / "c.safetensors"))
    np.testing.assert_array_equal(back.transform(images), features.transform(images))


def test_bad_input_is_named(rng):
    grey = rng.uniform(0, 1, size=(3, 10, 10))
    encoder = encoders(16, rng)["sigmoid"]
    with pytest.raises(DataError, match="smaller than a patch"):
        ConvolutionalFeatures(encoder, patch_shape=(4, 4)).fit(grey[:, :3, :3])
    with pytest.raises(ParameterError, match="does not tile the 7 x 7 convolved map.*1, 7"):
        ConvolutionalFeatures(encoder, patch_shape=4, pool_size=3).fit(grey)
    with pytest.raises(DataError, match="3-channel images gives patches of 48 values, but the encoder takes 16"):
        ConvolutionalFeatures(encoder, patch_shape=4).fit(rng.uniform(size=(2, 10, 10, 3)))
    with pytest.raises(ParameterError, match="SparseAutoencoder is not fitted"):
        ConvolutionalFeatures(SparseAutoencoder(3), patch_shape=4).fit(grey)
    with pytest.raises(ParameterError, match="pooling must be one of"):
        ConvolutionalFeatures(encoder, patch_shape=4, pooling="sum").fit(grey)
    bad = grey.copy()
    bad[2, 5, 5] = np.nan
    features = ConvolutionalFeatures(encoder, patch_shape=4).fit(grey)
    with pytest.raises(DataError, match="image 2 has NaN"):
        features.transform(bad)
    with pytest.raises(DataError, match="fitted on"):
        features.transform(grey[:, :9])
    with pytest.raises(DataError, match="images of shape"):
        features.transform(grey[0])
