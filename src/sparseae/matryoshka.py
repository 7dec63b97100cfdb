r"""Matryoshka dictionaries (Bussmann et al. 2025): nested prefixes of the hidden units, each of
which must reconstruct the input on its own, so that the first m_1 units are a working small
dictionary, the first m_2 a larger one, and so on to all n_hidden.

With widths m_1 < m_2 < ... < m_L = n_hidden and the linear decoder, prefix p reconstructs

.. math:: h_p(x) = \sum_{j < m_p} W^{(2)}_{:,j}\, a_j(x) + b^{(2)}

from the same code a (the sparse layer's selection, TopK or BatchTopK, is made once over all
units), and J's data term is the sum over the prefixes, (1/m) Σ_i Σ_p ½‖h_p(x_i) − x_i‖²
(SAELens's ``MatryoshkaBatchTopKTrainingSAE`` sums them too). With δ_p = (h_p − x)/m and
D_q = Σ_{p ≥ q} δ_p, the units of segment q (m_{q−1} ≤ j < m_q) get

.. math:: \nabla W^{(2)}_{:,\,\text{seg}_q} = D_q^T a_{\text{seg}_q}, \qquad
          \frac{\partial J}{\partial a_{\text{seg}_q}} = D_q W^{(2)}_{:,\,\text{seg}_q}, \qquad
          \nabla b^{(2)} = \textstyle\sum_i D_1,

computed from the outermost prefix in: its residual is the full reconstruction's, and each step
in removes one segment's share.
"""

from .errors import ParameterError


def check_widths(widths, n_hidden):
    """``widths`` as a tuple of increasing whole numbers ending at ``n_hidden``, or ParameterError."""
    widths = tuple(widths)
    whole = all(isinstance(w, int) and not isinstance(w, bool) for w in widths)
    if not (widths and whole and widths[0] >= 1 and all(a < b for a, b in zip(widths, widths[1:]))):
        raise ParameterError(f"matryoshka must be increasing whole numbers (the prefixes' widths), got {widths!r}")
    if widths[-1] != n_hidden:
        raise ParameterError(f"matryoshka must end at n_hidden={n_hidden} (the whole dictionary), got {widths!r}")
    return widths


def nested_output(a, h, y, W, m, widths, backend, gW, gb, previous, delta):
    r"""The output layer of a Matryoshka autoencoder on a block: Σ_p ½‖h_p − y‖² (a backend
    scalar), ∇W(2) and ∇b(2) added into ``gW``, ``gb``, and ∂J/∂a written into ``previous``.

    ``a``: the block's code a(2) (rows, s); ``h``: its full reconstruction W a + b (overwritten:
    it holds D below); ``delta``: a (rows, n) buffer for the residual.
    """
    xp = backend.xp
    r, D = delta, h
    xp.subtract(h, y, out=r)  # the outermost prefix's residual
    total = 0.5 * backend.sum_of_squares(r)
    D *= 0.0
    D += r
    D *= 1.0 / m  # D_L = δ_L
    bounds = (0,) + tuple(widths)
    for q in range(len(widths), 0, -1):
        seg = slice(bounds[q - 1], bounds[q])
        gW[:, seg] += D.T @ a[:, seg]
        previous[:, seg] = D @ W[:, seg]
        if q > 1:
            r -= a[:, seg] @ W[:, seg].T  # the residual of prefix q - 1
            total = total + 0.5 * backend.sum_of_squares(r)
            D += r * (1.0 / m)
    gb += backend.column_sums(D)
    return total
