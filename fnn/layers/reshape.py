"""Reshaping layers: :class:`Flatten`."""

from __future__ import annotations

import math

import attrs

from fnn.layers.core import ParameterFreeLayer, check_float_input, check_in_shape
from fnn.typing import Array, Shape

__all__ = ["Flatten"]


@attrs.frozen
class Flatten(ParameterFreeLayer):
    """Flatten every example to a vector: ``(N, d₁, …, dₖ)`` → ``(N, d₁·…·dₖ)``.

    **Forward**: ``y = x.reshape(N, −1)`` in C order, so an NCHW image flattens as
    ``(C, H, W)`` with ``W`` fastest: the book's ``x.reshape(N, -1)`` before an Affine
    layer, which its published weights assume.

    **Backward (VJP)**: a reshape only moves elements, so ``dx = dy.reshape(x.shape)``.

    **Residuals**: the input shape.

    **Shapes**: ``(N, *in_shape)`` → ``(N, prod(in_shape))``.

    >>> import fnn
    >>> Flatten().apply(None, fnn.backend().zeros((2, 3, 4, 5))).shape
    (2, 60)
    """

    holds_no_layers = True

    def out_shape(self, in_shape: Shape) -> Shape:
        return (math.prod(check_in_shape(self, in_shape, None)),)

    def apply(self, params: None, x: Array) -> Array:
        check_float_input(self, x)
        return x.reshape(x.shape[0], math.prod(x.shape[1:]))  # not -1: an empty batch has no size to infer

    def forward(self, params: None, x: Array) -> tuple[Array, Shape]:
        return self.apply(params, x), tuple(x.shape)

    def grad(self, params: None, residuals: Shape, dy: Array) -> tuple[None, Array]:
        return None, dy.reshape(residuals)
