"""benchmarks/bench_seq2seq.py: the book-style NumPy step computes fnn's loss and gradients (tiny sizes)."""

from __future__ import annotations

import numpy as np
import pytest

import fnn
from benchmarks.bench_seq2seq import BookSeq2seq, book_params, fnn_step, workload


@pytest.mark.parametrize("attention", [False, True], ids=["seq2seq", "attention"])
def test_book_style_step_agrees_with_fnn(attention: bool) -> None:
    model, params, xs, ts = workload(attention, vocab=9, question=6, answer=4, wordvec=3, hidden=5, batch=4)
    book = BookSeq2seq(book_params(model, params), attention)
    book_loss, book_grads = book.loss_and_grads(xs, ts)
    loss, new = fnn_step(model)(params, xs, ts)
    assert loss == pytest.approx(book_loss, rel=1e-5)
    book.step(xs, ts)
    for ours, theirs, before in zip(book_params(model, new), book.params, book_params(model, params)):
        assert not np.array_equal(ours, before)  # every parameter moved
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
    assert all(np.isfinite(g).all() for g in book_grads) and fnn.tree.leaves(new)
