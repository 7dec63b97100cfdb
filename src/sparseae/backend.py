"""Where the objective's arrays live: NumPy on the host, or PyTorch tensors on a device.

The objective is written once, against a namespace ``xp`` that both NumPy and PyTorch satisfy
for the handful of operations it needs (``matmul(..., out=)``, ``sum(..., axis=0, out=)``,
``vdot``, ``mean``, in-place arithmetic). A backend adds what differs: how to allocate, and
how to move θ in and the gradient out. θ, ρ̂ and the optimizer's state stay on the host.
"""

import numpy as np


class NumpyBackend:
    """Arrays are NumPy arrays in ``dtype`` (float64 or float32)."""

    xp = np
    name = "numpy"

    def __init__(self, dtype=np.float64):
        self.dtype = np.dtype(dtype)

    def empty(self, shape):
        return np.empty(shape, dtype=self.dtype)

    def from_host(self, array):
        return np.asarray(array, dtype=self.dtype)

    def to_host(self, array):
        """A new float64 array: buffers are reused, what leaves the objective must not be."""
        return np.array(array, dtype=np.float64)

    def scalar(self, value):
        return float(value)


class TorchBackend:
    """Arrays are PyTorch tensors on ``device`` ("cpu", "cuda", "cuda:1", ...)."""

    name = "torch"

    def __init__(self, dtype=np.float64, device="cpu"):
        torch = _import_torch()
        self.xp = torch
        self.device = torch.device(device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device={device!r} but PyTorch sees no CUDA device")
        self.dtype = {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}[
            np.dtype(dtype)
        ]

    def empty(self, shape):
        return self.xp.empty(shape, dtype=self.dtype, device=self.device)

    def from_host(self, array):
        if isinstance(array, self.xp.Tensor):
            return array.to(device=self.device, dtype=self.dtype)
        return self.xp.as_tensor(np.asarray(array), dtype=self.dtype, device=self.device)

    def to_host(self, array):
        return array.detach().to("cpu", dtype=self.xp.float64).numpy()

    def scalar(self, value):
        return float(value.item()) if hasattr(value, "item") else float(value)


def _import_torch():
    try:
        import torch
    except ImportError:
        raise ImportError(
            "device= needs PyTorch: pip install 'sparseae[torch]' (or pip install torch)"
        ) from None
    return torch


def get_backend(device=None, dtype=np.float64):
    """NumPy for ``device=None``; PyTorch on that device otherwise."""
    if dtype not in (np.float64, np.float32) and np.dtype(dtype) not in (np.float64, np.float32):
        raise ValueError(f"dtype must be float64 or float32, got {dtype!r}")
    if device is None:
        return NumpyBackend(dtype)
    if not isinstance(device, str):
        raise ValueError(f"device must be None or a string such as 'cuda', got {device!r}")
    return TorchBackend(dtype, device)
