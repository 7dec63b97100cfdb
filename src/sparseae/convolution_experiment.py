"""UFLDL's convolution experiment on MNIST: features learned on patches of the training digits,
convolved over whole digits and pooled, then softmax regression; beside it the tutorial's control
(the same pipeline with random filters), softmax on raw pixels and scikit-learn's MLPClassifier.

The digits are split at random into a training and a test half (the t10k set's halves come from
different writers, so it is shuffled first); patches are sampled from the training half only.
- RICA: 9 x 9 patches, ZCA-whitened (ε = 0.1), 32 filters, λ = 0.05, ε = 0.01 (the newer
  tutorial's exercise), square-square-root pooling over 4 x 4 regions of the 20 x 20 maps (the
  tutorial's), and over 10 x 10 regions (coarse: where the filters' quality shows most);
- the sparse autoencoder: 8 x 8 patches, 64 sigmoid units (ρ = 0.05, β = 3), mean pooling over
  7 x 7 regions of the 21 x 21 maps;
- random filters: RICA's pipeline with W drawn as RICA starts (unit-norm Gaussian rows).
Each pooled representation is standardised (scikit-learn's StandardScaler) before the softmax.
"""

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state

from .convolution import ConvolutionalFeatures
from .datasets import sample_patches
from .errors import ParameterError
from .estimator import SparseAutoencoder
from .preprocessing import ZCAWhitening
from .reconstruction_ica import FilterLayout
from .rica import RICA
from .softmax import SoftmaxRegression

#: Softmax's λ on the standardised pooled features.
SOFTMAX_DECAY = 1e-3


def random_filters(n_components, n_features, random_state):
    """A RICA holding W as RICA's fit starts it, unfitted: the tutorial's random-filter control."""
    model = RICA(n_components, random_state=random_state)
    W = model._initial_theta(FilterLayout(n_features, n_components)).reshape(n_components, n_features)
    fitted = {"n_features_in_": n_features, "n_iter_": 0, "loss_": float("nan"), "loss_curve_": []}
    return RICA._from_state(model._json_params(), fitted, {"W": W})


