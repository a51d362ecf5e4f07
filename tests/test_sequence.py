"""TBPTTBatches: the book's truncated-BPTT windows, position by position, across epochs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import fnn
from fnn import DTypeError, ShapeError
from fnn.datasets import TBPTTBatches
from tests.helpers import host


def books_windows(corpus: np.ndarray, batch_size: int, time_size: int, epochs: int) -> list[tuple[list[list[int]], list[list[int]]]]:
    """The book's ``RnnlmTrainer.fit``/``get_batch`` loops, written out as the book writes them."""
    xs, ts = corpus[:-1], corpus[1:]
    data_size = len(xs)
    jump = data_size // batch_size
    offsets = [i * jump for i in range(batch_size)]
    max_iters = data_size // (batch_size * time_size)
    time_idx = 0
    out = []
    for _ in range(epochs):
        for _ in range(max_iters):
            batch_x = np.empty((batch_size, time_size), dtype="i")
            batch_t = np.empty((batch_size, time_size), dtype="i")
            for time in range(time_size):
                for i, offset in enumerate(offsets):
                    batch_x[i, time] = xs[(offset + time_idx) % data_size]
                    batch_t[i, time] = ts[(offset + time_idx) % data_size]
                time_idx += 1
            out.append((batch_x.tolist(), batch_t.tolist()))
    return out


@pytest.mark.parametrize(("length", "batch_size", "time_size"), [(1000, 10, 5), (101, 4, 7), (57, 3, 3), (13, 1, 12)])
def test_windows_equal_the_books_over_three_epochs(length: int, batch_size: int, time_size: int) -> None:
    corpus = np.random.default_rng(length).integers(0, 50, length)
    batches = TBPTTBatches(fnn.backend().asarray(corpus, dtype=np.int64), batch_size, time_size)
    expected = books_windows(corpus, batch_size, time_size, epochs=3)
    assert batches.steps_per_epoch == len(expected) // 3
    got = [(host(x).tolist(), host(t).tolist()) for x, t in itertools.islice(batches, len(expected))]
    assert got == expected
    epochs = [[(host(x).tolist(), host(t).tolist()) for x, t in batches.epoch(e)] for e in range(3)]
    assert sum(epochs, []) == expected


def test_consecutive_windows_continue_each_stream() -> None:
    corpus = np.arange(1001)  # ids equal positions, so each stream must count up by one
    batches = TBPTTBatches(corpus, batch_size=4, time_size=10)
    (x0, t0), (x1, _) = batches.window(0), batches.window(1)
    assert x0[:, 0].tolist() == [0, 250, 500, 750]  # offsets i · (1000 // 4)
    assert (x1[:, 0] == x0[:, -1] + 1).all() and (t0 == x0 + 1).all()
    assert x0.dtype == corpus.dtype and x0.shape == t0.shape == (4, 10)


def test_a_stream_wraps_to_the_start_of_the_corpus() -> None:
    batches = TBPTTBatches(np.arange(11), batch_size=2, time_size=3)
    assert batches.window(1)[0].tolist() == [[3, 4, 5], [8, 9, 0]]
    assert batches.window(1)[1].tolist() == [[4, 5, 6], [9, 10, 1]]


def test_the_same_arguments_give_the_same_windows() -> None:
    corpus = np.random.default_rng(0).integers(0, 9, 300)
    a, b = TBPTTBatches(corpus, 5, 6), TBPTTBatches(corpus.copy(), 5, 6)
    assert all((x == y).all() for w, v in zip(itertools.islice(a, 30), itertools.islice(b, 30)) for x, y in zip(w, v))


def test_bad_corpora_and_sizes_are_refused() -> None:
    with pytest.raises(ShapeError, match=r"expected a 1-D corpus of word ids, got shape \(2, 5\)"):
        TBPTTBatches(np.zeros((2, 5), dtype=np.int64), 1, 1)
    with pytest.raises(DTypeError, match=r"expected integer word ids, got dtype float32"):
        TBPTTBatches(np.zeros(10, dtype=np.float32), 1, 1)
    with pytest.raises(ShapeError, match=r"a corpus of 10 ids has 9 .* fewer than one window of .* = 12"):
        TBPTTBatches(np.arange(10), 3, 4)
    with pytest.raises(ValueError, match=r"`time_size` must be a positive integer, got 0"):
        TBPTTBatches(np.arange(10), 1, 0)
    with pytest.raises(ValueError, match=r"`batch_size` must be a positive integer, got True"):
        TBPTTBatches(np.arange(10), True, 1)
