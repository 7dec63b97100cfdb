"""
The stacked autoencoder and fine-tuning
=======================================

UFLDL's deep network. Each layer is a sparse autoencoder trained greedily on the features of the
layer below it. A softmax classifier goes on top, and then fine-tuning trains every weight together
by backpropagating the softmax loss. This page uses scikit-learn's 8x8 digits, a 64-50-50-10
network and 200 iterations per stage (a subset of the exercise, so that the page builds in
seconds). The exercise's λ = 3e-3 is for 784 pixels. On 64 it decays the greedy layers' weights
to nothing (try it), so λ = 3e-4 here.

On MNIST (784-200-200-10, 400 iterations per stage) the stack reaches 92.26 % before
fine-tuning and 96.42 % after it (``benchmarks/RESULTS.md``).
"""

import warnings

import matplotlib.pyplot as plt
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

import sparseae
from sparseae.datasets import load_digits

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # a fixed budget of iterations
X, y = load_digits()
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0, stratify=y)
stack = sparseae.StackedSparseAutoencoder((50, 50), weight_decay=3e-4, pretrain_iter=200, finetune_iter=200,
                                          random_state=0)
stack.fit(X_train, y_train)

# %%
# Before fine-tuning, the classifier is the greedy layers with the softmax on top:
features = X_test
for autoencoder in stack.autoencoders_:
    features = autoencoder.transform(features)
before = stack.softmax_.score(features, y_test)
after = stack.score(X_test, y_test)
print(f"held-out accuracy: before fine-tuning {before:.4f}, after {after:.4f}")

fig, axes = plt.subplots(1, 2, figsize=(7, 3.5))
axes[0].imshow(sparseae.feature_tiles(stack.autoencoders_[0].components_), cmap="gray")
axes[0].set_title("first layer's features (greedy)")
axes[1].imshow(sparseae.feature_tiles(stack.coefs_[0].T), cmap="gray")
axes[1].set_title("after fine-tuning")
for ax in axes:
    ax.axis("off")
fig.tight_layout()

# %%
# The check: fine-tuning helps, and the network classifies well.
assert after > before
assert before > 0.9 and after > 0.95
