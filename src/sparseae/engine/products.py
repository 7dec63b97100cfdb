"""The NumPy backend's matrix products, by the faster BLAS in the process for each shape class.

NumPy's wheel multiplies with OpenBLAS. When PyTorch is installed, its CPU wheel brings another
BLAS (Intel's MKL), which runs on the same memory through ``torch.from_numpy`` (no copy). Which
is faster depends on the CPU and on the shapes: on an Intel Xeon (Ice Lake) MKL was 1.1-1.8x
faster at the fine-tuning shapes; on an AMD EPYC it was 0.3-2.4x OpenBLAS's speed, product by
product (benchmarks/RESULTS.md). So each *shape class* (the dtype, which operands are
transposed, and each dimension to within a factor √2) is measured once, at its first product:
both libraries compute it a few times, alternately, into the caller's output, and the faster
one (OpenBLAS unless MKL is :data:`MARGIN` faster, so that noise does not flip a choice) is kept
for the process.

A choice also changes the last bits of the results, so it is kept for the machine too: written
to ``blas_choices_v1.json`` in the cache folder (``$SPARSEAE_CACHE_DIR``) under a key naming the
CPU, the cores and the two libraries' versions, and read back by every later process. The same
``random_state`` thus gives the same weights, bit for bit, run after run on one machine.

``SPARSEAE_TORCH_PRODUCTS`` in the environment: ``0`` keeps every product on NumPy's BLAS, ``1``
sends every shareable one to PyTorch's (for tests and comparisons), unset or ``auto`` measures.
``SPARSEAE_TORCH_KERNELS=0`` turns off everything borrowed from PyTorch, products included.
"""

import json
import math
import os
import platform
import threading
import time

import numpy as np

from . import kernels

#: MKL must be this much faster than OpenBLAS (time ratio) to be chosen.
MARGIN = 0.93
#: Timed products of each library when a shape class is first met (the best is compared).
REPEATS = 3
#: Below this many multiply-adds a product is too small for the choice to matter: NumPy's.
SMALL = 1 << 16
FILE = "blas_choices_v1.json"
_SHAREABLE = (np.dtype(np.float64), np.dtype(np.float32))


def _setting():
    value = os.environ.get("SPARSEAE_TORCH_PRODUCTS", "auto").strip().lower()
    return value if value in ("0", "1") else "auto"


def machine_key():
    """What a choice holds for: the CPU model, its cores, and the two BLAS libraries' versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    torch = kernels.torch_module()
    return f"{cpu} | {os.cpu_count()} cores | numpy {np.__version__} | torch {torch.__version__ if torch else '-'}"


def _octave(size):
    return int(round(2 * math.log2(max(1, size))))


def shape_class(a, b):
    """The class of the product a @ b: dtype, transpositions, each dimension to within √2."""
    (m, k), n = a.shape, b.shape[1]
    return (f"{a.dtype.char}{'T' if a.flags.f_contiguous and not a.flags.c_contiguous else 'N'}"
            f"{'T' if b.flags.f_contiguous and not b.flags.c_contiguous else 'N'}"
            f"-{_octave(m)}-{_octave(k)}-{_octave(n)}")


class Products:
    """``matmul_into`` and ``matmul_add`` on NumPy arrays, each class on its chosen library."""

    def __init__(self):
        self._choices = None  # shape class -> "numpy" or "torch", for this machine
        self._exact = {}  # (shapes, strides, dtype) -> the choice of its class, once looked up
        self._lock = threading.Lock()

    def _torch_for(self, a, b, out):
        """The torch module if this product goes to PyTorch's BLAS, else None."""
        setting = _setting()
        if setting == "0":
            return None
        torch = kernels.torch_module()
        if not torch or out.dtype not in _SHAREABLE or a.dtype != out.dtype or b.dtype != out.dtype:
            return None
        if not (out.flags.c_contiguous and out.flags.writeable and a.flags.writeable and b.flags.writeable):
            return None  # (PyTorch warns on a read-only array, such as a memory-mapped file's rows)
        if setting == "1":
            return torch
        exact = (a.shape, a.strides, b.shape, b.strides, out.dtype.char)  # (a dict lookup on the hot path)
        choice = self._exact.get(exact)
        if choice is None:
            choice = self._exact[exact] = self._choose(torch, a, b, out)
        return torch if choice == "torch" else None

    def _choose(self, torch, a, b, out):
        """The library for a @ b's shape class: the machine's saved choice, or measured now."""
        if a.shape[0] * a.shape[1] * b.shape[1] < SMALL:
            return "numpy"
        key = shape_class(a, b)
        choices = self._load()
        if key not in choices:
            with self._lock:
                if key not in choices:
                    choices[key] = self._save(key, self._measure(torch, a, b, out))
        return choices[key]

    def matmul_into(self, a, b, out):
        """out ← a @ b (2-D arrays; out C-contiguous)."""
        torch = self._torch_for(a, b, out)
        if torch is None:
            np.matmul(a, b, out=out)
        else:
            torch.mm(torch.from_numpy(a), torch.from_numpy(b), out=torch.from_numpy(out))

    def matmul_add(self, a, b, out):
        """out ← out + a @ b: one pass over out on PyTorch's BLAS (β = 1), a product and an add on NumPy's."""
        torch = self._torch_for(a, b, out)
        if torch is None:
            out += a @ b
        else:
            torch.from_numpy(out).addmm_(torch.from_numpy(a), torch.from_numpy(b))

    @staticmethod
    def _measure(torch, a, b, out):
        """"numpy" or "torch", whichever computes a @ b faster here (into a scratch array like
        ``out``: a ``matmul_add``'s out holds a sum that must not be overwritten)."""
        out = np.empty_like(out)
        ta, tb, tout = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(out)
        best = {"numpy": math.inf, "torch": math.inf}
        runs = {"numpy": lambda: np.matmul(a, b, out=out), "torch": lambda: torch.mm(ta, tb, out=tout)}
        for name in ("numpy", "torch"):
            runs[name]()  # warm-up: packing buffers, threads
        for _ in range(REPEATS):
            for name, run in runs.items():
                start = time.perf_counter()
                run()
                best[name] = min(best[name], time.perf_counter() - start)
        return "torch" if best["torch"] < MARGIN * best["numpy"] else "numpy"

    def _path(self):
        from .._io import cache_dir

        return cache_dir() / FILE

    def _load(self):
        if self._choices is None:
            self._choices = {}
            try:
                saved = json.loads(self._path().read_text(encoding="utf-8"))
                mine = saved.get("machines", {}).get(machine_key(), {})
                self._choices = {k: v for k, v in mine.items() if v in ("numpy", "torch")}
            except (OSError, ValueError, AttributeError):
                pass  # no file yet, or a damaged one: measure again
        return self._choices

    def _save(self, key, choice):
        """Add one choice to the machine's file and return the one it holds: read again first, since
        another process may have measured the same class meanwhile (its choice is kept)."""
        from .._io import atomic_path

        path = self._path()
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(saved.get("machines"), dict):
                raise ValueError
        except (OSError, ValueError, AttributeError):
            saved = {"format_version": 1, "machines": {}}
        mine = saved["machines"].setdefault(machine_key(), {})
        if mine.get(key) in ("numpy", "torch"):
            return mine[key]
        mine[key] = choice
        try:
            with atomic_path(path) as tmp:
                tmp.write_text(json.dumps(saved, indent=1, sort_keys=True), encoding="utf-8")
        except OSError:
            pass  # a read-only cache: the choice holds for this process alone
        return choice


#: The one chooser of the process.
PRODUCTS = Products()
