"""Rows over cores: ranges, blocks, and a pool that never leaves a range running."""

import threading
import time

import pytest

from sparseae.engine.parallel import BLOCK_BYTES, block_rows, over_rows, row_ranges


def test_row_ranges_cover_the_rows_once(monkeypatch):
    import sparseae.engine.parallel as parallel

    monkeypatch.setattr(parallel, "n_cores", lambda: 3)
    ranges = row_ranges(10_000)
    assert len(ranges) == 3 and ranges[0][0] == 0 and ranges[-1][1] == 10_000
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    assert row_ranges(100) == [(0, 100)]  # too few rows to be worth a thread


def test_blocks_hold_a_few_mib_but_never_too_few_rows():
    assert block_rows(64) * 64 * 8 <= BLOCK_BYTES <= 1 << 24
    assert block_rows(10**7) == 1024


def test_over_rows_returns_results_in_range_order():
    assert over_rows(lambda i, lo, hi: (i, hi - lo), [(0, 5), (5, 7), (7, 20)]) == [(0, 5), (1, 2), (2, 13)]


def test_over_rows_waits_for_every_range_when_the_calling_thread_raises():
    """Ctrl-C in the calling thread's range: the other ranges finish before the error surfaces,
    so no thread is still writing into buffers the next evaluation reuses."""
    finished = []

    def fn(i, lo, hi):
        if i == 0:
            raise KeyboardInterrupt
        time.sleep(0.2)
        finished.append(threading.current_thread().name)

    with pytest.raises(KeyboardInterrupt):
        over_rows(fn, [(0, 1), (1, 2)])
    assert len(finished) == 1


_PROBE = """
import hashlib, sys, warnings
import numpy as np
import threadpoolctl
import torch
import sparseae
from sparseae.engine import parallel
if sys.argv[1] == "after_a_fit":  # a history that once left the pool's thread at PyTorch's other count
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rng = np.random.default_rng(6)
        sparseae.SparseAutoencoder(96, activation="relu", output_activation="linear", sparsity="topk", k=4,
                                   solver="adam", max_iter=3, weight_decay=0.0, random_state=0).fit(
            rng.normal(size=(1500, 16)))

def counts(i, lo, hi):
    return [x["num_threads"] for x in threadpoolctl.threadpool_info()
            if x["internal_api"] == "openmp" and "torch" in x["filepath"]]

with parallel.single_threaded_blas():
    print(parallel.over_rows(counts, [(0, 1), (1, 2)]))
X = np.random.default_rng(0).uniform(0.1, 0.9, (4000, 64))
objective = sparseae.SparseObjective([64, 25, 64], X, weight_decay=1e-4, sparsity_target=0.01, sparsity_weight=3.0)
J, grad = objective(objective.layout.initial_theta(0))
print(hashlib.sha256(grad.tobytes()).hexdigest())
"""


def test_pytorch_in_the_pools_threads_computes_in_one_thread_whatever_ran_before(tmp_path):
    """The pool's threads multiply with MKL (PyTorch's products) in one OpenMP thread inside a fit,
    and an evaluation gives the same bits whatever the process ran before: a pool thread used to
    keep the OpenMP count it first had (2 in a fresh process, 1 after a TopK fit), and MKL with two
    threads adds in another order (a checkpointed run resumed in a fresh process differed)."""
    pytest.importorskip("torch", reason="the pool's threads only borrow PyTorch's products where it is installed")
    import os
    import subprocess
    import sys

    env = dict(os.environ, SPARSEAE_TORCH_PRODUCTS="1")  # every product on MKL, as the chooser may decide
    out = {}
    for history in ("fresh", "after_a_fit"):
        done = subprocess.run([sys.executable, "-c", _PROBE, history], env=env, capture_output=True, text=True,
                              timeout=300, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        counts, bits = done.stdout.strip().splitlines()[-2:]
        assert counts == "[[1], [1]]", (history, counts)
        out[history] = bits
    assert out["fresh"] == out["after_a_fit"]
