r"""Does the transformer still work with the sparse autoencoder in it?

:func:`spliced_fidelity` runs the model over texts four times: as it is (clean); with the
residual stream after block L replaced by the autoencoder's reconstruction of it (spliced); and
with it replaced by zeros and by its mean over the texts' tokens (two ablations). The tokens
replaced are those an autoencoder trained on :func:`~sparseae.datasets.transformer_activations`
saw: every token that is not padding nor a special token ([CLS], [SEP] keep their own states,
as SAELens keeps the BOS token). Downstream, for each run against the clean one:

- ``cosine``: the mean over texts of the cosine similarity of the sentence embeddings (the mean
  of the last hidden state over a text's tokens, all-MiniLM-L6-v2's own pooling);
- ``relative_error``: ‖h − h_clean‖ / ‖h_clean‖ of the last hidden state over all the texts'
  tokens.

``fraction_recovered`` = (ablated − spliced) / (ablated − clean) of the relative error (the
clean run's is 0), against the zero ablation — the analogue of SAELens's "CE loss recovered"
for a model without a language-model head; 1 when the splice changes nothing downstream, 0 when
it is no better than deleting the layer's output. ``fraction_recovered_mean`` is the same against
the mean ablation.
"""

import numpy as np

from .datasets.text import text_corpus
from .errors import DataError, ParameterError
from .language_model import check_layer, load_transformer


def _block(network, layer):
    """The module whose output is hidden_states[layer] (the embeddings for 0), for a BERT-like
    model (``embeddings`` and ``encoder.layer``)."""
    if not (hasattr(network, "embeddings") and hasattr(getattr(network, "encoder", None), "layer")):
        raise ParameterError(f"spliced_fidelity needs a BERT-like model (embeddings, encoder.layer), not a "
                             f"{type(network).__name__}")
    return network.embeddings if layer == 0 else network.encoder.layer[layer - 1]


