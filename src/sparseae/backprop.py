r"""The math of one evaluation of J_sparse and its gradient (notes §2.1-§3), on a block of rows.

Read it beside the notes. Layers are numbered as there: layer 1 is the input, layer n_l the
output, W(l) and b(l) map layer l to layer l+1, and k is the layer that carries the sparsity
penalty (k = 2 in the notes' autoencoder). Python lists count from 0, so W(l) is ``Ws[l - 1]``,
a(l) is ``a[l - 1]`` and δ(l) is ``deltas[l - 2]``. Examples are rows (a block X of shape
(rows, s_1)), so each of the notes' products of a matrix with a column vector appears here
transposed: the notes' z = W a + b is ``z = a @ W.T + b``.

The cost (notes eq. 8 and §3) is

.. math::

    J_{\text{sparse}}(W, b) = \frac{1}{m} \sum_{i=1}^m \mathrm{loss}(h_{W,b}(x^{(i)}), y^{(i)})
        + \frac{\lambda}{2} \sum_l \lVert W^{(l)} \rVert^2
        + \beta \sum_j \mathrm{KL}(\rho \,\Vert\, \hat\rho_j),

with the loss from :mod:`sparseae.losses` (the notes' ½‖h - y‖²), the penalty and ρ̂ from
:mod:`sparseae.penalties`, f and f' from :mod:`sparseae.activations`. One evaluation is
:func:`forward` (eqs. 6-7); pass 1, :func:`hidden_sums`, for ρ̂ (every example is needed before
any δ can be formed, notes §3); pass 2, :func:`backpropagate`, block by block with ρ̂ known;
then :func:`weight_decay`. The 1/m sits in δ(n_l) and in the sparsity term, so the sums over
blocks are the gradient.
The sparsity term is added *before* the product with f'(z(k)): the notes print it after, but
the exact derivative of J_sparse needs it inside (the gradient checks in the tests confirm it).

Each function is plain arithmetic through a backend (``sparseae.engine.backend``: NumPy
arrays or PyTorch tensors); ``sparseae.passes`` and :class:`sparseae.SparseObjective` choose the rows
and the buffers.
"""

import numpy as np

from .matryoshka import nested_output


def forward(Ws, bs, X, f, f_out, backend, n_layers=None, out=None, select=None, gate=None, defer_output=False):
    r"""The forward pass, equations (6)-(7), for a block of rows: ``[a(1), a(2), ..., a(n_layers)]``.

    .. math:: z^{(l+1)} = W^{(l)} a^{(l)} + b^{(l)}, \qquad a^{(l+1)} = f(z^{(l+1)})

    ``Ws``, ``bs``: W(1), W(2), ... and b(1), b(2), ... (or a tail of them, to continue from a
    hidden layer: the last W is always the output layer's, whose f is ``f_out``; the others use
    ``f``). ``X`` is a(1), shape (rows, s_1). ``n_layers=2`` stops at an autoencoder's hidden code.
    ``out``: buffers of at least ``rows`` rows for a(2), a(3), ..., written in place (new arrays
    when omitted). ``select``: ``(l, fn)`` applies ``fn`` to a(l) in place once it is computed
    (the TopK penalty's selection; l counted as for these ``Ws``). ``gate``: ``(l, fn)`` computes
    a(l) as ``fn(z, b)`` in place of f (a thresholded layer: :mod:`sparseae.jumprelu`).
    ``defer_output``: the output layer's entry is left as W(n_l - 1) a(n_l - 1), its bias and
    f_out for :func:`backpropagate` to apply (``pending``), fused there with δ(n_l).
    """
    nl = len(Ws) + 1
    n_layers = nl if n_layers is None else n_layers
    a = [X]
    for l in range(1, n_layers):  # computes layer l + 1
        W = Ws[l - 1]
        z = backend.empty((X.shape[0], W.shape[0])) if out is None else out[l - 1][: X.shape[0]]
        backend.matmul_into(a[l - 1], W.T, z)  # W(l) a(l): (rows, s_{l+1})
        if gate is not None and gate[0] == l + 1:
            gate[1](z, bs[l - 1])  # z(l+1) ⊙ H(z(l+1) - θ), in place
        elif defer_output and l == nl - 1:
            pass  # f_out(z(n_l)) in backpropagate, with δ(n_l)
        else:
            backend.activate(f_out if l == nl - 1 else f, z, bs[l - 1])  # f(z(l+1)), in place
        if select is not None and select[0] == l + 1:
            select[1](z)
        a.append(z)
    return a


