"""
Self-taught learning
====================

UFLDL's self-taught learning. Learn features from digits whose labels are thrown away (the
digits 5-9), then classify *other* digits (0-4) with logistic regression, once on raw pixels and
once on the learned features. The features were never trained on a 0, 1, 2, 3 or 4.

This needs the MNIST test set (``SPARSEAE_MNIST``, or ``../shared/data/mnist`` beside the
repository). The page uses 2,000 unlabeled digits and 200 iterations. The full experiment
(``sparseae selftaught``: 4,861 unlabeled digits, 400 iterations, about 80 s) gives 96.54 % on
raw pixels and 97.63 % on the features (:doc:`/user_guide/mnist`).
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt

import sparseae
from sparseae.datasets import load_mnist
from sparseae.selftaught import self_taught_learning

here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
candidates = [os.environ.get("SPARSEAE_MNIST", ""), here.parent / "../shared/data/mnist", "../shared/data/mnist"]
mnist = next((Path(c) for c in candidates if c and (Path(c) / "t10k-labels-idx1-ubyte.gz").exists()), None)
if mnist is None:
    print("MNIST's test set was not found, so this page was built without running the experiment.")
else:
    X, y = load_mnist(mnist)
    result = self_taught_learning(X, y, n_unlabeled=2000, max_iter=200, random_state=0)
    print(f"held-out accuracy on the digits 0-4: raw pixels {result['accuracy_raw']:.4f}, "
          f"features {result['accuracy_features']:.4f}")
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(sparseae.feature_tiles(result["autoencoder"].components_[:100]), cmap="gray")
    ax.set_title("pen strokes learned from the digits 5-9")
    ax.axis("off")

    # %%
    # The check: features learned from other digits classify these better than the pixels do.
    assert result["accuracy_features"] > result["accuracy_raw"] + 0.005
