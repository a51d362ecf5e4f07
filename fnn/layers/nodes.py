"""The course's Repeat and Sum nodes as layers over a non-batch axis.

"Deep Learning from Scratch 2" (ch. 1) pairs them: Repeat copies a vector ``T``
times and its backward sums; Sum adds ``T`` vectors and its backward copies.
Here both act on axis 1 (the first axis after the batch), so they compose with
every other layer.

>>> import numpy as np
>>> x = np.array([[1.0, 2.0]])
>>> y, _ = Repeat(3).forward(None, x)
>>> y
array([[[1., 2.],
        [1., 2.],
        [1., 2.]]])
>>> Repeat(3).grad(None, None, np.ones_like(y))[1]  # the backward of Repeat is a Sum
array([[3., 3.]])
>>> Sum().grad(None, 3, x)[1].shape  # the backward of Sum is a Repeat
(1, 3, 2)
"""

from __future__ import annotations

import attrs

from fnn.backend import array_module
from fnn.errors import ShapeError
from fnn.layers.core import ParameterFreeLayer, check_float_input, check_in_shape
from fnn.typing import Array, Shape

__all__ = ["Repeat", "Sum"]


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{attribute.name}` must be a positive integer, got {value!r}")


@attrs.frozen
class Repeat(ParameterFreeLayer):
    """Copy each example ``times`` times along a new axis 1: ``(N, *S) -> (N, times, *S)``.

    **Forward**: ``yₙₜ = xₙ`` for ``t = 1..T``.

    **Backward (VJP)**: each copy sends its gradient back to the one source, so
    ``dxₙ = Σₜ dyₙₜ`` (the Repeat node's backward is a Sum).

    **Residuals**: none. The forward returns a broadcast view, not a copy.
    """

    times: int = attrs.field(validator=_positive)

    def out_shape(self, in_shape: Shape) -> Shape:
        return (self.times, *check_in_shape(self, in_shape, None))

    def apply(self, params: None, x: Array) -> Array:
        check_float_input(self, x)
        xp = array_module(x)
        result: Array = xp.broadcast_to(x[:, None], (x.shape[0], self.times, *x.shape[1:]))
        return result

    def forward(self, params: None, x: Array) -> tuple[Array, None]:
        return self.apply(params, x), None

    def grad(self, params: None, residuals: None, dy: Array) -> tuple[None, Array]:
        return None, dy.sum(axis=1)


@attrs.frozen
class Sum(ParameterFreeLayer):
    """Add the ``T`` vectors of each example along axis 1: ``(N, T, *S) -> (N, *S)``.

    **Forward**: ``yₙ = Σₜ xₙₜ``.

    **Backward (VJP)**: ``∂yₙ/∂xₙₜ = I`` for every ``t``, so ``dxₙₜ = dyₙ`` (the Sum
    node's backward is a Repeat).

    **Residuals**: ``T``, the length of the summed axis.
    """

    def out_shape(self, in_shape: Shape) -> Shape:
        return check_in_shape(self, in_shape, None, min_ndim=1)[1:]

    def apply(self, params: None, x: Array) -> Array:
        check_float_input(self, x)
        if x.ndim < 2:
            raise ShapeError(f"{self!r}: expected input of shape (N, T, ...), got {tuple(x.shape)}")
        result: Array = x.sum(axis=1)
        return result

    def forward(self, params: None, x: Array) -> tuple[Array, int]:
        return self.apply(params, x), int(x.shape[1])

    def grad(self, params: None, residuals: int, dy: Array) -> tuple[None, Array]:
        xp = array_module(dy)
        dx: Array = xp.broadcast_to(dy[:, None], (dy.shape[0], residuals, *dy.shape[1:]))
        return None, dx
