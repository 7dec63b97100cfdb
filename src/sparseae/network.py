"""Feedforward networks (notes §2.1): the unrolled parameter vector θ and the forward pass.

A network with layer sizes ``[s_1, s_2, ..., s_nl]`` has, for l = 1 .. nl-1, a weight matrix
W(l) of shape (s_{l+1}, s_l) (notes' index order: W(l)_ij joins unit j of layer l to unit i of
layer l+1) and a bias b(l) of length s_{l+1}. All of them live in one flat vector θ, in the
order W(1), b(1), W(2), b(2), ...; :meth:`Layout.unpack` returns reshaped *views* into θ, so an
optimizer works on θ and nothing is copied per evaluation.

Examples are rows: X has shape (m, s_1), and layer l's activations have shape (m, s_l).
"""

import numbers

import numpy as np
from sklearn.utils import check_random_state

from .activations import ACTIVATIONS


class Layout:
    """Positions of each W(l) and b(l) inside the flat parameter vector θ.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``[s_1, ..., s_nl]``: units per layer, input first, bias units not counted.

    Attributes
    ----------
    size : int
        Length of θ.
    """

    def __init__(self, layer_sizes):
        sizes = list(layer_sizes)
        if len(sizes) < 2:
            raise ValueError(f"layer_sizes needs at least 2 layers (input and output), got {sizes}")
        for s in sizes:
            if not isinstance(s, numbers.Integral) or isinstance(s, bool) or s < 1:
                raise ValueError(f"layer_sizes must hold positive integers, got {sizes}")
        self.layer_sizes = tuple(int(s) for s in sizes)
        self._weights = []  # (start, end, shape) of W(l)
        self._biases = []  # (start, end) of b(l)
        offset = 0
        for fan_in, fan_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:]):
            self._weights.append((offset, offset + fan_out * fan_in, (fan_out, fan_in)))
            offset += fan_out * fan_in
            self._biases.append((offset, offset + fan_out))
            offset += fan_out
        self.size = offset

    @property
    def n_layers(self):
        """n_l, the number of layers including input and output."""
        return len(self.layer_sizes)

    def unpack(self, theta):
        """Views ``(Ws, bs)`` into θ: ``Ws[l]`` is W(l+1) of shape (s_{l+2}, s_{l+1})."""
        if theta.shape != (self.size,):
            raise ValueError(
                f"theta must have shape ({self.size},) for layer sizes {list(self.layer_sizes)}, "
                f"got {theta.shape}"
            )
        Ws = [theta[start:end].reshape(shape) for start, end, shape in self._weights]
        bs = [theta[start:end] for start, end in self._biases]
        return Ws, bs

    def weight_mask(self):
        """Boolean vector over θ, True on weights (which are decayed) and False on biases."""
        mask = np.zeros(self.size, dtype=bool)
        for start, end, _ in self._weights:
            mask[start:end] = True
        return mask

    def initial_theta(self, random_state=None, dtype=np.float64):
        """UFLDL's initialisation: W(l) ~ U(±r) with r = √6 / √(s_l + s_{l+1} + 1), b = 0.

        The same ``random_state`` gives the same θ, bit for bit.
        """
        rng = check_random_state(random_state)
        theta = np.zeros(self.size, dtype=dtype)
        Ws, _ = self.unpack(theta)
        for W in Ws:
            fan_out, fan_in = W.shape
            r = np.sqrt(6.0) / np.sqrt(fan_in + fan_out + 1)
            W[...] = rng.uniform(-r, r, size=W.shape)
        return theta


def forward(Ws, bs, X, activation="sigmoid", output_activation="sigmoid", n_layers=None, out=None):
    """The forward pass, equations (6)-(7): z(l+1) = W(l) a(l) + b(l), a(l+1) = f(z(l+1)).

    Parameters
    ----------
    Ws, bs : lists of arrays
        Weights and biases, as from :meth:`Layout.unpack` (or a tail of them, to continue a
        forward pass from a hidden layer: the last W is always the output layer's).
    X : ndarray of shape (m, s_1)
        Inputs, one example per row; a(1) = X. A NumPy array or a PyTorch tensor.
    activation, output_activation : str
        f for the hidden layers and for the output layer.
    n_layers : int, optional
        Stop after this many layers (2 gives ``[X, a(2)]``, the hidden code of an autoencoder).
    out : list of arrays, optional
        Buffers of at least m rows for a(2), a(3), ..., written in place (the objective reuses
        them); new arrays when omitted.

    Returns
    -------
    activations : list of arrays
        ``[a(1), a(2), ..., a(n_layers)]``, a(l) of shape (m, s_l).
    """
    n_layers = len(Ws) + 1 if n_layers is None else n_layers
    activations = [X]
    for l in range(n_layers - 1):
        if out is None:
            z = activations[l] @ Ws[l].T  # (m, s_{l+1})
        else:
            z = out[l][: X.shape[0]]
            matmul_into(activations[l], Ws[l].T, z)
        ACTIVATIONS[output_activation if l == len(Ws) - 1 else activation](z, bs[l])
        activations.append(z)
    return activations


def matmul_into(a, b, out):
    """out = a @ b for NumPy arrays or PyTorch tensors."""
    if isinstance(out, np.ndarray):
        np.matmul(a, b, out=out)
    else:
        import torch

        torch.matmul(a, b, out=out)
