"""Training steps of the second book's seq2seq models: fnn against book-style NumPy code.

The book-style code is written the way "Deep Learning from Scratch 2" (ch. 7-8) writes
its layers: ``TimeEmbedding``, ``TimeLSTM`` (one ``LSTM`` cell object per step, its
backward walking the steps in reverse), ``TimeAttention`` (``AttentionWeight`` and
``WeightSum`` per decoder step), ``TimeAffine`` and ``TimeSoftmaxWithLoss``, float32.
One training step is the forward pass, the loss, the backward pass and an SGD update
(learning rate :data:`LR`) of every parameter.

Workloads (the book's settings):

- ``seq2seq``: addition, V = 13, questions of 7 and answers of 5 characters, D = 16,
  H = 128, batch 128;
- ``attention``: dates, V = 59, questions of 29 and answers of 11 characters, D = 16,
  H = 256, batch 128.

``tests/test_seq2seq_benchmark.py`` checks at tiny sizes that both compute the same
loss and gradients. Run: ``python benchmarks/bench_seq2seq.py`` (a minute on one core).

The suite times these steps interleaved with PyTorch's (``python benchmarks/suite.py
--only seq2seq,attention``, see :mod:`benchmarks.seq2seq_steps`); ``benchmarks/RESULTS.md``
records the measurements and where the time goes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fnn
from fnn import dlfs

LR = 0.01
"""The SGD learning rate of every step."""

NDArray = Any


def _sigmoid(x: NDArray) -> NDArray:
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


class _LSTMCell:
    """The book's ``LSTM``: one step forward, and its backward from ``(dh_next, dc_next)``."""

    def __init__(self, wx: NDArray, wh: NDArray, b: NDArray) -> None:
        self.wx, self.wh, self.b = wx, wh, b

    def forward(self, x: NDArray, h_prev: NDArray, c_prev: NDArray) -> tuple[NDArray, NDArray]:
        hidden = h_prev.shape[1]
        a = x @ self.wx + h_prev @ self.wh + self.b
        f, g = _sigmoid(a[:, :hidden]), np.tanh(a[:, hidden : 2 * hidden])
        i, o = _sigmoid(a[:, 2 * hidden : 3 * hidden]), _sigmoid(a[:, 3 * hidden :])
        c_next = f * c_prev + g * i
        h_next = o * np.tanh(c_next)
        self.cache = (x, h_prev, c_prev, i, f, g, o, c_next)
        return h_next, c_next

    def backward(self, dh_next: NDArray, dc_next: NDArray) -> tuple[NDArray, NDArray, NDArray, list[NDArray]]:
        x, h_prev, c_prev, i, f, g, o, c_next = self.cache
        tanh_c_next = np.tanh(c_next)
        ds = dc_next + (dh_next * o) * (1 - tanh_c_next**2)
        dc_prev = ds * f
        di, df, do, dg = ds * g, ds * c_prev, dh_next * tanh_c_next, ds * i
        di *= i * (1 - i)
        df *= f * (1 - f)
        do *= o * (1 - o)
        dg *= 1 - g**2
        da = np.hstack((df, dg, di, do))
        grads = [x.T @ da, h_prev.T @ da, da.sum(axis=0)]
        return da @ self.wx.T, da @ self.wh.T, dc_prev, grads


class _TimeLSTM:
    """The book's ``TimeLSTM`` from ``(h0, c = 0)``; ``dh`` is the gradient of ``h0`` after backward."""

    def __init__(self, wx: NDArray, wh: NDArray, b: NDArray) -> None:
        self.params = [wx, wh, b]

    def forward(self, xs: NDArray, h0: NDArray) -> NDArray:
        n, steps, _ = xs.shape
        hidden = self.params[1].shape[0]
        h, c = h0, np.zeros((n, hidden), np.float32)
        hs = np.empty((n, steps, hidden), np.float32)
        self.layers = []
        for t in range(steps):
            layer = _LSTMCell(*self.params)
            h, c = layer.forward(xs[:, t], h, c)
            hs[:, t] = h
            self.layers.append(layer)
        return hs

    def backward(self, dhs: NDArray) -> tuple[NDArray, list[NDArray]]:
        n, steps, _ = dhs.shape
        dxs = np.empty((n, steps, self.params[0].shape[0]), np.float32)
        dh: NDArray = 0
        dc: NDArray = 0
        grads = [np.zeros_like(p) for p in self.params]
        for t in reversed(range(steps)):
            dxs[:, t], dh, dc, step_grads = self.layers[t].backward(dhs[:, t] + dh, dc)
            for total, g in zip(grads, step_grads):
                total += g
        self.dh = dh
        return dxs, grads


