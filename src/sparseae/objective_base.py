"""The model an objective evaluates (layers, f, loss, penalty, λ, the sparse layer and its
thresholds) and the evaluation skeleton every driver shares (:meth:`ObjectiveBase.evaluate_passes`):
pass 1, ρ̂ and the penalty's δ term, pass 2, weight decay. :mod:`sparseae.objective` runs the
passes on rows in memory or in chunks, :mod:`sparseae.distributed` on a Dask cluster."""

import numpy as np

from .activations import ACTIVATIONS
from .auxk import DeadCounter
from .backprop import weight_decay
from .engine import fused
from .engine.vectors import host_dtype, on_host
from .errors import ModelFileError, ParameterError
from .jumprelu import BANDWIDTH, JumpReLU
from .losses import LOSSES
from .matryoshka import check_widths
from .network import Layout
from .penalties import PENALTIES, check_activation, mean_activation, sparsity_terms
from .validation import check_parameters


def compatible(f_out, loss):
    """Whether output activation ``f_out`` and ``loss`` make an objective: a loss may require an
    output, and an output that couples a row's units needs a loss that gives δ(n_l) itself."""
    required = loss.output_activation in (None, f_out.name)
    return required and (f_out.elementwise or loss.includes_output_derivative)


def _weight_decay(weight_decay, n_weights, caller):
    """λ as a float, or one λ per weight matrix W(1) .. W(n_l - 1) (a tuple)."""
    if np.ndim(weight_decay) == 0:
        check_parameters({"weight_decay": weight_decay}, caller)
        return float(weight_decay)
    for lam in weight_decay:
        check_parameters({"weight_decay": lam}, caller)
    if len(weight_decay) != n_weights:
        raise ParameterError(
            f"weight_decay needs one value per weight matrix ({n_weights}), got {len(weight_decay)}"
        )
    return tuple(float(lam) for lam in weight_decay)


class Evaluated:
    """What the drivers ask of any objective beside ``evaluate(θ) -> (terms, grad)``: θ's length,
    m, where θ may live, J's terms and ``(cost, grad)``."""

    @property
    def size(self):
        """Length of θ."""
        return self.layout.size

    @property
    def n_examples(self):
        """m."""
        return self._m

    @property
    def vectors(self):
        """Where an optimizer may keep θ for this objective (:mod:`sparseae.engine.vectors`):
        given θ there, the objective returns the gradient there."""
        return self.backend.vectors

    def terms(self, theta):
        """Each term of J at θ and their sum ``cost``."""
        return self.evaluate(theta)[0]

    def carried_state(self):
        """What the objective carries from one evaluation to the next (host arrays by name), which
        a driver saves in its checkpoints: nothing, unless an objective says otherwise."""
        return {}

    def load_carried_state(self, state):
        """Continue from :meth:`carried_state`'s values found in ``state`` (a checkpoint's)."""

    def __call__(self, theta):
        """``(J(θ), ∇J(θ))``, the gradient as a new float64 vector where θ is: a host array, or a
        tensor on the backend's device (:attr:`vectors`)."""
        terms, grad = self.evaluate(theta)
        return terms["cost"], grad


