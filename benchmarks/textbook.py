"""A textbook object-layer NumPy implementation, in the style of *Deep Learning from Scratch*.

Written here (not imported from the book) as the baseline the issue names: layer
objects whose ``forward`` stores what ``backward`` needs on ``self``, gradients left
on the layer (``layer.dW``), a network that chains them, and an SGD object that
updates the parameter arrays in place. Convolution and pooling use the book's
``im2col``/``col2im``, which loop over the kernel offsets and copy a slab per offset.

Faithful to the book's algorithms except:

- arrays follow the input's dtype (the book's ``np.zeros`` buffers are float64, which
  would silently make its float32 networks compute in float64);
- there is a ``Tanh`` layer (the book has none; it is written like ``Sigmoid``);
- :class:`Adam` uses the paper's update ``m̂ / (√v̂ + ε)`` (as fnn and PyTorch do); the
  book folds the bias corrections into the learning rate, which moves ``ε``.

Like the book, the first layer's ``backward`` computes ``dx`` (nobody uses it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.workloads import CONV_KERNEL, LR, POOL, Workload

__all__ = ["TextbookNet", "Adam", "im2col", "col2im"]

NDArray = np.ndarray[Any, Any]


def im2col(images: NDArray, fh: int, fw: int, stride: int = 1, pad: int = 0) -> NDArray:
    """Images ``(N, C, H, W)`` to a matrix ``(N·OH·OW, C·fh·fw)``, one row per output pixel."""
    n, c, h, w = images.shape
    oh = (h + 2 * pad - fh) // stride + 1
    ow = (w + 2 * pad - fw) // stride + 1
    padded = np.pad(images, [(0, 0), (0, 0), (pad, pad), (pad, pad)], "constant")
    col = np.zeros((n, c, fh, fw, oh, ow), dtype=images.dtype)
    for i in range(fh):
        i_end = i + stride * oh
        for j in range(fw):
            j_end = j + stride * ow
            col[:, :, i, j, :, :] = padded[:, :, i:i_end:stride, j:j_end:stride]
    result: NDArray = col.transpose(0, 4, 5, 1, 2, 3).reshape(n * oh * ow, -1)
    return result


def col2im(col: NDArray, shape: tuple[int, ...], fh: int, fw: int, stride: int = 1, pad: int = 0) -> NDArray:
    """The adjoint of :func:`im2col`: add each row's entries back onto the image they came from."""
    n, c, h, w = shape
    oh = (h + 2 * pad - fh) // stride + 1
    ow = (w + 2 * pad - fw) // stride + 1
    col = col.reshape(n, oh, ow, c, fh, fw).transpose(0, 3, 4, 5, 1, 2)
    images = np.zeros((n, c, h + 2 * pad + stride - 1, w + 2 * pad + stride - 1), dtype=col.dtype)
    for i in range(fh):
        i_end = i + stride * oh
        for j in range(fw):
            j_end = j + stride * ow
            images[:, :, i:i_end:stride, j:j_end:stride] += col[:, :, i, j, :, :]
    result: NDArray = images[:, :, pad : h + pad, pad : w + pad]
    return result


class Relu:
    def __init__(self) -> None:
        self.mask: NDArray | None = None

    def forward(self, x: NDArray) -> NDArray:
        self.mask = x <= 0
        out: NDArray = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout: NDArray) -> NDArray:
        dout[self.mask] = 0  # the book writes into dout
        return dout


class Sigmoid:
    def __init__(self) -> None:
        self.out: NDArray | None = None

    def forward(self, x: NDArray) -> NDArray:
        self.out = 1 / (1 + np.exp(-x))
        return self.out

    def backward(self, dout: NDArray) -> NDArray:
        assert self.out is not None
        dx: NDArray = dout * (1.0 - self.out) * self.out
        return dx


class Tanh:
    def __init__(self) -> None:
        self.out: NDArray | None = None

    def forward(self, x: NDArray) -> NDArray:
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout: NDArray) -> NDArray:
        assert self.out is not None
        dx: NDArray = dout * (1.0 - self.out**2)
        return dx


class Affine:
    def __init__(self, w: NDArray, b: NDArray) -> None:
        self.W, self.b = w, b
        self.x: NDArray | None = None
        self.original_x_shape: tuple[int, ...] = ()
        self.dW: NDArray | None = None
        self.db: NDArray | None = None

    def forward(self, x: NDArray) -> NDArray:
        self.original_x_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        out: NDArray = np.dot(self.x, self.W) + self.b
        return out

    def backward(self, dout: NDArray) -> NDArray:
        assert self.x is not None
        dx: NDArray = np.dot(dout, self.W.T)
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        return dx.reshape(*self.original_x_shape)


def softmax(x: NDArray) -> NDArray:
    x = x - np.max(x, axis=-1, keepdims=True)
    e = np.exp(x)
    result: NDArray = e / np.sum(e, axis=-1, keepdims=True)
    return result


def cross_entropy_error(y: NDArray, t: NDArray) -> Any:
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


class SoftmaxWithLoss:
    def __init__(self) -> None:
        self.y: NDArray | None = None
        self.t: NDArray | None = None

    def forward(self, x: NDArray, t: NDArray) -> Any:
        self.t = t
        self.y = softmax(x)
        return cross_entropy_error(self.y, t)

    def backward(self, dout: float = 1) -> NDArray:
        assert self.y is not None and self.t is not None
        batch_size = self.t.shape[0]
        dx = self.y.copy()
        dx[np.arange(batch_size), self.t] -= 1
        result: NDArray = dx / batch_size
        return result