def _embed_backward(w: NDArray, ids: NDArray, dout: NDArray) -> NDArray:
    dw = np.zeros_like(w)
    for t in range(ids.shape[1]):
        np.add.at(dw, ids[:, t], dout[:, t])
    return dw


def _softmax(x: NDArray) -> NDArray:
    x = x - x.max(axis=1, keepdims=True)
    x = np.exp(x)
    return x / x.sum(axis=1, keepdims=True)


def _time_softmax_loss(scores: NDArray, ts: NDArray) -> tuple[float, NDArray]:
    n, steps, v = scores.shape
    ys = _softmax(scores.reshape(n * steps, v))
    flat = ts.reshape(-1)
    loss = -np.log(ys[np.arange(n * steps), flat]).sum() / (n * steps)
    dx = ys
    dx[np.arange(n * steps), flat] -= 1
    return float(loss), (dx / (n * steps)).reshape(n, steps, v)


def _attention_step(hs: NDArray, h: NDArray) -> tuple[NDArray, tuple[NDArray, NDArray, NDArray]]:
    """``AttentionWeight`` + ``WeightSum``: the context of one decoder state ``h``."""
    n, steps, hidden = hs.shape
    a = _softmax(np.sum(hs * h.reshape(n, 1, hidden), axis=2))
    return np.sum(hs * a.reshape(n, steps, 1), axis=1), (hs, h, a)


def _attention_step_backward(cache: tuple[NDArray, NDArray, NDArray], dc: NDArray) -> tuple[NDArray, NDArray]:
    hs, h, a = cache
    n, steps, hidden = hs.shape
    dt = dc.reshape(n, 1, hidden).repeat(steps, axis=1)
    da = np.sum(dt * hs, axis=2)
    dhs = dt * a.reshape(n, steps, 1)
    ds = a * da
    ds -= a * ds.sum(axis=1, keepdims=True)
    dt = ds.reshape(n, steps, 1).repeat(hidden, axis=2)
    dhs += dt * h.reshape(n, 1, hidden)
    return dhs, np.sum(dt * hs, axis=1)


class BookSeq2seq:
    """The book's ``Seq2seq`` or ``AttentionSeq2seq`` (``attention=True``) for training steps.

    ``params`` is the flat list ``[enc embed, enc Wx, Wh, b, dec embed, dec Wx, Wh, b, affine W, b]``.
    """

    def __init__(self, params: list[NDArray], attention: bool, lr: float = LR) -> None:
        self.params, self.attention, self.lr = params, attention, lr

    def loss_and_grads(self, xs: NDArray, ts: NDArray) -> tuple[float, list[NDArray]]:
        """``Seq2seq.forward`` then ``backward``: the loss and every parameter's gradient."""
        p = self.params
        decoder_xs, decoder_ts = ts[:, :-1], ts[:, 1:]
        n = xs.shape[0]
        hidden = p[2].shape[0]
        encoder = _TimeLSTM(p[1], p[2], p[3])
        enc_hs = encoder.forward(p[0][xs], np.zeros((n, hidden), np.float32))
        decoder = _TimeLSTM(p[5], p[6], p[7])
        dec_hs = decoder.forward(p[4][decoder_xs], enc_hs[:, -1])
        if self.attention:
            steps = [_attention_step(enc_hs, dec_hs[:, t]) for t in range(dec_hs.shape[1])]
            out = np.concatenate((np.stack([c for c, _ in steps], axis=1), dec_hs), axis=2)
        else:
            out = dec_hs
        n, t_dec, width = out.shape
        scores = (out.reshape(n * t_dec, width) @ p[8] + p[9]).reshape(n, t_dec, -1)
        loss, dscores = _time_softmax_loss(scores, decoder_ts)
        flat = dscores.reshape(n * t_dec, -1)
        d_affine = [out.reshape(n * t_dec, width).T @ flat, flat.sum(axis=0)]
        dout = (flat @ p[8].T).reshape(n, t_dec, width)
        denc_hs = np.zeros_like(enc_hs)
        if self.attention:
            dc, ddec_hs = dout[:, :, :hidden], dout[:, :, hidden:].copy()
            for t, (_, cache) in enumerate(steps):
                dhs, dh = _attention_step_backward(cache, dc[:, t])
                denc_hs += dhs
                ddec_hs[:, t] += dh
        else:
            ddec_hs = dout
        ddec_xs, d_dec_lstm = decoder.backward(ddec_hs)
        denc_hs[:, -1] += decoder.dh
        denc_xs, d_enc_lstm = encoder.backward(denc_hs)
        grads = [
            _embed_backward(p[0], xs, denc_xs), *d_enc_lstm,
            _embed_backward(p[4], decoder_xs, ddec_xs), *d_dec_lstm, *d_affine,
        ]
        return loss, grads

    def step(self, xs: NDArray, ts: NDArray) -> float:
        loss, grads = self.loss_and_grads(xs, ts)
        for param, grad in zip(self.params, grads):
            param -= self.lr * grad
        return loss