def _timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def _classify(name, encoder, patch, pool, pooling, images, y, train, test, verbose):
    """Convolve, pool, standardise, softmax: the pipeline, its accuracy and its stages' seconds."""
    convolve = ConvolutionalFeatures(encoder, patch_shape=patch, pool_size=pool, pooling=pooling,
                                     verbose=1 if verbose else 0)
    features_train, t_train = _timed(lambda: convolve.fit_transform(images[train]))
    features_test, t_test = _timed(lambda: convolve.transform(images[test]))
    classifier = make_pipeline(StandardScaler(), SoftmaxRegression(SOFTMAX_DECAY, max_iter=400, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _, t_softmax = _timed(lambda: classifier.fit(features_train, y[train]))
    predicted = classifier.predict(features_test)
    return {
        "name": name, "accuracy": float(np.mean(predicted == y[test])), "n_features": int(features_train.shape[1]),
        "seconds": {"convolve_train": t_train, "convolve_test": t_test, "softmax": t_softmax},
        "pipeline": make_pipeline(convolve, *[step for _, step in classifier.steps]),
        "predicted": predicted,
    }


def convolution_experiment(X, y, *, n_train=5000, n_test=None, n_patches=20000, max_iter=300, pool_sizes=(4, 10),
                           random_seeds=(1, 2, 3), mlp=True, random_state=0, verbose=0):
    """Run the experiment on MNIST digits X ((m, 28, 28) or rows of 784, in [0, 1]) and labels y.

    ``n_train`` digits train (patches are sampled from them), ``n_test`` (default: the rest)
    test; ``n_patches`` patches per learned encoder, fitted for ``max_iter`` L-BFGS iterations;
    ``pool_sizes``: RICA's and the random filters' pooling regions (4: the tutorial's fine pooling,
    a 5 x 5 pooled map; 10: coarse, 2 x 2); ``random_seeds``: one random-filter control per seed
    and pooling; ``mlp``: also fit scikit-learn's
    MLPClassifier (100 hidden units) on raw pixels. Returns a dict: ``results`` (one entry per
    pipeline: name, accuracy, n_features, seconds per stage, the fitted ``pipeline`` and its
    ``predicted`` test labels), ``n_train``, ``n_test``, ``encoders`` (the fitted RICA and
    autoencoder pipelines), ``images_test`` and ``y_test``.
    """
    X = np.asarray(X, dtype=np.float64)
    images = X.reshape(len(X), 28, 28) if X.ndim == 2 else X
    y = np.asarray(y)
    if not 10 <= n_train < len(images):
        raise ParameterError(f"n_train={n_train} must leave digits to test: at least 10 and fewer than the "
                             f"{len(images)} digits given")
    order = check_random_state(random_state).permutation(len(images))
    train = order[:n_train]
    test = order[n_train:] if n_test is None else order[n_train:n_train + n_test]
    results, encoders = [], {}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed budget of iterations is the recipe
        patches9, t9 = _timed(lambda: sample_patches(images[train], n_patches, 9, random_state=random_state))
        zca = ZCAWhitening(0.1)
        rica = RICA(32, sparsity_weight=0.05, epsilon=0.01, max_iter=max_iter, random_state=random_state,
                    verbose=verbose)
        encoders["rica"], t_rica = _timed(lambda: make_pipeline(zca, rica).fit(patches9))
        patches8, t8 = _timed(lambda: sample_patches(images[train], n_patches, 8, random_state=random_state))
        sae = SparseAutoencoder(64, sparsity_target=0.05, sparsity_weight=3.0, weight_decay=1e-4, max_iter=max_iter,
                                random_state=random_state, verbose=verbose)
        encoders["autoencoder"], t_sae = _timed(lambda: sae.fit(patches8))

    for pool in pool_sizes:
        regions = f"{pool} x {pool} pooling"
        entry = _classify(f"RICA + convolution, {regions}", encoders["rica"], 9, pool, "l2", images, y, train, test,
                          verbose)
        entry["seconds"].update(patches=t9, features=t_rica)
        results.append(entry)
        for seed in random_seeds:
            encoder = make_pipeline(zca, random_filters(32, 81, seed))
            entry = _classify(f"random filters (seed {seed}) + convolution, {regions}", encoder, 9, pool, "l2", images,
                              y, train, test, verbose)
            entry["seconds"].update(patches=t9, features=0.0)
            results.append(entry)
    entry = _classify("sparse autoencoder + convolution, 7 x 7 pooling", encoders["autoencoder"], 8, 7, "mean",
                      images, y, train, test, verbose)
    entry["seconds"].update(patches=t8, features=t_sae)
    results.append(entry)
    flat_train, flat_test = images[train].reshape(len(train), -1), images[test].reshape(len(test), -1)
    raw = SoftmaxRegression(1e-4, max_iter=400, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _, t_raw = _timed(lambda: raw.fit(flat_train, y[train]))
    predicted = raw.predict(flat_test)
    results.append({"name": "softmax on raw pixels", "accuracy": float(np.mean(predicted == y[test])),
                    "n_features": 784, "seconds": {"softmax": t_raw}, "pipeline": raw,
                    "predicted": predicted})
    if mlp:
        from sklearn.neural_network import MLPClassifier

        net = MLPClassifier((100,), max_iter=200, random_state=random_state)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            _, t_mlp = _timed(lambda: net.fit(flat_train, y[train]))
        predicted = net.predict(flat_test)
        results.append({"name": "scikit-learn MLPClassifier (100 hidden) on raw pixels",
                        "accuracy": float(np.mean(predicted == y[test])), "n_features": 784,
                        "seconds": {"fit": t_mlp}, "pipeline": net, "predicted": predicted})
    return {"results": results, "n_train": int(len(train)), "n_test": int(len(test)), "encoders": encoders,
            "images_test": images[test], "y_test": y[test]}
