"""UFLDL's self-taught learning experiment: features from unlabeled digits help classify others.

Learn sparse autoencoder features from the digits 5-9 with their labels thrown away; then
classify the labeled digits 0-4 (half to train, half held out) with logistic regression, once on
raw pixels and once on the learned features, and compare the held-out accuracies.
"""

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.utils import check_random_state

from .estimator import SparseAutoencoder


def self_taught_learning(
    X,
    y,
    *,
    n_hidden=196,
    sparsity_target=0.1,
    sparsity_weight=3.0,
    weight_decay=3e-3,
    max_iter=400,
    n_unlabeled=None,
    n_labeled=None,
    C=1.0,
    random_state=0,
    verbose=0,
):
    """Run the experiment on digit images X (rows in [0, 1]) with labels y (0-9).

    ``n_hidden``, ``sparsity_target``, ``sparsity_weight``, ``weight_decay``, ``max_iter``: the
    autoencoder's (UFLDL: 196 or 200, ρ = 0.1, β = 3, λ = 3e-3, 400). ``n_unlabeled`` and
    ``n_labeled`` use only that many unlabeled (5-9) or labeled (0-4) images, for a quick run; ``C``
    is both classifiers' inverse regularisation; ``random_state`` seeds the split, the subsets and
    the autoencoder.

    Returns a dict: ``accuracy_raw``, ``accuracy_features``, ``chance`` (the largest class's share
    of the held-out set), the set sizes, ``seconds_autoencoder``, ``seconds_total``, ``autoencoder``.
    """
    start = time.perf_counter()
    rng = check_random_state(random_state)
    y = np.asarray(y)
    unlabeled = X[y >= 5]
    labeled_idx = rng.permutation(np.flatnonzero(y < 5))
    if n_unlabeled is not None:
        unlabeled = unlabeled[rng.permutation(len(unlabeled))[:n_unlabeled]]
    if n_labeled is not None:
        labeled_idx = labeled_idx[:n_labeled]
    half = len(labeled_idx) // 2
    train, test = labeled_idx[:half], labeled_idx[half:]

    autoencoder = SparseAutoencoder(
        n_hidden,
        sparsity_target=sparsity_target,
        sparsity_weight=sparsity_weight,
        weight_decay=weight_decay,
        max_iter=max_iter,
        random_state=random_state,
        verbose=verbose,
    )
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 400 iterations is the recipe
        autoencoder.fit(unlabeled)
    seconds_autoencoder = time.perf_counter() - t0

    def accuracy(features_train, features_test):
        classifier = LogisticRegression(C=C, max_iter=2000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            classifier.fit(features_train, y[train])
        return float(classifier.score(features_test, y[test]))

    accuracy_raw = accuracy(X[train], X[test])
    accuracy_features = accuracy(autoencoder.transform(X[train]), autoencoder.transform(X[test]))
    return {
        "accuracy_raw": accuracy_raw,
        "accuracy_features": accuracy_features,
        "chance": float(np.bincount(y[test]).max() / len(test)),
        "n_unlabeled": int(len(unlabeled)),
        "n_train": int(len(train)),
        "n_test": int(len(test)),
        "seconds_autoencoder": seconds_autoencoder,
        "seconds_total": time.perf_counter() - start,
        "autoencoder": autoencoder,
    }
