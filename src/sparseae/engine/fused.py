"""Fused elementwise passes: one pass over a block where NumPy's steps take three to six.

An evaluation's elementwise work is memory-bound: after the products, each step (a bias added,
f, δ = a − y, the sum of its squares, δ/m, f′, the column sums of δ) reads and writes the whole
block again. :mod:`sparseae.engine._fused`, a small C extension built at install where a C
compiler is at hand (``setup.py``), does each layer's steps in one pass over the rows:

- :func:`activate`: z ← f(z + b) (sigmoid, ReLU, the identity);
- :func:`output_delta`: for the squared error, δ(n_l) = (a − y)/m ⊙ f′(z(n_l)), Σ (a − y)² and
  ∇b += Σ_i δ, from a(n_l) and y, or from W a(n_l − 1) and b(n_l − 1) with a(n_l) = f(z(n_l))
  formed row by row on the way (the output layer's forward step and its δ in one pass); for a
  softmax output under the cross-entropy, the same with δ(n_l) = (a − y)/m and −Σ y log a;
- :func:`hidden_delta`: δ(l) ← (δ(l) + s) ⊙ f′(z(l)) with the sparsity term s, and ∇b += Σ_i δ;
- :func:`project_columns` and :func:`subtract_outer`: a reparametrised gradient taken back to
  θ (the unit-norm decoder's, the centred encoder's) in one pass each;
- :func:`adam_step`: Adam's update of its moments and θ (:mod:`sparseae.optim.adam`), the same
  bits as its eleven NumPy steps, in one pass over θ-sized vectors (float64, or float32 for
  ``optimizer_dtype="float32"``).

The arithmetic is the same as the steps' (:mod:`sparseae.activations`, :mod:`sparseae.losses`,
:mod:`sparseae.backprop`) and agrees with them to a few units in the last place (the sums are
accumulated in float64, in another order); the sigmoid's exp is glibc's vector exp, and on AVX-512
its division a reciprocal refined by Newton's steps (within 4 ulps of the exact sigmoid). Each function
returns False (nothing done) where it does not apply (the extension absent, another activation,
arrays it cannot share), and the caller takes the steps. ``SPARSEAE_FUSED=0`` in the environment
turns the extension off. Figures: benchmarks/RESULTS.md, "Fused elementwise passes".
"""

import os

import numpy as np

try:
    from . import _fused
except ImportError:  # not built (no C compiler at install, or another platform): NumPy's steps
    _fused = None

#: Each elementwise activation's code in the extension; f′ is computed from a = f(z).
KINDS = {"linear": 0, "sigmoid": 1, "tanh": 2, "relu": 3}
#: Softmax's code, for the output pass under the cross-entropy only.
SOFTMAX = 4
#: The activations whose f the extension computes (tanh's stays NumPy's or PyTorch's).
FORWARD = ("linear", "sigmoid", "relu")
_SHAREABLE = (np.dtype(np.float64), np.dtype(np.float32))


def available():
    """Whether the extension is built and not turned off (``SPARSEAE_FUSED=0``)."""
    return _fused is not None and os.environ.get("SPARSEAE_FUSED", "1") != "0"


def _blocks(*arrays):
    """Whether the 2-D arrays can be handed to the extension: one shape, one float dtype, C order."""
    first = arrays[0]
    return (first.ndim == 2 and first.dtype in _SHAREABLE
            and all(x.shape == first.shape and x.dtype == first.dtype and x.flags.c_contiguous for x in arrays))


def _row(v, dtype):
    return None if v is None else np.ascontiguousarray(v, dtype=dtype).reshape(-1)


def activate(name, z, b):
    """z ← f(z + b) in place for activation ``name``; False if not done here."""
    if name not in FORWARD or not _blocks(z) or not z.flags.writeable:
        return False
    _fused.activate(z, _row(b, z.dtype), KINDS[name])
    return True


def output_delta(loss, name, a, y, delta, scale, bias_grad, pending=None):
    """The output layer's δ(n_l) for ``loss`` and output activation ``name``, in one pass, with
    ``bias_grad`` += Σ_i δ; returns the block's Σ_i loss (a float), or None if not done here
    (nothing done):

    - ``"squared_error"``: δ = (a − y) · ``scale`` ⊙ f′(z(n_l)) (an elementwise f), Σ_i ½‖a − y‖²;
    - ``"cross_entropy"`` with ``"softmax"``: δ = (a − y) · ``scale``, −Σ_i Σ_j y_ij log a_ij
      (log a floored at the dtype's smallest normal number, as :mod:`sparseae.losses` does).

    ``pending``: ``(b,)`` when ``a`` still holds W a(n_l − 1), without the bias b (which may be
    None) and f: then each row's a(n_l) = f(row + b) is formed in δ's row and used there, never
    written to memory (``a`` is left as it is, unless it is ``delta`` itself: then the pass runs in
    place). Done whenever :func:`fuses_output` says so, whatever ``y`` (copied here if it cannot be
    shared)."""
    kind = _output_kind(loss, name, pending is not None)
    if kind is None or not _blocks(a, delta) or not _vector_of(bias_grad, a):
        return None
    if not _blocks(a, y):
        if y.shape != a.shape:
            return None
        y = np.ascontiguousarray(y, dtype=a.dtype)  # (a memmap's rows, or another dtype's)
    terms, sums = np.zeros(a.shape[1]), np.zeros(a.shape[1])
    if pending is None:
        _fused.output(a, y, delta, float(scale), terms, sums, kind)
    else:
        _fused.output(a, y, delta, float(scale), terms, sums, kind, True, _row(pending[0], a.dtype))
    bias_grad += sums
    return 0.5 * float(terms.sum()) if loss == "squared_error" else -float(terms.sum())