class Convolution:
    def __init__(self, w: NDArray, b: NDArray, stride: int = 1, pad: int = 0) -> None:
        self.W, self.b, self.stride, self.pad = w, b, stride, pad
        self.x: NDArray | None = None
        self.col: NDArray | None = None
        self.col_W: NDArray | None = None
        self.dW: NDArray | None = None
        self.db: NDArray | None = None

    def forward(self, x: NDArray) -> NDArray:
        fn, c, fh, fw = self.W.shape
        n, c, h, w = x.shape
        oh = 1 + (h + 2 * self.pad - fh) // self.stride
        ow = 1 + (w + 2 * self.pad - fw) // self.stride
        col = im2col(x, fh, fw, self.stride, self.pad)
        col_w = self.W.reshape(fn, -1).T
        out = np.dot(col, col_w) + self.b
        self.x, self.col, self.col_W = x, col, col_w
        result: NDArray = out.reshape(n, oh, ow, -1).transpose(0, 3, 1, 2)
        return result

    def backward(self, dout: NDArray) -> NDArray:
        assert self.x is not None and self.col is not None and self.col_W is not None
        fn, c, fh, fw = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, fn)
        self.db = np.sum(dout, axis=0)
        self.dW = np.dot(self.col.T, dout).transpose(1, 0).reshape(fn, c, fh, fw)
        dcol = np.dot(dout, self.col_W.T)
        return col2im(dcol, self.x.shape, fh, fw, self.stride, self.pad)


class Pooling:
    def __init__(self, pool_h: int, pool_w: int, stride: int = 1, pad: int = 0) -> None:
        self.pool_h, self.pool_w, self.stride, self.pad = pool_h, pool_w, stride, pad
        self.x: NDArray | None = None
        self.arg_max: NDArray | None = None

    def forward(self, x: NDArray) -> NDArray:
        n, c, h, w = x.shape
        oh = 1 + (h - self.pool_h) // self.stride
        ow = 1 + (w - self.pool_w) // self.stride
        col = im2col(x, self.pool_h, self.pool_w, self.stride, self.pad)
        col = col.reshape(-1, self.pool_h * self.pool_w)
        self.x, self.arg_max = x, np.argmax(col, axis=1)
        out: NDArray = np.max(col, axis=1).reshape(n, oh, ow, c).transpose(0, 3, 1, 2)
        return out

    def backward(self, dout: NDArray) -> NDArray:
        assert self.x is not None and self.arg_max is not None
        dout = dout.transpose(0, 2, 3, 1)
        pool_size = self.pool_h * self.pool_w
        dmax = np.zeros((dout.size, pool_size), dtype=dout.dtype)
        dmax[np.arange(self.arg_max.size), self.arg_max.flatten()] = dout.flatten()
        dmax = dmax.reshape(dout.shape + (pool_size,))
        dcol = dmax.reshape(dmax.shape[0] * dmax.shape[1] * dmax.shape[2], -1)
        return col2im(dcol, self.x.shape, self.pool_h, self.pool_w, self.stride, self.pad)


_ACTIVATIONS: dict[str, type[Relu] | type[Sigmoid] | type[Tanh]] = {
    "relu": Relu,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
}


class TextbookNet:
    """The book's multi-layer net (or SimpleConvNet): a list of layers and a SoftmaxWithLoss.

    ``params`` is the canonical flat list; the layers hold the very same arrays, so the
    SGD object's in-place updates reach them (as in the book's ``params`` dict).
    """

    def __init__(self, w: Workload, params: list[NDArray]) -> None:
        self.params = [p.copy() for p in params]
        p = self.params
        self.layers: list[Any] = []
        if w.kind == "cnn":
            self.layers = [
                Convolution(p[0], p[1]),
                Relu(),
                Pooling(POOL, POOL, stride=POOL),
                Affine(p[2], p[3]),
                Relu(),
                Affine(p[4], p[5]),
            ]
            assert p[0].shape[-1] == CONV_KERNEL
        else:
            n_affine = len(p) // 2
            for i in range(n_affine):
                self.layers.append(Affine(p[2 * i], p[2 * i + 1]))
                if i < n_affine - 1:
                    self.layers.append(_ACTIVATIONS[w.activations[i]]())
        self.last_layer = SoftmaxWithLoss()
        self.optimizer = SGD(LR)

    def predict(self, x: NDArray) -> NDArray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def loss(self, x: NDArray, t: NDArray) -> Any:
        return self.last_layer.forward(self.predict(x), t)

    def gradient(self, x: NDArray, t: NDArray) -> tuple[Any, list[NDArray]]:
        loss = self.loss(x, t)
        dout = self.last_layer.backward(1)
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        grads = []
        for layer in self.layers:
            if isinstance(layer, (Affine, Convolution)):
                assert layer.dW is not None and layer.db is not None
                grads += [layer.dW, layer.db]
        return loss, grads

    def step(self, x: NDArray, t: NDArray) -> Any:
        """One SGD step; returns the loss before it."""
        loss, grads = self.gradient(x, t)
        self.optimizer.update(self.params, grads)
        return loss


class SGD:
    def __init__(self, lr: float = 0.01) -> None:
        self.lr = lr

    def update(self, params: list[NDArray], grads: list[NDArray]) -> None:
        for p, g in zip(params, grads):
            p -= self.lr * g


class Adam:
    """Adam with its moments on ``self``, updating the params in place (Kingma & Ba's Algorithm 1)."""

    def __init__(
        self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ) -> None:
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.iter = 0
        self.m: list[NDArray] | None = None
        self.v: list[NDArray] | None = None

    def update(self, params: list[NDArray], grads: list[NDArray]) -> None:
        if self.m is None or self.v is None:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        self.iter += 1
        c1 = 1.0 - self.beta1**self.iter
        c2 = 1.0 - self.beta2**self.iter
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m += (1 - self.beta1) * (g - m)
            v += (1 - self.beta2) * (g**2 - v)
            p -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)
