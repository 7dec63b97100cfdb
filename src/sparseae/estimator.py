"""The scikit-learn estimator: ``SparseAutoencoder``. It validates, builds the objective and
adopts what the training layer returns (:mod:`sparseae.fitting`, :mod:`sparseae.training`)."""

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin

from . import persistence
from .autoencoder_parameters import PARAMETER_CONSTRAINTS, check_combinations
from .autoencoder_state import AutoencoderState
from .autoencoder_training import AutoencoderTraining
from .encoding import FittedAutoencoder
from .errors import DataError, ModelFileError, ParameterError
from .fitting import Trainable
from .input_scaling import fold, scale_for
from .penalties import PENALTIES
from .validation import validate_params


@persistence.register
class SparseAutoencoder(AutoencoderTraining, Trainable, FittedAutoencoder, AutoencoderState, persistence.Saveable,
                        ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    r"""The sparse autoencoder of the CS294A notes: n → n_hidden → n, trained on y = x.

    Minimises, from UFLDL's initialisation (each term: :mod:`sparseae.backprop`),

    .. math:: J_{\text{sparse}} = \frac{1}{m}\sum_i \tfrac12 \lVert h(x^{(i)}) - x^{(i)} \rVert^2
              + \frac{\lambda}{2} \sum W^2 + \beta \sum_j \mathrm{KL}(\rho \Vert \hat\rho_j)

    Parameters
    ----------
    n_hidden : int, default 25
        s_2, the hidden units.
    sparsity : {"kl", "l1", "topk", "jumprelu", "batchtopk"}, default "kl"
        The sparsity penalty on the hidden layer (:mod:`sparseae.penalties`): "kl", the notes'
        β Σ_j KL(ρ ‖ ρ̂_j) on the mean activations (sigmoid or tanh units); "l1", β (1/m) Σ_i Σ_j
        \|a_j\| (sigmoid or relu units); "topk", each example keeps its ``k`` largest hidden
        activations and the others are set to 0 (sigmoid or relu units; no β); "jumprelu",
        relu units that stay off below a learned threshold θ_j, with the L0 penalty β (1/m) Σ_i
        Σ_j H(z_j − θ_j), trained through straight-through pseudo-gradients (:mod:`sparseae.jumprelu`);
        "batchtopk", relu units of which each evaluation (minibatch) keeps its k·m largest
        activations over all its m rows (:mod:`sparseae.batchtopk`; ``transform`` keeps those above
        ``threshold_``).
    sparsity_target, sparsity_weight, weight_decay : float, default 0.01, 3.0, 1e-4
        ρ in (0, 1), the wanted mean activation of each hidden unit (KL only); β ≥ 0 (0: a plain
        autoencoder; not used by TopK); λ ≥ 0. A ρ or β given to a penalty that does not use it
        is a warning.
    k : int or None, default None
        For ``sparsity="topk"``: the hidden units each example keeps, 1 to n_hidden - 1; for
        "batchtopk", their mean per example.
    jumprelu_bandwidth : float, default 0.001
        ε of JumpReLU's pseudo-gradients (the rectangle kernel's width, in units of the
        pre-activations; Rajamanoharan et al.'s value). Every threshold starts at 0.001.
    jumprelu_steps : {"threshold", "log"}, default "threshold"
        What Adam's steps move for JumpReLU's thresholds: "threshold", θ_j itself (by about the
        step size a step, kept ≥ 1e-8, as SAELens trains them), or "log", log θ_j (as
        Rajamanoharan et al. write it). θ and the model file hold log θ_j either way, and a
        full-batch solver (L-BFGS) sees log θ_j either way. Measured on MNIST: stepped in their
        logs, thresholds started at 0.001 barely move and β no longer changes L0
        (benchmarks/RESULTS.md, "JumpReLU's thresholds under Adam").
    aux_k : int or None, default None
        AuxK (:mod:`sparseae.auxk`; Gao et al. 2024), for "topk" and "batchtopk": hidden units
        inactive on the last ``dead_after`` examples reconstruct the residual x − h(x) with each
        example's ``aux_k`` largest of their pre-activations, a term ``aux_k_weight`` × its
        squared error added to J (the residual held fixed). Offered beside ``resample_dead``.
    aux_k_weight : float, default 1/32
    dead_after : int or None, default None
        Examples a unit must be inactive on to count as dead; None: 10,000,000 or the training
        rows, the fewer (for a full-batch solver: dead means inactive on every row).
    matryoshka : tuple of int or None, default None
        Prefix widths m_1 < m_2 < ... < n_hidden of a Matryoshka dictionary
        (:mod:`sparseae.matryoshka`): J sums the reconstruction of every prefix from its units
        alone, so the first m_1 units work as a small dictionary by themselves
        (``reconstruct(X, n_units=m_1)``). Needs ``output_activation="linear"``.
    input_scaling : {None, "unit_mean_squared_norm"}, default None
        "unit_mean_squared_norm": ``fit`` trains on c·x with E‖c x‖² = n_features
        (:mod:`sparseae.input_scaling`; linear decoder only), and folds c into the weights after,
        so the model takes raw rows (``input_scale_`` = c; ``loss_`` is J on the scaled rows).
    init : {"auto", "uniform", "tied"}, default "auto"
        Where the weights start (:mod:`sparseae.initialisation`): UFLDL's W ~ U(±r), or
        "tied", decoder columns random directions of norm ``decoder_init_norm`` and W1 = W2ᵀ.
        "auto": "tied" for "batchtopk", and for "jumprelu", "topk" and "l1" under Adam;
        "uniform" for the others (measured: benchmarks/RESULTS.md, "Initialisation", "JumpReLU's
        thresholds under Adam", "TopK against SAELens, tied from the mean" and "Adam's gradient
        clipped").
    decoder_bias_init : {"auto", "zeros", "mean", "geometric_median"}, default "auto"
        b2 at the start: 0, or the training rows' mean or geometric median (of the first 10,000),
        with b1 = −W1 b2 so the encoder starts on x − b2. "auto": "mean" where ``init``'s
        "auto" is "tied", "zeros" for the others.
    decoder_init_norm : float > 0 or "auto", default "auto"
        The tied start's decoder column norm (SAELens's ``decoder_init_norm``; not used by
        "uniform"). "auto": 0.3 for "l1", "topk", "batchtopk" and "jumprelu" under Adam, 1 for the
        others (measured: benchmarks/RESULTS.md, "Adam's gradient clipped" and "L1's tied start
        at norm 0.3").
    decoder_norm : {None, "unit"}, default None
        "unit": the decoder W2 is used with each column at unit norm (a reparametrisation: θ stays
        unconstrained for L-BFGS; ``coefs_`` hold the normalised W2), so an L1 penalty cannot be
        cheated by shrinking the activations and growing the decoder.
    center_encoder : bool or "auto", default "auto"
        True: in training the encoder reads x − b2 (SAELens's ``apply_b_dec_to_input``), so b2
        learns through the encoder as well as the decoder; θ then holds b1 + W1 b2 in b1's place, and
        the fitted model (``intercepts_``, ``transform``) is the same network in the usual
        parameters. False: the encoder reads x, and only the start folds b2 in (b1 = −W1 b2).
        "auto": True for "l1", "topk" and "batchtopk" under Adam, False otherwise (measured:
        benchmarks/RESULTS.md, "The encoder reading x − b2"; JumpReLU gains on some data and
        loses on other).
    activation : {"sigmoid", "tanh", "relu"}, default "sigmoid"
        The hidden layer's f.
    output_activation : {"sigmoid", "tanh", "linear"}, default "sigmoid"
        The output layer's f. A sigmoid output needs X in [0, 1] (tanh: [-1, 1]); "linear" is
        UFLDL's linear decoder, for data of any range such as whitened patches.
    solver : str, default "lbfgs"
        A solver of ``sparseae.solvers.SOLVERS``: "lbfgs" (sparseae's own, unconstrained,
        with a strong-Wolfe line search and θ kept where the objective computes, a GPU included:
        :mod:`sparseae.optim.lbfgs`), "l-bfgs-b" (SciPy's, the reference), "cg" (SciPy's
        conjugate gradient) or "gd" (the notes' batch gradient descent), each on the exact
        full-batch J_sparse; or "adam", a minibatch solver on minibatches of ``batch_size`` rows
        with ρ̂ tracked as a moving average (:mod:`sparseae.training.minibatch`).
    max_iter : int or "auto", default "auto"
        Iterations; for "adam", epochs (passes over the data). "auto": 400 iterations, or 300
        epochs for "adam" (with ``beta_1="auto"``, what it needs to come within 2 % of L-BFGS's
        cost on the notes' exercise: benchmarks/RESULTS.md).
    tol : float, default 1e-5
        Stop when the largest gradient component is at most ``tol`` (not used by "adam").
    learning_rate : float or "auto", default "auto"
        The step: α of "gd" (auto: 0.1) or Adam's step size (auto: 0.004), which ``fit``
        holds for the first half of the epochs and then lowers linearly to zero; over the first
        30 % of the epochs ``fit`` also lowers the KL penalty's target from 0.5 to ρ
        geometrically, which keeps Adam off the plateau where every unit is off
        (:mod:`sparseae.optim.adam` says why; ``partial_fit`` keeps both constant).
    beta_1 : float in [0, 1) or "auto", default "auto"
        Adam's β₁, the decay of its first moment (the momentum; not the notes' β, which is
        ``sparsity_weight``). "auto": 0.3 with the KL penalty, 0.9 (Kingma and Ba's) with L1 and
        TopK, each what measured best on the notes' exercise (benchmarks/RESULTS.md).
    max_grad_norm : float > 0, None or "auto", default "auto"
        Adam's gradient scaled down to this Euclidean norm where it is longer, before it enters
        the moments (None: never). "auto": 0.5 for the ReLU family ("l1", "topk", "batchtopk",
        "jumprelu": SAELens's clip of 1 on its J, twice sparseae's), None for "kl". Without it, a
        transformer's activations train JumpReLU to an L0 near 2 whatever β
        (benchmarks/RESULTS.md, "Adam's gradient clipped"). Not used by the full-batch solvers.
    batch_size : int or "auto", default "auto"
        Two meanings, by the solver's kind. A minibatch solver ("adam"): the rows of a minibatch
        (auto: 100). A full-batch solver: the rows of a chunk of the notes' two-pass evaluation
        (auto: all rows of an in-memory array; about 64 MiB of a ``.npy`` or memmap), which
        changes the memory used, not the result beyond rounding.
    lbfgs_memory : int or "auto", default "auto"
        Corrections L-BFGS keeps (SciPy's ``maxcor`` for "l-bfgs-b"; minFunc keeps 100). "auto":
        100, or fewer (at least 10) so the history (2 θ-sized vectors per correction) is no
        larger than the training data's activations (benchmarks/RESULTS.md).
    dtype : {"float64", "float32"} or np.float64, np.float32, default "float64"
        The arithmetic of ``fit``. float32 halves the objective's buffers and about halves
        the time of each evaluation on larger data; θ, the optimizer and ``transform`` stay
        float64 unless ``optimizer_dtype`` says otherwise (benchmarks/RESULTS.md).
    optimizer_dtype : {"float64", "float32"}, default "float64"
        θ and the minibatch optimizer's moments during ``fit`` and ``partial_fit``. "float64" keeps
        a float64 copy of θ (mixed precision when ``dtype`` is float32: each minibatch's θ is
        rounded to float32 and its gradient taken back to float64). "float32" (with
        ``dtype="float32"`` and ``solver="adam"``) keeps them in float32 as PyTorch's and
        SAELens's training does: no conversions, and Adam's step and the decoder's normalisation
        move half the bytes (benchmarks/RESULTS.md, "optimizer_dtype"). The fitted
        ``coefs_`` are float64 either way.
    device : str or None, default None
        None: NumPy. "cpu", "cuda", "cuda:1", ...: PyTorch tensors on that device (needs the
        ``torch`` extra), the same objective code running on them.
    validation_fraction : float, default 0.0
        Rows of an in-memory X held out at random (by ``random_state``) and not trained on: J_sparse
        on them is recorded after each iteration (``validation_scores_``, lower is better). Their
        indices are ``validation_rows_``.
    early_stopping : bool, default False
        Stop when the held-out cost has not improved for ``n_iter_no_change`` iterations, and keep
        the parameters of the best one (needs ``validation_fraction`` > 0).
    n_iter_no_change : int, default 10
    resample_dead : int, default 0
        Every this many iterations (epochs for "adam"), units active on no training example are
        given a new start from an example the model reconstructs badly (:mod:`sparseae.resample`);
        full-batch solvers restart their history after each such window, and ``fit``'s Adam
        resamples in the first 90 % of its epochs only. For units that can be exactly off (ReLU,
        or TopK); 0: never. Measured choices (benchmarks/RESULTS.md): 50 for L-BFGS, 5 for Adam.
        ``n_resampled_`` counts the units resampled.
    warm_start : bool, default False
        Start ``fit`` from the current weights; ``n_iter_`` and ``loss_curve_`` continue.
    callback : callable or None, default None
        ``callback(state)`` after each iteration (epoch for "adam"), ``state`` with ``n_iter``,
        ``loss``, ``validation_score`` and ``theta`` (read-only); returning True stops the fit.
    random_state : int, RandomState instance or None
        Seeds the initial weights: the same seed gives the same weights, bit for bit.
    verbose : int, default 0
        1 or more: a progress bar with the iteration and the cost.

    Attributes
    ----------
    coefs_, intercepts_ : lists of ndarray
        ``[W1.T, W2.T]`` (scikit-learn's MLP convention, (fan_in, fan_out)) and ``[b1, b2]``.
    components_ : ndarray of shape (n_hidden, n_features)
        W1, one row per hidden unit: ``coefs_[0].T``.
    threshold_ : ndarray of shape (n_hidden,) or None
        JumpReLU's θ_j (``sparsity="jumprelu"``); BatchTopK's inference threshold, the same for
        every unit (halfway between the smallest activation the selection keeps on the training
        rows at the fitted weights and the largest it leaves out); None for the other penalties.
    n_iter_ : int
    loss_ : float
        J_sparse with all its terms at the final parameters on the training data.
    loss_terms_ : dict
        Its terms: ``squared_error``, ``weight_decay``, ``sparsity``; and ``rho_hat``.
    loss_curve_ : list of float
        The cost after each iteration; for "adam", the mean minibatch cost of each epoch (during
        the target's warm-up, with the warmed-up target).
    n_features_in_ : int

    Raises
    ------
    ParameterError
        From ``fit``, if a parameter is out of its range or contradicts another. The message names
        the parameter, the value given and what is allowed.
    DataError
        From ``fit`` and ``transform``, if X is not 2-D, has the wrong number of columns, or holds
        NaN or infinite values (named by row and column).
    NonFiniteCostError
        From ``fit``, if the cost becomes non-finite. The last finite parameters are kept.

    See Also
    --------
    SparseObjective : the same J_sparse as a function of θ.
    reconstruction_metrics : FVU, L0 and dead units on held-out rows.

    Examples
    --------
    >>> import numpy as np
    >>> import sparseae
    >>> X = np.random.default_rng(0).uniform(size=(200, 16))
    >>> model = sparseae.SparseAutoencoder(8, sparsity_target=0.1, sparsity_weight=3.0, tol=1e-3,
    ...                                    random_state=0).fit(X)
    >>> model.transform(X).shape, model.components_.shape
    ((200, 8), (8, 16))
    >>> bool(model.loss_ == sum(model.loss_terms_[t] for t in ("squared_error", "weight_decay", "sparsity")))
    True
    """

    _parameter_constraints = PARAMETER_CONSTRAINTS

    def __init__(self, n_hidden=25, *, sparsity="kl", sparsity_target=0.01, sparsity_weight=3.0, k=None,
                 jumprelu_bandwidth=1e-3, jumprelu_steps="threshold", aux_k=None, aux_k_weight=1 / 32,
                 dead_after=None, matryoshka=None, input_scaling=None, init="auto", decoder_bias_init="auto",
                 decoder_init_norm="auto", decoder_norm=None, center_encoder="auto", weight_decay=1e-4,
                 activation="sigmoid",
                 output_activation="sigmoid", solver="lbfgs", max_iter="auto", tol=1e-5, learning_rate="auto",
                 beta_1="auto", max_grad_norm="auto", batch_size="auto", lbfgs_memory="auto", dtype="float64",
                 optimizer_dtype="float64", device=None, validation_fraction=0.0, early_stopping=False,
                 n_iter_no_change=10, resample_dead=0,
                 warm_start=False, callback=None,
                 random_state=None, verbose=0):
        self.n_hidden, self.sparsity = n_hidden, sparsity
        self.sparsity_target, self.sparsity_weight = sparsity_target, sparsity_weight
        self.k, self.jumprelu_bandwidth, self.decoder_norm = k, jumprelu_bandwidth, decoder_norm
        self.jumprelu_steps = jumprelu_steps
        self.matryoshka, self.init, self.decoder_bias_init = matryoshka, init, decoder_bias_init
        self.decoder_init_norm, self.center_encoder = decoder_init_norm, center_encoder
        self.aux_k, self.aux_k_weight, self.dead_after = aux_k, aux_k_weight, dead_after
        self.input_scaling = input_scaling
        self.weight_decay, self.activation = weight_decay, activation
        self.output_activation = output_activation
        self.solver, self.max_iter, self.tol, self.learning_rate = solver, max_iter, tol, learning_rate
        self.beta_1, self.max_grad_norm = beta_1, max_grad_norm
        self.batch_size, self.lbfgs_memory, self.dtype, self.device = batch_size, lbfgs_memory, dtype, device
        self.optimizer_dtype = optimizer_dtype
        self.validation_fraction, self.early_stopping = validation_fraction, early_stopping
        self.n_iter_no_change, self.warm_start, self.callback = n_iter_no_change, warm_start, callback
        self.resample_dead = resample_dead
        self.random_state, self.verbose = random_state, verbose

    # -- fitting -----------------------------------------------------------------------------

    def fit(self, X, y=None, *, checkpoint=None, checkpoint_every=10, resume_from=None):
        """Learn the weights from X, one example per row; y is ignored. Returns self.

        X may be an array, a path to a ``.npy`` file or a memmap of one (read in chunks, never
        whole), or a Dask array (evaluated on the active dask.distributed Client).

        ``checkpoint``: a file to which θ and the optimizer's state are written (atomically) every
        ``checkpoint_every`` iterations. ``resume_from``: such a file: the fit goes on from it, on
        the same X with the same parameters (``max_iter``, ``verbose`` and ``callback`` may
        differ), to ``max_iter`` iterations in all. L-BFGS, Adam and gradient descent resume bit
        for bit; SciPy's L-BFGS-B and CG restart from the saved θ (``sparseae.checkpoint``).
        """
        self._validate()
        resumed = self._read_resume(resume_from) if resume_from is not None else None
        self.__dict__.pop("_minibatch", None)
        warm = self.warm_start and hasattr(self, "theta_") and resumed is None
        source, m, n = self._training_data(X, reset=not warm, output_activation=self.output_activation)
        self._input_scale = None  # c of input_scaling: measured, or the warm start's
        if self.input_scaling is not None:
            self._input_scale = getattr(self, "input_scale_", None) if warm else None
            self._input_scale = self._input_scale or scale_for(source)
        fingerprint = self._fingerprint(source, m, n, checkpoint, resumed)
        layout = self._layout(n)
        self._check_memory(layout, source, m)
        warm = warm and self.theta_.size == layout.size  # a changed n_hidden starts afresh
        if resumed is not None:
            if resumed.theta.size != layout.size:
                raise ModelFileError(f"the checkpoint's θ has {resumed.theta.size} values, not {layout.size}")
            before, theta0 = (resumed.n_iter, resumed.loss_curve), resumed.theta
        else:
            before = (self.n_iter_, list(self.loss_curve_)) if warm else (0, [])
            theta0 = self.theta_.copy() if warm else self._initial_theta(n, source)
            if warm and getattr(self, "input_scale_", None):
                fold(layout, theta0, self.input_scale_, inverse=True)  # back to the scaled rows' model
        self.n_resampled_ = 0
        return self._train(source, None, m, n, theta0, before=before, resumed=resumed, checkpoint=checkpoint,
                           checkpoint_every=checkpoint_every, fingerprint=fingerprint)

    def partial_fit(self, X, y=None):
        """One epoch of a minibatch solver (``solver``'s, or Adam) over X; call again with more data.

        The first call initialises the weights from ``random_state``; later calls continue
        from where the last one stopped (the optimizer's state and the ρ̂ average included), with
        a constant step. X as for :meth:`fit` (not a Dask array).
        """
        first = not hasattr(self, "_minibatch")
        if first:
            self._validate()
            self._streamed("partial_fit")
        return self._minibatch_epoch(self._no_dask(X), reset=first, initial_theta=self._minibatch_theta,
                                     output_activation=self.output_activation)

    def fit_stream(self, chunks, n_chunks):
        """A minibatch solver over a stream longer than memory: one pass over each chunk of
        ``chunks`` (an iterable of arrays with the same columns, such as
        :func:`sparseae.datasets.patch_stream`), holding one chunk at a time, with ``fit``'s
        schedules (the step, and the KL target's warm-up) spread over ``n_chunks`` chunks as over
        epochs. Starts afresh from ``random_state``; ``callback(state)`` after each chunk
        (``state.n_iter``: chunks done). Returns self.
        """
        from types import SimpleNamespace

        self._validate()
        self._streamed("fit_stream")
        if not (isinstance(n_chunks, int) and n_chunks >= 1):
            raise ParameterError(f"n_chunks must be a positive integer, got {n_chunks!r}")
        self.__dict__.pop("_minibatch", None)
        for i, chunk in enumerate(chunks):
            if i >= n_chunks:
                raise DataError(f"the stream has more than n_chunks={n_chunks} chunks")
            self._minibatch_epoch(self._no_dask(chunk), reset=i == 0, schedule=True, first=i, total=n_chunks,
                                  initial_theta=self._minibatch_theta, output_activation=self.output_activation)
            state = SimpleNamespace(n_iter=i + 1, loss=self.loss_curve_[-1], validation_score=None,
                                    theta=self._minibatch.theta)
            if self.callback is not None and self.callback(state) is True:
                break
        if not hasattr(self, "_minibatch"):
            raise DataError("the stream held no chunks")
        return self

    # In the class's own namespace: scikit-learn's set_output wraps only the methods a class defines.
    transform = FittedAutoencoder.transform

    def _validate(self):
        validate_params(self)
        check_combinations(self)

    def _streamed(self, method):
        """``method`` sees the rows a part at a time: no scale measured on all of them."""
        if self.input_scaling is not None:
            raise ParameterError(f"input_scaling is measured on all the training rows, which {method} does not "
                                 f"see at once; use fit, or scale the rows yourself")
        self._input_scale = None

    def _adopt_theta(self, layout, theta):
        """Fitted weights as views into the one flat θ."""
        self.theta_ = theta
        Ws, bs = layout.unpack(theta)
        self.coefs_ = [W.T for W in Ws]
        self.intercepts_ = list(bs)
        log_threshold = layout.log_thresholds(theta)
        self.threshold_ = None if log_threshold is None else np.exp(log_threshold)

    def _adopt(self, objective, theta):
        """θ as the network uses it (the unit decoder applied), and J's terms there."""
        self._adopt_theta(objective.layout, np.array(objective.effective_theta(theta), dtype=np.float64))
        terms = objective.terms(objective.parameters_of(self.theta_))
        if PENALTIES[self.sparsity].batch_k:  # the training rows' selection at the fitted weights
            self.threshold_ = np.full(self.n_hidden, objective.inference_threshold)
        self.input_scale_ = getattr(self, "_input_scale", None)
        if self.input_scale_ is not None:  # the model of raw rows (coefs_ and intercepts_ are views)
            fold(objective.layout, self.theta_, self.input_scale_)
        self.loss_ = terms.pop("cost")
        self.loss_terms_ = terms
