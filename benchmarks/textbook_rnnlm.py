"""The chapter 6 LSTM language model in the object-layer NumPy style of *Deep Learning from Scratch 2*.

Written here from the book's equations (not imported from it) as the baseline the
issue names: ``TimeEmbedding`` and ``TimeLSTM`` run one small node object per time step
(``Embedding``, ``LSTM``) and keep them in a list for the backward pass, the LSTM node
computes its own ``x Wx + h Wh + b`` each step, the carried ``(h, c)`` lives on the
``TimeLSTM`` object (stateful), gradients are left on each layer's ``grads`` list and
summed over steps there, and an SGD object updates the parameter arrays in place
after the book's ``clip_grads``. :func:`eval_perplexity` gathers each window element
by element, as the book's evaluation does.

Faithful to the book's algorithms except that the trainer's ``remove_duplicate`` is
left out (this model shares no weights, so it would only compare six arrays).

Parameters are the canonical list of :mod:`benchmarks.rnnlm`, the book's
``Rnnlm.params`` order: ``[embed W (V, D), Wx (D, 4H), Wh (H, 4H), b (4H,), affine W
(H, V), affine b (V,)]`` with the gate blocks ordered f, g, i, o.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["Rnnlm", "SGD", "clip_grads", "eval_perplexity"]

NDArray = np.ndarray[Any, Any]


def sigmoid(x: NDArray) -> NDArray:
    out: NDArray = 1 / (1 + np.exp(-x))
    return out


class Embedding:
    """One step's lookup ``W[ids]``; its gradient scatters ``dout`` into a full-size ``dW``."""

    def __init__(self, w: NDArray) -> None:
        self.params = [w]
        self.grads = [np.zeros_like(w)]
        self.idx: NDArray | None = None

    def forward(self, idx: NDArray) -> NDArray:
        self.idx = idx
        out: NDArray = self.params[0][idx]
        return out

    def backward(self, dout: NDArray) -> None:
        dw = self.grads[0]
        assert self.idx is not None
        dw[...] = 0
        np.add.at(dw, self.idx, dout)


class TimeEmbedding:
    def __init__(self, w: NDArray) -> None:
        self.params = [w]
        self.grads = [np.zeros_like(w)]
        self.layers: list[Embedding] = []

    def forward(self, xs: NDArray) -> NDArray:
        n, steps = xs.shape
        w = self.params[0]
        out = np.empty((n, steps, w.shape[1]), dtype=w.dtype)
        self.layers = []
        for t in range(steps):
            layer = Embedding(w)
            out[:, t, :] = layer.forward(xs[:, t])
            self.layers.append(layer)
        return out

    def backward(self, dout: NDArray) -> None:
        total: Any = 0
        for t, layer in enumerate(self.layers):
            layer.backward(dout[:, t, :])
            total += layer.grads[0]
        self.grads[0][...] = total


class LSTM:
    """One step: ``A = x Wx + h Wh + b`` split f, g, i, o; ``c' = f c + g i``, ``h' = o tanh(c')``."""

    def __init__(self, wx: NDArray, wh: NDArray, b: NDArray) -> None:
        self.params = [wx, wh, b]
        self.grads = [np.zeros_like(wx), np.zeros_like(wh), np.zeros_like(b)]
        self.cache: tuple[NDArray, ...] = ()

    def forward(self, x: NDArray, h_prev: NDArray, c_prev: NDArray) -> tuple[NDArray, NDArray]:
        wx, wh, b = self.params
        hidden = h_prev.shape[1]
        a = np.dot(x, wx) + np.dot(h_prev, wh) + b
        f = sigmoid(a[:, :hidden])
        g = np.tanh(a[:, hidden : 2 * hidden])
        i = sigmoid(a[:, 2 * hidden : 3 * hidden])
        o = sigmoid(a[:, 3 * hidden :])
        c_next = f * c_prev + g * i
        h_next = o * np.tanh(c_next)
        self.cache = (x, h_prev, c_prev, i, f, g, o, c_next)
        return h_next, c_next

    def backward(self, dh_next: NDArray, dc_next: NDArray) -> tuple[NDArray, NDArray, NDArray]:
        wx, wh, _ = self.params
        x, h_prev, c_prev, i, f, g, o, c_next = self.cache
        tanh_c = np.tanh(c_next)
        ds = dc_next + (dh_next * o) * (1 - tanh_c**2)
        dc_prev = ds * f
        df = ds * c_prev * f * (1 - f)
        dg = ds * i * (1 - g**2)
        di = ds * g * i * (1 - i)
        do = dh_next * tanh_c * o * (1 - o)
        da = np.hstack((df, dg, di, do))
        self.grads[0][...] = np.dot(x.T, da)
        self.grads[1][...] = np.dot(h_prev.T, da)
        self.grads[2][...] = da.sum(axis=0)
        return np.dot(da, wx.T), np.dot(da, wh.T), dc_prev


