"""Dense (affine) layers: the course's Affine node and, without bias, its MatMul node."""

from __future__ import annotations

from typing import Optional

import attrs

from fnn import initializers, random
from fnn.backend import Backend, batch_sum, resolve
from fnn.layers.core import Layer, check_dtype, check_in_shape, check_ndim
from fnn.typing import Array, Shape

__all__ = ["Dense", "DenseParams"]


@attrs.frozen(eq=False)
class DenseParams:
    """Parameters of :class:`Dense`.

    Attributes:
        w: Weights, shape ``(in_features, features)``.
        b: Bias, shape ``(features,)``; ``None`` when the layer has no bias.
    """

    w: Array
    b: Optional[Array]


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{attribute.name}` must be a positive integer, got {value!r}")


@attrs.frozen(repr=False)
class Dense(Layer[DenseParams]):
    """A fully connected layer, ``y = x W + b`` (the course's Affine node).

    **Forward**: ``y = x W + b`` with ``x: (N, D)``, ``W: (D, F)``, ``b: (F,)``.

    **Backward (VJP)**: from ``yₙⱼ = Σᵢ xₙᵢ Wᵢⱼ + bⱼ``,
    ``dx = dy Wᵀ``, ``dW = xᵀ dy``, ``db = Σₙ dyₙ``.

    **Residuals**: ``x`` only (``W`` is in the params; ``b`` is not needed).

    With ``use_bias=False`` it is the course's MatMul node, ``y = x W``.

    Args:
        features: ``F``, the number of outputs.
        use_bias: Whether to add ``b``.
        w_init: Initializer of ``W`` (default Glorot normal); ``b`` starts at zero.

    >>> import fnn
    >>> layer = Dense(3)
    >>> params = layer.init(fnn.random.key(0), (2,))
    >>> params.w.shape, params.b.shape
    ((2, 3), (3,))
    >>> layer.apply(params, fnn.backend().ones((4, 2))).shape
    (4, 3)
    """

    features: int = attrs.field(validator=_positive)
    use_bias: bool = attrs.field(default=True, kw_only=True)
    w_init: initializers.Initializer = attrs.field(
        factory=initializers.xavier_normal, kw_only=True, repr=False
    )

    def __repr__(self) -> str:
        return f"Dense(features={self.features}" + ("" if self.use_bias else ", use_bias=False") + ")"

    def init(self, key: random.Key, in_shape: Shape, backend: Backend | None = None) -> DenseParams:
        (d,) = check_in_shape(self, in_shape, 1, "add a Flatten layer before it")
        b = resolve(backend)
        w = self.w_init(key, (d, self.features), b)
        return DenseParams(w, b.zeros((self.features,)) if self.use_bias else None)

    def out_shape(self, in_shape: Shape) -> Shape:
        check_in_shape(self, in_shape, 1, "add a Flatten layer before it")
        return (self.features,)

    def _check(self, params: DenseParams, x: Array) -> None:
        w = params.w
        if type(x) is type(w) and x.ndim == 2 and x.shape[1] == w.shape[0] and x.dtype == w.dtype:
            return  # the common case, decided without building the messages below
        check_ndim(
            self,
            x,
            (params.w.shape[0],),
            "add a Flatten layer before it" if getattr(x, "ndim", 0) > 2 else "",
        )
        check_dtype(self, x, params.w)

    def apply(self, params: DenseParams, x: Array) -> Array:
        self._check(params, x)
        y = x @ params.w
        if params.b is not None:
            y += params.b
        return y

    def forward(self, params: DenseParams, x: Array) -> tuple[Array, Array]:
        return self.apply(params, x), x

    def grad(self, params: DenseParams, residuals: Array, dy: Array) -> tuple[DenseParams, Array]:
        return self.param_grad(params, residuals, dy), dy @ params.w.T

    def param_grad(self, params: DenseParams, residuals: Array, dy: Array) -> DenseParams:
        x = residuals
        return DenseParams(x.T @ dy, batch_sum(dy) if params.b is not None else None)
