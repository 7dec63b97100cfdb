"""
Softmax regression
==================

UFLDL's softmax regression: :math:`P(y = j \\mid x) = e^{\\theta_j^T x} / \\sum_l e^{\\theta_l^T x}`,
trained on the cross-entropy with weight decay by L-BFGS. It is also the top layer of the
stacked autoencoder. This page fits it to scikit-learn's 8x8 digits.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

import sparseae
from sparseae.datasets import load_digits

X, y = load_digits()
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0, stratify=y)
clf = sparseae.SoftmaxRegression(weight_decay=1e-4, max_iter=400, random_state=0).fit(X_train, y_train)
accuracy = clf.score(X_test, y_test)
print(f"held-out accuracy {accuracy:.4f} after {clf.n_iter_} iterations")

fig, axes = plt.subplots(1, 10, figsize=(10, 1.4))
for digit, ax in zip(clf.classes_, axes):
    ax.imshow(clf.coef_[list(clf.classes_).index(digit)].reshape(8, 8), cmap="RdBu_r")
    ax.set_title(str(digit))
    ax.axis("off")
fig.suptitle("each class's weights")

# %%
# The checks: the probabilities are a distribution over the classes, and the held-out accuracy
# is that of a good linear classifier on these digits (above 93 %).
proba = clf.predict_proba(X_test)
assert np.allclose(proba.sum(axis=1), 1.0)
assert accuracy > 0.93