class TimeLSTM:
    def __init__(self, wx: NDArray, wh: NDArray, b: NDArray, stateful: bool = True) -> None:
        self.params = [wx, wh, b]
        self.grads = [np.zeros_like(wx), np.zeros_like(wh), np.zeros_like(b)]
        self.layers: list[LSTM] = []
        self.h: NDArray | None = None
        self.c: NDArray | None = None
        self.stateful = stateful

    def forward(self, xs: NDArray) -> NDArray:
        wx, wh, b = self.params
        n, steps, _ = xs.shape
        hidden = wh.shape[0]
        hs = np.empty((n, steps, hidden), dtype=wx.dtype)
        if not self.stateful or self.h is None:
            self.h = np.zeros((n, hidden), dtype=wx.dtype)
        if not self.stateful or self.c is None:
            self.c = np.zeros((n, hidden), dtype=wx.dtype)
        self.layers = []
        for t in range(steps):
            layer = LSTM(wx, wh, b)
            self.h, self.c = layer.forward(xs[:, t, :], self.h, self.c)
            hs[:, t, :] = self.h
            self.layers.append(layer)
        return hs

    def backward(self, dhs: NDArray) -> NDArray:
        wx = self.params[0]
        n, steps, _ = dhs.shape
        dxs = np.empty((n, steps, wx.shape[0]), dtype=dhs.dtype)
        dh: Any = 0
        dc: Any = 0
        totals: list[Any] = [0, 0, 0]
        for t in reversed(range(steps)):
            layer = self.layers[t]
            dx, dh, dc = layer.backward(dhs[:, t, :] + dh, dc)
            dxs[:, t, :] = dx
            for k, grad in enumerate(layer.grads):
                totals[k] += grad
        for k, total in enumerate(totals):
            self.grads[k][...] = total
        return dxs

    def reset_state(self) -> None:
        self.h, self.c = None, None


class TimeAffine:
    def __init__(self, w: NDArray, b: NDArray) -> None:
        self.params = [w, b]
        self.grads = [np.zeros_like(w), np.zeros_like(b)]
        self.x: NDArray | None = None

    def forward(self, x: NDArray) -> NDArray:
        n, steps, _ = x.shape
        w, b = self.params
        out: NDArray = np.dot(x.reshape(n * steps, -1), w) + b
        self.x = x
        return out.reshape(n, steps, -1)

    def backward(self, dout: NDArray) -> NDArray:
        assert self.x is not None
        n, steps, _ = self.x.shape
        w = self.params[0]
        dout = dout.reshape(n * steps, -1)
        rx = self.x.reshape(n * steps, -1)
        self.grads[0][...] = np.dot(rx.T, dout)
        self.grads[1][...] = dout.sum(axis=0)
        dx: NDArray = np.dot(dout, w.T)
        return dx.reshape(*self.x.shape)


def softmax(x: NDArray) -> NDArray:
    x = x - x.max(axis=1, keepdims=True)
    x = np.exp(x)
    x /= x.sum(axis=1, keepdims=True)
    return x