class ObjectiveBase(Evaluated):
    """The model an objective evaluates, and the evaluation every driver shares."""

    def _set_model(self, layer_sizes, caller, *, sparse_layer, weight_decay, top_k=None, decoder_norm=None,
                   jumprelu_bandwidth=BANDWIDTH, nested=None, aux_k=None, aux_k_weight=1 / 32, dead_after=None,
                   center_encoder=False, **params):
        check_parameters(dict(params, jumprelu_bandwidth=jumprelu_bandwidth), caller)
        self.penalty = PENALTIES[params["sparsity"]]
        gated = self.penalty.gated
        sizes = tuple(layer_sizes)
        if gated:
            self._check_sparse_layer(sparse_layer, sizes)
        self.layout = Layout(layer_sizes, thresholds=sparse_layer if gated else None)
        self.params = dict(params, sparse_layer=sparse_layer, weight_decay=weight_decay, top_k=top_k)
        if decoder_norm not in (None, "unit"):
            raise ParameterError(f"decoder_norm must be None or 'unit', got {decoder_norm!r}")
        self.decoder_norm = decoder_norm
        sizes = self.layout.layer_sizes
        if center_encoder not in (True, False):
            raise ParameterError(f"center_encoder must be True or False, got {center_encoder!r}")
        self.center_encoder = False
        if center_encoder:
            self.centered()
        self.lam = _weight_decay(weight_decay, len(sizes) - 1, caller)
        self.f, self.f_out = ACTIVATIONS[params["activation"]], ACTIVATIONS[params["output_activation"]]
        self.loss = LOSSES[params["loss"]]
        if not compatible(self.f_out, self.loss):
            raise ParameterError(
                f"output_activation={self.f_out.name!r} and loss={self.loss.name!r} do not go together: "
                f"softmax outputs need loss='cross_entropy', and it needs them"
            )
        self.rho, self.beta = float(params["sparsity_target"]), float(params["sparsity_weight"])
        self.sparse_layer = None  # the hidden layer that carries the penalty (notes' numbering)
        self.top_k = None
        self.bandwidth = float(jumprelu_bandwidth) if gated else None
        selecting = self.penalty.uses_k
        if self.beta > 0 or selecting or gated:
            self._check_sparse_layer(sparse_layer, sizes)
            check_activation(self.penalty, self.f)
            self.sparse_layer = sparse_layer
        if selecting:
            units = sizes[sparse_layer - 1]
            if top_k is None:
                raise ParameterError(f"sparsity={self.penalty.name!r} needs k, the units each example keeps")
            whole = isinstance(top_k, (int, np.integer)) and not isinstance(top_k, bool)
            if not (whole and 1 <= top_k < units):
                raise ParameterError(f"k must be a whole number from 1 to {units - 1} (fewer than the "
                                     f"{units} units of the sparse layer), got {top_k!r}")
            self.top_k = int(top_k)
        self.nested = None  # a Matryoshka autoencoder's prefix widths
        if nested is not None:
            if self.f_out.name != "linear" or self.loss.name != "squared_error":
                raise ParameterError(f"matryoshka needs the linear decoder and the squared error (each prefix "
                                     f"reconstructs x), not output_activation={self.f_out.name!r} and "
                                     f"loss={self.loss.name!r}")
            self.nested = check_widths(nested, sizes[-2])
            self.params["nested"] = self.nested
        self.aux = None  # AuxK's (k_aux, weight, dead_after), and its DeadCounter once data is known
        if aux_k is not None:
            self._check_aux(aux_k, aux_k_weight, dead_after, sizes)
            self.aux = (int(aux_k), float(aux_k_weight), dead_after)
            self.dead_counter, self._dead = None, np.zeros(0, dtype=int)

    def _check_aux(self, aux_k, weight, dead_after, sizes):
        if not self.penalty.uses_k:
            raise ParameterError(f"aux_k is AuxK's, for the TopK penalties (sparsity 'topk' or 'batchtopk'), "
                                 f"not sparsity={self.penalty.name!r}")
        if len(sizes) != 3 or self.f_out.name != "linear" or self.loss.name != "squared_error":
            raise ParameterError("aux_k needs an autoencoder with the linear decoder and the squared error (the dead "
                                 "units reconstruct its residual)")
        if self.params.get("nested") is not None:
            raise ParameterError("aux_k with matryoshka is not supported: which prefix's residual would the dead "
                                 "units reconstruct?")
        for name, value, low in (("aux_k", aux_k, 1), ("dead_after", dead_after, 1)):
            if value is not None and not (isinstance(value, (int, np.integer)) and not isinstance(value, bool)
                                          and value >= low):
                raise ParameterError(f"{name} must be a positive whole number, got {value!r}")
        if not (np.isfinite(weight) and weight > 0):
            raise ParameterError(f"aux_k_weight must be positive, got {weight!r}")

    def _count_active(self, active, m):
        """AuxK's dead units for the coming pass 2: the counter moved on by this evaluation's m
        rows, in which the units ``active`` fired."""
        if self.aux is None:
            return
        if self.dead_counter is None:
            self.dead_counter = self._new_dead_counter()
        self.dead_counter.update(active, m)
        self._dead = self.dead_counter.dead()

    def _new_dead_counter(self):
        after = self.aux[2] if self.aux[2] is not None else min(10_000_000, self.n_examples)
        return DeadCounter(self.layout.layer_sizes[1], after)

    def carried_state(self):
        """AuxK's counts of examples since each unit fired (``aux_since``), once counting began."""
        if self.aux is None or self.dead_counter is None:
            return {}
        return {"aux_since": self.dead_counter.since.copy()}

    def load_carried_state(self, state):
        if self.aux is None or state.get("aux_since") is None:
            return
        since = np.asarray(state["aux_since"], dtype=np.float64)
        counter = self._new_dead_counter()
        if since.shape != counter.since.shape or not (np.isfinite(since).all() and (since >= 0).all()):
            raise ModelFileError(f"the saved AuxK counts hold {since.size} values, not {counter.since.size} "
                                 "non-negative numbers (one per hidden unit)")
        counter.since[...] = since
        self.dead_counter, self._dead = counter, counter.dead()

    def _aux_args(self):
        """``(dead, k_aux, weight)`` for pass 2, or None (no AuxK, or no unit dead)."""
        if self.aux is None or not len(self._dead):
            return None
        return self._dead, self.aux[0], self.aux[1]

    @staticmethod
    def _check_sparse_layer(sparse_layer, sizes):
        if not (isinstance(sparse_layer, int) and 2 <= sparse_layer <= len(sizes) - 1):
            raise ParameterError(
                f"sparse_layer must be a hidden layer, 2 to {len(sizes) - 1} for layer sizes "
                f"{list(sizes)}, got {sparse_layer!r}"
            )

    @property
    def gated(self):
        """Whether the sparse layer's units have learned thresholds (JumpReLU)."""
        return self.layout.thresholds is not None

    @property
    def thresholded(self):
        """Whether the sparse layer is a thresholded ReLU computed in pass 2 (JumpReLU, BatchTopK)."""
        return self.penalty.thresholded and self.sparse_layer is not None

    def pseudo_gradient_mask(self):
        """Boolean mask over θ, True where the gradient is a pseudo-gradient, not J's (JumpReLU's
        log θ_j): :func:`~sparseae.gradcheck.check_gradient` compares the others."""
        mask = np.zeros(self.size, dtype=bool)
        if self.gated:
            self.layout.log_thresholds(mask)[...] = True
        return mask

    def _gate(self, theta):
        """``(layer, JumpReLU)`` for float64 θ (host, or a tensor on the device), or None without
        thresholds."""
        if not self.gated:
            return None
        xp = np if on_host(theta) else self.backend.xp
        threshold = xp.exp(self.layout.log_thresholds(theta))
        return self.sparse_layer, JumpReLU(threshold, self.backend, self.bandwidth, self.beta)

    def evaluate_passes(self, theta, m, pass1, pass2, rho_hat_average=None, momentum=0.1, gate_sums=None,
                        aux_sum=None):
        """One evaluation from its two passes, whoever runs them: ``(terms, grad)``.

        ``pass1()`` returns Σ a(k) over the m rows (host); ``pass2(sparsity_delta)`` returns
        Σ of the loss over them and the gradient of the loss and sparsity terms (host float64).
        Given ``rho_hat_average``, ρ̂ is that average moved towards the rows' own by ``momentum``.
        A thresholded layer has no pass 1: ``gate_sums()``, after pass 2, gives its per-unit
        Σ H(z - θ) (the L0 term's count) and Σ a (ρ̂). With AuxK, ``aux_sum()`` gives the AuxK
        term's sum after pass 2, and the units this evaluation's rows fire are counted before it
        (pass 1's sums; BatchTopK's selection pass); without ``aux_sum`` (J's terms recomputed from
        given sums, as :func:`sparseae.reconstruction_metrics` does) neither happens.
        """
        rho_hat, sparsity_delta, sparsity = None, None, 0.0
        if self.thresholded:
            if self.aux is not None and aux_sum is not None:  # (BatchTopK: its selection pass has run)
                self._count_active(self._batch_active, m)
            loss_sum, grad = pass2(None)
            counts, sums = gate_sums()
            rho_hat, _ = mean_activation(sums, m, self.f)
            if rho_hat_average is not None:
                rho_hat = (1.0 - momentum) * rho_hat_average + momentum * rho_hat
            sparsity = self.beta * float(np.sum(counts)) / m
            return self._terms(theta, grad, loss_sum, m, sparsity, rho_hat, aux_sum), grad
        if self.sparse_layer is not None:
            sums = pass1()
            if aux_sum is not None:
                self._count_active(np.asarray(sums) > 0, m)
            rho_hat, drho_da = mean_activation(sums, m, self.f)
            if rho_hat_average is not None:
                rho_hat = (1.0 - momentum) * rho_hat_average + momentum * rho_hat
            if self.penalty.value is not None and self.beta > 0:
                sparsity, sparsity_delta = sparsity_terms(
                    self.penalty, self.rho, self.beta, rho_hat, drho_da, m
                )
        loss_sum, grad = pass2(sparsity_delta)
        return self._terms(theta, grad, loss_sum, m, sparsity, rho_hat, aux_sum), grad

    def _terms(self, theta, grad, loss_sum, m, sparsity, rho_hat, aux_sum=None):
        """J's terms, once weight decay is added to them and to the gradient (and AuxK's, with it)."""
        vdot = np.vdot if on_host(theta) else self.backend.vdot
        decay = weight_decay(self.layout.weights(theta), self.layout.weights(grad), self.lam, vdot)
        terms = {self.loss.name: loss_sum / m, "weight_decay": decay, "sparsity": sparsity,
                 "rho_hat": rho_hat}
        terms["cost"] = terms[self.loss.name] + decay + sparsity
        if self.aux is not None and aux_sum is not None:  # (not when only J's own terms are recomputed)
            terms["auxk"] = aux_sum() / m
            terms["cost"] += terms["auxk"]
        return terms

    def effective_theta(self, theta):
        """θ as the network uses it (the notes' W and b): with ``decoder_norm="unit"``, a copy whose
        output layer's W has each column (one per unit of the layer below) divided by its norm;
        with ``center_encoder``, b1 − W1 b2 for θ's b1 (:meth:`parameters_of` goes back); else θ."""
        if self.decoder_norm is None and not self.center_encoder:
            return theta
        theta = self._copy(theta)
        if self.decoder_norm is not None:
            self._unit_decoder(theta)
        if self.center_encoder:
            self._shift_encoder_bias(theta, -1.0)
        return theta

    def centered(self):
        """This objective, its encoder now reading x − b2 (``center_encoder``); an autoencoder's only."""
        sizes = self.layout.layer_sizes
        if len(sizes) != 3 or sizes[0] != sizes[-1]:
            raise ParameterError(f"center_encoder needs an autoencoder n -> s -> n (its encoder reads x - b2), "
                                 f"not layer sizes {list(sizes)}")
        self.center_encoder = True
        return self

    def parameters_of(self, network):
        """The θ this objective takes for a network in the notes' parameters (a start, a warm
        start): with ``center_encoder``, a copy whose b1 is b1 + W1 b2; else ``network`` itself (a
        network's unit-norm decoder columns are their own θ)."""
        if not self.center_encoder:
            return network
        theta = self._copy(network)
        self._shift_encoder_bias(theta, 1.0)
        return theta

    def _shift_encoder_bias(self, theta, sign):
        """b1 ← b1 + sign · W1 b2, in place."""
        Ws, bs = self.layout.unpack(theta)
        bs[0] += sign * (Ws[0] @ bs[-1])

    def _on_device(self, theta):
        """Whether θ is a tensor on the backend's device (else anything NumPy takes)."""
        return not on_host(theta) and self.backend.vectors.holds(theta)

    def _copy(self, theta):
        """A copy of θ where θ is: the host (in :func:`~sparseae.engine.vectors.host_dtype`), or
        the backend's device (float64)."""
        if self._on_device(theta):
            return self.backend.vectors.from_host(theta)
        return np.array(theta, dtype=host_dtype(theta))

    def _unit_decoder(self, theta):
        """Normalise θ's decoder columns in place; their norms before."""
        xp = np if on_host(theta) else self.backend.xp
        W = self.layout.unpack(theta)[0][-1]  # (s_nl, s_{nl-1})
        tiny = np.finfo(host_dtype(theta)).tiny  # (in θ's dtype: the norms are θ's dtype on the host)
        norms = xp.clip(xp.sqrt(xp.einsum("ij,ij->j", W, W)), tiny, None)
        W /= norms
        return norms

    def _reparametrised(self, theta, evaluate):
        r"""``evaluate`` at the network θ stands for (:meth:`effective_theta`), the gradient taken back
        to θ's own coordinates, so that L-BFGS and Adam need nothing else.

        With ``decoder_norm="unit"`` the network uses :math:`\hat w_j = v_j / \lVert v_j \rVert` for
        θ's decoder column :math:`v_j`, and the gradient in :math:`v_j` is
        :math:`(g_j - \hat w_j (\hat w_j \cdot g_j)) / \lVert v_j \rVert`, g the gradient in
        :math:`\hat w`. With ``center_encoder`` the encoder reads x − b2 (SAELens's
        ``apply_b_dec_to_input``): :math:`z^{(2)} = W_1 (x - b_2) + \tilde b_1`, the network's bias
        is :math:`b_1 = \tilde b_1 - W_1 b_2`, and so :math:`\nabla_{W_1} \mathrel{-}= \nabla_{b_1} b_2^T`
        and :math:`\nabla_{b_2} \mathrel{-}= W_1^T \nabla_{b_1}`: b2 also learns through the encoder."""
        if self.decoder_norm is None and not self.center_encoder:
            return evaluate(theta)
        effective = self._copy(theta)
        norms = self._unit_decoder(effective) if self.decoder_norm is not None else None
        if self.center_encoder:
            self._shift_encoder_bias(effective, -1.0)
        terms, grad = evaluate(effective)
        xp = np if on_host(grad) else self.backend.xp
        Ws, bs = self.layout.unpack(effective)
        gWs, gbs = self.layout.unpack(grad)
        if norms is not None:
            W, g = Ws[-1], gWs[-1]
            projections = xp.einsum("ij,ij->j", W, g)
            if not (xp is np and fused.project_columns(g, W, projections, norms)):
                g -= W * projections
                g /= norms
        if self.center_encoder:  # (an autoencoder: W1, b1 and W2, b2)
            gbs[1] -= Ws[0].T @ gbs[0]
            if not (xp is np and fused.subtract_outer(gWs[0], gbs[0], bs[1])):
                gWs[0] -= gbs[0][:, None] * bs[1][None, :]
        return terms, grad

    def terms(self, theta):
        """Each term of J_sparse at θ, their sum ``cost``, and ``rho_hat`` (None when β = 0)."""
        return self.evaluate(theta)[0]
