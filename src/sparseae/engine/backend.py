"""Where the objective's arrays live, and how the operations on them run: NumPy on the host, or
PyTorch tensors on a device. The only module that knows one from the other.

The math (:mod:`sparseae.backprop`, the activations, losses and penalties) is written against a
backend: its array namespace ``xp`` for the operations NumPy and PyTorch share, and the methods
below for what differs: allocation, moving θ in and the gradient out, the products (on NumPy
arrays, by the faster BLAS of the process: :mod:`sparseae.engine.products`), column sums, f (with
borrowed kernels where faster), the fused passes of backpropagation where a backend has them
(:mod:`sparseae.engine.fused`), and how rows are split over the cores. ``vectors``
(:mod:`sparseae.engine.vectors`) is where an optimizer keeps θ: a device's, for L-BFGS on a GPU.
ρ̂ and the other small vectors stay on the host.
"""

import contextlib

import numpy as np

from .. import _signals
from ..errors import DeviceError, ParameterError
from . import fused, kernels, parallel
from .products import PRODUCTS
from .vectors import HostVectors, TorchVectors


class _Backend:
    """What both backends do the same way, through ``xp``."""

    def matmul_into(self, a, b, out):
        self.xp.matmul(a, b, out=out)

    def vdot(self, x, y):
        """Σ x ⊙ y over all elements."""
        return self.xp.vdot(x.reshape(-1), y.reshape(-1))

    def sum_of_squares(self, x):
        return self.vdot(x, x)

    def keep_top_k(self, a, k):
        """In each row of a, the k largest values stay and the others become 0, in place."""
        if k < a.shape[1]:
            self._zero_smallest(a, a.shape[1] - k)

    def output_delta(self, loss, f_out, a, y, delta, scale, bias_grad, pending=None):
        """``loss``'s δ(n_l) (the squared error's (a − y) · scale ⊙ f'(z(n_l)), the cross-entropy's
        (a − y) · scale after a softmax) in one pass, with ``bias_grad`` += Σ_i δ(n_l); returns the
        block's Σ_i loss, or None where this backend has no such pass (nothing done: the caller
        takes the steps). ``pending``: ``(b,)`` when ``a`` holds
        W a(n_l − 1) still without b(n_l − 1) and f_out, which the pass applies on the way."""
        return None

    def fuses_output(self, loss, f_out):
        """Whether :meth:`output_delta` with ``pending`` is one pass here for any block (then
        the product W a(n_l − 1) may go straight into δ(n_l)'s buffer, and the pass runs in place)."""
        return False

    def hidden_delta(self, f, delta, a, s, bias_grad):
        """δ ← (δ + s) ⊙ f'(z) in one pass (``s`` may be None), with ``bias_grad`` += Σ_i δ;
        False where this backend has no such pass (nothing done)."""
        return False


def largest_values(values, count):
    """The ``count`` largest of the 1-D array ``values`` (all of them when fewer), unordered.

    When at least ``count`` values are positive (or NaN, which ``np.partition`` counts as the
    largest), only those are partitioned: a ReLU layer's activations are mostly zeros, on which
    NumPy's introselect was slow (a 100-row minibatch of 256 MNIST units: 0.55 ms a call, 5x its
    time on the positives alone)."""
    if values.size <= count:
        return values
    candidates = values[~(values <= 0)]
    if candidates.size >= count:
        values = candidates
    return np.partition(values, values.size - count)[values.size - count :]


