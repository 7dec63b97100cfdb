"""Feedforward networks (notes §2.1): the unrolled parameter vector θ, its W(l) and b(l), and
the forward pass on NumPy arrays.

A network with layer sizes ``[s_1, s_2, ..., s_nl]`` has, for l = 1 .. nl-1, a weight matrix
W(l) of shape (s_{l+1}, s_l) (notes' index order: W(l)_ij joins unit j of layer l to unit i of
layer l+1) and a bias b(l) of length s_{l+1}. All of them live in one flat vector θ, in the
order W(1), b(1), W(2), b(2), ...; :meth:`sparseae.Layout.unpack` returns reshaped *views* into θ, so an
optimizer works on θ and nothing is copied per evaluation. A network whose sparse layer has a
learned threshold per unit (JumpReLU, :mod:`sparseae.jumprelu`) keeps their logarithms, log θ_j,
after the last b, in the same vector (:meth:`Layout.log_thresholds`).

Examples are rows: X has shape (m, s_1), and layer l's activations have shape (m, s_l).
"""

import numbers

import numpy as np
from sklearn.utils import check_random_state

from . import backprop
from .activations import ACTIVATIONS
from .engine import NumpyBackend
from .errors import DataError, ParameterError


class Layout:
    """Where each W(l) and b(l) lies inside the flat parameter vector θ (the notes' "unrolled" θ).

    W(1), b(1), W(2), b(2), ... follow one another in θ, each W(l) of shape (s_{l+1}, s_l) in
    the notes' orientation. :meth:`~sparseae.Layout.unpack` gives them as views into θ, so the optimizer and the
    network share one buffer.

    Parameters
    ----------
    layer_sizes : sequence of int
        [s_1, ..., s_nl]: the units of each layer, input first, bias units not counted.
    thresholds : int, optional
        The layer (notes' numbering) whose units each have a learned threshold, kept as log θ_j
        at the end of θ (JumpReLU).

    Attributes
    ----------
    layer_sizes : tuple of int
    size : int
        The length of θ.

    Raises
    ------
    ParameterError
        If there are fewer than two layers, a size is not a positive integer, ``thresholds`` is not
        a hidden layer, or :meth:`~sparseae.Layout.unpack` is given a θ of another length.

    Examples
    --------
    >>> import numpy as np
    >>> import sparseae
    >>> layout = sparseae.Layout([4, 3, 4])
    >>> layout.size                                 # 3x4 + 3 + 4x3 + 4
    31
    >>> theta = layout.initial_theta(0)
    >>> (W1, W2), (b1, b2) = layout.unpack(theta)
    >>> W1.shape, W2.shape, bool(np.shares_memory(W1, theta))
    ((3, 4), (4, 3), True)
    """

    def __init__(self, layer_sizes, thresholds=None):
        sizes = list(layer_sizes)
        if len(sizes) < 2:
            raise ParameterError(f"layer_sizes needs at least 2 layers (input and output), got {sizes}")
        for s in sizes:
            if not isinstance(s, numbers.Integral) or isinstance(s, bool) or s < 1:
                raise ParameterError(f"layer_sizes must hold positive integers, got {sizes}")
        self.layer_sizes = tuple(int(s) for s in sizes)
        self._weights = []  # (start, end, shape) of W(l)
        self._biases = []  # (start, end) of b(l)
        offset = 0
        for fan_in, fan_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:]):
            self._weights.append((offset, offset + fan_out * fan_in, (fan_out, fan_in)))
            offset += fan_out * fan_in
            self._biases.append((offset, offset + fan_out))
            offset += fan_out
        self.thresholds = None  # the layer with learned thresholds, and where their logs are
        if thresholds is not None:
            if not (isinstance(thresholds, int) and 2 <= thresholds <= len(sizes) - 1):
                raise ParameterError(f"thresholds must be a hidden layer, 2 to {len(sizes) - 1}, got {thresholds!r}")
            self.thresholds = thresholds
            self._log_thresholds = (offset, offset + self.layer_sizes[thresholds - 1])
            offset += self.layer_sizes[thresholds - 1]
        self.size = offset

    @property
    def n_layers(self):
        """n_l, the number of layers including input and output."""
        return len(self.layer_sizes)

    def unpack(self, theta):
        """Views ``(Ws, bs)`` into θ: ``Ws[l]`` is W(l+1) of shape (s_{l+2}, s_{l+1})."""
        if theta.shape != (self.size,):
            raise ParameterError(
                f"theta must have shape ({self.size},) for layer sizes {list(self.layer_sizes)}, "
                f"got {theta.shape}"
            )
        Ws = [theta[start:end].reshape(shape) for start, end, shape in self._weights]
        bs = [theta[start:end] for start, end in self._biases]
        return Ws, bs

    def log_threshold_range(self):
        """``(start, end)`` of log θ_j in θ; None for a network without thresholds."""
        return None if self.thresholds is None else self._log_thresholds

    def log_thresholds(self, theta):
        """The view of log θ_j in θ (or in a gradient), one per unit of the thresholded layer; None
        for a network without thresholds."""
        if self.thresholds is None:
            return None
        start, end = self._log_thresholds
        return theta[start:end]

    def weights(self, theta):
        """Flat views of W(1), W(2), ... in θ (no reshaping, no checks: for sums over them)."""
        return [theta[start:end] for start, end, _ in self._weights]

    def weight_mask(self):
        """Boolean vector over θ, True on weights (which are decayed) and False on biases."""
        mask = np.zeros(self.size, dtype=bool)
        for start, end, _ in self._weights:
            mask[start:end] = True
        return mask

    def initial_theta(self, random_state=None, dtype=np.float64, threshold=1e-3):
        """UFLDL's initialisation: W(l) ~ U(±r) with r = √6 / √(s_l + s_{l+1} + 1), b = 0; each
        learned threshold at ``threshold`` (Rajamanoharan et al.'s 0.001).

        The same ``random_state`` gives the same θ, bit for bit.
        """
        rng = check_random_state(random_state)
        theta = np.zeros(self.size, dtype=dtype)
        Ws, _ = self.unpack(theta)
        for W in Ws:
            fan_out, fan_in = W.shape
            r = np.sqrt(6.0) / np.sqrt(fan_in + fan_out + 1)
            W[...] = rng.uniform(-r, r, size=W.shape)
        if self.thresholds is not None:
            self.log_thresholds(theta)[...] = np.log(threshold)
        return theta


