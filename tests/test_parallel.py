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
