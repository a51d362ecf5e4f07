"""2-D convolution on NCHW input by im2col: strided windows and one matrix product.

The helpers below are shared with :mod:`fnn.layers.pooling`:

- :func:`sliding_windows` views ``x`` of shape ``(N, C, H, W)`` as its windows,
  ``(N, C, kh, kw, OH, OW)``, without copying (:func:`fnn.backend.as_strided`);
- :func:`col2im` is its adjoint: it adds gradients of windows back onto the input,
  looping over the ``kh·kw`` kernel offsets (never over pixels), or writing them in
  one strided assignment when the windows do not overlap (stride >= window).

Output sizes: ``OH = (H + 2·ph − kh) // sh + 1`` and ``OW = (W + 2·pw − kw) // sw + 1``.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import attrs

from fnn import initializers, random
from fnn.backend import Backend, array_module, as_strided, resolve
from fnn.errors import ShapeError
from fnn.layers.core import Layer, check_dtype, check_in_shape, check_ndim
from fnn.layers.param_checks import check_params
from fnn.typing import Array, Shape

__all__ = ["Conv2D", "Conv2DParams"]  # the im2col helpers below are shared with pooling, not public

Pair = tuple[int, int]
PairLike = Union[int, Sequence[int]]

COL_CHUNK_BYTES = 1 << 22
"""Conv2D builds ``col`` for this many bytes of images at a time (at least one image): 4 MiB
stays in cache while the product reads it. Gathering all 1,000 images of an inference batch
of the SimpleConvNet at once (a 60 MB ``col``) took 23.6 ms against 18.6 ms in chunks."""


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
    """``x`` ``(N, C, H, W)`` padded by ``value`` on both sides of H and W.

    The result is a new C-contiguous array whatever ``x``'s layout (Fortran order, negative
    strides, a slice), except that ``x`` itself comes back when there is nothing to add.
    Filling a preallocated array is also faster than ``pad``: 6.5 against 22 µs for
    ``(100, 1, 28, 28)`` float32, 204 against 476 µs for ``(100, 32, 14, 14)`` padded by 2.
    """
    ph, pw = padding
    if (ph, pw) == (0, 0):
        return x
    xp = array_module(x)
    n, c, h, w = x.shape
    shape = (n, c, h + 2 * ph, w + 2 * pw)
    padded: Array = xp.zeros(shape, x.dtype) if value == 0 else xp.full(shape, value, x.dtype)
    padded[:, :, ph : ph + h, pw : pw + w] = x
    return padded


def sliding_windows(x: Array, kernel: Pair, stride: Pair) -> Array:
    """The windows of ``x`` ``(N, C, H, W)`` as a read-only view ``(N, C, kh, kw, OH, OW)``.

    Element ``[n, c, i, j, p, q]`` is ``x[n, c, p·sh + i, q·sw + j]``. No copy is made.

    >>> import fnn
    >>> x = fnn.backend().asarray(range(16)).reshape(1, 1, 4, 4)
    >>> sliding_windows(x, (2, 2), (2, 2))[0, 0, :, :, 1, 1]
    array([[10., 11.],
           [14., 15.]], dtype=float32)
    """
    n, c, h, w = x.shape
    oh, ow = output_size((h, w), kernel, stride, (0, 0))
    s0, s1, s2, s3 = x.strides
    shape = (n, c, kernel[0], kernel[1], oh, ow)
    return as_strided(x, shape, (s0, s1, s2, s3, s2 * stride[0], s3 * stride[1]))


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
        target = as_strided(dx, dwindows.shape, (s0, s1, s2, s3, s2 * sh, s3 * sw))
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
    zero-padded input; no kernel flip. Computed by im2col: ``colₙ`` of shape
    ``(C·kh·kw + 1, OH·OW)`` is copied once from the :func:`sliding_windows` view of ``x̃``
    (any layout of ``x``), its last row ones, and ``yₙ = [W | b] colₙ`` with ``W`` reshaped to
    ``(F, C·kh·kw)``: one batched product whose ``(N, F, OH·OW)`` result is already NCHW and
    C-contiguous, bias included (no separate pass over the output). Without a bias there
    is no ones row. ``col`` is built for a chunk of the batch at a time
    (:data:`COL_CHUNK_BYTES`), so it stays in cache while the product reads it.

    **Backward (VJP)**: ``yₙ`` is linear in ``[W | b]`` and in ``colₙ``, so with ``dYₙ`` the
    ``(F, OH·OW)`` matrix of ``dyₙ``: ``[dW | db] = Σₙ dYₙ colₙᵀ`` (one batched product; the
    ones row gives ``db = Σₙ,p,q dy``), ``dcolₙ = Wᵀ dYₙ``; ``col`` is a linear gather of ``x̃``,
    so its adjoint scatter-adds ``dcol`` back (then crops the padding). For stride 1 ``dY``
    is first laid on the grid of padded width ``Wp`` (zeros in columns ``q >= OW``): row
    ``(c, i, j)`` of ``dcolₙ`` is then one contiguous run added to ``x̃ₙ,c`` flattened, starting
    at ``i·Wp + j`` (the zero columns carry nothing into the wrap-around), one add per kernel
    offset; other strides use :func:`col2im`. (``dx`` as a full correlation of ``dy`` padded
    by ``k − 1 − p`` with the flipped, channel-transposed kernel gathers ``F·kh·kw`` rows
    instead of scattering ``C·kh·kw``: measured slower unless ``F < C``, so not used.)

    **Residuals**: ``x̃`` (the padded input; ``x`` itself without padding) and the input
    shape; ``col`` is gathered again in the backward pass. Keeping ``col`` instead
    (``kh·kw`` times larger than ``x̃`` for stride 1) measured slower on the SimpleConvNet
    step (0.90 against 0.85 of the old step's time): the larger live set costs more page
    faults than the gather it saves.

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

    holds_no_layers = True
    fresh_output = True

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

    def _check_params(self, params: Conv2DParams, channels: int = -1) -> None:
        """Raise unless ``params`` are this layer's: ``w`` ``(F, C, kh, kw)``, ``b`` ``(F,)`` or ``None``."""
        bias = (self.filters,) if self.use_bias else None
        check_params(self, params, Conv2DParams, w=(self.filters, channels, *self.kernel_size), b=bias)

    def _checked(self, params: Conv2DParams, x: Array) -> Array:
        """The validated input, zero-padded (``x`` itself when there is no padding)."""
        self._check_params(params)
        check_ndim(self, x, (params.w.shape[1], -1, -1))
        check_dtype(self, x, params.w)
        check_spatial(self, x.shape[1:], self.kernel_size, self.padding)
        return pad2d(x, self.padding)

    def _col(self, params: Conv2DParams, xpad: Array) -> Array:
        """``col`` of shape ``(N, C·kh·kw [+ 1], OH·OW)``, gathered in one copy; last row ones with a bias.

        Row ``(c, i, j)`` of ``colₙ`` is the window offset ``(i, j)`` of channel ``c`` over all
        output pixels: ``x̃ₙ,c,p·sh+i,q·sw+j`` at column ``p·OW + q`` (the
        :func:`sliding_windows` view of ``x̃``, any layout, copied).
        """
        xp = array_module(xpad)
        windows = sliding_windows(xpad, self.kernel_size, self.stride)
        n, c, kh, kw, oh, ow = windows.shape
        k = c * kh * kw
        col: Array = xp.empty((n, k + (params.b is not None), oh * ow), dtype=xpad.dtype)
        col[:, :k].reshape(windows.shape)[...] = windows  # splitting axes: always a view of `col`
        if params.b is not None:
            col[:, k] = 1
        return col

    def _kernel_matrix(self, params: Conv2DParams) -> Array:
        """``W`` as ``(F, C·kh·kw)``, with ``b`` as one more column when the layer has a bias."""
        w = params.w.reshape(self.filters, -1)
        if params.b is None:
            return w
        matrix: Array = array_module(w).concatenate([w, params.b[:, None]], axis=1)
        return matrix

    def _batches(self, xpad: Array, size: Pair) -> list[slice]:
        """Slices of the batch whose ``col`` takes about :data:`COL_CHUNK_BYTES` each."""
        rows = xpad.shape[1] * self.kernel_size[0] * self.kernel_size[1] + 1
        step = max(1, COL_CHUNK_BYTES // (rows * size[0] * size[1] * xpad.itemsize))
        return [slice(start, start + step) for start in range(0, xpad.shape[0], step)]

    def _affine(self, params: Conv2DParams, xpad: Array, size: Pair) -> Array:
        """``y = [W | b] col``, chunk by chunk of the batch (see :data:`COL_CHUNK_BYTES`)."""
        xp = array_module(xpad)
        matrix = self._kernel_matrix(params)
        n = xpad.shape[0]
        y: Array = xp.empty((n, self.filters, size[0] * size[1]), dtype=xpad.dtype)
        for batch in self._batches(xpad, size):
            xp.matmul(matrix, self._col(params, xpad[batch]), out=y[batch])
        return y.reshape(n, self.filters, *size)

    def _size(self, x: Array) -> Pair:
        return output_size((int(x.shape[2]), int(x.shape[3])), self.kernel_size, self.stride, self.padding)

    def apply(self, params: Conv2DParams, x: Array) -> Array:
        return self._affine(params, self._checked(params, x), self._size(x))

    def forward(self, params: Conv2DParams, x: Array) -> tuple[Array, tuple[Array, Shape]]:
        xpad = self._checked(params, x)
        return self._affine(params, xpad, self._size(x)), (xpad, tuple(x.shape))

    def _dw(self, params: Conv2DParams, residuals: tuple[Array, Shape], dy: Array) -> Conv2DParams:
        """``dW`` and ``db`` as ``Σₙ dYₙ colₙᵀ`` (``db`` from the ones row), chunk by chunk of the batch."""
        xpad, in_shape = residuals
        self._check_params(params, channels=in_shape[1])
        xp = array_module(dy)
        n, f, oh, ow = dy.shape
        k = params.w[0].size
        dy_matrix = dy.reshape(n, f, oh * ow)
        dwb = xp.zeros((f, k + (params.b is not None)), dtype=dy.dtype)
        for batch in self._batches(xpad, (oh, ow)):
            dwb += (dy_matrix[batch] @ self._col(params, xpad[batch]).transpose(0, 2, 1)).sum(axis=0)
        dw: Array = xp.ascontiguousarray(dwb[:, :k]).reshape(params.w.shape)
        return Conv2DParams(dw, None if params.b is None else xp.ascontiguousarray(dwb[:, k]))

    def grad(
        self, params: Conv2DParams, residuals: tuple[Array, Shape], dy: Array
    ) -> tuple[Conv2DParams, Array]:
        dparams = self._dw(params, residuals, dy)
        in_shape = residuals[1]
        xp = array_module(dy)
        (n, c, h, w), (kh, kw), (ph, pw) = in_shape, self.kernel_size, self.padding
        f, oh, ow = dy.shape[1:]
        w_matrix_t = params.w.reshape(f, -1).T
        if self.stride != (1, 1):
            dcol = w_matrix_t @ dy.reshape(n, f, oh * ow)
            return dparams, col2im(dcol.reshape(n, c, kh, kw, oh, ow), in_shape, self.stride, self.padding)
        # Stride 1: on the grid of padded width Wp, row (c, i, j) of dcol is one contiguous run.
        wp, rows = w + 2 * pw, h + 2 * ph + int(kw > 1)
        dy_grid = xp.zeros((n, f, oh, wp), dtype=dy.dtype)
        dy_grid[..., :ow] = dy
        dcol = (w_matrix_t @ dy_grid.reshape(n, f, oh * wp)).reshape(n, c, kh, kw, oh * wp)
        run = oh * wp
        dx_flat = xp.zeros((n, c, rows * wp), dtype=dy.dtype)
        for i in range(kh):
            for j in range(kw):
                dx_flat[:, :, i * wp + j : i * wp + j + run] += dcol[:, :, i, j]
        dx: Array = dx_flat.reshape(n, c, rows, wp)[:, :, ph : ph + h, pw : pw + w]
        return dparams, dx

    def param_grad(self, params: Conv2DParams, residuals: tuple[Array, Shape], dy: Array) -> Conv2DParams:
        """``dW`` and ``db`` alone: a first convolution skips ``dcol`` and the scatter."""
        return self._dw(params, residuals, dy)
