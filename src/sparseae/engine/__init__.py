"""Speed machinery, beside the math: the backends (NumPy, PyTorch), threads over rows, borrowed
elementwise kernels. Chosen once per process or per CPU; the math never asks again."""

from .backend import NumpyBackend, TorchBackend, get_backend

__all__ = ["NumpyBackend", "TorchBackend", "get_backend"]
