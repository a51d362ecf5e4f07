"""The convolutional networks of "Deep Learning from Scratch" and their published weights.

:func:`simple_convnet` (ch. 7) and :func:`deep_convnet` (ch. 8) build the book's
architectures from fnn layers; :func:`simple_convnet_params` and
:func:`deep_convnet_params` turn the book's weight dicts (``W1``, ``b1``, …, as in
``simple_convnet_params.pkl`` and ``deep_convnet_params.pkl``) into fnn params for them.

The book's conventions match fnn's, so the arrays are used as they are: NCHW images
in ``[0, 1]``, OIHW kernels applied as cross-correlation (no flip), C-order flatten over
``(C, H, W)`` before the first affine layer, affine weights ``(in, out)``.

**Dropout.** The book's dropout is *non-inverted*: in training it zeroes units without
rescaling, and at test time it multiplies every unit by ``1 − ratio = 0.5``. fnn's
:class:`~fnn.Dropout` is inverted (kept units are scaled by ``1/(1 − rate)`` in
training), so its inference is the identity, and the book's test-time factors must
be folded into the weights to reproduce the book's test-time network. DeepConvNet
ends ``h → dropout → affine(W8, b8) → dropout``, so at test time the book computes
``0.5·((0.5·h) W8 + b8) = h (0.25·W8) + 0.5·b8``. :func:`deep_convnet_params`
therefore stores ``W8' = 0.25·W8`` and ``b8' = 0.5·b8``: fnn's inference logits then
equal the book's test-time logits exactly (up to rounding), not just their argmax.
(The factors are exactly ``0.5`` and ``0.25``, powers of two, so in binary floating
point the folded product is bit-for-bit the book's multiplication order up to the
order of the additions inside the matrix product.)

Fine-tuning the converted DeepConvNet with fnn's inverted dropout is consistent with
these folded weights: training-time expectations equal inference outputs.

>>> import fnn
>>> model = simple_convnet()
>>> model.out_shape((1, 28, 28))
(10,)
>>> deep_convnet().out_shape((1, 28, 28))
(10,)
"""

from __future__ import annotations

from typing import Any, Mapping

from fnn.backend import Backend, resolve
from fnn.errors import ShapeError
from fnn.layers.activations import relu
from fnn.layers.conv import Conv2D, Conv2DParams
from fnn.layers.core import Layer
from fnn.layers.dense import Dense, DenseParams
from fnn.layers.dropout import Dropout
from fnn.layers.pooling import MaxPool2D
from fnn.layers.reshape import Flatten
from fnn.layers.sequential import Sequential, sequential
from fnn.typing import Array

__all__ = [
    "BOOK_DROPOUT_RATIO",
    "simple_convnet",
    "deep_convnet",
    "simple_convnet_params",
    "deep_convnet_params",
]

BOOK_DROPOUT_RATIO = 0.5
"""The book's dropout ratio in DeepConvNet (the probability of dropping a unit)."""

_DEEP_CONV = ((16, 1), (16, 1), (32, 1), (32, 2), (64, 1), (64, 1))
"""``(filters, padding)`` of DeepConvNet's six 3x3 convolutions."""


def simple_convnet(
    filters: int = 30, kernel_size: int = 5, hidden: int = 100, classes: int = 10
) -> Sequential:
    """The book's SimpleConvNet: conv - ReLU - maxpool 2x2 - flatten - affine - ReLU - affine.

    Outputs logits (the book's ``predict``; its softmax lives in the loss).
    Layer indices: 0 conv, 1 ReLU, 2 pool, 3 flatten, 4 affine, 5 ReLU, 6 affine.
    The book initializes with ``normal(0.01)``; fnn's defaults (He for the conv, Glorot
    for the affine layers) train faster.

    >>> simple_convnet().out_shape((1, 28, 28))
    (10,)
    """
    return sequential(
        Conv2D(filters, kernel_size), relu, MaxPool2D(2), Flatten(), Dense(hidden), relu, Dense(classes)
    )


def deep_convnet(hidden: int = 50, classes: int = 10, dropout: float = BOOK_DROPOUT_RATIO) -> Sequential:
    """The book's DeepConvNet (ch. 8): six 3x3 convolutions with ReLU, three max pools, two affine layers.

    ``conv16 - conv16 - pool - conv32 - conv32(pad 2) - pool - conv64 - conv64 - pool -
    flatten - affine 50 - ReLU - dropout - affine 10 - dropout``, every convolution
    followed by ReLU; outputs logits. Dropout is fnn's inverted dropout (see the module
    docstring for loading the book's weights). Convolutions use He initialization, as
    the book does.

    >>> len(deep_convnet().layers)
    21
    """
    layers: list[Layer[Any]] = []
    for i, (filters, padding) in enumerate(_DEEP_CONV):
        layers += [Conv2D(filters, 3, padding=padding), relu]
        if i % 2 == 1:
            layers.append(MaxPool2D(2))
    layers += [Flatten(), Dense(hidden), relu, Dropout(dropout), Dense(classes), Dropout(dropout)]
    return sequential(*layers)


