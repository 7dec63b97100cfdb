"""An independent cross-check: J_sparse written in PyTorch, differentiated by autograd."""

import numpy as np
import pytest

from sparseae import SparseObjective

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed; this optional cross-check needs it"
)


def torch_j_sparse(theta, X, layer_sizes, activation, output_activation, lam, rho, beta):
    f = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "linear": lambda z: z}
    a, offset, cost, hidden = X, 0, 0.0, None
    for l, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
        W = theta[offset : offset + fan_in * fan_out].reshape(fan_out, fan_in)
        offset += fan_in * fan_out
        b = theta[offset : offset + fan_out]
        offset += fan_out
        last = l == len(layer_sizes) - 2
        a = f[output_activation if last else activation](a @ W.T + b)
        cost = cost + lam / 2 * (W**2).sum()
        if l == 0:
            hidden = a
    cost = cost + 0.5 * ((a - X) ** 2).sum() / X.shape[0]
    rho_hat = hidden.mean(0) if activation == "sigmoid" else (hidden.mean(0) + 1) / 2
    kl = rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))
    return cost + beta * kl.sum()


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
@pytest.mark.parametrize("output_activation", ["sigmoid", "tanh", "linear"])
def test_cost_and_gradient_match_autograd(rng, activation, output_activation):
    X = rng.uniform(0.05, 0.95, size=(30, 10))
    kw = dict(weight_decay=3e-3, sparsity_target=0.1, sparsity_weight=3.0)
    objective = SparseObjective(
        [10, 6, 10], X, activation=activation, output_activation=output_activation, **kw
    )
    theta = objective.layout.initial_theta(0) + rng.normal(0, 0.05, objective.size)
    cost, grad = objective(theta)
    t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    ref = torch_j_sparse(
        t, torch.tensor(X), [10, 6, 10], activation, output_activation, 3e-3, 0.1, 3.0
    )
    ref.backward()
    assert cost == pytest.approx(ref.item(), rel=1e-13)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_fine_tuning_cost_and_gradient_match_autograd(rng, activation):
    """The stack's fine-tuning objective: hidden layers, softmax, cross-entropy, λ on the softmax."""
    from sparseae.softmax import one_hot

    sizes, labels = [12, 8, 6, 4], np.arange(25) % 4
    X = rng.uniform(0.05, 0.95, size=(25, 12))
    objective = SparseObjective(sizes, X, one_hot(labels, 4), activation=activation, output_activation="softmax",
                                loss="cross_entropy", weight_decay=(0.0, 0.0, 1e-2))
    theta = objective.layout.initial_theta(0) + rng.normal(0, 0.05, objective.size)
    cost, grad = objective(theta)
    t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    a, offset, f = torch.tensor(X), 0, {"sigmoid": torch.sigmoid, "tanh": torch.tanh}[activation]
    for l, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = t[offset : offset + fan_in * fan_out].reshape(fan_out, fan_in)
        b = t[offset + fan_in * fan_out : offset + fan_in * fan_out + fan_out]
        offset += fan_in * fan_out + fan_out
        z = a @ W.T + b
        a = z if l == len(sizes) - 2 else f(z)
    ref = torch.nn.functional.cross_entropy(a, torch.tensor(labels)) + 1e-2 / 2 * (W**2).sum()
    ref.backward()
    assert cost == pytest.approx(ref.item(), rel=1e-13)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-10, atol=1e-14)
