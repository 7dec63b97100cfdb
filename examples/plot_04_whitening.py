"""
PCA and ZCA whitening
=====================

UFLDL's whitening exercise. Neighbouring pixels of a photograph are strongly correlated.
Whitening removes those correlations, so that every direction has unit variance:

.. math:: x_{\\rm PCAwhite} = \\mathrm{diag}\\!\\left(\\frac{1}{\\sqrt{\\lambda_i + \\epsilon}}\\right) U^T (x - \\mu),
          \\qquad x_{\\rm ZCAwhite} = U x_{\\rm PCAwhite}.

ZCA rotates back to pixel space, so a whitened patch still looks like a patch with its edges
enhanced. The notes' footnote 4 says the edge detectors of §4 were learned on whitened images.
"""

import matplotlib.pyplot as plt
import numpy as np
from skimage import data

import sparseae
from sparseae.datasets import sample_patches

photos = np.stack([data.camera(), data.moon(), data.grass()]).astype(np.float64) / 255.0  # (3, 512, 512)
X = sample_patches(photos, 10000, 12, random_state=0)  # 10,000 raw 12x12 patches
pca = sparseae.PCAWhitening(retained_variance=0.99).fit(X)
zca = sparseae.ZCAWhitening(epsilon=1e-6).fit(X)
X_pca, X_zca = pca.transform(X), zca.transform(X)
print(f"PCA keeps {X_pca.shape[1]} of {X.shape[1]} components for 99 % of the variance")

fig, axes = plt.subplots(1, 4, figsize=(12, 3.2))
axes[0].imshow(np.cov(X, rowvar=False), cmap="viridis")
axes[0].set_title("covariance of raw patches")
axes[1].imshow(np.cov(X_pca, rowvar=False), cmap="viridis")
axes[1].set_title("after PCA whitening")
axes[2].imshow(sparseae.feature_tiles(X[:36]), cmap="gray")
axes[2].set_title("raw patches")
axes[3].imshow(sparseae.feature_tiles(X_zca[:36]), cmap="gray")
axes[3].set_title("ZCA-whitened")
for ax in axes:
    ax.axis("off")
fig.tight_layout()

# %%
# The checks: whitened data has the identity as its covariance (PCA on the kept components;
# ZCA, with a vanishing ε, on all of them), and ``inverse_transform`` undoes ZCA.
identity_error_pca = np.abs(np.cov(X_pca, rowvar=False, bias=True) - np.eye(X_pca.shape[1])).max()
identity_error_zca = np.abs(np.cov(X_zca, rowvar=False, bias=True) - np.eye(X.shape[1])).max()
print(f"largest deviation from the identity: PCA {identity_error_pca:.1e}, ZCA {identity_error_zca:.1e}")
assert identity_error_pca < 1e-6 and identity_error_zca < 1e-2
assert np.allclose(zca.inverse_transform(X_zca), X, atol=1e-8)