def hidden_sums(Ws, bs, X, f, f_out, k, backend, out=None, select=None):
    r"""Pass 1 on a block: Σ over its rows of a(k), from which ρ̂ comes.

    .. math:: \sum_i a^{(k)}(x^{(i)}) \in \mathbb{R}^{s_k}

    ``out`` keeps a(2) .. a(k) for pass 2, when the block stays in memory.
    """
    a = forward(Ws, bs, X, f, f_out, backend, n_layers=k, out=out, select=select)
    return backend.column_sums(a[k - 1])  # (s_k,)


def backpropagate(Ws, a, y, m, f, f_out, loss, backend, grads, deltas, k=None, sparsity_delta=None, gate=None,
                  nested=None, pending=None):
    r"""Pass 2 on a block whose forward pass ``a`` = [a(1) .. a(n_l)] is done: adds the block's share
    of ∇W(l) and ∇b(l) into ``grads`` and returns its Σ_i loss(h(x_i), y_i) (a backend scalar).

    .. math::

        \delta^{(n_l)} = \frac{1}{m} \frac{\partial\,\mathrm{loss}}{\partial a^{(n_l)}}
                         \odot f'(z^{(n_l)}), \qquad
        \delta^{(l)} = \Big( (W^{(l)})^T \delta^{(l+1)}
                       + [l = k]\, \beta\, \mathrm{KL}'(\hat\rho) \frac{d\hat\rho}{da} \frac1m \Big)
                       \odot f'(z^{(l)}),

        \nabla_{W^{(l)}} \mathrel{+}= \delta^{(l+1)} (a^{(l)})^T, \qquad
        \nabla_{b^{(l)}} \mathrel{+}= \textstyle\sum_i \delta^{(l+1)}

    ``y``: the block's targets (y = x for an autoencoder); ``m``: the examples of the whole
    objective, which every δ is divided by; ``deltas``: buffers for δ(2) .. δ(n_l); ``k``: the
    sparse layer, whose δ gets ``sparsity_delta`` (β KL'(ρ̂) dρ̂/da / m per unit) before f', or
    None (no term, as for TopK). a(2) .. a(n_l) are overwritten by f'. ``gate``: ``(l, fn)`` for a
    thresholded layer l, whose ``fn(δ, a(l))`` stands for ⊙ f'(z(l)) (and adds its thresholds'
    pseudo-gradient). ``nested``: a Matryoshka autoencoder's prefix widths, whose linear output
    layer :func:`sparseae.matryoshka.nested_output` computes (the loss of every prefix).
    ``pending``: ``(b(n_l - 1),)`` when ``a[-1]`` is still W(n_l - 1) a(n_l - 1) (:func:`forward`
    with ``defer_output``): a(n_l) = f_out(· + b) is formed here, in δ(n_l)'s pass where the backend
    fuses them (then a(n_l) never goes to memory).
    """
    nl = len(a)
    gWs, gbs = grads
    delta = deltas[nl - 2]  # δ(n_l)
    summed = nested is None  # whether Σ_i δ(l+1) is in ∇b(l) already
    if nested is None:
        value = output_delta(a[nl - 1], y, delta, m, f_out, loss, backend, gbs[nl - 2], pending)
    for l in range(nl - 1, 0, -1):  # δ(l+1) is known
        previous = deltas[l - 2] if l > 1 else None  # δ(l)
        if nested is not None and l == nl - 1:  # every prefix's reconstruction: ∇W, ∇b and (W(l))ᵀ δ
            if pending is not None:
                backend.activate(f_out, a[nl - 1], pending[0])
            value = nested_output(a[l - 1], a[nl - 1], y, Ws[l - 1], m, nested, backend, gWs[l - 1],
                                  gbs[l - 1], previous, delta)
        else:
            # ∇W(l) uses a(l) before f' overwrites it below: this order matters.
            backend.matmul_add(delta.T, a[l - 1], gWs[l - 1])  # += δ(l+1)ᵀ a(l): (s_{l+1}, s_l)
            if not summed:
                gbs[l - 1] += backend.column_sums(delta)  # Σ_i δ(l+1): (s_{l+1},)
            if l == 1:
                break
            backend.matmul_into(delta, Ws[l - 1], previous)  # (W(l))ᵀ δ(l+1): (rows, s_l)
        sparse = sparsity_delta if l == k else None  # the sparsity term, added before f'
        if gate is not None and gate[0] == l:
            if sparse is not None:
                previous += sparse
            gate[1](previous, a[l - 1])  # ⊙ H(z(l) - θ)
            summed = False
        else:
            # (δ(l) + sparsity) ⊙ f'(z(l)), and Σ_i δ(l) into ∇b(l-1), in one pass where the backend can
            summed = backend.hidden_delta(f, previous, a[l - 1], sparse, gbs[l - 2])
            if not summed:
                if sparse is not None:
                    previous += sparse
                backend.derivative(f, a[l - 1], previous)  # ⊙ f'(z(l)); a(l) overwritten
        delta = previous
    return value