def _take(weights: Mapping[str, Any], name: str, shape: tuple[int, ...] | None, b: Backend) -> Array:
    """``weights[name]`` on ``b``, refused unless its shape is ``shape`` (``-1`` matches any size)."""
    if name not in weights:
        raise ShapeError(f"book weights: `{name}` is missing; got keys {sorted(weights)}")
    value = b.asarray(weights[name])
    got = tuple(value.shape)
    if shape is not None and (len(got) != len(shape) or any(e not in (-1, s) for e, s in zip(shape, got))):
        sizes = ["?" if e == -1 else str(e) for e in shape]
        expected = "(" + ", ".join(sizes) + ("," if len(sizes) == 1 else "") + ")"
        transposed = len(got) == 2 and len(shape) == 2 and all(e in (-1, s) for e, s in zip(shape, got[::-1]))
        raise ShapeError(
            f"book weights: `{name}` has shape {got}, expected {expected}"
            + ("; it looks transposed: pass its .T (affine weights are (in, out))" if transposed else "")
        )
    return value


def _affine(weights: Mapping[str, Any], w: str, bias: str, rows: int, b: Backend) -> tuple[Array, Array]:
    """An affine layer's ``(w, bias)``: ``bias`` ``(F,)`` and ``w`` ``(rows, F)`` (``rows`` may be -1)."""
    b_value = _take(weights, bias, (-1,), b)
    return _take(weights, w, (rows, b_value.shape[0]), b), b_value


def simple_convnet_params(weights: Mapping[str, Any], backend: Backend | None = None) -> tuple[Any, ...]:
    """fnn params of :func:`simple_convnet` from the book's ``W1, b1, W2, b2, W3, b3``.

    Args:
        weights: The book's dict (``simple_convnet_params.pkl``): ``W1 (30, 1, 5, 5)``,
            ``W2 (4320, 100)``, ``W3 (100, 10)`` and their biases. Affine weights are
            ``(in, out)``, checked against their biases and each other.
        backend: Where and in which dtype to put them (default: the default backend;
            ``fnn.backend(dtype="float64")`` keeps the book's float64).

    Raises:
        ShapeError: a key is missing or an array has a shape the network cannot use (a
            transposed affine weight, ``W2`` of shape ``(100, 4320)``, says so).
    """
    b = resolve(backend)
    w1 = _take(weights, "W1", (-1, -1, -1, -1), b)
    w2, b2 = _affine(weights, "W2", "b2", -1, b)
    return (
        Conv2DParams(w1, _take(weights, "b1", (w1.shape[0],), b)),
        None,
        None,
        None,
        DenseParams(w2, b2),
        None,
        DenseParams(*_affine(weights, "W3", "b3", w2.shape[1], b)),
    )


def deep_convnet_params(weights: Mapping[str, Any], backend: Backend | None = None) -> tuple[Any, ...]:
    """fnn params of :func:`deep_convnet` from the book's ``W1..W8, b1..b8``.

    The book's test-time dropout scaling is folded into the last affine layer:
    ``W8' = 0.25·W8``, ``b8' = 0.5·b8`` (derivation in the module docstring), so that
    ``model.apply(params, x)`` gives the book's test-time logits.

    Args:
        weights: The book's dict (``deep_convnet_params.pkl``).
        backend: Where and in which dtype to put them.

    Raises:
        ShapeError: a key is missing or an array has the wrong shape (a transposed
            affine weight, ``W8`` of shape ``(10, 50)``, says so).
    """
    b = resolve(backend)
    params: list[Any] = []
    in_channels = 1
    for i, (filters, _) in enumerate(_DEEP_CONV, start=1):
        w = _take(weights, f"W{i}", (filters, in_channels, 3, 3), b)
        params += [Conv2DParams(w, _take(weights, f"b{i}", (filters,), b)), None]
        if i % 2 == 0:
            params.append(None)
        in_channels = filters
    keep = 1 - BOOK_DROPOUT_RATIO
    w7, b7 = _affine(weights, "W7", "b7", -1, b)
    w8, b8 = _affine(weights, "W8", "b8", w7.shape[1], b)
    params += [None, DenseParams(w7, b7), None, None, DenseParams(w8 * (keep * keep), b8 * keep), None]
    return tuple(params)
