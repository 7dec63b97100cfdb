"""The peers sparseae is measured against, each written plainly, as a user would write it.

Every peer computes the same J_sparse (notes §3) for a 3-layer sigmoid autoencoder from the
same flat θ layout (W1, b1, W2, b2), except scikit-learn's MLPRegressor, which has no sparsity
term and is there as the nearest thing a scikit-learn user has.
"""

import numpy as np


def unpack(theta, n, s2):
    W1 = theta[: s2 * n].reshape(s2, n)
    b1 = theta[s2 * n : s2 * n + s2]
    W2 = theta[s2 * n + s2 : 2 * s2 * n + s2].reshape(n, s2)
    b2 = theta[2 * s2 * n + s2 :]
    return W1, b1, W2, b2


def numpy_transcription(X, s2, lam, rho, beta):
    """The notes' vectorised equations, transcribed line by line into NumPy."""
    m, n = X.shape

    def fun(theta):
        W1, b1, W2, b2 = unpack(theta, n, s2)
        z2 = X @ W1.T + b1
        a2 = 1.0 / (1.0 + np.exp(-z2))
        z3 = a2 @ W2.T + b2
        a3 = 1.0 / (1.0 + np.exp(-z3))
        rho_hat = a2.mean(axis=0)
        kl = rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))
        cost = (
            0.5 * np.sum((a3 - X) ** 2) / m
            + lam / 2 * (np.sum(W1**2) + np.sum(W2**2))
            + beta * np.sum(kl)
        )
        delta3 = -(X - a3) * a3 * (1 - a3)
        sparse = beta * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))
        delta2 = (delta3 @ W2 + sparse) * a2 * (1 - a2)
        W1grad = delta2.T @ X / m + lam * W1
        W2grad = delta3.T @ a2 / m + lam * W2
        b1grad = delta2.sum(axis=0) / m
        b2grad = delta3.sum(axis=0) / m
        return cost, np.concatenate([W1grad.ravel(), b1grad, W2grad.ravel(), b2grad])

    return fun


def torch_autograd(X, s2, lam, rho, beta, dtype="float64"):
    """J_sparse in PyTorch on the CPU, its gradient by autograd; θ passes through NumPy."""
    import torch

    tdtype = getattr(torch, dtype)
    Xt = torch.as_tensor(X, dtype=tdtype)
    m, n = X.shape

    def fun(theta):
        t = torch.tensor(theta, dtype=tdtype, requires_grad=True)
        W1, b1, W2, b2 = unpack(t, n, s2)
        a2 = torch.sigmoid(Xt @ W1.T + b1)
        a3 = torch.sigmoid(a2 @ W2.T + b2)
        rho_hat = a2.mean(dim=0)
        kl = rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))
        cost = (
            0.5 * ((a3 - Xt) ** 2).sum() / m
            + lam / 2 * ((W1**2).sum() + (W2**2).sum())
            + beta * kl.sum()
        )
        cost.backward()
        return float(cost.item()), t.grad.numpy().astype(np.float64)

    return fun


def five_products(X, s2, dtype=np.float64):
    """The floor: the five matrix products one cost-and-gradient evaluation needs at least.

    Forward: X W1ᵀ (m x s2) and a2 W2ᵀ (m x n). Backward: δ3ᵀ a2 (n x s2), δ3 W2 (m x s2),
    δ2ᵀ X (s2 x n). Outputs are preallocated, so only the products are timed.
    """
    X = np.asarray(X, dtype=dtype)
    m, n = X.shape
    rng = np.random.default_rng(0)
    W1 = rng.uniform(-0.1, 0.1, (s2, n)).astype(dtype)
    W2 = rng.uniform(-0.1, 0.1, (n, s2)).astype(dtype)
    return _five(np.matmul, X, W1, W2, lambda *shape: np.empty(shape, dtype))


def five_products_torch(X, s2, device, dtype="float64"):
    """The floor on a PyTorch device: the same five products as torch.matmul, synchronised."""
    import torch

    dtype = getattr(torch, dtype)
    X = torch.as_tensor(np.asarray(X), dtype=dtype, device=device)
    m, n = X.shape
    generator = torch.Generator(device="cpu").manual_seed(0)
    W1 = (torch.rand(s2, n, generator=generator, dtype=dtype) * 0.2 - 0.1).to(device)
    W2 = (torch.rand(n, s2, generator=generator, dtype=dtype) * 0.2 - 0.1).to(device)
    sync = torch.cuda.synchronize if X.is_cuda else None
    return _five(torch.matmul, X, W1, W2, lambda *shape: torch.empty(shape, dtype=dtype, device=device), sync)


def _five(matmul, X, W1, W2, empty, sync=None):
    m, n = X.shape
    s2 = W1.shape[0]
    a2, a3, g2, d2, g1 = empty(m, s2), empty(m, n), empty(n, s2), empty(m, s2), empty(s2, n)

    def run():
        matmul(X, W1.T, out=a2)
        matmul(a2, W2.T, out=a3)
        matmul(a3.T, a2, out=g2)
        matmul(a3, W2, out=d2)
        matmul(d2.T, X, out=g1)
        if sync is not None:
            sync()

    return run


def mlp_regressor(s2, lam, max_iter):
    """scikit-learn's MLPRegressor X -> X: logistic hidden layer, L-BFGS, no sparsity term."""
    from sklearn.neural_network import MLPRegressor

    return MLPRegressor(
        hidden_layer_sizes=(s2,),
        activation="logistic",
        solver="lbfgs",
        alpha=lam,
        max_iter=max_iter,
        max_fun=10**6,
        tol=0.0,
        random_state=0,
    )
