"""A transformer's residual stream over a corpus, written as shards a fit reads out of core.

:func:`transformer_activations` runs a Hugging Face model (:mod:`sparseae.language_model`) over
passages of text in batches and writes, for every token that is not padding (nor, by default, a
special token such as [CLS] and [SEP]), the hidden state after block ``layer``: rows of
``shard_NNNNN.npy`` (each about :data:`SHARD_TOKENS` tokens, whole passages only), with
``shard_NNNNN.tokens.npy`` beside it (each row's passage, position and token id, from which a
report reads a token's context back), the passages (``texts.json``) and ``manifest.json``
(:mod:`sparseae.shards`). Each shard is written under a temporary name and renamed, and the
manifest, rewritten after each shard, lists only whole ones; a run interrupted at any point is
finished by the same call, which checks that the model, layer, settings and texts are the same
and starts after the last shard listed.
"""

import hashlib
import json
import sys
import warnings
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .._io import atomic_path
from ..errors import DataError, ParameterError
from ..language_model import check_layer, load_transformer
from ..shards import MANIFEST, is_shard_folder, read_manifest, write_manifest, write_shard
from .text import text_corpus

SHARD_TOKENS = 1 << 15
TEXTS = "texts.json"
DTYPES = ("float32", "float64", "float16")


