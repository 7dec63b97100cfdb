"""What a dictionary trained on a transformer's activations learned, in words: for a dozen units,
the tokens (with their context) that most activate each, read back from the shard folder's token
records and passages; and the model's fidelity with the autoencoder spliced in. ``sparseae
train`` writes both into the run folder (``top_tokens.json``, ``metrics.json``) when its data is
a folder from :func:`~sparseae.datasets.transformer_activations`."""

import json

import numpy as np

from .shards import ShardRows

N_UNITS, N_TOP, WINDOW, MAX_ROWS, N_FIDELITY = 12, 8, 8, 20_000, 64


def is_activations(X):
    return isinstance(X, ShardRows) and X.manifest.get("kind") == "transformer activations"


def _tokens(rows):
    """Every row's (passage, position, token id), in row order."""
    return np.concatenate([np.load(rows.folder / entry["tokens_file"], allow_pickle=False)
                           for entry in rows.manifest["shards"]])


def _decoder(rows):
    """Token ids to text: the model's tokenizer when the lm extra is there, else the ids."""
    try:
        from .language_model import _transformers, bundled_model_folder

        name = rows.manifest["model"]
        folder = bundled_model_folder() if name == "all-MiniLM-L6-v2" else name
        tokenizer = _transformers().AutoTokenizer.from_pretrained(str(folder))
        return lambda ids: tokenizer.convert_ids_to_tokens([int(i) for i in ids])
    except Exception:  # noqa: BLE001 (no extra, or the model folder moved: ids still say which token)
        return lambda ids: [f"#{int(i)}" for i in ids]


def top_tokens(model, rows, n_units=N_UNITS, n_top=N_TOP, window=WINDOW, max_rows=MAX_ROWS):
    """For the ``n_units`` units most often active on the first ``max_rows`` rows: the ``n_top``
    rows that activate each most, as ``{"unit", "examples": [{"activation", "before", "token",
    "after"}]}`` (the token and up to ``window`` tokens of the same passage either side)."""
    X = rows.rows(0, min(max_rows, len(rows)))
    H = model.transform(np.asarray(X, dtype=np.float64))
    records = _tokens(rows)[: len(X)]
    decode = _decoder(rows)
    units = np.argsort(-(H > 0).sum(axis=0), kind="stable")[:n_units]
    found = []
    for unit in units:
        best = np.argsort(-H[:, unit], kind="stable")[:n_top]
        examples = []
        for row in best:
            if H[row, unit] <= 0:
                break
            text, position = records[row, 0], records[row, 1]
            near = records[(records[:, 0] == text) & (np.abs(records[:, 1] - position) <= window)]
            near = near[np.argsort(near[:, 1])]
            words = decode(near[:, 2])
            at = int(np.flatnonzero(near[:, 1] == position)[0])
            examples.append({"activation": float(H[row, unit]), "before": " ".join(words[:at]), "token": words[at],
                             "after": " ".join(words[at + 1:])})
        found.append({"unit": int(unit), "examples": examples})
    return found


def fidelity(model, rows, n_texts=N_FIDELITY):
    """:func:`~sparseae.spliced_fidelity` on the folder's first ``n_texts`` passages (those it was
    trained on: the run has no others), or None when the folder has no passages or the model
    cannot be loaded."""
    from .datasets.transformer import TEXTS
    from .spliced import spliced_fidelity

    path = rows.folder / TEXTS
    if not path.is_file():
        return None
    texts = json.loads(path.read_text(encoding="utf-8"))[:n_texts]
    name = rows.manifest["model"]
    return spliced_fidelity(model, texts, layer=rows.manifest["layer"],
                            model=None if name == "all-MiniLM-L6-v2" else name)
