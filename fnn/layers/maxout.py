"""Maxout: the maximum of several affine pieces (Goodfellow et al., 2013)."""

from __future__ import annotations

import attrs

from fnn import initializers, random
from fnn.backend import Backend, array_module
from fnn.errors import FnnError
from fnn.layers.core import Layer, check_in_shape, check_ndim
from fnn.layers.dense import Dense, DenseParams
from fnn.typing import Array, Shape

__all__ = ["Maxout"]


def _at_least(minimum: int):  # type: ignore[no-untyped-def]
    def check(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"`{attribute.name}` must be an integer >= {minimum}, got {value!r}")

    return check


@attrs.frozen
class Maxout(Layer[DenseParams]):
    """``yₙⱼ = maxₖ zₙⱼₖ`` with ``z = x W + b`` reshaped to ``(N, features, pieces)``.

    **Forward**: one affine map to ``features · pieces`` outputs (column ``j·pieces + k``
    is piece ``k`` of feature ``j``), then the maximum over pieces.

    **Backward (VJP)**: the maximum passes ``dy`` to the winning piece only:
    ``dzₙⱼₖ = dyₙⱼ [k = argmaxₖ zₙⱼₖ]`` (the first winner on ties); then the affine
    VJP ``dx = dz Wᵀ``, ``dW = xᵀ dz``, ``db = Σₙ dzₙ``.

    **Residuals**: ``x`` and the winning piece indices.

    Args:
        features: Outputs per example.
        pieces: Affine pieces per output (at least 2).
        w_init: Initializer of ``W`` (Glorot normal).

    >>> import fnn
    >>> layer = Maxout(4, pieces=3)
    >>> params = layer.init(fnn.random.key(0), (5,))
    >>> params.w.shape, layer.apply(params, fnn.backend().ones((2, 5))).shape
    ((5, 12), (2, 4))
    """

    features: int = attrs.field(validator=_at_least(1))
    pieces: int = attrs.field(default=2, validator=_at_least(2))
    w_init: initializers.Initializer = attrs.field(
        factory=initializers.xavier_normal, kw_only=True, repr=False
    )

    @property
    def _affine(self) -> Dense:
        return Dense(self.features * self.pieces, w_init=self.w_init)

    def init(self, key: random.Key, in_shape: Shape, backend: Backend | None = None) -> DenseParams:
        check_in_shape(self, in_shape, 1, "add a Flatten layer before it")
        return self._affine.init(key, in_shape, backend)

    def out_shape(self, in_shape: Shape) -> Shape:
        check_in_shape(self, in_shape, 1, "add a Flatten layer before it")
        return (self.features,)

    def _renamed(self, error: FnnError) -> FnnError:
        """``error`` of the inner affine map, naming this layer instead."""
        return type(error)(str(error).replace(repr(self._affine), repr(self)))

    def _pieces(self, params: DenseParams, x: Array) -> Array:
        if getattr(x, "ndim", 2) != 2:  # the inner Dense would also map (N, T, D); Maxout takes (N, D)
            check_ndim(self, x, (-1,), "add a Flatten layer before it")
        try:
            z = self._affine.apply(params, x)
        except FnnError as error:
            raise self._renamed(error) from None
        return z.reshape(x.shape[0], self.features, self.pieces)

    def apply(self, params: DenseParams, x: Array) -> Array:
        result: Array = self._pieces(params, x).max(axis=-1)
        return result

    def forward(self, params: DenseParams, x: Array) -> tuple[Array, tuple[Array, Array]]:
        z = self._pieces(params, x)
        winner = z.argmax(axis=-1)
        y = array_module(z).take_along_axis(z, winner[..., None], axis=-1)[..., 0]
        return y, (x, winner)

    def grad(
        self, params: DenseParams, residuals: tuple[Array, Array], dy: Array
    ) -> tuple[DenseParams, Array]:
        x, winner = residuals
        xp = array_module(dy)
        chosen = winner[..., None] == xp.arange(self.pieces)
        dz = (chosen * dy[..., None]).reshape(dy.shape[0], self.features * self.pieces)
        try:
            return self._affine.grad(params, x, dz)
        except FnnError as error:
            raise self._renamed(error) from None
