"""The course's activation functions as plain array functions, with their derivatives.

Every function works on NumPy and CuPy arrays alike, of any shape including 0-d,
and on Python and NumPy scalars (computed in float64); it keeps a float input's
dtype and never warns on overflow. The last-axis functions (softmax and its kin)
take a scalar as a vector of one element, and integer input as float64. The
``*_grad`` functions give the vector-Jacobian product ``dx`` from ``dy`` and what
the forward pass keeps (``x`` or ``y``).

>>> import numpy as np
>>> softmax(np.array([0.3, 2.9, 4.0])).round(8)
array([0.01821127, 0.24519181, 0.73659691])
>>> sigmoid(np.array([-1.0, 1.0, 2.0])).round(8)
array([0.26894142, 0.73105858, 0.88079708])
"""

from __future__ import annotations

from fnn.backend import accumulation_dtype, array_module, last_axis_max, overflow_expected
from fnn.typing import Array

__all__ = [
    "identity",
    "step",
    "sigmoid",
    "sigmoid_grad",
    "tanh",
    "tanh_grad",
    "relu",
    "relu_grad",
    "leaky_relu",
    "leaky_relu_grad",
    "elu",
    "elu_grad",
    "softmax",
    "softmax_grad",
    "log_softmax",
    "log_softmax_grad",
    "logsumexp",
]


def identity(x: Array) -> Array:
    """``y = x``."""
    return x


def step(x: Array) -> Array:
    """The perceptron's step function: ``y = 1 if x > 0 else 0`` (in ``x``'s dtype)."""
    x = array_module(x).asarray(x)
    return (x > 0).astype(x.dtype)


def sigmoid(x: Array) -> Array:
    """``σ(x) = 1 / (1 + e⁻ˣ)``.

    For very negative ``x`` (below about −88 in float32), ``e⁻ˣ`` overflows to
    infinity and ``σ(x)`` is exactly 0, as it should be; that overflow is expected
    and not warned about. Elsewhere the result is accurate to a few units in the
    last place, relative to ``σ(x)`` itself (so ``σ(−20) ≈ 2.06e-9`` keeps its digits).
    """
    return sigmoid_into(x, None)


def sigmoid_into(x: Array, out: Array | None) -> Array:
    """:func:`sigmoid` into ``out``: ``None`` for a fresh array, ``x`` itself (a float array) for in place.

    ``−x``, ``e⁻ˣ``, ``+1`` and the reciprocal are computed in one array, so the values
    are those of ``1 / (1 + exp(−x))`` bit for bit.
    """
    xp = array_module(x)
    with overflow_expected():
        if out is not None or _float_array_kind(x):
            e: Array = xp.negative(x, out=out)
            xp.exp(e, out=e)
        else:  # a scalar (a NumPy scalar results), or integers (float64 in `exp`)
            e = xp.exp(-x)
    e += 1
    # In place for arrays; a scalar input (0-d or a Python float) gives a NumPy scalar, which has no buffer.
    y: Array = xp.reciprocal(e, out=e if e.ndim else None)
    return y


def _float_array_kind(x: Array) -> bool:
    """Whether ``x`` is an array (not a scalar) of a float dtype."""
    return getattr(x, "ndim", 0) > 0 and x.dtype.kind == "f"


def sigmoid_grad(y: Array, dy: Array) -> Array:
    """``dx = dy · σ(x)(1 − σ(x)) = dy · y(1 − y)``."""
    dx: Array = dy * y
    if _float_array_kind(dx):
        dx *= 1 - y  # (dy · y) · (1 − y), in the array just made
    else:  # a scalar, or integers (booleans would not take `1 − y` in place)
        dx = dx * (1 - y)
    return dx


def tanh(x: Array) -> Array:
    """``tanh(x) = (eˣ − e⁻ˣ) / (eˣ + e⁻ˣ)``."""
    y: Array = array_module(x).tanh(x)
    return y


def tanh_grad(y: Array, dy: Array) -> Array:
    """``dx = dy · (1 − tanh²(x)) = dy · (1 − y²)``."""
    slope: Array = y * y
    if _float_array_kind(slope):
        array_module(y).subtract(1, slope, out=slope)  # 1 − y², in the array just made
    else:
        slope = 1 - slope
    dx: Array = dy * slope
    return dx


def relu(x: Array) -> Array:
    """``y = max(x, 0)``."""
    return relu_into(x, None)


_ZERO_ROW_LIMIT = 1 << 14
"""The longest row of zeros :func:`relu_into` compares with (64 KB in float32)."""

_SMALL = 1 << 13
"""Below this many elements :func:`relu_into` takes the scalar ``maximum``: choosing rows costs more."""


