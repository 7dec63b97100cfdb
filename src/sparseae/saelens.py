"""SAELens interchange: a ReLU autoencoder with a linear decoder written as a folder that
``sae_lens.SAE.load_from_disk`` loads, and such a folder read back as a SparseAutoencoder.

SAELens's folder is ``cfg.json`` (``architecture``, ``d_in``, ``d_sae``, ``dtype``,
``apply_b_dec_to_input``, ``normalize_activations``, ``k`` for TopK, ``metadata``) beside
``sae_weights.safetensors`` (``W_enc`` (d_in, d_sae), ``b_enc``, ``W_dec`` (d_sae, d_in),
``b_dec``; JumpReLU's ``threshold`` (d_sae)). Its encoder computes
relu((x − b_dec·[apply_b_dec_to_input]) W_enc + b_enc) (TopK: the k largest pre-activations, then
ReLU; JumpReLU: units whose pre-activation is at most their threshold set to 0); its decoder
a W_dec + b_dec. A JumpReLU model's θ_j are sparseae's ``threshold_`` (exp of the log θ_j it
trains), so both zero the same units. sparseae's is
relu(W1 x + b1) and W2 a + b2 (TopK: the k largest activations), so W_enc = W1ᵀ, b_enc = b1,
W_dec = W2ᵀ, b_dec = b2 and apply_b_dec_to_input false; on import a b_dec applied to the input is
folded into b1 (b1 = b_enc − b_dec W_enc). Nothing is unpickled: both files are JSON and
safetensors, and sae-lens itself is not needed to write or read them.
"""

import json
from pathlib import Path

import numpy as np

from ._io import atomic_path, read_json_object
from .errors import DataError, ModelFileError, ParameterError

CFG, WEIGHTS = "cfg.json", "sae_weights.safetensors"
#: sparseae's sparsity penalty → SAELens's architecture (the others have no counterpart here yet).
ARCHITECTURES = {"l1": "standard", "topk": "topk", "jumprelu": "jumprelu", "batchtopk": "jumprelu"}
#: What an architecture imports as (BatchTopK is saved by SAELens as a JumpReLU SAE).
IMPORTED = {"standard": "l1", "topk": "topk", "jumprelu": "jumprelu"}
#: The SAELens format this module writes and reads (its version 6 configuration).
SAELENS_VERSION = "6.0.0"


def export_saelens(model, folder, *, dtype="float32"):
    """Write a fitted autoencoder into ``folder`` as a SAELens SAE.

    The folder holds SAELens's ``cfg.json`` and ``sae_weights.safetensors``, with its tensor names
    and orientation, and loads with ``sae_lens.SAE.load_from_disk``. Writing it does not need
    SAELens.

    Parameters
    ----------
    model : SparseAutoencoder
        Fitted, with ReLU units and a linear decoder, and ``sparsity`` "l1" (SAELens's standard
        SAE), "topk", "jumprelu" or "batchtopk" (a JumpReLU SAE with one threshold for every unit).
    folder : str or path-like
        The folder to write. It is created if needed.
    dtype : {"float32", "float64"}, default "float32"
        The weights' dtype in the file.

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    ParameterError
        If ``model`` is not a SparseAutoencoder, has no SAELens counterpart, or ``dtype`` is not
        one of the two.
    sklearn.exceptions.NotFittedError
        If the model is not fitted.
    DataError
        If ``folder`` exists and is not a folder.

    See Also
    --------
    import_saelens

    Examples
    --------
    >>> import numpy as np
    >>> import sparseae
    >>> X = np.random.default_rng(0).uniform(size=(50, 8))
    >>> model = sparseae.SparseAutoencoder(4, sparsity="topk", k=2, activation="relu",
    ...                                    output_activation="linear", tol=1e-2, random_state=0).fit(X)
    >>> folder = sparseae.export_saelens(model, "sae", dtype="float64")
    >>> sorted(p.name for p in folder.iterdir())
    ['cfg.json', 'sae_weights.safetensors']
    >>> back = sparseae.import_saelens(folder)
    >>> np.allclose(back.reconstruct(X), model.reconstruct(X))
    True
    """
    from sklearn.utils.validation import check_is_fitted

    from .estimator import SparseAutoencoder

    if not isinstance(model, SparseAutoencoder):
        raise ParameterError(f"export_saelens takes a SparseAutoencoder, got a {type(model).__name__}")
    check_is_fitted(model)
    architecture = ARCHITECTURES.get(model.sparsity)
    if architecture is None or model.activation != "relu" or model.output_activation != "linear":
        raise ParameterError(
            f"a model with sparsity={model.sparsity!r}, activation={model.activation!r} and "
            f"output_activation={model.output_activation!r} has no SAELens counterpart: SAELens's "
            f"standard, topk and jumprelu SAEs have ReLU units and a linear decoder (sparsity 'l1', "
            f"'topk', 'jumprelu' or 'batchtopk')")
    if dtype not in ("float32", "float64"):
        raise ParameterError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{str(folder)!r} exists and is not a folder")
    W1, W2 = model.coefs_[0], model.coefs_[1]  # (n, s), (s, n): scikit-learn's convention, W(l).T
    arrays = {"W_enc": W1, "b_enc": model.intercepts_[0], "W_dec": W2, "b_dec": model.intercepts_[1]}
    if architecture == "jumprelu":  # JumpReLU's θ_j, or BatchTopK's one threshold for every unit
        arrays["threshold"] = model.threshold_
    cfg = {"architecture": architecture, "d_in": int(W1.shape[0]), "d_sae": int(W1.shape[1]), "dtype": dtype,
           "device": "cpu", "apply_b_dec_to_input": False, "normalize_activations": "none",
           "reshape_activations": "none", "metadata": {"sae_lens_version": SAELENS_VERSION,
                                                       "sae_lens_training_version": SAELENS_VERSION,
                                                       "written_by": "sparseae"}}
    if architecture == "topk":
        cfg.update(k=int(model.k), rescale_acts_by_decoder_norm=False)
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tensors = {name: np.ascontiguousarray(a, dtype=dtype) for name, a in arrays.items()}
    with atomic_path(folder / WEIGHTS) as tmp:
        save_file(tensors, str(tmp))
    with atomic_path(folder / CFG) as tmp:  # last: a folder with cfg.json is whole
        tmp.write_text(json.dumps(cfg, indent=2) + "\n")
    return folder