def output_delta(a_out, y, delta, m, f_out, loss, backend, bias_grad, pending=None):
    r"""The output layer's δ(n_l) = ∂loss/∂a(n_l) / m ⊙ f'(z(n_l)) into ``delta``, with
    ``bias_grad`` += Σ_i δ(n_l); returns the block's Σ_i loss (a backend scalar). One pass where
    the backend fuses them, else the steps. ``pending``: ``(b,)`` when ``a_out`` is still
    W(n_l - 1) a(n_l - 1): a(n_l) = f_out(· + b) is formed first (in that pass, never in memory).
    """
    value = (backend.output_delta(loss, f_out, a_out, y, delta, 1.0 / m, bias_grad, pending)
             if loss.fusable else None)
    if value is not None:
        return value
    if pending is not None:
        if isinstance(delta, np.ndarray) and np.shares_memory(a_out, delta):
            a_out = a_out.copy()  # the steps need a(n_l) and δ(n_l) apart
        backend.activate(f_out, a_out, pending[0])  # a(n_l) = f_out(z(n_l))
    value = loss.value_and_delta(a_out, y, delta, backend)  # ∂loss/∂a(n_l): (rows, s_nl)
    delta *= 1.0 / m
    if not loss.includes_output_derivative:
        backend.derivative(f_out, a_out, delta)  # ⊙ f'(z(n_l)); a_out overwritten
    bias_grad += backend.column_sums(delta)
    return value


def weight_decay(Ws, gWs, lam, vdot=np.vdot):
    r"""The weight decay term and its gradient, on θ and the gradient in float64 (``vdot`` the
    sum of products of their arrays: NumPy's on the host).

    .. math:: \frac{\lambda}{2} \sum_l \lVert W^{(l)} \rVert^2, \qquad
              \nabla_{W^{(l)}} \mathrel{+}= \lambda W^{(l)}

    Biases are not decayed (notes eq. 8, footnote 1). ``lam`` may also hold one λ_l per W(l)
    (UFLDL's fine-tuning decays the softmax layer alone): then Σ_l (λ_l/2) ‖W(l)‖², the layers
    with λ_l = 0 not read (fine-tuning's first layer is 157,000 weights).
    """
    if isinstance(lam, tuple):
        decayed = [(W, gW, lam_l) for W, gW, lam_l in zip(Ws, gWs, lam) if lam_l]
        for W, gW, lam_l in decayed:
            gW += lam_l * W
        return 0.5 * sum(lam_l * float(vdot(W, W)) for W, _, lam_l in decayed)
    if not lam:
        return 0.0
    for W, gW in zip(Ws, gWs):
        gW += lam * W
    return 0.5 * lam * sum(float(vdot(W, W)) for W in Ws)
