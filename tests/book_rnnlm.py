"""An independent, plain-NumPy re-implementation of the book's ``Rnnlm`` forward pass and ``eval_perplexity``.

Written from the book's formulas (volume 2, chapter 6), step by step as its ``Time*``
layers compute, float32 throughout, to check fnn's graph and loader against: it shares
no code with fnn. The index loops of ``eval_perplexity`` are the book's, element by element.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

F32 = np.float32


def _sigmoid(x: Any) -> Any:
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


class BookRnnlm:
    """``TimeEmbedding → TimeLSTM (stateful) → TimeAffine``, with ``reset_state``."""

    def __init__(self, arrays: Sequence[Any]) -> None:
        self.embed, self.wx, self.wh, self.b, self.w_out, self.b_out = (np.asarray(a).astype(F32) for a in arrays)
        self.h: Any = None
        self.c: Any = None

    def reset_state(self) -> None:
        self.h = self.c = None

    def predict(self, xs: Any) -> Any:
        n, t_size = xs.shape
        hidden = self.wh.shape[0]
        if self.h is None:
            self.h = np.zeros((n, hidden), F32)
            self.c = np.zeros((n, hidden), F32)
        hs = np.empty((n, t_size, hidden), F32)
        for t in range(t_size):
            x = self.embed[xs[:, t]]
            a = x @ self.wx + self.h @ self.wh + self.b
            f = _sigmoid(a[:, :hidden])
            g = np.tanh(a[:, hidden : 2 * hidden])
            i = _sigmoid(a[:, 2 * hidden : 3 * hidden])
            o = _sigmoid(a[:, 3 * hidden :])
            self.c = f * self.c + g * i
            self.h = o * np.tanh(self.c)
            hs[:, t] = self.h
        return (hs.reshape(n * t_size, -1) @ self.w_out + self.b_out).reshape(n, t_size, -1)

    def forward(self, xs: Any, ts: Any) -> float:
        """The mean cross entropy of the window (the book's ``TimeSoftmaxWithLoss``)."""
        scores = self.predict(xs)
        n, t_size, v = scores.shape
        x = scores.reshape(n * t_size, v)
        x = x - x.max(axis=1, keepdims=True)
        y = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
        losses = np.log(y[np.arange(n * t_size), ts.reshape(-1)])
        return float(-losses.sum() / (n * t_size))


def book_eval_perplexity(model: BookRnnlm, corpus: Any, batch_size: int = 10, time_size: int = 35) -> float:
    """The book's ``eval_perplexity``: windows built index by index, state carried, mean window loss."""
    corpus_size = len(corpus)
    total_loss = 0.0
    max_iters = (corpus_size - 1) // (batch_size * time_size)
    jump = (corpus_size - 1) // batch_size
    for iters in range(max_iters):
        xs = np.zeros((batch_size, time_size), dtype=np.int32)
        ts = np.zeros((batch_size, time_size), dtype=np.int32)
        time_offset = iters * time_size
        offsets = [time_offset + (i * jump) for i in range(batch_size)]
        for t in range(time_size):
            for i, offset in enumerate(offsets):
                xs[i, t] = corpus[(offset + t) % corpus_size]
                ts[i, t] = corpus[(offset + t + 1) % corpus_size]
        total_loss += model.forward(xs, ts)
    return float(np.exp(total_loss / max_iters))
