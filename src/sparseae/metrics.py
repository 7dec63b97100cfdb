r"""How well a fitted autoencoder reconstructs data, and how its hidden units behave, measured on
any rows (held-out ones, ideally): one function, chunk by chunk.

"Active" is defined once, here, for every hidden activation: unit j is active on example x when
its activation lies above a fraction ``threshold`` of the way from the activation's floor to its
ceiling, :math:`a_j(x) > \text{lo} + \text{threshold}\,(\text{hi} - \text{lo})` (sigmoid:
a > 0.5 at the default 0.5; tanh: a > 0); for an activation with no ceiling (as a ReLU would
be), active means above its floor, a > lo. This is the notes' reading ("active if its output is
close to 1, inactive if close to 0", §3), with the halfway point as the default line.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._data import row_chunks
from .activations import ACTIVATIONS
from .errors import ParameterError
from .penalties import mean_activation


def reconstruction_metrics(model, X, *, threshold=0.5, dense_fraction=0.9, batch_size=10000):
    r"""Reconstruction and unit statistics of a fitted autoencoder on rows X.

    X is read once, ``batch_size`` rows at a time, so it may be larger than memory (a Dask array's
    chunks are brought to this process one by one).

    Parameters
    ----------
    model : SparseAutoencoder
        A fitted autoencoder.
    X : array_like, str, numpy.memmap or dask.array.Array
        The rows: an array, the path of a ``.npy`` file or a memory map of one, a shard folder,
        or a Dask array.
    threshold : float, default 0.5
        A unit is active when its activation is above this point of its range (sigmoid: 0.5; tanh:
        0; with ReLU units any positive activation counts at 0.0), in [0, 1).
    dense_fraction : float, default 0.9
        A unit active on more than this fraction of the examples is counted as dense.
    batch_size : int, default 10000
        Rows read at a time.

    Returns
    -------
    dict
        - ``fvu``: the fraction of variance unexplained, centred on X's column means x̄,
          :math:`\sum_i \lVert x_i - \hat x_i \rVert^2 / \sum_i \lVert x_i - \bar x \rVert^2`;
        - ``explained_variance``: 1 − ``fvu``, with the same centred denominator. It is measured
          about each feature's mean, never about zero: data far from the origin would otherwise
          score near 1 for any reconstruction that gets the mean right;
        - ``mse``: :math:`\frac{1}{m n} \sum_i \lVert x_i - \hat x_i \rVert^2`;
        - ``l0``: the mean number of hidden units active per example;
        - ``dead_units``, ``dense_units``: the indices of the units active on no example, and of
          those active on more than ``dense_fraction`` of them;
        - ``rho_hat``: each unit's mean activation on the activation's [0, 1] scale (as the
          sparsity penalty measures it);
        - ``terms``: each term of J_sparse on X (the loss, ``weight_decay``, ``sparsity``, ``cost``);
        - ``n_examples``.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the model is not fitted.
    ParameterError
        If ``threshold``, ``dense_fraction`` or ``batch_size`` is out of range.
    DataError
        If X has the wrong number of columns, or holds NaN or infinite values (named by row and
        column).

    Examples
    --------
    >>> import numpy as np
    >>> import sparseae
    >>> X = np.random.default_rng(0).uniform(size=(50, 8))
    >>> model = sparseae.SparseAutoencoder(3, tol=1e-2, random_state=0).fit(X)
    >>> m = sparseae.reconstruction_metrics(model, X)
    >>> sorted(m)
    ['dead_units', 'dense_units', 'explained_variance', 'fvu', 'l0', 'mse', 'n_examples', 'rho_hat', 'terms']
    >>> bool(np.isclose(m["explained_variance"], 1 - m["fvu"])), m["n_examples"]
    (True, 50)
    """
    check_is_fitted(model)
    if not 0 <= threshold < 1 or not 0 < dense_fraction < 1:
        raise ParameterError(f"threshold must be in [0, 1) and dense_fraction in (0, 1), got {threshold}, "
                             f"{dense_fraction}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ParameterError(f"batch_size must be a positive integer, got {batch_size!r}")
    f = ACTIVATIONS[model.activation]
    lo, hi = f.output_range
    line = lo + threshold * (hi - lo) if np.isfinite(hi) else lo
    n_hidden = model.coefs_[0].shape[1]
    m, sse, active_count, active_sum, a_sum = 0, 0.0, np.zeros(n_hidden), 0.0, np.zeros(n_hidden)
    mean, m2 = None, None  # X's column means and centred sums of squares, merged chunk by chunk
    first = None
    for _, x in row_chunks(X, batch_size):
        first = x if first is None else first
        H = model.transform(x)  # checks the feature count
        sse += float(((model.inverse_transform(H) - x) ** 2).sum())
        active = H > line
        active_count += active.sum(axis=0)
        active_sum += float(active.sum())
        a_sum += H.sum(axis=0)
        k, chunk_mean = x.shape[0], x.mean(axis=0)
        chunk_m2 = ((x - chunk_mean) ** 2).sum(axis=0)
        if mean is None:
            mean, m2 = chunk_mean, chunk_m2
        else:  # Chan et al.'s pairwise update: exact, and stable for any chunking
            delta = chunk_mean - mean
            mean = mean + delta * k / (m + k)
            m2 = m2 + chunk_m2 + delta**2 * m * k / (m + k)
        m += k
    total = float(m2.sum())
    rho_hat, _ = mean_activation(a_sum, m, f)
    # J's terms from this one pass: the objective's own skeleton, given the pass-1 sums (Σ a(2)),
    # the loss (Σ ½‖x̂ - x‖²) and, for JumpReLU's L0, the active counts (a ReLU's a > 0 is
    # H(z - θ)); the gradient it would add is not wanted (zeros).
    objective = model._objective(first, first.shape[0], mean.size)
    terms, _ = objective.evaluate_passes(model.theta_, m, lambda: a_sum,
                                         lambda _: (0.5 * sse, np.zeros(objective.size)),
                                         gate_sums=lambda: (active_count, a_sum))
    fvu = sse / total if total > 0 else float("nan")
    return {
        "fvu": fvu,
        "explained_variance": 1.0 - fvu,
        "mse": sse / (m * mean.size),
        "l0": active_sum / m,
        "dead_units": np.flatnonzero(active_count == 0).tolist(),
        "dense_units": np.flatnonzero(active_count > dense_fraction * m).tolist(),
        "rho_hat": rho_hat,
        "terms": {k: v for k, v in terms.items() if k != "rho_hat"},
        "n_examples": m,
    }