def _output_kind(loss, name, forward):
    """The extension's code for the output pass of ``loss`` after activation ``name`` (with f
    computed in it when ``forward``), or None where it has no such pass."""
    if loss == "squared_error" and name in (FORWARD if forward else KINDS):
        return KINDS[name]
    if loss == "cross_entropy" and name == "softmax":
        return SOFTMAX
    return None


def fuses_output(loss, name, dtype):
    """Whether :func:`output_delta` with ``pending`` computes ``loss``'s δ after output activation
    ``name``, f included, in one pass for blocks of ``dtype`` (then W a(n_l − 1) may be written
    straight into δ's buffer). Whether the extension is turned on is the backend's decision, taken
    once (:func:`available`)."""
    return _fused is not None and _output_kind(loss, name, True) is not None and np.dtype(dtype) in _SHAREABLE


def hidden_delta(name, delta, a, s, bias_grad):
    """δ(l) ← (δ(l) + s) ⊙ f′(z(l)) in place from a(l) = f(z(l)) (``s`` may be None), with
    ``bias_grad`` += Σ_i δ(l); False if not done here."""
    if name not in KINDS or not _blocks(delta, a) or not _vector_of(bias_grad, a):
        return False
    sums = np.zeros(a.shape[1])
    _fused.hidden(delta, a, _row(s, delta.dtype), sums, KINDS[name])
    bias_grad += sums
    return True


def _vector_of(v, a):
    return isinstance(v, np.ndarray) and v.shape == (a.shape[1],)


def adam_step(theta, grad, m, v, alpha, beta1, beta2, c1, c2, eps):
    """One Adam step in place on float64 or float32 vectors of one dtype
    (:meth:`sparseae.optim.adam.Adam._step_part`'s steps in one pass, the same bits; in float32
    each scalar rounded to float32 first, as NumPy rounds a Python float): m ← β1 m + c1 g,
    v ← β2 v + (c2 g) g, θ ← θ − α m / (√v + ε). False if not done here (the extension absent or
    turned off, arrays it cannot share)."""
    arrays = (theta, grad, m, v)
    if not (available() and all(isinstance(x, np.ndarray) and x.dtype == theta.dtype and x.ndim == 1
                                and x.flags.c_contiguous and x.shape == theta.shape for x in arrays)
            and theta.dtype in _SHAREABLE):
        return False
    _fused.adam(theta, grad, m, v, alpha, beta1, beta2, c1, c2, eps)
    return True


def _matrices(*arrays):
    """Whether the arrays are C-contiguous 2-D arrays of one float dtype the extension takes."""
    dtype = getattr(arrays[0], "dtype", None)
    return dtype in _SHAREABLE and all(isinstance(x, np.ndarray) and x.ndim == 2 and x.dtype == dtype
                                       and x.flags.c_contiguous for x in arrays)


def _column(v, length, dtype):
    return np.ascontiguousarray(v, dtype=dtype).reshape(-1) if np.size(v) == length else None


def project_columns(g, w, p, n):
    """g ← (g − w ⊙ p) / n in place (p, n one value a column), in g's dtype, as NumPy's broadcast
    steps round it; False if not done here."""
    if not (available() and _matrices(g, w) and g.shape == w.shape and g.flags.writeable):
        return False
    p, n = _column(p, g.shape[-1], g.dtype), _column(n, g.shape[-1], g.dtype)
    if p is None or n is None:
        return False
    _fused.columns(g, w, p, n, False)
    return True


def subtract_outer(g, x, y):
    """g ← g − x yᵀ in place, in g's dtype, as NumPy's broadcast steps round it; False if not done
    here."""
    if not (available() and _matrices(g) and g.flags.writeable):
        return False
    x, y = _column(x, g.shape[0], g.dtype), _column(y, g.shape[-1], g.dtype)
    if x is None or y is None:
        return False
    _fused.columns(g, None, x, y, True)
    return True
