"""
Gradient checking on a tiny network
===================================

Notes §2.3: before trusting backpropagation, compare it with central differences,

.. math:: g_i(\\theta) \\approx \\frac{J(\\theta^{(i+)}) - J(\\theta^{(i-)})}{2 \\times \\text{EPSILON}}.

:class:`sparseae.SparseObjective` returns ``(cost, gradient)`` for a flat θ, and
:func:`sparseae.check_gradient` gives the relative difference between the two gradients.
"""

import matplotlib.pyplot as plt
import numpy as np

import sparseae

rng = np.random.default_rng(0)
X = rng.uniform(size=(10, 8))  # 10 examples, 8 inputs: a 8-5-8 autoencoder
sizes = [8, 5, 8]
rho, beta, lam = 0.1, 3.0, 1e-4
objective = sparseae.SparseObjective(sizes, X, sparsity_target=rho, sparsity_weight=beta, weight_decay=lam)
layout = sparseae.Layout(sizes)
theta = layout.initial_theta(0)
difference = sparseae.check_gradient(objective, theta)
print(f"sparseae's gradient against central differences: {difference:.2e}")

# %%
# The notes' sparsity term, as printed
# ------------------------------------
# The notes add :math:`\beta(-\rho/\hat\rho_i + (1-\rho)/(1-\hat\rho_i))` to
# :math:`\delta^{(2)}` *after* multiplying by :math:`f'(z^{(2)})`. Here is the whole
# backpropagation written out from the notes, with the term placed either way. The gradient
# check tells the two apart at once: only the term inside :math:`f'` gives the derivative of
# :math:`J_{\rm sparse}`.


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def notes_gradient(theta, sparsity_term_inside):
    (W1, W2), (b1, b2) = layout.unpack(theta)
    m = len(X)
    a2 = sigmoid(X @ W1.T + b1)  # (m, s2)
    a3 = sigmoid(a2 @ W2.T + b2)  # (m, n)
    rho_hat = a2.mean(axis=0)
    kl_term = beta * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))
    delta3 = -(X - a3) * a3 * (1 - a3)
    if sparsity_term_inside:
        delta2 = (delta3 @ W2 + kl_term) * a2 * (1 - a2)
    else:
        delta2 = (delta3 @ W2) * a2 * (1 - a2) + kl_term
    grad = np.zeros_like(theta)
    (gW1, gW2), (gb1, gb2) = layout.unpack(grad)  # views into grad, in θ's order
    gW1[...] = delta2.T @ X / m + lam * W1  # (s2, n)
    gW2[...] = delta3.T @ a2 / m + lam * W2  # (n, s2)
    gb1[...] = delta2.mean(axis=0)
    gb2[...] = delta3.mean(axis=0)
    return grad


numerical = sparseae.numerical_gradient(lambda t: objective(t)[0], theta)
results = {}
for inside in (True, False):
    analytic = notes_gradient(theta, inside)
    results[inside] = np.linalg.norm(numerical - analytic) / np.linalg.norm(numerical + analytic)
    print(f"term {'inside' if inside else 'after (as printed)'} f': {results[inside]:.2e}")

fig, ax = plt.subplots(figsize=(5, 3))
ax.bar(["sparseae", "notes, term inside f'", "notes, as printed"], [difference, results[True], results[False]])
ax.set_yscale("log")
ax.set_ylabel("relative difference")
fig.tight_layout()

# %%
# The check this page makes: a correct gradient agrees to about 1e-9 or better; the printed
# formula does not.
assert difference < 1e-8 and results[True] < 1e-8
assert results[False] > 1e-3
assert np.allclose(objective(theta)[1], notes_gradient(theta, True), rtol=1e-10, atol=1e-12)