class NumpyBackend(_Backend):
    """NumPy arrays in ``dtype`` (float64 or float32), rows split over the cores by sparseae."""

    xp = np
    over_rows = staticmethod(parallel.over_rows)
    # The products go to the faster BLAS of the process, per shape class (:mod:`.products`).
    matmul_into = staticmethod(PRODUCTS.matmul_into)
    matmul_add = staticmethod(PRODUCTS.matmul_add)

    def __init__(self, dtype=np.float64):
        self.dtype = np.dtype(dtype)
        self.tiny = float(np.finfo(self.dtype).tiny)  # the smallest normal number
        self._ones = np.ones(0, dtype=self.dtype)
        self._borrowed = {}  # activation name -> PyTorch method, or None for NumPy's
        self._backward = {}  # activation name -> PyTorch's fused f', or None for NumPy's steps
        self.fused = fused.available()  # sparseae's compiled passes (decided once, like the rest)
        self.vectors = HostVectors()  # where an optimizer keeps θ for this backend

    def empty(self, shape):
        return np.empty(shape, dtype=self.dtype)

    def zeros(self, shape):
        return np.zeros(shape, dtype=self.dtype)

    def from_host(self, array):
        return np.asarray(array, dtype=self.dtype)

    def to_host(self, array):
        """A new float64 array: buffers are reused, what leaves the objective must not be."""
        return np.array(array, dtype=np.float64)

    def scalar(self, value):
        return float(value)

    def as_values(self, mask):
        """A boolean array as 0s and 1s in the backend's dtype."""
        return mask.astype(self.dtype)

    def column_max(self, x):
        return x.max(axis=0)

    def indices(self, host):
        """Host integer indices as the backend indexes its arrays with them."""
        return np.asarray(host)

    def largest(self, a, count):
        """The ``count`` largest values of a (all when fewer), as a host float64 vector."""
        return np.array(largest_values(a.reshape(-1), count), dtype=np.float64)

    def column_sums(self, x):
        """Σ over the rows of x as a product with ones: in BLAS, faster than ``x.sum(axis=0)``
        for a hidden layer's narrow blocks (measured in benchmarks/RESULTS.md)."""
        ones = self._ones
        if ones.shape[0] < x.shape[0]:
            ones = self._ones = np.ones(x.shape[0], dtype=self.dtype)
        return ones[: x.shape[0]] @ x

    def prepare(self, activations):
        """Decide which activations borrow PyTorch's kernels, in the calling thread (so that no
        worker thread imports PyTorch)."""
        for activation in activations:
            self._borrowed[activation.name] = kernels.borrowed_for_numpy(activation.name)
            self._backward[activation.name] = kernels.backward_for_numpy(activation.name)

    def derivative(self, activation, a, delta):
        """δ ← δ ⊙ f'(z) in place: PyTorch's fused kernel where it is borrowed (a then kept),
        else :mod:`sparseae.activations`' steps (a overwritten)."""
        if activation.name not in self._backward:
            self.prepare([activation])
        backward = self._backward[activation.name]
        if backward is None or not kernels.derivative_to_numpy(backward, a, delta):
            activation.derivative(a, delta, np)

    def output_delta(self, loss, f_out, a, y, delta, scale, bias_grad, pending=None):
        if not self.fused:
            return None
        return fused.output_delta(loss.name, f_out.name, a, y, delta, scale, bias_grad, pending)

    def fuses_output(self, loss, f_out):
        return self.fused and fused.fuses_output(loss.name, f_out.name, self.dtype)

    def hidden_delta(self, f, delta, a, s, bias_grad):
        return self.fused and fused.hidden_delta(f.name, delta, a, s, bias_grad)

    def activate(self, activation, z, b=None):
        """z ← f(z + b) in place: sparseae's compiled pass, PyTorch's kernel or NumPy's steps."""
        if self.fused and fused.activate(activation.name, z, b):
            return z
        if activation.name not in self._borrowed:
            self.prepare([activation])
        method = self._borrowed[activation.name]
        if method and kernels.apply_to_numpy(method, z, b):
            return z
        with np.errstate(over="ignore"):  # exp(-z) overflows to inf for z < -709: correct
            return activation.f(z, b, np)

    @staticmethod
    def _zero_smallest(a, n):
        """All but the k = width - n largest values of each row set to 0, in place."""
        keep = kernels.top_k_indices(a, a.shape[1] - n)
        kept = np.take_along_axis(a, keep, axis=1)
        a[...] = 0.0
        np.put_along_axis(a, keep, kept, axis=1)

    def row_ranges(self, m):
        return parallel.row_ranges(m)

    def block_rows(self, width, rows):
        """Rows per block when each row has ``width`` values in the block's buffers."""
        return min(rows, parallel.block_rows(width))

    def computing(self):
        """Around an evaluation: BLAS in one thread, sparseae's own threads on the cores."""
        return parallel.single_threaded_blas()


