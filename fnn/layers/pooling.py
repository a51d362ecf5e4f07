"""Pooling over the spatial axes of NCHW input: max, average and global average.

Windows come from :func:`fnn.layers.conv.sliding_windows` (a strided view, no
Python loop over pixels). Gradients go back by a loop over the window offsets, each
adding one strided slab (:func:`fnn.layers.conv.col2im` for the average; for the
maximum only the winners' ``dy``). No ``np.add.at``.
"""

from __future__ import annotations

from typing import Optional

import attrs

from fnn.backend import array_module
from fnn.layers.conv import (
    Pair,
    PairLike,
    check_spatial,
    col2im,
    non_negative_pair,
    output_size,
    pad2d,
    positive_pair,
    sliding_windows,
    to_pair,
)
from fnn.layers.core import ParameterFreeLayer, check_float_input, check_in_shape, check_ndim
from fnn.typing import Array, Shape

__all__ = ["MaxPool2D", "AvgPool2D", "GlobalAvgPool2D"]


def _optional_pair(value: Optional[PairLike]) -> Optional[Pair]:
    return None if value is None else to_pair(value)


@attrs.frozen(repr=False)
class _Pool2D(ParameterFreeLayer):
    """Shared hyperparameters and shape logic of :class:`MaxPool2D` and :class:`AvgPool2D`."""

    holds_no_layers = True
    fresh_output = True

    window: Pair = attrs.field(converter=to_pair, validator=positive_pair)
    stride_: Optional[Pair] = attrs.field(
        default=None, converter=_optional_pair, kw_only=True, alias="stride"
    )
    padding: Pair = attrs.field(default=(0, 0), converter=to_pair, validator=non_negative_pair, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.stride_ is not None and not (
            len(self.stride_) == 2 and all(isinstance(s, int) and s >= 1 for s in self.stride_)
        ):
            raise ValueError(f"`stride` must be an integer >= 1 or a pair of them, got {self.stride_!r}")
        if self.padding[0] > self.window[0] // 2 or self.padding[1] > self.window[1] // 2:
            raise ValueError(
                f"`padding` must be at most half the window {self.window}, got {self.padding} "
                "(a window must never lie entirely in the padding)"
            )

    @property
    def stride(self) -> Pair:
        """``(sh, sw)``; the window itself unless given."""
        return self.window if self.stride_ is None else self.stride_

    def __repr__(self) -> str:
        extra = "" if self.stride == self.window else f", stride={self.stride}"
        extra += "" if self.padding == (0, 0) else f", padding={self.padding}"
        return f"{type(self).__name__}(window={self.window}{extra})"

    def out_shape(self, in_shape: Shape) -> Shape:
        c, h, w = check_spatial(self, in_shape, self.window, self.padding)
        return (c, *output_size((h, w), self.window, self.stride, self.padding))

    def _windows(self, x: Array, pad_value: float) -> Array:
        check_ndim(self, x, (-1, -1, -1))
        check_float_input(self, x)
        check_spatial(self, x.shape[1:], self.window, self.padding)
        return sliding_windows(pad2d(x, self.padding, pad_value), self.window, self.stride)


@attrs.frozen(repr=False)
class MaxPool2D(_Pool2D):
    """The maximum of each window, per channel (the book's Pooling layer).

    **Forward**: ``yₙ,c,p,q = max_{i,j} x̃ₙ,c,p·sh+i,q·sw+j`` with ``x̃`` padded by ``−∞``
    (padding never wins).

    **Backward (VJP)**: the maximum is locally the identity on its winner and constant
    in the others, so each ``dyₙ,c,p,q`` goes to the winning element only; an element
    that wins several overlapping windows receives the sum.
    **Ties**: the gradient goes to *one* element, the first in row-major window order
    (smallest ``i``, then smallest ``j``): the winner is ``argmax`` over the flattened
    window.

    The backward pass loops over the ``kh·kw`` offsets ``k``, adding
    ``dy · [winner = k]`` to the strided slab of ``dx`` that offset ``k`` covers (writing
    it when windows do not overlap), never materializing the ``kh·kw``-times larger
    window gradients.

    **Residuals**: the winner's offset in each (flattened) window, ``(N, C, OH, OW)``, as
    int8 (int32 for windows over 127 elements: a quarter of the memory of int32), and
    the input shape.

    **Shapes**: ``(N, C, H, W)`` → ``(N, C, OH, OW)``, ``OH = (H + 2·ph − kh) // sh + 1``.

    Args:
        window: ``k`` or ``(kh, kw)``.
        stride: ``s`` or ``(sh, sw)``; default the window (non-overlapping windows).
        padding: ``p`` or ``(ph, pw)`` on each side, at most half the window (default 0).

    >>> import fnn
    >>> x = fnn.backend().asarray(range(16)).reshape(1, 1, 4, 4)
    >>> MaxPool2D(2).apply(None, x)
    array([[[[ 5.,  7.],
             [13., 15.]]]], dtype=float32)
    """

    def _max(self, x: Array, track: bool) -> tuple[Array, Array | None]:
        """The window maxima and (with ``track``) the first winner's offset, by a loop over offsets.

        The first two offsets make the new arrays (``maximum`` and ``>``), the others update
        them in place: no copy of the first offset and no zero fill.
        """
        windows = self._windows(x, float("-inf"))
        xp = array_module(x)
        kh, kw = self.window
        offsets = [windows[:, :, k // kw, k % kw] for k in range(kh * kw)]
        index = xp.int8 if kh * kw <= 127 else xp.int32
        if len(offsets) == 1:
            y: Array = offsets[0].copy()
            return y, xp.zeros(y.shape, dtype=index) if track else None
        winner = (offsets[1] > offsets[0]).astype(index) if track else None
        y = xp.maximum(offsets[0], offsets[1])
        for k in range(2, kh * kw):
            v = offsets[k]
            if winner is not None:
                # The winner is the last offset that beats the running maximum strictly (so on
                # ties the earlier offset stays): the largest k with `better`, hence a maximum.
                # Arithmetic, not copyto(where=), which is several times slower.
                better = v > y
                xp.maximum(winner, better * index(k), out=winner)
            xp.maximum(y, v, out=y)
        return y, winner

    def apply(self, params: None, x: Array) -> Array:
        return self._max(x, track=False)[0]

    def forward(self, params: None, x: Array) -> tuple[Array, tuple[Array, Shape]]:
        y, winner = self._max(x, track=True)
        assert winner is not None
        return y, (winner, tuple(x.shape))

    def grad(self, params: None, residuals: tuple[Array, Shape], dy: Array) -> tuple[None, Array]:
        winner, in_shape = residuals
        xp = array_module(dy)
        (kh, kw), (sh, sw), (ph, pw) = self.window, self.stride, self.padding
        oh, ow = dy.shape[2:]
        padded = (*in_shape[:2], in_shape[2] + 2 * ph, in_shape[3] + 2 * pw)
        disjoint = sh >= kh and sw >= kw  # no element lies in two windows
        # Windows that tile the padded input exactly write every element of dx once: no zero fill.
        tiled = (sh, sw) == (kh, kw) and (oh * sh, ow * sw) == padded[2:]
        dx = xp.empty(padded, dtype=dy.dtype) if tiled else xp.zeros(padded, dtype=dy.dtype)
        for k in range(kh * kw):
            i, j = divmod(k, kw)
            slab = dx[:, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw]
            if disjoint:
                xp.multiply(dy, winner == k, out=slab)  # written in place: nothing to add to
            else:
                slab += dy * (winner == k)
        result: Array = dx[:, :, ph : ph + in_shape[2], pw : pw + in_shape[3]]
        return None, result


@attrs.frozen(repr=False)
class AvgPool2D(_Pool2D):
    """The mean of each window, per channel.

    **Forward**: ``yₙ,c,p,q = (1 / kh·kw) Σ_{i,j} x̃ₙ,c,p·sh+i,q·sw+j`` with ``x̃`` padded by
    zeros; padding counts in the mean (the divisor is always ``kh·kw``).

    **Backward (VJP)**: ``y`` is linear in ``x`` with weight ``1/(kh·kw)`` on every window
    element, so every element of a window receives ``dy / (kh·kw)``, summed over the
    windows that contain it.

    **Residuals**: the input shape only.

    **Shapes**: ``(N, C, H, W)`` → ``(N, C, OH, OW)``, ``OH = (H + 2·ph − kh) // sh + 1``.

    Args:
        window: ``k`` or ``(kh, kw)``.
        stride: ``s`` or ``(sh, sw)``; default the window.
        padding: ``p`` or ``(ph, pw)`` zeros on each side, at most half the window.

    >>> import fnn
    >>> x = fnn.backend().asarray(range(16)).reshape(1, 1, 4, 4)
    >>> AvgPool2D(2).apply(None, x)
    array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]], dtype=float32)
    """

    def apply(self, params: None, x: Array) -> Array:
        result: Array = self._windows(x, 0.0).mean(axis=(2, 3))
        return result

    def forward(self, params: None, x: Array) -> tuple[Array, Shape]:
        return self.apply(params, x), tuple(x.shape)

    def grad(self, params: None, residuals: Shape, dy: Array) -> tuple[None, Array]:
        xp = array_module(dy)
        n, c, oh, ow = dy.shape
        kh, kw = self.window
        share = dy / (kh * kw)
        dwindows = xp.broadcast_to(share[:, :, None, None], (n, c, kh, kw, oh, ow))
        return None, col2im(dwindows, residuals, self.stride, self.padding)


@attrs.frozen
class GlobalAvgPool2D(ParameterFreeLayer):
    """The mean over all spatial positions of each channel: ``(N, C, H, W)`` → ``(N, C)``.

    **Forward**: ``yₙ,c = (1 / H·W) Σ_{h,w} xₙ,c,h,w``.

    **Backward (VJP)**: ``∂yₙ,c/∂xₙ,c,h,w = 1/(H·W)``, so ``dxₙ,c,h,w = dyₙ,c / (H·W)``.

    **Residuals**: the spatial size ``(H, W)``.

    >>> import fnn
    >>> GlobalAvgPool2D().apply(None, fnn.backend().ones((2, 3, 4, 4))).shape
    (2, 3)
    """

    def out_shape(self, in_shape: Shape) -> Shape:
        return (check_in_shape(self, in_shape, 3, "expected (channels, height, width)")[0],)

    def apply(self, params: None, x: Array) -> Array:
        check_ndim(self, x, (-1, -1, -1))
        check_float_input(self, x)
        result: Array = x.mean(axis=(2, 3))
        return result

    def forward(self, params: None, x: Array) -> tuple[Array, tuple[int, int]]:
        return self.apply(params, x), (x.shape[2], x.shape[3])

    def grad(self, params: None, residuals: tuple[int, int], dy: Array) -> tuple[None, Array]:
        h, w = residuals
        xp = array_module(dy)
        dx: Array = xp.broadcast_to((dy / (h * w))[:, :, None, None], (*dy.shape, h, w)).copy()
        return None, dx
