"""Independent plain-NumPy re-implementations of the book's ``sequence.load_data`` and ``AttentionSeq2seq``.

Written from the book's code paths (volume 2, ch. 7-8): the data loader reads the file
line by line with a global-style vocabulary and splits with ``numpy.random.seed(1984)``
and ``numpy.random.shuffle``; the model's ``generate`` runs ``TimeEmbedding``,
``TimeLSTM`` (``set_state(h)``: the cell starts at zero), ``TimeAttention`` (a loop of
``AttentionWeight`` + ``WeightSum`` per step) and ``TimeAffine`` over
``concatenate((c, dec_hs))``, float32 throughout. It shares no code with fnn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

F32 = np.float32


def book_load_data(path: Path, seed: int = 1984) -> tuple[tuple[Any, Any], tuple[Any, Any], dict[str, int]]:
    """The book's ``sequence.load_data`` and ``get_vocab()``: ``(x_train, t_train), (x_test, t_test), char_to_id``."""
    questions, answers = [], []
    with open(path) as f:
        for line in f:
            idx = line.find("_")
            questions.append(line[:idx])
            answers.append(line[idx:-1])
    char_to_id: dict[str, int] = {}
    for q, a in zip(questions, answers):
        for char in list(q) + list(a):
            if char not in char_to_id:
                char_to_id[char] = len(char_to_id)
    x = np.zeros((len(questions), len(questions[0])), dtype=int)
    t = np.zeros((len(questions), len(answers[0])), dtype=int)
    for i, sentence in enumerate(questions):
        x[i] = [char_to_id[c] for c in sentence]
    for i, sentence in enumerate(answers):
        t[i] = [char_to_id[c] for c in sentence]
    indices = np.arange(len(x))
    saved = np.random.get_state()
    np.random.seed(seed)
    np.random.shuffle(indices)
    np.random.set_state(saved)  # leave the global generator as the test found it
    x, t = x[indices], t[indices]
    split_at = len(x) - len(x) // 10
    return (x[:split_at], t[:split_at]), (x[split_at:], t[split_at:]), char_to_id


def _sigmoid(x: Any) -> Any:
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


def _softmax(x: Any) -> Any:
    x = x - x.max(axis=1, keepdims=True)
    x = np.exp(x)
    return x / x.sum(axis=1, keepdims=True)


class BookAttentionSeq2seq:
    """The book's ``AttentionSeq2seq`` for inference: ``generate`` over a batch of questions."""

    def __init__(self, arrays: Sequence[Any]) -> None:
        a = [np.asarray(p).astype(F32) for p in arrays]  # the book's load_params casts to float32
        self.enc_embed, self.enc_wx, self.enc_wh, self.enc_b = a[:4]
        self.dec_embed, self.dec_wx, self.dec_wh, self.dec_b = a[4:8]
        self.affine_w, self.affine_b = a[8:]

    @staticmethod
    def _lstm_step(x: Any, h: Any, c: Any, wx: Any, wh: Any, b: Any) -> tuple[Any, Any]:
        hidden = h.shape[1]
        a = np.dot(x, wx) + np.dot(h, wh) + b
        f = _sigmoid(a[:, :hidden])
        g = np.tanh(a[:, hidden : 2 * hidden])
        i = _sigmoid(a[:, 2 * hidden : 3 * hidden])
        o = _sigmoid(a[:, 3 * hidden :])
        c = f * c + g * i
        return o * np.tanh(c), c

    def encode(self, xs: Any) -> Any:
        """``AttentionEncoder.forward``: every hidden state ``(N, T, H)`` from the zero state."""
        n, steps = xs.shape
        hidden = self.enc_wh.shape[0]
        h = np.zeros((n, hidden), F32)
        c = np.zeros((n, hidden), F32)
        hs = np.empty((n, steps, hidden), F32)
        for t in range(steps):
            h, c = self._lstm_step(self.enc_embed[xs[:, t]], h, c, self.enc_wx, self.enc_wh, self.enc_b)
            hs[:, t] = h
        return hs

    @staticmethod
    def _attention(enc_hs: Any, h: Any) -> tuple[Any, Any]:
        """``AttentionWeight`` then ``WeightSum`` for one decoder step: ``(context, weights)``."""
        n, steps, hidden = enc_hs.shape
        s = np.sum(enc_hs * h.reshape(n, 1, hidden), axis=2)
        a = _softmax(s)
        return np.sum(enc_hs * a.reshape(n, steps, 1), axis=1), a

    def generate(self, xs: Any, start_id: int, sample_size: int) -> Any:
        """``AttentionDecoder.generate``: greedy ids ``(N, sample_size)``."""
        enc_hs = self.encode(xs)
        h = enc_hs[:, -1]
        c = np.zeros_like(h)
        ids = np.full(len(xs), start_id)
        sampled = []
        for _ in range(sample_size):
            h, c = self._lstm_step(self.dec_embed[ids], h, c, self.dec_wx, self.dec_wh, self.dec_b)
            context, _ = self._attention(enc_hs, h)
            score = np.dot(np.concatenate((context, h), axis=1), self.affine_w) + self.affine_b
            ids = np.argmax(score, axis=1)
            sampled.append(ids)
        return np.stack(sampled, axis=1)
