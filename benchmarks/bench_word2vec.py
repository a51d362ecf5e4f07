"""CBOW with negative sampling, one training step: fnn against book-style NumPy code.

The workload of the issue: PTB's vocabulary (10,000 words), window 5 (10 context ids),
hidden 100, batch 100, 5 negatives, Adam. One step = draw the negatives, forward, backward,
Adam update of both ``(V, H)`` matrices. Timings are taken in one process, interleaved, on
the same batch; nothing is asserted here (tests/test_word2vec.py checks that both compute
the same loss and gradients).

The book-style baseline (:class:`BookCBOW`, written here in the book's manner, not copied):
layer objects keep their inputs on ``self``; the negative-sampling loss loops over
``1 + K`` ``EmbeddingDot`` layers; the embeddings' backward fills ``dW`` with
``numpy.add.at``; the CPU sampler draws each row's negatives with
``choice(V, K, replace=False, p)`` after zeroing the target's probability (a Python loop
over the batch); Adam updates every entry of both matrices in place.

PyTorch (``nn.Embedding(sparse=False)``, the same loss) is timed when it is installed.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_word2vec.py`` (``--steps`` to change
the number of timed steps per round).

Recorded (2026-11, the 2-core shared box, one BLAS thread, best of 5 rounds × 20 steps;
PyTorch not installed there)::

    fnn  15.0 ms/step
    book 56.0 ms/step (3.73x fnn)

Of fnn's step, most is Adam over the two dense ``(10000, 100)`` matrices (as in the book:
every entry is updated although a batch touches few rows); the forward and backward take
about 7 ms. A PTB epoch is 9,295 steps: about 110 s with fnn on one core (11.8 ms a step over
1,500 steps of ``examples/dlfs2_ch04_word2vec.py --epochs 1 --max-iters 1500``, extrapolated;
10 epochs in about 18 minutes) (the
book's "half a day" for 10 epochs is its per-row sampler and add.at-based layers on an
older machine).
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable

import numpy as np

import fnn
from fnn import dlfs
from fnn.text import UnigramSampler

NDArray = np.ndarray[Any, Any]
VOCAB, HIDDEN, WINDOW, BATCH, NEGATIVES = 10_000, 100, 5, 100, 5


class BookEmbedding:
    def __init__(self, w: NDArray) -> None:
        self.w, self.dw, self.idx = w, np.zeros_like(w), np.zeros(0, np.int64)

    def forward(self, idx: NDArray) -> NDArray:
        self.idx = idx
        rows: NDArray = self.w[idx]
        return rows

    def backward(self, dout: NDArray) -> None:
        self.dw[...] = 0
        np.add.at(self.dw, self.idx, dout)


class BookEmbeddingDot:
    def __init__(self, embed: BookEmbedding) -> None:
        self.embed, self.cache = embed, (np.zeros(0), np.zeros(0))

    def forward(self, h: NDArray, idx: NDArray) -> NDArray:
        target_w = self.embed.forward(idx)
        self.cache = (h, target_w)
        out: NDArray = np.sum(target_w * h, axis=1)
        return out

    def backward(self, dout: NDArray) -> NDArray:
        h, target_w = self.cache
        dout = dout.reshape(dout.shape[0], 1)
        self.embed.backward(dout * h)
        dh: NDArray = dout * target_w
        return dh


def book_sample(rng: np.random.Generator, p: NDArray, target: NDArray, k: int) -> NDArray:
    """The book's CPU sampler: per row, the target's probability zeroed, K draws without replacement."""
    negatives = np.zeros((target.shape[0], k), dtype=np.int64)
    for i in range(target.shape[0]):
        q = p.copy()
        q[target[i]] = 0
        negatives[i] = rng.choice(len(p), size=k, replace=False, p=q / q.sum())
    return negatives


class BookCBOW:
    """The book's CBOW (chapter 4) with its NegativeSamplingLoss, dW summed over the shared layers."""

    def __init__(self, w_in: NDArray, w_out: NDArray) -> None:
        self.w_in, self.w_out = w_in, w_out
        self.in_layers = [BookEmbedding(w_in) for _ in range(2 * WINDOW)]
        self.dots = [BookEmbeddingDot(BookEmbedding(w_out)) for _ in range(1 + NEGATIVES)]

    def loss_and_grads(self, contexts: NDArray, ids: NDArray) -> tuple[float, list[NDArray]]:
        h: NDArray = np.sum([layer.forward(contexts[:, i]) for i, layer in enumerate(self.in_layers)], axis=0)
        h /= len(self.in_layers)
        loss, dh = 0.0, np.zeros_like(h)
        n = contexts.shape[0]
        for j, dot in enumerate(self.dots):
            score = dot.forward(h, ids[:, j])
            y = 1 / (1 + np.exp(-score))
            t = 1.0 if j == 0 else 0.0
            loss += float(-np.mean(t * np.log(y + 1e-7) + (1 - t) * np.log(1 - y + 1e-7)))
            dh += dot.backward((y - t) / n)
        dh /= len(self.in_layers)
        for layer in self.in_layers:
            layer.backward(dh)
        return loss, [_summed([layer.dw for layer in self.in_layers]), _summed([dot.embed.dw for dot in self.dots])]