def _zero_row_length(shape: tuple[int, ...]) -> int:
    """The row length ``L`` for viewing a C-contiguous array of ``shape`` as ``(-1, L)`` rows.

    The product of the trailing axes while it stays within :data:`_ZERO_ROW_LIMIT`, times
    the largest part of the next axis that keeps it there (a divisor, found among the
    next 16 counts of parts): longer rows run faster, up to about 8,192 elements.
    """
    row = 1
    for axis in reversed(shape):
        if row * axis <= _ZERO_ROW_LIMIT:
            row *= axis
            continue
        fewest = -(-row * axis // _ZERO_ROW_LIMIT)  # parts of this axis that could fit
        for parts in range(fewest, min(axis, fewest + 16) + 1):
            if axis % parts == 0:
                return row * (axis // parts)
        return row
    return row


def relu_into(x: Array, out: Array | None) -> Array:
    """``max(x, 0)`` into ``out``: ``None`` for a fresh array, ``x`` itself for in place.

    The same values as ``maximum(x, 0)``, NaN and signed zeros included, but faster on a
    C-contiguous float array: NumPy's ``maximum`` against a scalar runs a loop several
    times slower than against an array, so an array of :data:`_SMALL` elements or more is
    viewed as rows of up to :data:`_ZERO_ROW_LIMIT` (:func:`_zero_row_length`) and
    compared with one row of zeros (float32 256×1024: 84 → 28 µs; 1000×50: 16 → 6 µs;
    100×30×24×24: 548 → 166 µs).
    """
    xp = array_module(x)
    plain = type(x) is xp.ndarray  # not a Python scalar, nor a subclass (a masked array keeps its mask)
    if not (plain and x.flags.c_contiguous and x.dtype.kind == "f" and x.size >= _SMALL and x.ndim > 0) or (
        out is not None and out is not x
    ):
        y: Array = xp.maximum(x, 0, out=out)
        return y
    row = _zero_row_length(x.shape)
    if row < min(x.size, 256):  # many short rows (a prime length, say): the scalar loop is faster
        y = xp.maximum(x, 0, out=out)
        return y
    y = xp.empty_like(x) if out is None else out
    xp.maximum(x.reshape(-1, row), xp.zeros(row, x.dtype), out=y.reshape(-1, row))
    return y


def relu_grad(y: Array, dy: Array) -> Array:
    """``dx = dy · [y > 0]`` (the subgradient 0 is taken at ``x = 0``)."""
    return dy * (y > 0)


def leaky_relu(x: Array, alpha: float) -> Array:
    """``y = x if x > 0 else αx``."""
    y: Array = array_module(x).where(x > 0, x, x * alpha)
    return y


def leaky_relu_grad(x: Array, dy: Array, alpha: float) -> Array:
    """``dx = dy if x > 0 else α·dy``."""
    dx: Array = array_module(x).where(x > 0, dy, dy * alpha)
    return dx


def elu(x: Array, alpha: float) -> Array:
    """``y = x if x > 0 else α(eˣ − 1)`` (``expm1`` of ``min(x, 0)``, so no overflow)."""
    xp = array_module(x)
    y: Array = xp.where(x > 0, x, alpha * xp.expm1(xp.minimum(x, 0)))
    return y


def elu_grad(y: Array, dy: Array, alpha: float) -> Array:
    """``dx = dy if x > 0 else dy · αeˣ = dy · (y + α)``; for ``α > 0``, ``y > 0 ⇔ x > 0``."""
    dx: Array = array_module(y).where(y > 0, dy, dy * (y + alpha))
    return dx


def _float_array(x: Array) -> Array:
    """``x`` as an array of a float dtype: integer and boolean input (and Python numbers) become float64.

    The last-axis functions cast their result back to the input's dtype, which for
    integers would truncate ``softmax([1, 2, 3])`` to zeros.
    """
    xp = array_module(x)
    x = xp.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(xp.float64)
    return x


def _accumulated(x: Array) -> Array:
    """``x`` in its accumulation dtype (float16 → float32; others unchanged, no copy)."""
    up: Array = x.astype(accumulation_dtype(x.dtype), copy=False)
    return up


def logsumexp(x: Array) -> Array:
    """``log Σⱼ exp(xⱼ)`` over the last axis (kept), with the maximum subtracted first.

    float16 input is summed in float32; the result has ``x``'s dtype.
    """
    xp = array_module(x)
    x = _float_array(x)
    z = _accumulated(x)
    m = last_axis_max(z)
    out: Array = m + xp.log(xp.exp(z - m).sum(axis=-1, keepdims=True))
    return out.astype(x.dtype, copy=False)


def softmax(x: Array) -> Array:
    """``yᵢ = exp(xᵢ − m) / Σⱼ exp(xⱼ − m)`` over the last axis, ``m = maxⱼ xⱼ`` (no overflow).

    float16 input is exponentiated and summed in float32; the result has ``x``'s dtype.
    """
    xp = array_module(x)
    x = _float_array(x)
    z = _accumulated(x)
    e: Array = xp.exp(z - last_axis_max(z))
    e /= e.sum(axis=-1, keepdims=True)
    return e.astype(x.dtype, copy=False)


def softmax_grad(y: Array, dy: Array) -> Array:
    """``dx = y ⊙ (dy − Σⱼ dyⱼ yⱼ)``, from ``∂yᵢ/∂xⱼ = yᵢ(δᵢⱼ − yⱼ)``."""
    dx: Array = y * (dy - array_module(y).sum(dy * y, axis=-1, keepdims=True))
    return dx


def log_softmax(x: Array) -> Array:
    """``yᵢ = xᵢ − log Σⱼ exp(xⱼ)`` over the last axis (max-subtracted; float16 summed in float32)."""
    x = _float_array(x)
    z = _accumulated(x)
    y: Array = (z - logsumexp(z)).astype(x.dtype, copy=False)
    return y


def log_softmax_grad(y: Array, dy: Array) -> Array:
    """``dx = dy − softmax(x) Σⱼ dyⱼ``, from ``∂yᵢ/∂xⱼ = δᵢⱼ − softmax(x)ⱼ``; ``softmax = eʸ``."""
    xp = array_module(y)
    dx: Array = dy - xp.exp(y) * xp.sum(dy, axis=-1, keepdims=True)
    return dx