def forward(Ws, bs, X, activation="sigmoid", output_activation="sigmoid", n_layers=None, top_k=None,
            threshold=None):
    """The forward pass (notes equations 6-7) on NumPy arrays.

    With :math:`a^{(1)} = x`, each layer computes :math:`z^{(l+1)} = W^{(l)} a^{(l)} + b^{(l)}` and
    :math:`a^{(l+1)} = f(z^{(l+1)})`, for a block of examples at once (one per row). The arithmetic
    is :func:`sparseae.backprop.forward`'s, in X's float dtype.

    Parameters
    ----------
    Ws, bs : lists of ndarray
        W(l) of shape (s_{l+1}, s_l) and b(l) of shape (s_{l+1},), as :meth:`sparseae.Layout.unpack`
        gives them.
    X : array_like of shape (m, s_1)
        The examples, one per row.
    activation : str, default "sigmoid"
        The hidden layers' f: "sigmoid", "tanh", "relu" or "linear".
    output_activation : str, default "sigmoid"
        The output layer's f, one of the same names.
    n_layers : int, optional
        Stop at this layer: ``n_layers=2`` gives an autoencoder's hidden code.
    top_k : int, optional
        The TopK penalty's selection on a(2): each example keeps its ``top_k`` largest.
    threshold : array_like of shape (s_2,), optional
        JumpReLU's θ_j for a(2)'s units (:mod:`sparseae.jumprelu`).

    Returns
    -------
    list of ndarray
        ``[a(1), a(2), ..., a(n_layers)]``, each of shape (m, s_l).

    Raises
    ------
    ParameterError
        If an activation name is not one sparseae has.
    DataError
        If X does not have s_1 columns, or the Ws and bs do not chain.

    Examples
    --------
    >>> import numpy as np
    >>> import sparseae
    >>> layout = sparseae.Layout([4, 3, 4])
    >>> Ws, bs = layout.unpack(layout.initial_theta(0))
    >>> a = sparseae.forward(Ws, bs, np.ones((2, 4)))
    >>> [x.shape for x in a]
    [(2, 4), (2, 3), (2, 4)]
    >>> bool(np.all((a[2] > 0) & (a[2] < 1)))                   # sigmoid outputs
    True
    """
    X = np.asarray(X)
    for name, value in (("activation", activation), ("output_activation", output_activation)):
        if value not in ACTIVATIONS:
            raise ParameterError(f"{name} must be one of {sorted(ACTIVATIONS)}, got {value!r}")
    if X.ndim != 2:
        raise DataError(f"X must be 2-D (one example per row), got shape {X.shape}")
    fan_in = X.shape[1]
    for l, (W, b) in enumerate(zip(Ws, bs), start=1):
        w, v = np.shape(W), np.shape(b)
        if len(w) != 2 or w[1] != fan_in or v != (w[0],):
            raise DataError(f"W({l}) of shape {w} and b({l}) of shape {v} do not fit layer {l}'s {fan_in} units: "
                            f"W({l}) must be (s, {fan_in}) and b({l}) (s,)")
        fan_in = w[0]
    backend = NumpyBackend(np.float32 if X.dtype == np.float32 else np.float64)
    X = backend.from_host(X)
    f, f_out = ACTIVATIONS[activation], ACTIVATIONS[output_activation]
    select = None if top_k is None else (2, lambda a: backend.keep_top_k(a, top_k))
    gate = None
    if threshold is not None:
        from .jumprelu import JumpReLU

        gate = (2, JumpReLU(threshold, backend).forward)
    return backprop.forward(Ws, bs, X, f, f_out, backend, n_layers=n_layers, select=select, gate=gate)