def _summed(grads: list[NDArray]) -> NDArray:
    """The book's ``remove_duplicate``: a shared weight's gradients added in place into the first."""
    total = grads[0]
    for g in grads[1:]:
        total += g
    return total


class BookAdam:
    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999) -> None:
        self.lr, self.beta1, self.beta2, self.iter = lr, beta1, beta2, 0
        self.m: list[NDArray] = []
        self.v: list[NDArray] = []

    def update(self, params: list[NDArray], grads: list[NDArray]) -> None:
        if not self.m:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        self.iter += 1
        lr_t = self.lr * np.sqrt(1 - self.beta2**self.iter) / (1 - self.beta1**self.iter)
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m += (1 - self.beta1) * (g - m)
            v += (1 - self.beta2) * (g**2 - v)
            p -= lr_t * m / (np.sqrt(v) + 1e-7)


def workload(seed: int = 0) -> tuple[NDArray, NDArray, NDArray, NDArray, NDArray]:
    """A corpus with Zipf-like counts, a batch of contexts and targets, and both initial matrices."""
    rng = np.random.default_rng(seed)
    corpus = np.minimum(rng.zipf(1.3, size=200_000) - 1, VOCAB - 1)
    contexts = rng.integers(0, VOCAB, size=(BATCH, 2 * WINDOW))
    target = rng.integers(0, VOCAB, size=BATCH)
    w_in = (0.01 * rng.standard_normal((VOCAB, HIDDEN))).astype(np.float32)
    w_out = (0.01 * rng.standard_normal((VOCAB, HIDDEN))).astype(np.float32)
    return corpus, contexts, target, w_in, w_out


def fnn_stepper(corpus: NDArray, contexts: NDArray, target: NDArray, w_in: NDArray, w_out: NDArray) -> Callable[[int], float]:
    model = dlfs.cbow(VOCAB, HIDDEN, WINDOW)
    params: Any = {"in": fnn.EmbeddingParams(w_in.copy()), "sum": None, "h": None, "out": fnn.EmbeddingParams(w_out.copy())}
    sampler = UnigramSampler.from_corpus(corpus, NEGATIVES, vocab=VOCAB)
    optimizer = fnn.optim.adam(0.001)
    state = [params, optimizer.init(params)]
    value_and_grad = fnn.value_and_grad(model, fnn.losses.negative_sampling_loss)

    def step(i: int) -> float:
        ids, labels = sampler.pairs(fnn.random.key(i), target)
        value, grads = value_and_grad(state[0], (contexts, ids), labels)
        updates, state[1] = optimizer.update(grads, state[1], state[0])
        state[0] = fnn.optim.apply_updates(state[0], updates)
        return float(value)

    return step


def book_stepper(corpus: NDArray, contexts: NDArray, target: NDArray, w_in: NDArray, w_out: NDArray) -> Callable[[int], float]:
    model = BookCBOW(w_in.copy(), w_out.copy())
    counts = np.bincount(corpus, minlength=VOCAB).astype(np.float64)
    p = counts**0.75 / np.sum(counts**0.75)
    rng = np.random.default_rng(0)
    adam = BookAdam()

    def step(i: int) -> float:
        ids = np.concatenate([target[:, None], book_sample(rng, p, target, NEGATIVES)], axis=1)
        loss, grads = model.loss_and_grads(contexts, ids)
        adam.update([model.w_in, model.w_out], grads)
        return loss

    return step


def best_time(step: Callable[[int], float], steps: int, rounds: int) -> float:
    step(0)
    best = float("inf")
    for r in range(rounds):
        start = time.perf_counter()
        for i in range(steps):
            step(1 + r * steps + i)
        best = min(best, (time.perf_counter() - start) / steps)
    return best


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description="CBOW negative-sampling step: fnn vs book-style NumPy.")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    data = workload()
    times = {"fnn": best_time(fnn_stepper(*data), args.steps, args.rounds),
             "book": best_time(book_stepper(*data), args.steps, args.rounds)}
    print(f"fnn  {times['fnn'] * 1e3:.1f} ms/step")
    print(f"book {times['book'] * 1e3:.1f} ms/step ({times['book'] / times['fnn']:.2f}x fnn)")
    return times


if __name__ == "__main__":
    main()
