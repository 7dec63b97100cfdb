r"""A fitted encoder, or a Pipeline ending in one, as a function of patches (rows): what
:class:`~sparseae.convolution.ConvolutionalFeatures` computes at every position of an image.

An encoder whose code is an affine map followed by f (the autoencoder's a = f(W x + b), RICA's
W x) says so with ``_affine_code()``; a preprocessing step that is affine on a patch (ZCA and PCA
whitening) with ``_affine_map()``. Such steps just before the encoder are folded into its weights,
as UFLDL's convolution exercise does with ZCA whitening:

.. math:: f\big(W (T (x - \bar x)) + b\big) = f\big((W T)\, x + (b - W T \bar x)\big)

so one product per patch gives the code. Any other step (:class:`~sparseae.PatchNormalizer`,
which removes each patch's mean and clips) and everything before it is applied patch by patch
with its own ``transform``; an encoder without ``_affine_code`` is applied that way too.
"""

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from .errors import ParameterError


def unfrozen(encoder):
    """The encoder inside scikit-learn's FrozenEstimator (which keeps a fitted encoder fitted when
    GridSearchCV clones the ConvolutionalFeatures holding it), or the encoder itself."""
    return encoder.estimator if isinstance(encoder, FrozenEstimator) else encoder


def _steps(encoder):
    encoder = unfrozen(encoder)
    if isinstance(encoder, Pipeline):
        return [step for _, step in encoder.steps if step not in (None, "passthrough")]
    return [encoder]


class PatchCode:
    """``codes(P)``: the code of each patch (row) of P, as ``encoder.transform(P)`` computes it.

    Attributes: ``W`` (n_units, n_features) and ``b`` (n_units,), the folded affine map (None for
    an encoder applied by its ``transform``), ``before`` (the steps applied patch by patch before
    it), ``n_features`` (a patch's values) and ``n_units``.
    """

    def __init__(self, encoder):
        steps = _steps(encoder)
        if not steps:
            raise ParameterError("encoder is an empty Pipeline; give a fitted encoder")
        for step in steps:
            try:
                check_is_fitted(step)
            except NotFittedError:
                raise ParameterError(f"encoder: the {type(step).__name__} is not fitted; fit it (on patches) "
                                     "before convolving with it") from None
            except TypeError:
                raise ParameterError(f"encoder: {type(step).__name__} is not a scikit-learn transformer") from None
        if not hasattr(steps[-1], "transform"):
            raise ParameterError(f"encoder: a {type(steps[-1]).__name__} has no transform; give an encoder "
                                 "(SparseAutoencoder, RICA, or a Pipeline ending in one)")
        self.n_features = int(steps[0].n_features_in_)
        self.W = self.b = self._finish = None
        self.before = steps
        if hasattr(steps[-1], "_affine_code"):
            W, b, self._finish = steps[-1]._affine_code()
            W, b = np.array(W, dtype=np.float64), np.array(b, dtype=np.float64)
            i = len(steps) - 1
            while i > 0 and hasattr(steps[i - 1], "_affine_map"):
                A, c = steps[i - 1]._affine_map()  # step(x) = x Aᵀ + c
                b = b + c @ W.T
                W = W @ A
                i -= 1
            self.W, self.b, self.before = W, b, steps[:i]
            self.n_units = W.shape[0]
            self._Wb = np.concatenate([W, b[:, None]], axis=1)  # [W | b]: b rides in the product
        else:
            probe = np.zeros((1, self.n_features))
            for step in steps:
                probe = step.transform(probe)
            self.n_units = int(np.shape(probe)[1])

    @property
    def folded(self):
        """Whether the code is one product per patch (no step applied by its ``transform``)."""
        return self.W is not None and not self.before

    def patch_buffer(self, rows):
        """An empty buffer for ``rows`` patches as :meth:`codes` takes them: each patch's values in
        the first ``n_features`` columns and, when the code is :attr:`folded`, a column of ones
        after them, already written, so that the product with [W | b] adds the bias (one pass
        over the code fewer)."""
        P = np.empty((rows, self.n_features + self.folded))
        if self.folded:
            P[:, -1] = 1.0
        return P

    def codes(self, P, out=None):
        """The code of each row of P (float64, shape (rows, n_features), or a
        :meth:`patch_buffer`'s rows) as a (rows, n_units) array: in ``out`` when given (and the
        code is an affine map: P's rows are patches, the product is written there and finished in
        place)."""
        if self.folded and P.shape[1] == self.n_features + 1:  # the ones column: z = [x 1] [W | b]ᵀ
            if out is None:
                out = np.empty((P.shape[0], self.n_units))
            np.matmul(P, self._Wb.T, out=out)
            return self._finish(out, None)
        for step in self.before:
            P = np.asarray(step.transform(P), dtype=np.float64)
        if self.W is None:
            return P
        if out is None:
            out = np.empty((P.shape[0], self.n_units))
        np.matmul(P, self.W.T, out=out)
        return self._finish(out, self.b)
