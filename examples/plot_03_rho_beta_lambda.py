"""
What ρ, β and λ each do
=======================

Three knobs shape :math:`J_{\\rm sparse}`. ρ is the mean activation each hidden unit is pushed
towards, β weighs that push, and λ is weight decay. Here each one is varied on its own around
the exercise's values, on 4,000 patches and 150 iterations (a subset, so that the page builds
in seconds).
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

import sparseae
from sparseae.datasets import natural_images, normalize_patches, sample_patches

# The subset stops at 150 iterations on purpose: say so once, not nine times.
warnings.filterwarnings("ignore", category=ConvergenceWarning)
X = normalize_patches(sample_patches(natural_images(), 4000, 8, random_state=1))
base = dict(sparsity_target=0.01, sparsity_weight=3.0, weight_decay=1e-4)
grid = {"sparsity_target": (0.01, 0.1, 0.3), "sparsity_weight": (0.0, 3.0, 30.0), "weight_decay": (1e-5, 1e-4, 3e-3)}
symbol = {"sparsity_target": "ρ", "sparsity_weight": "β", "weight_decay": "λ"}
fits = {}
fig, axes = plt.subplots(3, 3, figsize=(8, 8.5))
for row, (name, values) in enumerate(grid.items()):
    for col, value in enumerate(values):
        model = sparseae.SparseAutoencoder(25, **{**base, name: value}, max_iter=150, random_state=0).fit(X)
        fits[name, value] = model
        ax = axes[row, col]
        ax.imshow(sparseae.feature_tiles(model.components_), cmap="gray")
        ax.set_title(f"{symbol[name]} = {value:g}", fontsize=10)
        ax.axis("off")
fig.tight_layout()

# %%
# What each one did, measured on the training rows:
rho_hat = {v: fits["sparsity_target", v].transform(X).mean() for v in grid["sparsity_target"]}
kl = {v: fits["sparsity_weight", v].loss_terms_["sparsity"] / max(v, 1e-12) for v in grid["sparsity_weight"]}
norm = {v: np.linalg.norm(fits["weight_decay", v].components_) for v in grid["weight_decay"]}
print("mean activation by ρ:", {k: round(float(v), 4) for k, v in rho_hat.items()})
print("Σ KL(ρ‖ρ̂) by β (β > 0):", {k: round(float(v), 4) for k, v in kl.items() if k > 0})
print("‖W1‖ by λ:", {k: round(float(v), 2) for k, v in norm.items()})

# %%
# The checks: a larger ρ gives a larger mean activation, close to ρ; a larger β gives a
# smaller KL divergence; a larger λ gives smaller weights. At λ = 3e-3 the decay wins outright:
# the weights go to zero and b2 alone reconstructs the mean patch. That is why the exercise
# uses 1e-4.
r = grid["sparsity_target"]
assert rho_hat[r[0]] < rho_hat[r[1]] < rho_hat[r[2]]
assert abs(rho_hat[0.1] - 0.1) < 0.03
assert kl[30.0] < kl[3.0]
w = grid["weight_decay"]
assert norm[w[0]] > norm[w[1]] > norm[w[2]]
