"""What a fit needs in memory, estimated from the shapes before anything is allocated, and what
the machine has: a request that cannot fit is one :class:`~sparseae.errors.MemoryNeedError`
naming the size and what to change, not an allocation that runs until the OOM killer ends it.

The estimate counts what grows with the sizes: the θ-sized vectors the solver keeps (θ, the
gradient, the step's trial point and direction, plus 2 per L-BFGS correction or Adam's two
moments), in float64, and one pass's activations and deltas (rows a pass × every layer's width,
twice) in the fit's dtype. The data itself is the caller's (in memory already, or read in chunks).
"""

import os

from .errors import MemoryNeedError

#: θ-sized float64 vectors a solver keeps besides its history.
_BASE_VECTORS = 6


def available_bytes():
    """Memory available to a new allocation without swapping (Linux MemAvailable), else the
    free physical memory; None where neither can be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def fit_bytes(n_params, rows_a_pass, widths, itemsize, history_vectors):
    """Bytes a fit needs: ``(solver state, activations)``."""
    state = (_BASE_VECTORS + history_vectors) * n_params * 8
    activations = 2 * rows_a_pass * sum(widths) * itemsize
    return state, activations


def _size(n):
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n / 1e3:.0f} kB"


def check_fit(what, n_params, rows_a_pass, widths, itemsize, history_vectors, available=None):
    """Raise MemoryNeedError when the fit cannot fit in the memory available (``available``:
    bytes, read from the machine when None)."""
    state, activations = fit_bytes(n_params, rows_a_pass, widths, itemsize, history_vectors)
    check_bytes(f"{what} needs about {_size(state + activations)} of memory ({_size(state)} for {n_params:,} "
                f"parameters and the solver's state, {_size(activations)} for the activations of "
                f"{rows_a_pass:,} rows a pass)", state + activations,
                "use fewer hidden units, a smaller batch_size (--batch-size: rows a pass), dtype float32, "
                "or a smaller lbfgs_memory", available)


def check_bytes(need_said, need, advice, available=None):
    """Raise MemoryNeedError "``need_said``; N is available: ``advice``" when ``need`` bytes
    exceed the memory available."""
    have = available_bytes() if available is None else available
    if have is not None and need > have:
        raise MemoryNeedError(f"{need_said}; {_size(have)} is available: {advice}")


def check_encode(rows_a_chunk, n_in, n_out, available=None):
    """Refuse an encode whose chunks (inputs, activations, features, in float64) cannot fit."""
    need = 3 * rows_a_chunk * (n_in + n_out) * 8
    check_bytes(f"encoding {rows_a_chunk:,} rows a chunk of {n_in} features into {n_out} needs about "
                f"{_size(need)} of memory", need, "give a smaller --batch-size", available)