class TimeSoftmaxWithLoss:
    """Mean cross entropy over the positions whose label is not ``ignore_label`` (−1)."""

    def __init__(self) -> None:
        self.ignore_label = -1
        self.cache: tuple[Any, ...] = ()

    def forward(self, xs: NDArray, ts: NDArray) -> Any:
        n, steps, vocab = xs.shape
        mask = ts != self.ignore_label
        xs = xs.reshape(n * steps, vocab)
        ts = ts.reshape(n * steps)
        mask = mask.reshape(n * steps)
        ys = softmax(xs)
        ls = np.log(ys[np.arange(n * steps), ts])
        ls *= mask
        loss = -np.sum(ls) / mask.sum()
        self.cache = (ts, ys, mask, (n, steps, vocab))
        return loss

    def backward(self, dout: float = 1) -> NDArray:
        ts, ys, mask, shape = self.cache
        dx = ys.copy()
        dx[np.arange(ts.size), ts] -= 1
        dx *= dout
        dx /= mask.sum()
        dx *= mask[:, np.newaxis]
        out: NDArray = dx.reshape(shape)
        return out


class Rnnlm:
    """Embedding → stateful LSTM → affine → softmax with loss; ``params``, ``grads``: flat lists."""

    def __init__(self, params: list[NDArray]) -> None:
        self.params = [p.copy() for p in params]
        embed_w, wx, wh, b, affine_w, affine_b = self.params
        self.lstm = TimeLSTM(wx, wh, b, stateful=True)
        self.layers: list[Any] = [TimeEmbedding(embed_w), self.lstm, TimeAffine(affine_w, affine_b)]
        self.loss_layer = TimeSoftmaxWithLoss()
        self.grads: list[NDArray] = []
        for layer in self.layers:
            self.grads += layer.grads

    def predict(self, xs: NDArray) -> NDArray:
        for layer in self.layers:
            xs = layer.forward(xs)
        return xs

    def forward(self, xs: NDArray, ts: NDArray) -> Any:
        return self.loss_layer.forward(self.predict(xs), ts)

    def backward(self, dout: float = 1) -> None:
        d: Any = self.loss_layer.backward(dout)
        for layer in reversed(self.layers):
            d = layer.backward(d)

    def reset_state(self) -> None:
        self.lstm.reset_state()


def clip_grads(grads: list[NDArray], max_norm: float) -> None:
    """Scale all gradients in place by ``max_norm / (‖g‖ + 1e-6)`` when that is below 1."""
    total = 0.0
    for grad in grads:
        total += float(np.sum(grad**2))
    rate = max_norm / (math.sqrt(total) + 1e-6)
    if rate < 1:
        for grad in grads:
            grad *= rate


class SGD:
    def __init__(self, lr: float) -> None:
        self.lr = lr

    def update(self, params: list[NDArray], grads: list[NDArray]) -> None:
        for p, g in zip(params, grads):
            p -= self.lr * g


def eval_perplexity(model: Rnnlm, corpus: NDArray, batch_size: int = 10, time_size: int = 35) -> float:
    """``exp`` of the mean window loss, streams at offsets ``i · (C − 1) // N``, state carried."""
    size = len(corpus)
    iters = (size - 1) // (batch_size * time_size)
    jump = (size - 1) // batch_size
    total = 0.0
    model.reset_state()
    for k in range(iters):
        xs = np.zeros((batch_size, time_size), dtype=np.int32)
        ts = np.zeros((batch_size, time_size), dtype=np.int32)
        offsets = [k * time_size + i * jump for i in range(batch_size)]
        for t in range(time_size):
            for i, offset in enumerate(offsets):
                xs[i, t] = corpus[(offset + t) % size]
                ts[i, t] = corpus[(offset + t + 1) % size]
        total += float(model.forward(xs, ts))
    return math.exp(total / iters)