def book_params(model: fnn.Graph, params: Any) -> list[NDArray]:
    """fnn's params of a seq2seq or attention model as the book's flat list (copies)."""
    enc, dec = params["encoder"], params["decoder"]
    arrays = [
        enc["embed"].w, enc["lstm"].wx, enc["lstm"].wh, enc["lstm"].b,
        dec["embed"].w, dec["lstm"].wx, dec["lstm"].wh, dec["lstm"].b,
        dec["affine"].w, dec["affine"].b,
    ]
    return [np.array(fnn.to_numpy(a)) for a in arrays]


def fnn_step(model: fnn.Graph, lr: float = LR) -> Callable[[Any, NDArray, NDArray], tuple[float, Any]]:
    """One fnn training step: forward, loss, hand-derived backward, SGD update with rate ``lr``."""
    loss = fnn.losses.time_softmax_cross_entropy

    def step(params: Any, xs: NDArray, ts: NDArray) -> tuple[float, Any]:
        decoder_input, target = dlfs.teacher_forcing(ts)
        logits, residuals = model.forward(params, (xs, decoder_input))
        value, dlogits = loss.value_and_grad(logits, target)
        grads = model.param_grad(params, residuals, dlogits)
        return float(value), fnn.tree.map(lambda p, g: p - lr * g, params, grads)

    return step


def workload(
    attention: bool,
    vocab: int,
    question: int,
    answer: int,
    wordvec: int,
    hidden: int,
    batch: int,
    seed: int = 0,
) -> tuple[fnn.Graph, Any, NDArray, NDArray]:
    """The model, float32 params and one batch of random ids."""
    build = dlfs.attention_seq2seq if attention else dlfs.seq2seq
    model = build(vocab, wordvec, hidden)
    params = model.init(fnn.random.key(seed), ((question,), (answer - 1,)), fnn.backend("numpy", "float32"))
    rng = np.random.default_rng(seed)
    return model, params, rng.integers(0, vocab, (batch, question)), rng.integers(0, vocab, (batch, answer))


def _time(fn: Callable[[], Any], repeats: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> dict[str, tuple[float, float]]:
    """Time one training step of each workload (best of a few) and print fnn's speed-up."""
    results = {}
    for name, attention, sizes in (
        ("seq2seq (addition)", False, (13, 7, 5, 16, 128, 128)),
        ("attention (dates)", True, (59, 29, 11, 16, 256, 128)),
    ):
        model, params, xs, ts = workload(attention, *sizes)
        book = BookSeq2seq(book_params(model, params), attention)
        step = fnn_step(model)
        fnn_s = _time(lambda: step(params, xs, ts), 10)
        book_s = _time(lambda: book.step(xs, ts), 10)
        results[name] = (fnn_s, book_s)
        times = f"fnn {fnn_s * 1e3:.1f} ms, book-style {book_s * 1e3:.1f} ms"
        print(f"{name:>20}: {times}, {book_s / fnn_s:.2f}x")
    return results


if __name__ == "__main__":
    main()