def texts_sha256(texts):
    h = hashlib.sha256()
    for text in texts:
        h.update(text.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def _settings(name, tokenizer, layer, max_length, dtype, skip_special_tokens, passages, builtin, width):
    source = (f"Python {sys.version.split()[0]}'s documentation topics and standard-library docstrings" if builtin
              else "given")
    return {"kind": "transformer activations", "model": name, "tokenizer": type(tokenizer).__name__,
            "layer": layer, "max_length": max_length, "dtype": dtype, "width": width,
            "skip_special_tokens": bool(skip_special_tokens),
            "texts": {"count": len(passages), "sha256": texts_sha256(passages), "source": source}}


def _check(layer, max_length, batch_size, dtype):
    for name, value, low in (("max_length", max_length, 2), ("batch_size", batch_size, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ParameterError(f"{name} must be a whole number ≥ {low}, got {value!r}")
    if dtype not in DTYPES:
        raise ParameterError(f"dtype must be one of {', '.join(map(repr, DTYPES))}, got {dtype!r}")


def transformer_activations(texts=None, *, model=None, layer=3, out, max_length=128, batch_size=32, dtype="float32",
                            skip_special_tokens=True, device=None, shard_tokens=SHARD_TOKENS, verbose=1):
    """Write the residual stream after block ``layer`` of ``model`` over ``texts`` to the folder
    ``out``; returns it, a folder that ``fit`` (and ``sparseae train --data``) takes as data.

    Parameters
    ----------
    texts : iterable of str, path of a .txt file or folder, or None
        The passages (:func:`sparseae.datasets.text_corpus`); None: the built-in corpus.
    model : path, optional
        A local Hugging Face model folder; by default the bundled all-MiniLM-L6-v2.
    layer : int, default 3
        0 (the embeddings) to the model's number of blocks.
    out : path
        The folder to write (created; an interrupted run's folder is finished).
    max_length : int, default 128
        Tokens per passage at most (special tokens included); a longer passage is truncated, and
        counted in the manifest's ``truncated_texts`` and a warning.
    batch_size : int, default 32
        Passages per forward pass.
    dtype : {"float32", "float64", "float16"}, default "float32"
        Of the written rows (the model computes in its own, float32).
    skip_special_tokens : bool, default True
        Leave out [CLS], [SEP] and the other special tokens (padding is never written).
    device : str, optional
        PyTorch's device for the model ("cpu" by default).
    shard_tokens : int
        Rows per shard, about (a shard ends on a passage boundary).
    verbose : int, default 1
        A progress bar counting tokens.

    Returns
    -------
    pathlib.Path
        ``out``, complete: shards of rows (one a token) with their tokens and a manifest; give it
        to ``fit``, ``sparseae train --data`` or ``sparseae.shards.ShardRows``.

    Raises
    ------
    ParameterError
        If a setting is out of range (``layer`` names the model's range), or ``out`` exists and is
        neither empty nor a folder of these activations made with the same model, layer, settings
        and texts (the same call finishes an interrupted one).
    DataError
        If there is no text, or ``model`` is not a transformer folder.
    DependencyError
        If PyTorch or transformers is missing: ``pip install 'sparseae[lm]'``.

    Examples
    --------
    >>> import numpy as np
    >>> from sparseae.shards import ShardRows
    >>> from sparseae.datasets import transformer_activations
    >>> out = transformer_activations(["The cat sat on the mat.", "Dogs bark at night."], layer=3,
    ...                               out="acts", verbose=0)
    >>> X = ShardRows(out)
    >>> X.shape[1], X.dtype
    (384, dtype('float32'))
    >>> transformer_activations(["x"], layer=9, out="acts9", verbose=0)
    Traceback (most recent call last):
    ...
    sparseae.errors.ParameterError: layer must be a whole number from 0 (the embeddings) to 6 ...
    """
    _check(layer, max_length, batch_size, dtype)
    builtin = texts is None
    passages = text_corpus(texts)
    tokenizer, network, name = load_transformer(model, device)  # a DependencyError without the lm extra
    import torch
    layer = check_layer(network, layer)
    width = int(network.config.hidden_size)
    settings = _settings(name, tokenizer, layer, max_length, dtype, skip_special_tokens, passages, builtin, width)
    out = Path(out)
    shards, done, truncated = [], 0, 0
    if out.exists():
        if not is_shard_folder(out):
            if not out.is_dir() or any(out.iterdir()):
                raise ParameterError(f"out={str(out)!r} exists and is not a folder of activations; choose another")
        else:
            manifest = read_manifest(out)
            saved = {k: manifest.get(k) for k in settings}
            if saved != settings:
                differ = sorted(k for k in settings if saved[k] != settings[k])
                raise ParameterError(f"out={str(out)!r} holds activations made with other {', '.join(differ)}; "
                                     f"choose another folder or repeat the same call to finish it")
            if manifest.get("complete"):
                return out
            shards, truncated = manifest["shards"], int(manifest.get("truncated_texts", 0))
            done = shards[-1]["texts"][1] if shards else 0
    out.mkdir(parents=True, exist_ok=True)
    if not (out / TEXTS).is_file():  # the passages themselves, for context and spliced fidelity
        with atomic_path(out / TEXTS) as tmp:
            tmp.write_text(json.dumps(passages), encoding="utf-8")

    lengths = [len(ids) for ids in tokenizer(passages[done:], truncation=False)["input_ids"]]
    total = sum(min(n, max_length) for n in lengths)
    rows, tokens, first = [], [], done
    step = np.dtype(dtype)

    def flush(stop):
        nonlocal rows, tokens, first
        index = len(shards)
        entry = write_shard(out, f"shard_{index:05d}.npy", np.concatenate(rows).astype(step))
        token_entry = write_shard(out, f"shard_{index:05d}.tokens.npy", np.concatenate(tokens))
        shards.append({**entry, "texts": [first, stop], "tokens_file": token_entry["file"],
                       "tokens_sha256": token_entry["sha256"]})
        write_manifest(out, {**settings, "shards": shards, "n_tokens": sum(s["rows"] for s in shards),
                             "truncated_texts": truncated, "complete": False})
        rows, tokens, first = [], [], stop

    with tqdm(total=total, unit="token", desc=f"layer {layer} activations", disable=not verbose) as bar, \
            torch.no_grad():
        for start in range(done, len(passages), batch_size):
            batch = passages[start:start + batch_size]
            truncated += sum(n > max_length for n in lengths[start - done:start - done + len(batch)])
            encoded = tokenizer(batch, padding=True, truncation=True, max_length=max_length, return_tensors="pt",
                                return_special_tokens_mask=True)
            special = encoded.pop("special_tokens_mask").bool()
            encoded = {k: v.to(network.device) for k, v in encoded.items()}
            hidden = network(**encoded, output_hidden_states=True).hidden_states[layer]
            keep = encoded["attention_mask"].bool().cpu()
            if skip_special_tokens:
                keep &= ~special
            rows.append(hidden.cpu()[keep].numpy())
            text, position = torch.nonzero(keep, as_tuple=True)
            ids = encoded["input_ids"].cpu()[keep]
            tokens.append(np.stack([text.numpy() + start, position.numpy(), ids.numpy()], axis=1).astype(np.int64))
            bar.update(int(encoded["attention_mask"].sum()))
            if sum(len(r) for r in rows) >= shard_tokens:
                flush(start + len(batch))
        if rows:
            flush(len(passages))
    if not sum(s["rows"] for s in shards):
        raise DataError("the texts gave no tokens to write (every passage empty, or only special tokens)")
    write_manifest(out, {**settings, "shards": shards, "n_tokens": sum(s["rows"] for s in shards),
                         "truncated_texts": truncated, "complete": True})
    if truncated:
        warnings.warn(f"{truncated} of {len(passages)} passages were longer than max_length={max_length} tokens and "
                      f"were truncated (counted in {out / MANIFEST}'s truncated_texts)", UserWarning, stacklevel=2)
    return out