def import_saelens(folder):
    """A SAELens SAE folder, read as a fitted SparseAutoencoder.

    The result transforms, reconstructs and scores as SAELens encodes and decodes. Reading the
    folder does not need SAELens.

    Parameters
    ----------
    folder : str or path-like
        A folder with SAELens's ``cfg.json`` and ``sae_weights.safetensors``: a standard, topk or
        jumprelu SAE without input normalisation, from SAELens 6 or later.

    Returns
    -------
    SparseAutoencoder
        Fitted: "l1" for a standard SAE, "topk" or "jumprelu".

    Raises
    ------
    ModelFileError
        If the folder is not a SAELens SAE, uses an architecture or setting sparseae does not
        read, comes from SAELens before 6, or its weights are unreadable or incomplete.

    See Also
    --------
    export_saelens

    Examples
    --------
    >>> import numpy as np
    >>> import sparseae
    >>> X = np.random.default_rng(0).uniform(size=(50, 8))
    >>> model = sparseae.SparseAutoencoder(4, sparsity="l1", activation="relu", decoder_norm="unit",
    ...                                    output_activation="linear", tol=1e-2, random_state=0).fit(X)
    >>> back = sparseae.import_saelens(sparseae.export_saelens(model, "sae", dtype="float64"))
    >>> back.sparsity, np.allclose(back.transform(X), model.transform(X))
    ('l1', True)
    """
    from safetensors import SafetensorError, safe_open

    from .estimator import SparseAutoencoder

    folder = Path(folder)
    try:
        cfg = read_json_object(folder / CFG)
    except FileNotFoundError:
        raise ModelFileError(f"{str(folder)!r} is not a SAELens SAE folder (it has no {CFG})") from None
    architecture = cfg.get("architecture")
    penalty = IMPORTED.get(architecture)
    if penalty is None:
        raise ModelFileError(f"{str(folder / CFG)!r}: architecture {architecture!r} is not one sparseae reads "
                             f"({sorted(IMPORTED)})")
    for key, plain in (("normalize_activations", "none"), ("reshape_activations", "none"),
                       ("rescale_acts_by_decoder_norm", False)):
        if cfg.get(key, plain) != plain:
            raise ModelFileError(f"{str(folder / CFG)!r}: {key}={cfg[key]!r} is not supported (only {plain!r})")
    version = (cfg.get("metadata") or {}).get("sae_lens_version") or cfg.get("sae_lens_version")
    if not version or int(str(version).split(".")[0]) < 6:
        raise ModelFileError(f"{str(folder / CFG)!r} is from SAELens {version or 'before 6'}; sparseae reads "
                             f"the version 6 format (load and save it again with sae-lens >= 6)")
    try:
        with safe_open(str(folder / WEIGHTS), framework="np") as f:
            arrays = {name: f.get_tensor(name).astype(np.float64) for name in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"{str(folder / WEIGHTS)!r} is not a readable safetensors file: {exc}") from None
    missing = [k for k in ("W_enc", "b_enc", "W_dec", "b_dec") if k not in arrays]
    if missing:
        raise ModelFileError(f"{str(folder / WEIGHTS)!r} lacks {missing}")
    W_enc, b_enc, W_dec, b_dec = (arrays[k] for k in ("W_enc", "b_enc", "W_dec", "b_dec"))
    if cfg.get("apply_b_dec_to_input", True):
        b_enc = b_enc - b_dec @ W_enc  # relu((x - b_dec) W + b) = relu(x W + (b - b_dec W))
    params = dict(n_hidden=int(W_enc.shape[1]), activation="relu", output_activation="linear",
                  sparsity=penalty, **({"k": int(cfg["k"])} if penalty == "topk" else {}))
    fitted = {"n_features_in_": int(W_enc.shape[0]), "n_iter_": 0, "loss_": float("nan"), "loss_curve_": [],
              "loss_terms_": {}}
    state = {"W1": W_enc.T, "b1": b_enc, "W2": W_dec.T, "b2": b_dec}
    if penalty == "jumprelu":
        threshold = arrays.get("threshold")
        if threshold is None or threshold.shape != (W_enc.shape[1],) or not np.all(threshold > 0):
            raise ModelFileError(f"{str(folder / WEIGHTS)!r}: a jumprelu SAE needs a positive threshold per "
                                 f"unit ({W_enc.shape[1]}), got {None if threshold is None else threshold.shape}"
                                 f"{'' if threshold is None else ' with some at or below 0'}")
        state["log_threshold"] = np.log(threshold)
    try:
        return SparseAutoencoder._from_state(params, fitted, state)
    except ParameterError as exc:
        raise ModelFileError(f"{str(folder)!r}: {exc}") from None
