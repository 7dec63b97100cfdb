"""A fitted SparseAutoencoder as a model file holds it: its parameters as JSON, its weights (and
a JumpReLU model's log thresholds) as named arrays, read back with every shape and value checked
(:mod:`sparseae.persistence` writes and reads the file; nothing is unpickled)."""

import numpy as np

from .errors import ModelFileError
from .penalties import PENALTIES
from .validation import validate_params


class AutoencoderState:
    """``_get_state`` / ``_from_state`` for :class:`~sparseae.estimator.SparseAutoencoder`."""

    def _get_state(self):
        params = self._json_params()
        fitted = {
            "n_features_in_": int(self.n_features_in_),
            "n_iter_": self.n_iter_,
            "loss_": self.loss_,
            "loss_curve_": self.loss_curve_,
            "loss_terms_": {k: v for k, v in self.loss_terms_.items() if k != "rho_hat"},
        }
        if getattr(self, "input_scale_", None) is not None:
            fitted["input_scale_"] = float(self.input_scale_)
        Ws, bs = self._weights()
        arrays = {"W1": Ws[0], "b1": bs[0], "W2": Ws[1], "b2": bs[1]}
        log_threshold = self._layout(self.n_features_in_).log_thresholds(self.theta_)
        if log_threshold is not None:
            arrays["log_threshold"] = log_threshold
        elif self.threshold_ is not None:  # BatchTopK's inference threshold
            arrays["threshold"] = self.threshold_
        if self.loss_terms_.get("rho_hat") is not None:
            arrays["rho_hat"] = self.loss_terms_["rho_hat"]
        return params, fitted, arrays

    @classmethod
    def _from_state(cls, params, fitted, arrays):
        model = cls(**params)
        validate_params(model)
        n, s2 = fitted["n_features_in_"], model.n_hidden
        layout = model._layout(n)
        theta = np.empty(layout.size, dtype=np.float64)
        Ws, bs = layout.unpack(theta)
        expected = {"W1": ((s2, n), Ws[0]), "b1": ((s2,), bs[0]), "W2": ((n, s2), Ws[1]), "b2": ((n,), bs[1])}
        if layout.thresholds is not None:
            expected["log_threshold"] = ((s2,), layout.log_thresholds(theta))
        for name, (shape, target) in expected.items():
            if name not in arrays:
                raise ModelFileError(f"weights {name} missing")
            if arrays[name].shape != shape:
                raise ModelFileError(
                    f"{name} has shape {arrays[name].shape}, expected {shape} "
                    f"for {n} features and {s2} hidden units"
                )
            if arrays[name].dtype.kind != "f" or not np.isfinite(arrays[name]).all():
                raise ModelFileError(f"{name} must hold finite floating-point values")
            target[...] = arrays[name]
        model._adopt_theta(layout, theta)
        if PENALTIES[model.sparsity].batch_k:
            threshold = arrays.get("threshold")
            if threshold is None or threshold.shape != (s2,) or not np.all(np.isfinite(threshold) & (threshold >= 0)):
                raise ModelFileError(f"a batchtopk model needs its threshold, {s2} finite values at or above 0")
            model.threshold_ = np.array(threshold, dtype=np.float64)
        model.n_features_in_ = n
        scale = fitted.get("input_scale_")
        if scale is not None and not (isinstance(scale, (int, float)) and np.isfinite(scale) and scale > 0):
            raise ModelFileError(f"input_scale_ must be a positive number, got {scale!r}")
        model.input_scale_ = None if scale is None else float(scale)
        model.n_iter_ = int(fitted["n_iter_"])
        model.loss_ = float(fitted["loss_"])
        model.loss_curve_ = [float(v) for v in fitted["loss_curve_"]]
        model.loss_terms_ = {k: float(v) for k, v in fitted["loss_terms_"].items()}
        model.loss_terms_["rho_hat"] = arrays.get("rho_hat")
        return model
