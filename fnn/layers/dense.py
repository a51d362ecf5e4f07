"""Dense (affine) layers: the course's Affine (and TimeAffine) node and, without bias, its MatMul node."""

from __future__ import annotations

from typing import Optional

import attrs

from fnn import initializers, random
from fnn.backend import Backend, batch_sum, resolve
from fnn.layers.core import Layer, check_dtype, check_in_shape, check_ndim
from fnn.layers.param_checks import check_leaf, check_params
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


_FLATTEN_HINT = "add a Flatten layer before it (Dense takes (N, D), or (N, T, D) mapping the last axis)"


@attrs.frozen(repr=False)
class Dense(Layer[DenseParams]):
    """A fully connected layer, ``y = x W + b`` (the course's Affine node, and its TimeAffine).

    **Forward**: ``y = x W + b`` with ``x: (N, D)``, ``W: (D, F)``, ``b: (F,)``. Input
    ``(N, T, D)`` (a sequence, the second book's TimeAffine) maps the last axis of every
    ``(n, t)`` alike, ``yₙₜ = xₙₜ W + b``, as one ``(N·T, D) @ (D, F)`` product.

    **Backward (VJP)**: from ``yₙⱼ = Σᵢ xₙᵢ Wᵢⱼ + bⱼ``,
    ``dx = dy Wᵀ``, ``dW = xᵀ dy``, ``db = Σₙ dyₙ`` (over ``(N, T, ·)`` input the rows are
    the ``N·T`` flattened positions: ``dW = Σₙₜ xₙₜᵀ dyₙₜ``, ``db = Σₙₜ dyₙₜ``).

    **Residuals**: ``x`` only (``W`` is in the params; ``b`` is not needed).

    **Shapes**: ``in_shape`` ``(D,)`` → ``(F,)`` and ``(T, D)`` → ``(T, F)``. Inputs with more
    axes, such as ``(N, C, H, W)`` images, are refused with a hint to add a
    :class:`~fnn.Flatten` layer: an image batch reaching a dense layer is almost always a
    forgotten flatten, and mapping only its width would pass silently.

    With ``use_bias=False`` it is the course's MatMul node, ``y = x W``.

    Args:
        features: ``F``, the number of outputs.
        use_bias: Whether to add ``b``.
        w_init: Initializer of ``W`` (default Glorot normal); ``b`` starts at zero.

    Raises:
        ShapeError: the input or ``in_shape`` has the wrong size or number of axes, or the
            params have shapes this layer did not make (``params.w`` is not ``(D, F)``,
            ``params.b`` is not ``(F,)``).
        StructureError: the params are not a :class:`DenseParams`, or have a bias where
            the layer has none (or the other way round).

    >>> import fnn
    >>> layer = Dense(3)
    >>> params = layer.init(fnn.random.key(0), (2,))
    >>> params.w.shape, params.b.shape
    ((2, 3), (3,))
    >>> layer.apply(params, fnn.backend().ones((4, 2))).shape
    (4, 3)
    >>> layer.apply(params, fnn.backend().ones((4, 5, 2))).shape  # (N, T, D) -> (N, T, F)
    (4, 5, 3)
    """

    holds_no_layers = True
    fresh_output = True  # `x @ w` (plus the bias in place) is a new array

    features: int = attrs.field(validator=_positive)
    use_bias: bool = attrs.field(default=True, kw_only=True)
    w_init: initializers.Initializer = attrs.field(
        factory=initializers.xavier_normal, kw_only=True, repr=False
    )

    def __repr__(self) -> str:
        return f"Dense(features={self.features}" + ("" if self.use_bias else ", use_bias=False") + ")"

    def init(self, key: random.Key, in_shape: Shape, backend: Backend | None = None) -> DenseParams:
        d = self._in_shape(in_shape)[-1]
        b = resolve(backend)
        w = self.w_init(key, (d, self.features), b)
        return DenseParams(w, b.zeros((self.features,)) if self.use_bias else None)

    def out_shape(self, in_shape: Shape) -> Shape:
        return (*self._in_shape(in_shape)[:-1], self.features)

    def _in_shape(self, in_shape: Shape) -> Shape:
        """``in_shape`` validated as ``(D,)`` or ``(T, D)``."""
        two_axes = isinstance(in_shape, (tuple, list)) and len(in_shape) == 2
        return check_in_shape(self, in_shape, 2 if two_axes else 1, _FLATTEN_HINT)

    def _params_fit(self, params: DenseParams, x: Array) -> bool:
        """Whether ``params`` are a :class:`DenseParams` of this layer for inputs like ``x``."""
        if type(params) is not DenseParams or type(params.w) is not type(x):
            return False
        b = params.b
        bias_fits = self.use_bias and b.shape == (self.features,) if b is not None else not self.use_bias
        return bias_fits and params.w.shape == (x.shape[-1], self.features)

    def _check_params(self, params: DenseParams) -> None:
        bias = (self.features,) if self.use_bias else None
        check_params(self, params, DenseParams, w=(-1, self.features), b=bias)

    def _check(self, params: DenseParams, x: Array) -> None:
        """Validate ``params`` and the input; the common case is decided by a few comparisons."""
        w = getattr(params, "w", None)
        if type(x) is type(w) and (x.ndim == 2 or x.ndim == 3) and x.dtype == w.dtype:
            if self._params_fit(params, x):
                return
        self._check_params(params)
        d, ndim = params.w.shape[0], getattr(x, "ndim", 0)
        if ndim != 3 or x.shape[-1] != d:
            check_ndim(self, x, (d,), _FLATTEN_HINT if ndim > 2 else "")
        check_dtype(self, x, params.w)

    def apply(self, params: DenseParams, x: Array) -> Array:
        self._check(params, x)
        if x.ndim == 2:
            y = x @ params.w
        else:  # (N, T, D): one product over the N·T rows
            y = (x.reshape(-1, x.shape[-1]) @ params.w).reshape(*x.shape[:-1], self.features)
        if params.b is not None:
            y += params.b
        return y

    def forward(self, params: DenseParams, x: Array) -> tuple[Array, Array]:
        return self.apply(params, x), x

    def grad(self, params: DenseParams, residuals: Array, dy: Array) -> tuple[DenseParams, Array]:
        dparams = self.param_grad(params, residuals, dy)
        if dy.ndim == 2:
            return dparams, dy @ params.w.T
        dx = (dy.reshape(-1, self.features) @ params.w.T).reshape(residuals.shape)
        return dparams, dx

    def param_grad(self, params: DenseParams, residuals: Array, dy: Array) -> DenseParams:
        x = residuals
        if not self._params_fit(params, x):
            self._check_params(params)
            check_leaf(self, "w", params.w, (x.shape[-1], self.features))
        if x.ndim != 2:
            x, dy = x.reshape(-1, x.shape[-1]), dy.reshape(-1, self.features)
        return DenseParams(x.T @ dy, batch_sum(dy) if params.b is not None else None)
