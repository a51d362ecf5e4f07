"""2-D convolution on NCHW input by im2col: strided windows and one matrix product.

The helpers below are shared with :mod:`fnn.layers.pooling`:

- :func:`sliding_windows` views ``x`` of shape ``(N, C, H, W)`` as its windows,
  ``(N, C, kh, kw, OH, OW)``, without copying (``as_strided`` of the array module);
- :func:`col2im` is its adjoint: it adds gradients of windows back onto the input,
  looping over the ``kh·kw`` kernel offsets (never over pixels), or writing them in
  one strided assignment when the windows do not overlap (stride >= window).

Output sizes: ``OH = (H + 2·ph − kh) // sh + 1`` and ``OW = (W + 2·pw − kw) // sw + 1``.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import attrs

from fnn import initializers, random
from fnn.backend import Backend, array_module, resolve
from fnn.errors import ShapeError
from fnn.layers.core import Layer, check_dtype, check_in_shape, check_ndim
from fnn.typing import Array, Shape

__all__ = ["Conv2D", "Conv2DParams", "sliding_windows", "col2im", "pad2d", "output_size"]

Pair = tuple[int, int]
PairLike = Union[int, Sequence[int]]


def to_pair(value: PairLike) -> Pair:
    """``n`` as ``(n, n)``; a pair as a tuple (validated by :func:`positive_pair`)."""
    if isinstance(value, int):
        return (value, value)
    return tuple(value)  # type: ignore[return-value]


def _pair_validator(minimum: int) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Pair], value: Pair) -> None:
        ok = len(value) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in value
        )
        if not ok:
            raise ValueError(
                f"`{attribute.name}` must be an integer >= {minimum} or a pair of them, got {value!r}"
            )

    return check


positive_pair = _pair_validator(1)
non_negative_pair = _pair_validator(0)


def output_size(size: Pair, kernel: Pair, stride: Pair, padding: Pair) -> Pair:
    """``(OH, OW)`` of windows ``kernel`` moved by ``stride`` over ``size`` padded by ``padding``."""
    return (
        (size[0] + 2 * padding[0] - kernel[0]) // stride[0] + 1,
        (size[1] + 2 * padding[1] - kernel[1]) // stride[1] + 1,
    )


def check_spatial(layer: object, in_shape: Shape, kernel: Pair, padding: Pair) -> Shape:
    """Validate an NCHW ``in_shape`` ``(C, H, W)`` against the window and return it."""
    shape = check_in_shape(layer, in_shape, 3, "expected (channels, height, width)")
    if shape[1] + 2 * padding[0] < kernel[0] or shape[2] + 2 * padding[1] < kernel[1]:
        raise ShapeError(
            f"{layer!r}: the {kernel[0]}x{kernel[1]} window does not fit into inputs of "
            f"height x width {shape[1]}x{shape[2]} padded by {padding}; got in_shape {shape}"
        )
    return shape


def pad2d(x: Array, padding: Pair, value: float = 0.0) -> Array:
    """``x`` ``(N, C, H, W)`` padded on both sides of H and W (``x`` itself when no padding)."""
    if padding == (0, 0):
        return x
    xp = array_module(x)
    ph, pw = padding
    result: Array = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)
    return result


def sliding_windows(x: Array, kernel: Pair, stride: Pair) -> Array:
    """The windows of ``x`` ``(N, C, H, W)`` as a read-only view ``(N, C, kh, kw, OH, OW)``.

    Element ``[n, c, i, j, p, q]`` is ``x[n, c, p·sh + i, q·sw + j]``. No copy is made.

    >>> import fnn
    >>> x = fnn.backend().asarray(range(16)).reshape(1, 1, 4, 4)
    >>> sliding_windows(x, (2, 2), (2, 2))[0, 0, :, :, 1, 1]
    array([[10., 11.],
           [14., 15.]], dtype=float32)
    """
    xp = array_module(x)
    n, c, h, w = x.shape
    oh, ow = output_size((h, w), kernel, stride, (0, 0))
    s0, s1, s2, s3 = x.strides
    view: Array = xp.lib.stride_tricks.as_strided(
        x,
        shape=(n, c, kernel[0], kernel[1], oh, ow),
        strides=(s0, s1, s2, s3, s2 * stride[0], s3 * stride[1]),
    )
    return view


def col2im(dwindows: Array, in_shape: Shape, stride: Pair, padding: Pair) -> Array:
    """The adjoint of :func:`sliding_windows` (after :func:`pad2d`): sum window gradients onto ``x``.

    ``dx[n, c, p·sh + i − ph, q·sw + j − pw] += dwindows[n, c, i, j, p, q]`` for every
    window and offset, then the padding is cropped. The loop runs over the ``kh·kw``
    kernel offsets, each adding one strided slab; when ``stride >= kernel`` no two
    windows share an element, so one strided assignment writes all of them.

    Args:
        dwindows: ``(N, C, kh, kw, OH, OW)``, any strides (broadcast views included).
        in_shape: The unpadded input shape ``(N, C, H, W)``.
        stride: ``(sh, sw)``.
        padding: ``(ph, pw)``.

    Returns:
        ``dx`` of shape ``in_shape`` and the dtype of ``dwindows``.
    """
    xp = array_module(dwindows)
    n, c, kh, kw, oh, ow = dwindows.shape
    sh, sw = stride
    ph, pw = padding
    padded = (n, c, in_shape[2] + 2 * ph, in_shape[3] + 2 * pw)
    dx = xp.zeros(padded, dtype=dwindows.dtype)
    if sh >= kh and sw >= kw:
        s0, s1, s2, s3 = dx.strides
        target = xp.lib.stride_tricks.as_strided(
            dx, shape=dwindows.shape, strides=(s0, s1, s2, s3, s2 * sh, s3 * sw)
        )
        target[...] = dwindows
    else:
        for i in range(kh):
            for j in range(kw):
                dx[:, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw] += dwindows[
                    :, :, i, j
                ]
    result: Array = dx[:, :, ph : ph + in_shape[2], pw : pw + in_shape[3]]
    return result


@attrs.frozen(eq=False)
class Conv2DParams:
    """Parameters of :class:`Conv2D`.

    Attributes:
        w: Kernels, shape ``(filters, in_channels, kh, kw)`` (OIHW, the book's layout).
        b: Bias, shape ``(filters,)``; ``None`` when the layer has no bias.
    """

    w: Array
    b: Optional[Array]


@attrs.frozen(repr=False)
class Conv2D(Layer[Conv2DParams]):
    """2-D cross-correlation of NCHW images with learned kernels (the book's Convolution).

    **Forward**: ``yₙ,f,p,q = Σ_c,i,j Wf,c,i,j · x̃ₙ,c,p·sh+i,q·sw+j + bf`` with ``x̃`` the
    zero-padded input; no kernel flip. Computed by im2col: the windows of ``x̃`` (a
    strided view) are copied once into ``col`` of shape ``(N, C·kh·kw, OH·OW)`` and
    ``yₙ = W colₙ + b`` with ``W`` reshaped to ``(F, C·kh·kw)``: one (batched) matrix
    product, whose ``(N, F, OH·OW)`` result is already NCHW.

    **Backward (VJP)**: ``yₙ`` is linear in ``W`` and in ``colₙ``, so with ``dYₙ`` the
    ``(F, OH·OW)`` matrix of ``dyₙ``: ``dW = Σₙ dYₙ colₙᵀ``, ``db = Σₙ,p,q dy``,
    ``dcolₙ = Wᵀ dYₙ``; and since ``col`` is a linear gather of ``x``, its adjoint
    :func:`col2im` scatter-adds ``dcol`` back onto ``x`` (then crops the padding).

    **Residuals**: ``col`` (so the backward does not gather again) and the input shape.

    **Shapes**: ``x: (N, C, H, W)`` → ``y: (N, F, OH, OW)``,
    ``OH = (H + 2·ph − kh) // sh + 1``, ``OW = (W + 2·pw − kw) // sw + 1``.

    Args:
        filters: ``F``, the number of output channels.
        kernel_size: ``kh`` (and ``kw``) or ``(kh, kw)``.
        stride: ``s`` or ``(sh, sw)`` (default 1).
        padding: Zeros added on each side, ``p`` or ``(ph, pw)`` (default 0).
        use_bias: Whether to add ``b``.
        w_init: Initializer of ``W`` (default He normal, fans ``C·kh·kw`` and ``F·kh·kw``);
            ``b`` starts at zero.

    >>> import fnn
    >>> layer = Conv2D(4, 3, padding=1)
    >>> params = layer.init(fnn.random.key(0), (2, 5, 5))
    >>> params.w.shape
    (4, 2, 3, 3)
    >>> layer.apply(params, fnn.backend().ones((1, 2, 5, 5))).shape
    (1, 4, 5, 5)
    """

    filters: int = attrs.field()
    kernel_size: Pair = attrs.field(converter=to_pair, validator=positive_pair)
    stride: Pair = attrs.field(default=(1, 1), converter=to_pair, validator=positive_pair, kw_only=True)
    padding: Pair = attrs.field(default=(0, 0), converter=to_pair, validator=non_negative_pair, kw_only=True)
    use_bias: bool = attrs.field(default=True, kw_only=True)
    w_init: initializers.Initializer = attrs.field(factory=initializers.he_normal, kw_only=True, repr=False)

    @filters.validator
    def _check_filters(self, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`filters` must be a positive integer, got {value!r}")

    def __repr__(self) -> str:
        extra = "" if self.stride == (1, 1) else f", stride={self.stride}"
        extra += "" if self.padding == (0, 0) else f", padding={self.padding}"
        extra += "" if self.use_bias else ", use_bias=False"
        return f"Conv2D(filters={self.filters}, kernel_size={self.kernel_size}{extra})"

    def init(self, key: random.Key, in_shape: Shape, backend: Backend | None = None) -> Conv2DParams:
        c = check_spatial(self, in_shape, self.kernel_size, self.padding)[0]
        b = resolve(backend)
        w = self.w_init(key, (self.filters, c, *self.kernel_size), b)
        return Conv2DParams(w, b.zeros((self.filters,)) if self.use_bias else None)

    def out_shape(self, in_shape: Shape) -> Shape:
        _, h, w = check_spatial(self, in_shape, self.kernel_size, self.padding)
        return (self.filters, *output_size((h, w), self.kernel_size, self.stride, self.padding))

    def _col(self, params: Conv2DParams, x: Array) -> tuple[Array, Pair]:
        check_ndim(self, x, (params.w.shape[1], -1, -1))
        check_dtype(self, x, params.w.dtype)
        check_spatial(self, x.shape[1:], self.kernel_size, self.padding)
        windows = sliding_windows(pad2d(x, self.padding), self.kernel_size, self.stride)
        n, c, kh, kw, oh, ow = windows.shape
        col: Array = array_module(x).ascontiguousarray(windows).reshape(n, c * kh * kw, oh * ow)
        return col, (oh, ow)

    def _affine(self, params: Conv2DParams, col: Array, size: Pair) -> Array:
        y = params.w.reshape(self.filters, -1) @ col
        if params.b is not None:
            y += params.b[:, None]
        result: Array = y.reshape(col.shape[0], self.filters, *size)
        return result

    def apply(self, params: Conv2DParams, x: Array) -> Array:
        col, size = self._col(params, x)
        return self._affine(params, col, size)

    def forward(self, params: Conv2DParams, x: Array) -> tuple[Array, tuple[Array, Shape]]:
        col, size = self._col(params, x)
        return self._affine(params, col, size), (col, tuple(x.shape))

    def grad(
        self, params: Conv2DParams, residuals: tuple[Array, Shape], dy: Array
    ) -> tuple[Conv2DParams, Array]:
        col, in_shape = residuals
        n, f, oh, ow = dy.shape
        dy3 = dy.reshape(n, f, oh * ow)
        dwindows = (params.w.reshape(f, -1).T @ dy3).reshape(n, in_shape[1], *self.kernel_size, oh, ow)
        dx = col2im(dwindows, in_shape, self.stride, self.padding)
        return self.param_grad(params, residuals, dy), dx

    def param_grad(self, params: Conv2DParams, residuals: tuple[Array, Shape], dy: Array) -> Conv2DParams:
        """``dW`` and ``db`` alone: a first convolution skips ``dcol`` and :func:`col2im`."""
        col, _ = residuals
        n, f, oh, ow = dy.shape
        dw = (dy.reshape(n, f, oh * ow) @ col.transpose(0, 2, 1)).sum(axis=0).reshape(params.w.shape)
        return Conv2DParams(dw, dy.sum(axis=(0, 2, 3)) if params.b is not None else None)