class TorchBackend(_Backend):
    """PyTorch tensors on ``device`` ("cpu", "cuda", "cuda:1", ...); PyTorch spreads its own work."""

    def __init__(self, dtype=np.float64, device="cpu"):
        try:
            with _signals.deferred():  # a signal inside PyTorch's C++ module set-up aborts the process
                import torch
        except ImportError:
            raise DeviceError("device= needs PyTorch: pip install 'sparseae[torch]'") from None
        self.xp = torch
        try:
            self.device = torch.device(device)
            (torch.zeros(1, device=self.device) + 1).cpu()  # compute there and bring it back
        except Exception as exc:  # unknown device types, no driver, no such GPU, ...
            first = (str(exc).strip() or type(exc).__name__).splitlines()[0]
            raise DeviceError(f"device={device!r} cannot be used by PyTorch: {first}") from None
        self.dtype = torch.float64 if np.dtype(dtype) == np.float64 else torch.float32
        self.tiny = float(torch.finfo(self.dtype).tiny)
        self.vectors = TorchVectors(torch, self.device)
        self._backward = {}  # activation name -> PyTorch's fused f', or None

    def empty(self, shape):
        return self.xp.empty(shape, dtype=self.dtype, device=self.device)

    def zeros(self, shape):
        return self.xp.zeros(shape, dtype=self.dtype, device=self.device)

    def from_host(self, array):
        """On the device in the backend's dtype. A host array is cast by NumPy first: PyTorch's
        own float64 -> float32 cast of a host array costs far more (benchmarks/RESULTS.md, the
        first GPU figures)."""
        if isinstance(array, self.xp.Tensor):
            return array.to(device=self.device, dtype=self.dtype)
        host_dtype = np.float64 if self.dtype == self.xp.float64 else np.float32
        return self.xp.as_tensor(np.asarray(array, dtype=host_dtype), device=self.device)

    def to_host(self, array):
        """A new float64 array, cast where the tensor is (``copy=True``: a CPU float64 tensor
        would otherwise lend its buffer, which the next evaluation overwrites)."""
        return array.detach().to(dtype=self.xp.float64).to("cpu", copy=True).numpy()

    def scalar(self, value):
        return float(value.item()) if hasattr(value, "item") else float(value)

    def as_values(self, mask):
        return mask.to(self.dtype)

    def column_max(self, x):
        return self.xp.amax(x, dim=0)

    def indices(self, host):
        return self.xp.as_tensor(np.asarray(host), device=self.device)

    def largest(self, a, count):
        flat = a.reshape(-1)
        if flat.numel() > count:
            flat = self.xp.topk(flat, count, sorted=False).values
        return self.to_host(flat)

    def column_sums(self, x):
        return self.xp.sum(x, dim=0)

    def prepare(self, activations):
        pass

    def matmul_add(self, a, b, out):
        """out ← out + a @ b, in one pass over out (BLAS's β = 1)."""
        out.addmm_(a, b)

    def derivative(self, activation, a, delta):
        """δ ← δ ⊙ f'(z) in place: one fused kernel where PyTorch has one (a kept), else the
        generic steps."""
        if activation.name not in self._backward:
            self._backward[activation.name] = kernels.backward_operator(activation.name, self.xp)
        backward = self._backward[activation.name]
        if backward is None:
            activation.derivative(a, delta, self.xp)
        else:
            backward(delta, a)

    def activate(self, activation, z, b=None):
        if activation.name not in kernels.FUSED:
            return activation.f(z, b, self.xp)
        if b is not None:
            z.add_(b)
        return getattr(z, kernels.FUSED[activation.name])()

    def _zero_smallest(self, a, n):
        smallest = self.xp.topk(a, n, dim=1, largest=False).indices
        a.scatter_(1, smallest, 0.0)

    def row_ranges(self, m):
        return [(0, m)]

    @staticmethod
    def over_rows(fn, ranges):
        return [fn(i, lo, hi) for i, (lo, hi) in enumerate(ranges)]

    def block_rows(self, width, rows):
        return rows

    def computing(self):
        return contextlib.nullcontext()


def get_backend(device=None, dtype=np.float64):
    """NumPy for ``device=None``; PyTorch on that device otherwise."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        dtype = None
    if dtype not in (np.float64, np.float32):
        raise ParameterError(f"dtype must be float64 or float32, got {dtype!r}")
    if device is None:
        return NumpyBackend(dtype)
    if not isinstance(device, str):
        raise ParameterError(f"device must be None or a string such as 'cuda', got {device!r}")
    return TorchBackend(dtype, device)
