"""Borrowed elementwise kernels: PyTorch's fused in-place f and f' for arrays the backends hold.

The same module lends PyTorch's ``topk`` for TopK's selection on NumPy arrays
(:func:`top_k_indices`).

Backpropagation's δ ⊙ f'(z) is, in :mod:`sparseae.activations`, two or three passes over memory
(δ ⊙ a, 1 − a, ⊙ again for sigmoid); PyTorch's autograd kernels ``sigmoid_backward``,
``tanh_backward`` and ``threshold_backward`` (ReLU) compute it from δ and a = f(z) in one pass,
in place (:data:`BACKWARD`, :func:`derivative_to_numpy`): 1.5-2.6x faster on the shapes of the
benchmarks (benchmarks/elementwise.py, figures in RESULTS.md), on every CPU, as no transcendental
function is involved.

On tensors, f(z + b) is one fused call (``z.sigmoid_()``) instead of the generic steps of
:mod:`sparseae.activations`. On NumPy arrays, PyTorch's CPU kernels run in place on the same
memory (``torch.from_numpy``) when PyTorch is installed, where they measure faster than NumPy's:
that depends on the CPU, as NumPy vectorises float64 ``exp`` and ``tanh`` only with AVX-512
(figures and CPU models in benchmarks/RESULTS.md):

- sigmoid: PyTorch's, on every CPU measured (AVX2 and AVX-512, float64 and float32);
- tanh: PyTorch's where NumPy lacks AVX-512 (there NumPy computes it one value at a time);
  NumPy's where it has it (NumPy's is then the faster).

Decided once per process. ``SPARSEAE_TORCH_KERNELS=0`` in the environment keeps NumPy arrays
on NumPy's kernels alone. Both kinds agree to a few units in the last place.
"""

import os
import warnings

import numpy as np

from .. import _signals

#: The in-place PyTorch method of each activation that has a fused kernel.
FUSED = {"sigmoid": "sigmoid_", "tanh": "tanh_"}
#: PyTorch's fused δ ← δ ⊙ f'(z) from a = f(z), by activation (the ATen operator's name).
BACKWARD = {"sigmoid": "sigmoid_backward", "tanh": "tanh_backward", "relu": "threshold_backward"}
#: Below this many values NumPy's kernel is the faster: PyTorch's call costs more than it saves
#: (measured per CPU in benchmarks/RESULTS.md). Adam's minibatches of 100 rows are this small.
SMALL = 4096
_SHAREABLE = (np.dtype(np.float64), np.dtype(np.float32))

_torch = None  # the torch module once looked for; False when absent or switched off


def torch_module():
    """The torch module when its kernels may be borrowed for NumPy arrays, else False.

    Looked for once (importing PyTorch takes a second): the objective asks when it is built,
    in the calling thread, so that no worker thread imports it.
    """
    global _torch
    if _torch is None:
        _torch = False
        if os.environ.get("SPARSEAE_TORCH_KERNELS", "1") != "0":
            try:
                with _signals.deferred():  # a signal inside PyTorch's C++ module set-up aborts the process
                    import torch

                    _torch = torch
            except ImportError:
                pass
            except Exception as exc:  # installed but broken (a missing CUDA library, ...)
                warnings.warn(
                    f"PyTorch is installed but failed to import ({exc}); sparseae uses NumPy's "
                    "kernels (set SPARSEAE_TORCH_KERNELS=0 to silence this)",
                    RuntimeWarning,
                    stacklevel=2,
                )
    return _torch


def numpy_is_vectorised():
    """Whether this NumPy computes float64 exp and tanh with AVX-512 (8 values an instruction)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # NumPy < 2
        from numpy.core._multiarray_umath import __cpu_features__
    return bool(__cpu_features__.get("AVX512_SKX"))


def borrowed_for_numpy(name):
    """The PyTorch method to run on NumPy arrays for activation ``name``, or None for NumPy's."""
    if name not in FUSED or not torch_module():
        return None
    if name == "tanh" and numpy_is_vectorised():
        return None
    return FUSED[name]


def backward_operator(name, torch):
    """PyTorch's fused f' of activation ``name`` as ``fn(delta, a)``: δ ← δ ⊙ f'(z) in place on
    tensors (a = f(z) left as it is), or None when it has none."""
    if name not in BACKWARD:
        return None
    op = getattr(torch.ops.aten, BACKWARD[name]).grad_input
    if name == "relu":  # δ where a > 0, else 0: the subgradient 0 at z = 0, as relu_derivative
        return lambda delta, a: op(delta, a, 0.0, grad_input=delta)
    return lambda delta, a: op(delta, a, grad_input=delta)


def backward_for_numpy(name):
    """PyTorch's fused f' of ``name`` for NumPy arrays (:func:`derivative_to_numpy`), or None."""
    torch = torch_module()
    return backward_operator(name, torch) if torch else None


def derivative_to_numpy(backward, a, delta):
    """δ ← δ ⊙ f'(z) by PyTorch's fused ``backward`` on the same memory; False (nothing done) when
    the arrays cannot be shared (other dtypes or shapes, not C-contiguous, read-only) or are too
    small to gain (:data:`SMALL`). One call for the whole block: it runs inside an evaluation,
    where PyTorch computes in the calling thread alone (:func:`~sparseae.engine.parallel.single_threaded_blas`)."""
    if (delta.size < SMALL or delta.dtype not in _SHAREABLE or a.dtype != delta.dtype or a.shape != delta.shape
            or not (delta.flags.c_contiguous and a.flags.c_contiguous and delta.flags.writeable)):
        return False
    torch = torch_module()
    backward(torch.from_numpy(delta), torch.from_numpy(a))
    return True


def apply_to_numpy(method, z, b):
    """z ← f(z + b) with torch's in-place ``method``, in two calls on the whole array; False if z
    cannot be shared with PyTorch (not 2-D, not C-contiguous, read-only, other dtypes) or is too
    small to gain from it (:data:`SMALL`).

    Whole arrays, not cache-sized pieces: the calls' count is the cost at the blocks an
    evaluation uses (with two threads each call hands the GIL over); one block's z is a few MiB at
    most (:data:`sparseae.engine.parallel.BLOCK_BYTES`). Inside an evaluation PyTorch computes in
    the calling thread alone (:func:`~sparseae.engine.parallel.single_threaded_blas`)."""
    shareable = z.ndim == 2 and z.dtype in _SHAREABLE and z.flags.c_contiguous and z.flags.writeable
    if not shareable or z.size < SMALL:
        return False
    torch = torch_module()
    tensor = torch.from_numpy(z)
    if b is not None:
        tensor.add_(torch.from_numpy(np.ascontiguousarray(b, dtype=z.dtype)))
    getattr(tensor, method)()
    return True


def top_k_indices(a, k):
    """The column indices of the k largest values of each row of the 2-D array ``a`` (rows x k,
    in no particular order): PyTorch's ``topk`` when it may be borrowed (measured 10-13x faster
    than NumPy's ``argpartition`` on 2048 x 16384 float32 rows, benchmarks/RESULTS.md), else
    ``argpartition``. Rows with ties at the k-th value may keep other equal columns."""
    torch = torch_module()
    if torch and a.dtype in _SHAREABLE and a.size >= SMALL:
        return torch.topk(torch.from_numpy(np.ascontiguousarray(a)), k, dim=1, sorted=False).indices.numpy()
    return np.argpartition(a, a.shape[1] - k, axis=1)[:, a.shape[1] - k :]
