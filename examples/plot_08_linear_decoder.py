"""
The linear decoder on colour patches
====================================

UFLDL's linear decoder exercise. A sigmoid output can only reconstruct values in (0, 1), but
whitened data is not confined to any range. With ``output_activation="linear"``,
:math:`\\hat x = W^{(2)} a^{(2)} + b^{(2)}`, and the autoencoder trains on ZCA-whitened 8x8x3
colour patches. The exercise uses 100,000 patches of STL-10 and 400 hidden units. This page uses
10,000 patches of scikit-image's colour photographs, 100 hidden units and 150 iterations.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from skimage import data
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline

import sparseae
from sparseae.datasets import sample_patches

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # a fixed budget of iterations
photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
side = min(min(p.shape[:2]) for p in photos)
images = np.stack([p[:side, :side] for p in photos]).astype(np.float64) / 255.0  # (4, side, side, 3)
X = sample_patches(images, 10000, 8, random_state=0)  # (10000, 192), in [0, 1]
pipe = make_pipeline(sparseae.ZCAWhitening(epsilon=0.1),
                     sparseae.SparseAutoencoder(100, output_activation="linear", sparsity_target=0.035,
                                                sparsity_weight=5.0, weight_decay=3e-3, max_iter=150,
                                                random_state=0))
pipe.fit(X)
zca, autoencoder = pipe.steps[0][1], pipe.steps[1][1]
metrics = sparseae.reconstruction_metrics(autoencoder, zca.transform(X))
print(f"fraction of the whitened variance unexplained: {metrics['fvu']:.3f}")

# %%
# The features, shown as UFLDL shows them: each unit's weights composed with the whitening, so
# that they are seen in pixel space, as colour edges and blobs.
zca_matrix = zca.transform(np.eye(192) + zca.mean_)  # (192, 192): transform(x) = ZCA (x - μ)
W = autoencoder.components_ @ zca_matrix  # (100, 192): W1 · ZCA
tiles = sparseae.feature_tiles(W, patch_shape=(8, 8, 3))
fig, ax = plt.subplots(figsize=(5, 5))
ax.imshow((tiles - tiles.min()) / np.ptp(tiles))
ax.axis("off")

# %%
# The check: the linear decoder reconstructs most of the whitened variance.
assert metrics["fvu"] < 0.5
