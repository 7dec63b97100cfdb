"""
Out-of-core and streaming training
==================================

The notes' §3 describes what to do when the data does not fit in memory. Compute ρ̂ in a first
pass over the examples, then redo each forward pass to backpropagate in a second. ``fit`` does
exactly that when it is given a path to a ``.npy`` file (or a memory map, or a Dask array),
reading ``batch_size`` rows at a time. The objective is the same, so the fit is the same.

A stream is different. ``fit_stream`` runs Adam on chunks of an iterable, holding one chunk at
a time. A minibatch cannot see the whole data's ρ̂, so it tracks a moving average of it instead.
"""

import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

import sparseae
from sparseae.datasets import natural_images, normalize_patches, patch_stream, sample_patches

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # a fixed budget of iterations
X = normalize_patches(sample_patches(natural_images(), 10000, 8, random_state=0))
params = dict(sparsity_target=0.01, sparsity_weight=3.0, weight_decay=1e-4, max_iter=100, random_state=0)
in_memory = sparseae.SparseAutoencoder(25, **params).fit(X)

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "patches.npy"
    np.save(path, X)
    out_of_core = sparseae.SparseAutoencoder(25, batch_size=1000, **params).fit(str(path))  # 10 chunks

first = abs(out_of_core.loss_curve_[0] - in_memory.loss_curve_[0]) / in_memory.loss_curve_[0]
final = abs(out_of_core.loss_ - in_memory.loss_) / in_memory.loss_
print(f"J in memory {in_memory.loss_:.10f}, from the file in 10 chunks {out_of_core.loss_:.10f}")
print(f"relative difference after one iteration {first:.1e}, after 100 iterations {final:.1e}")

# %%
# A stream of 200,000 patches sampled on the fly, in chunks of 10,000, one Adam pass per chunk.
# It never holds more than one chunk. The model is then scored on the 10,000 patches above.
streamed = sparseae.SparseAutoencoder(25, sparsity_target=0.01, sparsity_weight=3.0, weight_decay=1e-4,
                                      solver="adam", random_state=0)
streamed.fit_stream(patch_stream(natural_images(), 200_000, chunk=10_000, random_state=1), n_chunks=20)
streamed_cost = sparseae.reconstruction_metrics(streamed, X)["terms"]["cost"]
exact_cost = sparseae.reconstruction_metrics(in_memory, X)["terms"]["cost"]
print(f"J on the 10,000 patches: streamed {streamed_cost:.4f}, exact L-BFGS (100 iterations) {exact_cost:.4f}")

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(in_memory.loss_curve_, label="in memory")
ax.plot(out_of_core.loss_curve_, "--", label="from a .npy file, 10 chunks")
ax.set_xlabel("L-BFGS iteration")
ax.set_ylabel("J_sparse")
ax.set_yscale("log")
ax.legend()
fig.tight_layout()

# %%
# The checks: the two-pass fit from the file is the in-memory fit. Its costs agree to rounding
# (sums over 10 chunks are added in another order), and after 100 iterations of L-BFGS that
# rounding has grown to about 1e-8. The streamed model never saw these patches, and with 20
# chunks it comes within 25 % of the exact fit's cost on them (300 epochs get within 1.1-1.4 %;
# see the user guide).
assert first < 1e-12 and final < 1e-6
assert streamed_cost < 1.25 * exact_cost
