"""One Adam epoch of a wide TopK dictionary over a transformer's activations read out of core
(issue 24 item 4): samples per second, and the process's peak memory against the data's size.

    python benchmarks/wide_epoch.py [--passages 4300] [--width 16384] [--k 32] [--batch 4096]
                                    [--optimizer-dtype float64]

MiniLM layer 3 over the built-in corpus's first --passages passages (about 200,000 tokens for
4,300), written as shards; ``SparseAutoencoder.fit`` on the shard folder itself (read minibatch
by minibatch, never loaded whole), float32, TopK with the sparse-code pass 2; Adam's θ and
moments in ``--optimizer-dtype`` (float64, the default's copy of θ, or float32). Peak memory is the
process's maximum resident set (``ru_maxrss``) before and after the fit. Writes
benchmarks/wide_epoch.json.
"""

import argparse
import json
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ROOT, machine  # noqa: E402

import sparseae  # noqa: E402
from sparseae.datasets import text_corpus, transformer_activations  # noqa: E402
from sparseae.shards import ShardRows  # noqa: E402


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=4300)
    parser.add_argument("--width", type=int, default=16384)
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--optimizer-dtype", choices=("float64", "float32"), default="float64")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "wide_epoch.json"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        acts = transformer_activations(text_corpus()[: args.passages], layer=3, out=Path(folder) / "acts", verbose=0)
        rows = ShardRows(acts)
        model = sparseae.SparseAutoencoder(args.width, sparsity="topk", k=args.k, activation="relu",
                                           output_activation="linear", solver="adam", max_iter=1, dtype="float32",
                                           batch_size=args.batch, random_state=0,
                                           optimizer_dtype=args.optimizer_dtype)
        before = peak_mib()
        start = time.perf_counter()
        model.fit(acts)
        seconds = time.perf_counter() - start
        record = {"machine": machine(), "tokens": rows.shape[0], "width": args.width, "k": args.k, "batch": args.batch,
                  "optimizer_dtype": args.optimizer_dtype,
                  "seconds": seconds, "samples_per_second": rows.shape[0] / seconds,
                  "data_mib": rows.shape[0] * rows.shape[1] * rows.dtype.itemsize / 2**20,
                  "parameters_mib_float64": 2 * args.width * rows.shape[1] * 8 / 2**20,
                  "peak_rss_mib_before_fit": before, "peak_rss_mib_after_fit": peak_mib(),
                  "cost": model.loss_}
    Path(args.json).write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps({k: v for k, v in record.items() if k != "machine"}, indent=1))


if __name__ == "__main__":
    main()
