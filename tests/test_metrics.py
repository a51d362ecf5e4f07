"""fnn.metrics.perplexity: window by window with carried state equals one direct computation over the corpus."""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np
import pytest

import fnn
from fnn import ShapeError
from fnn.backend import Backend, array_module, resolve
from fnn.errors import ArgumentError
from fnn.metrics import perplexity
from fnn.typing import Array
from tests.helpers import host

VOCAB = 6


@attrs.frozen
class LeakySum:
    """A language model with carried state: ``h_t = decay · h_{t−1} + W[x_t]``, logits ``h_t``."""

    vocab: int = VOCAB
    decay: float = 0.5

    def init_state(self, in_shape: tuple[int, ...], backend: Backend | None = None) -> Array:
        return resolve(backend).zeros((1, self.vocab))

    def apply_with_state(self, params: Array, state: Array, xs: Array) -> tuple[Array, Array]:
        xp = array_module(params)
        n, steps = xs.shape
        h = xp.broadcast_to(state, (n, self.vocab))
        logits = xp.empty((n, steps, self.vocab), params.dtype)
        for t in range(steps):
            h = self.decay * h + params[xs[:, t]]
            logits[:, t] = h
        return logits, h


def log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=-1, keepdims=True)
    out: np.ndarray = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return out


def direct_perplexity(model: LeakySum, params: np.ndarray, corpus: np.ndarray, batch_size: int, time_size: int) -> float:
    """Each stream run in one call from the zero state; the mean cross entropy over every position."""
    jump = (len(corpus) - 1) // batch_size
    length = (len(corpus) - 1) // (batch_size * time_size) * time_size
    losses = []
    for i in range(batch_size):
        xs = corpus[i * jump : i * jump + length]
        ts = corpus[i * jump + 1 : i * jump + length + 1]
        logits, _ = model.apply_with_state(params, np.zeros((1, model.vocab)), xs[None])
        losses.append(-log_softmax(logits[0])[np.arange(length), ts])
    return math.exp(float(np.mean(losses)))


@pytest.fixture
def problem() -> tuple[LeakySum, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return LeakySum(), rng.normal(size=(VOCAB, VOCAB)) * 2, rng.integers(0, VOCAB, 250)


@pytest.mark.parametrize(("batch_size", "time_size"), [(10, 5), (3, 7), (1, 249)])
def test_windows_with_carried_state_equal_the_direct_computation(
    problem: tuple[LeakySum, np.ndarray, np.ndarray], batch_size: int, time_size: int
) -> None:
    model, params, corpus = problem
    b = fnn.backend(dtype="float64")
    got = perplexity(model, b.asarray(params), b.asarray(corpus, dtype=np.int64), batch_size=batch_size, time_size=time_size)
    assert got == pytest.approx(direct_perplexity(model, params, corpus, batch_size, time_size), rel=1e-12)


def test_the_carried_state_matters(problem: tuple[LeakySum, np.ndarray, np.ndarray]) -> None:
    model, params, corpus = problem
    reset = LeakySum(decay=0.0)  # no memory: windowing cannot change anything
    direct = direct_perplexity(reset, params, corpus, 10, 5)
    assert perplexity(reset, params, corpus, batch_size=10, time_size=5) == pytest.approx(direct, rel=1e-12)
    start = np.arange(VOCAB, dtype=np.float64)[None] * 2  # not uniform: a uniform shift leaves softmax as it is
    assert perplexity(model, params, corpus, batch_size=10, time_size=5, state=start) != pytest.approx(
        perplexity(model, params, corpus, batch_size=10, time_size=5), rel=1e-6
    )


def test_a_uniform_model_has_the_vocabulary_size_as_perplexity() -> None:
    b = fnn.backend()  # float32 by default
    corpus = b.asarray(np.arange(100) % VOCAB, dtype=np.int64)
    value = perplexity(LeakySum(), b.zeros((VOCAB, VOCAB)), corpus, batch_size=4, time_size=6)
    assert value == pytest.approx(VOCAB, rel=1e-6) and isinstance(value, float)


def test_the_books_eval_perplexity(problem: tuple[LeakySum, np.ndarray, np.ndarray]) -> None:
    """The book's ``eval_perplexity`` loop, written out as it is written there, gives the same number."""
    model, params, corpus = problem
    batch_size, time_size = 4, 9
    corpus_size = len(corpus)
    total_loss = 0.0
    max_iters = (corpus_size - 1) // (batch_size * time_size)
    jump = (corpus_size - 1) // batch_size
    state: Any = np.zeros((1, VOCAB))
    for iters in range(max_iters):
        xs = np.zeros((batch_size, time_size), dtype=np.int32)
        ts = np.zeros((batch_size, time_size), dtype=np.int32)
        time_offset = iters * time_size
        offsets = [time_offset + (i * jump) for i in range(batch_size)]
        for t in range(time_size):
            for i, offset in enumerate(offsets):
                xs[i, t] = corpus[(offset + t) % corpus_size]
                ts[i, t] = corpus[(offset + t + 1) % corpus_size]
        logits, state = model.apply_with_state(params, state, xs)
        lp = log_softmax(logits).reshape(-1, VOCAB)
        total_loss += float(-lp[np.arange(lp.shape[0]), ts.reshape(-1)].mean())
    book = float(np.exp(total_loss / max_iters))
    assert perplexity(model, params, corpus, batch_size=batch_size, time_size=time_size) == pytest.approx(book, rel=1e-12)


def test_models_without_carried_state_and_short_corpora_are_refused() -> None:
    with pytest.raises(ArgumentError, match=r"perplexity: .* has no apply_with_state\(params, state, xs\)"):
        perplexity(np.tanh, None, np.arange(50))  # type: ignore[arg-type]  # a function, not a model
    with pytest.raises(ArgumentError, match=r"perplexity: .* has no apply_with_state\(params, state, xs\)"):
        perplexity(fnn.sequential(fnn.Dense(3)), None, np.arange(50))  # a layer that carries no state
    with pytest.raises(ShapeError, match=r"a corpus of 20 ids has 19 .* fewer than one window of .* = 350"):
        perplexity(LeakySum(), np.zeros((VOCAB, VOCAB)), np.arange(20) % VOCAB)
    with pytest.raises(ArgumentError, match=r"`params` hold no float array"):
        perplexity(LeakySum(), np.zeros((VOCAB, VOCAB), dtype=np.int64), np.arange(400) % VOCAB)


def test_results_live_on_the_host_whatever_the_backend(problem: tuple[LeakySum, np.ndarray, np.ndarray]) -> None:
    model, params, corpus = problem
    b = fnn.backend(dtype="float64")
    value = perplexity(model, b.asarray(params), b.asarray(corpus, dtype=np.int64), batch_size=5, time_size=5)
    assert type(value) is float and value == pytest.approx(
        perplexity(model, params, corpus, batch_size=5, time_size=5), rel=1e-12
    )
    assert host(b.asarray(corpus, dtype=np.int64)).shape == (250,)


@attrs.frozen
class Forgetful(LeakySum):
    """LeakySum that drops its state after each window: what perplexity must not do."""

    def apply_with_state(self, params: Array, state: Array, xs: Array) -> tuple[Array, Array]:
        logits, _ = super().apply_with_state(params, state, xs)
        return logits, state


def test_dropping_the_state_between_windows_would_be_caught(problem: tuple[LeakySum, np.ndarray, np.ndarray]) -> None:
    model, params, corpus = problem
    direct = direct_perplexity(model, params, corpus, 10, 5)
    assert perplexity(Forgetful(), params, corpus, batch_size=10, time_size=5) != pytest.approx(direct, rel=1e-3)
