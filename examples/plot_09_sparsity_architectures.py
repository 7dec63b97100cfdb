"""
L1, TopK and the newer architectures: FVU against L0
====================================================

The notes' KL penalty asks for a mean activation. The sparse autoencoders used on transformers
ask for few active units per example (L0) instead, with ReLU units and a linear decoder:

- ``"l1"``: :math:`\\beta \\frac{1}{m} \\sum_i \\sum_j |a_{ij}|`, with unit-norm decoder columns;
- ``"topk"``: each example keeps its k largest activations;
- ``"batchtopk"``: each batch keeps its k·m largest, so k per example on average.

(``"jumprelu"``, a learned threshold per unit with an L0 penalty, trains its thresholds under
Adam over many epochs, more than a page affords. The user guide's sparsity page has it.)

Each point is one fit on 4,000 whitened natural-image patches with 128 units (twice the 64
inputs), by L-BFGS for 80 iterations. The figure shows the fraction of variance unexplained
(FVU, centred on the mean) on 2,000 held-out patches against their L0. For the full sweep see
``benchmarks/sparsity.py``.
"""

import warnings

import matplotlib.pyplot as plt
from sklearn.exceptions import ConvergenceWarning

import sparseae
from sparseae.datasets import natural_images, sample_patches

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # a fixed budget of iterations
patches = sample_patches(natural_images(), 6000, 8, random_state=0)  # whitened: mean 0
X, X_held_out = patches[:4000], patches[4000:]
common = dict(activation="relu", output_activation="linear", max_iter=80, random_state=0)
settings = {
    "l1": [dict(sparsity="l1", decoder_norm="unit", sparsity_weight=w) for w in (0.3, 0.1, 0.03)],
    "topk": [dict(sparsity="topk", k=k) for k in (4, 8, 16)],
    "batchtopk": [dict(sparsity="batchtopk", k=k) for k in (4, 8, 16)],
}
curves = {}
for name, fits in settings.items():
    for params in fits:
        model = sparseae.SparseAutoencoder(128, **common, **params).fit(X)
        m = sparseae.reconstruction_metrics(model, X_held_out, threshold=0.0)
        curves.setdefault(name, []).append((m["l0"], m["fvu"]))
        print(f"{name:9s} {params}: L0 {m['l0']:.2f}, FVU {m['fvu']:.3f}")

fig, ax = plt.subplots(figsize=(5, 4))
for name, points in curves.items():
    l0, fvu = zip(*sorted(points))
    ax.plot(l0, fvu, "o-", label=name)
ax.set_xlabel("L0: active units per held-out patch")
ax.set_ylabel("FVU on held-out patches")
ax.legend()
fig.tight_layout()

# %%
# The checks: TopK keeps at most k units per example, so its L0 is at most k. For L1, TopK
# and BatchTopK alike, more active units reconstruct better.
for (l0, _), k in zip(curves["topk"], (4, 8, 16)):
    assert l0 <= k + 1e-9
for name, points in curves.items():
    fvu_by_l0 = [fvu for _, fvu in sorted(points)]
    assert fvu_by_l0[0] > fvu_by_l0[-1], name