def spliced_fidelity(sae, texts=None, *, layer, model=None, max_length=128, batch_size=32, device=None):
    """The downstream effect of splicing an autoencoder into the transformer it was trained on.

    The model runs on ``texts`` with layer ``layer``'s tokens replaced three ways: by the
    autoencoder's reconstruction, by zeros, and by their mean. Each is compared with the clean run.
    This is the analogue of SAELens's "CE loss recovered" for a model without a language-model
    head. It needs the ``lm`` extra.

    Parameters
    ----------
    sae : estimator
        A fitted encoder with ``reconstruct`` (a SparseAutoencoder), trained on layer ``layer``'s
        activations of ``model``.
    texts : list of str, optional
        The passages. Default: the built-in corpus's first 256.
    layer : int
        The layer whose output is replaced: 0 is the embeddings, and L the output of block L.
    model : str or path-like, optional
        A local Hugging Face model folder. Default: the bundled all-MiniLM-L6-v2.
    max_length : int, default 128
        Tokens per passage (longer ones are truncated).
    batch_size : int, default 32
        Passages per forward pass.
    device : str, optional
        The PyTorch device to run the model on (default "cpu").

    Returns
    -------
    dict
        ``spliced``, ``zero_ablation`` and ``mean_ablation``, each a dict of the ``cosine``
        similarity of the sentence embeddings to the clean run's and the ``relative_error`` of the
        last hidden state; ``fraction_recovered`` = (ablated − spliced) / (ablated − clean) against
        the zero ablation, and ``fraction_recovered_mean`` against the mean ablation; ``n_texts``
        and ``n_tokens`` (the tokens replaced).

    Raises
    ------
    DependencyError
        If PyTorch, transformers or the bundled model is not installed.
    DataError
        If the autoencoder's width is not the layer's, or ``model`` is not a model folder.
    ParameterError
        If ``layer`` is not one of the model's, the model is not BERT-like, or ``device`` cannot
        run it.

    Examples
    --------
    >>> import sparseae
    >>> from sparseae.datasets import text_corpus, transformer_activations
    >>> texts = text_corpus()[:12]
    >>> folder = transformer_activations(texts, layer=3, out="acts", max_length=512, verbose=0)
    >>> sae = sparseae.SparseAutoencoder(768, sparsity="topk", k=16, activation="relu",
    ...                                  output_activation="linear", solver="adam", max_iter=20,
    ...                                  random_state=0).fit(folder)
    >>> result = sparseae.spliced_fidelity(sae, texts, layer=3, max_length=512)
    >>> bool(result["spliced"]["cosine"] > result["zero_ablation"]["cosine"])
    True
    """
    import torch

    passages = text_corpus(texts)[:256] if texts is None else text_corpus(texts)
    tokenizer, network, _ = load_transformer(model, device)
    layer = check_layer(network, layer)
    width = int(network.config.hidden_size)
    if getattr(sae, "n_features_in_", width) != width:
        raise DataError(f"the autoencoder takes {sae.n_features_in_} values, but layer {layer} of this model has "
                        f"{width}: was it trained on another model's activations?")
    block = _block(network, layer)
    batches = []
    for start in range(0, len(passages), batch_size):
        encoded = tokenizer(passages[start:start + batch_size], padding=True, truncation=True, max_length=max_length,
                            return_tensors="pt", return_special_tokens_mask=True)
        special = encoded.pop("special_tokens_mask").bool()
        encoded = {k: v.to(network.device) for k, v in encoded.items()}
        replaced = (encoded["attention_mask"].bool() & ~special.to(network.device))
        batches.append((encoded, replaced))

    replace, clean_rows = {"with": None}, []

    def hook(module, inputs, output):
        hidden = output[0] if isinstance(output, tuple) else output
        mask = replace["mask"]
        if replace["with"] is None:  # the clean run: keep the tokens the others replace (their mean)
            clean_rows.append(hidden[mask].cpu().numpy().astype(np.float64))
            return None
        hidden = hidden.clone()
        hidden[mask] = replace["with"](hidden[mask])
        return (hidden, *output[1:]) if isinstance(output, tuple) else hidden

    def run(fn):
        """Per batch: the last hidden state (tokens of each text, padding dropped) and the
        sentence embeddings, with layer ``layer``'s tokens replaced by ``fn`` (None: clean)."""
        lasts, embeddings = [], []
        with torch.no_grad():
            for encoded, mask in batches:
                replace.update({"with": fn, "mask": mask})
                last = network(**encoded).last_hidden_state
                attention = encoded["attention_mask"].unsqueeze(-1).to(last.dtype)
                embeddings.append(((last * attention).sum(1) / attention.sum(1)).cpu().numpy().astype(np.float64))
                lasts.append(last[encoded["attention_mask"].bool()].cpu().numpy().astype(np.float64))
        replace["with"] = None
        return np.concatenate(lasts), np.concatenate(embeddings)

    def reconstructed(h):
        rows = np.asarray(h.cpu().numpy(), dtype=np.float64)
        return torch.as_tensor(sae.reconstruct(rows), dtype=h.dtype, device=h.device)

    handle = block.register_forward_hook(hook)
    try:
        clean_last, clean_embedding = run(None)
        mean = torch.as_tensor(np.concatenate(clean_rows).mean(axis=0))
        runs = {"spliced": run(reconstructed),
                "zero_ablation": run(lambda h: torch.zeros_like(h)),
                "mean_ablation": run(lambda h: mean.to(dtype=h.dtype, device=h.device).expand_as(h).clone())}
    finally:
        handle.remove()
    result = {"layer": layer, "n_texts": len(passages), "n_tokens": int(sum(int(m.sum()) for _, m in batches))}
    scale = np.linalg.norm(clean_last)
    for name, (last, embedding) in runs.items():
        cosine = np.sum(embedding * clean_embedding, axis=1) / (
            np.linalg.norm(embedding, axis=1) * np.linalg.norm(clean_embedding, axis=1))
        result[name] = {"cosine": float(np.mean(cosine)),
                        "relative_error": float(np.linalg.norm(last - clean_last) / scale)}
    for key, ablation in (("fraction_recovered", "zero_ablation"), ("fraction_recovered_mean", "mean_ablation")):
        ablated = result[ablation]["relative_error"]
        result[key] = float((ablated - result["spliced"]["relative_error"]) / ablated) if ablated > 0 else float("nan")
    return result
