"""Normalization layers: :class:`BatchNorm` (with running statistics as pure state) and :class:`LayerNorm`.

Both share one normalization and its VJP. With ``x̂ = (x − μ)/σ``, ``σ = √(v + ε)``,
``μ`` and ``v`` the mean and (biased) variance over the reduced axes (``M`` elements
each), and ``y = γ x̂ + β``:

``dβ = Σ dy``, ``dγ = Σ dy ⊙ x̂`` (over the axes ``γ`` is broadcast along), and with
``g = γ dy``: ``dx = (g − mean(g) − x̂ ⊙ mean(g ⊙ x̂)) / σ``, the means over the reduced
axes. Derivation: ``∂μ/∂x = 1/M`` gives the ``mean(g)`` term and ``∂v/∂x = 2(x − μ)/M``
gives the ``x̂ mean(g x̂)`` term.
"""

from __future__ import annotations

from typing import Any

import attrs

from fnn import random
from fnn.backend import Backend, accumulation_dtype, array_module, resolve
from fnn.errors import ShapeError, StateError
from fnn.layers.core import Layer, check_dtype, check_in_shape, check_ndim
from fnn.layers.param_checks import check_leaf, check_params
from fnn.typing import Array, Shape

__all__ = ["BatchNorm", "BatchNormParams", "BatchNormState", "LayerNorm", "LayerNormParams"]

Axes = tuple[int, ...]


@attrs.frozen(eq=False)
class BatchNormParams:
    """Learned scale and shift of :class:`BatchNorm`: ``gamma`` and ``beta``, shape ``(D,)`` or ``(C,)``."""

    gamma: Array
    beta: Array


@attrs.frozen(eq=False)
class BatchNormState:
    """Running statistics of :class:`BatchNorm` (not parameters: optimizers never see them).

    Attributes:
        mean: Running mean, shape ``(D,)`` or ``(C,)``.
        var: Running (biased) variance, same shape.
    """

    mean: Array
    var: Array


@attrs.frozen(eq=False)
class LayerNormParams:
    """Learned elementwise scale and shift of :class:`LayerNorm`, each of shape ``in_shape``."""

    gamma: Array
    beta: Array


def _normalize(x: Array, axes: Axes, eps: float) -> tuple[Array, Array, Array, Array]:
    """``(x̂, 1/σ, μ, v)`` over ``axes``, kept as broadcastable dims.

    The statistics are computed in the accumulation dtype (float32 for float16
    input, see :func:`fnn.backend.accumulation_dtype`); ``x̂`` has ``x``'s dtype.
    """
    xp = array_module(x)
    wide = x.astype(accumulation_dtype(x.dtype), copy=False)
    mean = wide.mean(axis=axes, keepdims=True)
    xc = wide - mean
    var = (xc * xc).mean(axis=axes, keepdims=True)
    inv_std = 1 / xp.sqrt(var + eps)
    xc *= inv_std
    return xc.astype(x.dtype, copy=False), inv_std, mean, var


def _normalize_vjp(g: Array, x_hat: Array, inv_std: Array, axes: Axes) -> Array:
    """``dx`` from ``g = γ dy`` (see the module docstring), reduced in ``1/σ``'s (accumulation) dtype."""
    wide = g.astype(inv_std.dtype, copy=False)
    mean_g = wide.mean(axis=axes, keepdims=True)
    mean_gx = (wide * x_hat).mean(axis=axes, keepdims=True)
    result: Array = ((wide - mean_g - x_hat * mean_gx) * inv_std).astype(g.dtype, copy=False)
    return result


def _sum(x: Array, axes: Axes) -> Array:
    """``x`` summed over ``axes`` in the accumulation dtype, returned in ``x``'s dtype."""
    total: Array = x.sum(axis=axes, dtype=accumulation_dtype(x.dtype)).astype(x.dtype, copy=False)
    return total


def _check_state(layer: object, state: BatchNormState, features: int) -> None:
    """Raise unless the running statistics have shape ``(features,)`` (the state of this layer)."""
    for name in ("mean", "var"):
        leaf = getattr(state, name)
        if tuple(getattr(leaf, "shape", ())) != (features,):
            got = tuple(leaf.shape) if hasattr(leaf, "shape") else type(leaf).__name__
            raise ShapeError(
                f"{layer!r}: state.{name} has shape {got}, expected ({features},); "
                "was this state made by init_state of another layer?"
            )


def _check_unit_interval(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"`{attribute.name}` must be in [0, 1), got {value!r}")


def _check_eps(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"`{attribute.name}` must be positive, got {value!r}")


@attrs.frozen
class BatchNorm(Layer[BatchNormParams]):
    """Batch normalization (Ioffe & Szegedy, 2015) with running statistics threaded as pure state.

    Normalizes each feature of ``(N, D)`` input over the batch, and each channel of
    NCHW input over the batch and the spatial axes (``M = N`` or ``N·H·W`` values).

    **Forward**: ``y = γ (x − μ)/√(v + ε) + β``. Which ``μ, v``:

    - :meth:`forward_train` ``(params, state, x, key) -> (y, residuals, new_state)``:
      the batch's mean and biased variance; ``new_state`` has
      ``mean ← momentum·mean + (1 − momentum)·μ`` and the same for ``var`` (the book's
      rule). ``state`` is read, never written.
    - :meth:`apply_stateful` ``(params, state, x)``: inference with the running statistics.
    - :meth:`forward` ``(params, x)``: training-mode batch statistics, no state update.
    - :meth:`apply` ``(params, x)``: raises :class:`fnn.StateError` (inference needs state).

    An empty batch (``N = 0``) has no statistics: training on one raises :class:`fnn.ShapeError`
    (instead of writing NaN into the running statistics); inference returns an empty output.

    **Backward (VJP)** (training mode, batch statistics; see the module docstring):
    ``dβ = Σ dy``, ``dγ = Σ dy ⊙ x̂``, ``dx = (g − mean(g) − x̂ mean(g x̂))/σ`` with ``g = γ dy``.

    **Residuals**: ``x̂`` and ``1/σ``.

    **Shapes**: ``(N, D)`` or ``(N, C, H, W)``, unchanged; ``γ, β``, ``mean, var``: ``(D,)``/``(C,)``.

    Args:
        momentum: The fraction of the old running statistic kept at each step, in ``[0, 1)``.
        eps: ``ε``, added to the variance.

    >>> import fnn
    >>> layer = BatchNorm()
    >>> params, state = layer.init(fnn.random.key(0), (3,)), layer.init_state((3,))
    >>> x = fnn.random.normal(fnn.random.key(1), (8, 3))
    >>> y, _, state = layer.forward_train(params, state, x)
    >>> bool(abs(y.mean(axis=0)).max() < 1e-5), state.mean.shape
    (True, (3,))
    >>> layer.apply_stateful(params, state, x).shape
    (8, 3)
    """

    momentum: float = attrs.field(default=0.9, kw_only=True, validator=_check_unit_interval)
    eps: float = attrs.field(default=1e-5, kw_only=True, validator=_check_eps)

    def _size(self, in_shape: Shape) -> int:
        shape = check_in_shape(self, in_shape, None)
        if len(shape) not in (1, 3):
            raise ShapeError(
                f"{self!r}: expected inputs of shape (N, D) or (N, C, H, W), got in_shape {shape} "
                "(without the batch axis)"
            )
        return check_in_shape(self, shape, len(shape))[0]

    def init(self, key: random.Key, in_shape: Shape, backend: Backend | None = None) -> BatchNormParams:
        b, d = resolve(backend), self._size(in_shape)
        return BatchNormParams(b.ones((d,)), b.zeros((d,)))

    def init_state(self, in_shape: Shape, backend: Backend | None = None) -> BatchNormState:
        """Zero mean and unit variance, in the accumulation dtype (float32 for a float16 backend)."""
        b, d = resolve(backend), self._size(in_shape)
        wide = b.with_dtype(accumulation_dtype(b.dtype))
        return BatchNormState(wide.zeros((d,)), wide.ones((d,)))

    def out_shape(self, in_shape: Shape) -> Shape:
        self._size(in_shape)
        return tuple(in_shape)

    def _check_params(self, params: BatchNormParams, features: int = -1) -> int:
        """Raise unless ``params`` are :class:`BatchNormParams` with ``γ, β`` both ``(D,)``; return ``D``."""
        check_params(self, params, BatchNormParams, gamma=(features,))
        check_leaf(self, "beta", params.beta, params.gamma.shape)
        return int(params.gamma.shape[0])

    def _axes(self, params: BatchNormParams, x: Array) -> tuple[Axes, Shape]:
        d = self._check_params(params)
        expected = (d,) if x.ndim == 2 else (d, -1, -1)
        check_ndim(self, x, expected, "BatchNorm takes (N, D) or (N, C, H, W) input")
        check_dtype(self, x, params.gamma)
        return ((0,), (d,)) if x.ndim == 2 else ((0, 2, 3), (d, 1, 1))

    def apply(self, params: BatchNormParams, x: Array, state: BatchNormState | None = None) -> Array:
        """Inference with the running statistics ``state`` (as :meth:`Sequential.apply` takes it)."""
        if state is None:
            raise StateError(
                f"{self!r}: inference needs the running statistics; call "
                "apply(params, x, state=state) with the state from init_state(in_shape), "
                "as updated by training"
            )
        return self.apply_stateful(params, state, x)

    def apply_stateful(self, params: BatchNormParams, state: BatchNormState, x: Array) -> Array:
        if not isinstance(state, BatchNormState):
            raise StateError(
                f"{self!r}: expected a BatchNormState, got {state!r}; create it with "
                "model.init_state(in_shape)"
            )
        _, shape = self._axes(params, x)
        _check_state(self, state, shape[0])
        scale = params.gamma / array_module(x).sqrt(state.var + self.eps)
        y = (x - state.mean.reshape(shape)) * scale.reshape(shape) + params.beta.reshape(shape)
        result: Array = y.astype(x.dtype, copy=False)
        return result

    def _train(self, params: BatchNormParams, x: Array) -> tuple[Array, tuple[Array, Array], Array, Array]:
        axes, shape = self._axes(params, x)
        if x.shape[0] == 0:
            raise ShapeError(
                f"{self!r}: training normalizes with the batch's mean and variance, but the batch is "
                f"empty (input shape {tuple(x.shape)}); skip empty batches in training "
                "(inference with apply_stateful handles them)"
            )
        x_hat, inv_std, mean, var = _normalize(x, axes, self.eps)
        y = x_hat * params.gamma.reshape(shape) + params.beta.reshape(shape)
        return y, (x_hat, inv_std), mean, var

    def forward(self, params: BatchNormParams, x: Array) -> tuple[Array, tuple[Array, Array]]:
        y, residuals, _, _ = self._train(params, x)
        return y, residuals

    def forward_train(
        self, params: BatchNormParams, state: Any, x: Array, key: random.Key | None = None
    ) -> tuple[Array, tuple[Array, Array], BatchNormState]:
        if not isinstance(state, BatchNormState):
            raise StateError(
                f"{self!r}: training needs the running statistics as state, got {state!r}; create "
                "it with state = model.init_state(in_shape) and pass it to forward_train / "
                "value_grad_and_state / fit"
            )
        y, residuals, mean, var = self._train(params, x)
        _check_state(self, state, mean.size)
        m = self.momentum
        new_state = BatchNormState(
            m * state.mean + (1 - m) * mean.reshape(-1), m * state.var + (1 - m) * var.reshape(-1)
        )
        return y, residuals, new_state

    def grad(
        self, params: BatchNormParams, residuals: tuple[Array, Array], dy: Array
    ) -> tuple[BatchNormParams, Array]:
        x_hat, inv_std = residuals
        self._check_params(params, features=x_hat.shape[1])
        axes: Axes = (0,) if dy.ndim == 2 else (0, 2, 3)
        shape = (-1,) if dy.ndim == 2 else (-1, 1, 1)
        dgamma = _sum(dy * x_hat, axes)
        dbeta = _sum(dy, axes)
        dx = _normalize_vjp(dy * params.gamma.reshape(shape), x_hat, inv_std, axes)
        return BatchNormParams(dgamma, dbeta), dx


@attrs.frozen
class LayerNorm(Layer[LayerNormParams]):
    """Layer normalization (Ba et al., 2016): normalize each example over all its features.

    **Forward**: ``y = γ ⊙ (x − μₙ)/√(vₙ + ε) + β`` with ``μₙ, vₙ`` the mean and biased
    variance of example ``n`` over every non-batch axis; ``γ, β`` are elementwise,
    of shape ``in_shape``. The same in training and inference (no state).

    **Backward (VJP)** (see the module docstring, reducing over the non-batch axes):
    ``dβ = Σₙ dyₙ``, ``dγ = Σₙ dyₙ ⊙ x̂ₙ``, ``dx = (g − mean(g) − x̂ mean(g x̂))/σ``, ``g = γ ⊙ dy``.

    **Residuals**: ``x̂`` and ``1/σ`` per example.

    **Shapes**: any ``(N, *in_shape)``, unchanged.

    Args:
        eps: ``ε``, added to the variance.

    >>> import fnn
    >>> layer = LayerNorm()
    >>> params = layer.init(fnn.random.key(0), (4,))
    >>> y = layer.apply(params, fnn.random.normal(fnn.random.key(1), (2, 4)))
    >>> bool(abs(y.mean(axis=1)).max() < 1e-5)
    True
    """

    eps: float = attrs.field(default=1e-5, kw_only=True, validator=_check_eps)

    def init(self, key: random.Key, in_shape: Shape, backend: Backend | None = None) -> LayerNormParams:
        shape, b = self.out_shape(in_shape), resolve(backend)
        return LayerNormParams(b.ones(shape), b.zeros(shape))

    def out_shape(self, in_shape: Shape) -> Shape:
        return check_in_shape(self, in_shape, None, min_ndim=1)

    def _check_params(self, params: LayerNormParams, shape: Shape | None = None) -> None:
        """Raise unless ``params`` are :class:`LayerNormParams`, ``γ, β`` one shape (``shape`` if given)."""
        check_params(self, params, LayerNormParams)
        any_shape = (-1,) * getattr(params.gamma, "ndim", 0)
        check_leaf(self, "gamma", params.gamma, any_shape if shape is None else shape)
        check_leaf(self, "beta", params.beta, params.gamma.shape)

    def forward(self, params: LayerNormParams, x: Array) -> tuple[Array, tuple[Array, Array]]:
        self._check_params(params)
        check_ndim(self, x, params.gamma.shape)
        check_dtype(self, x, params.gamma)
        x_hat, inv_std, _, _ = _normalize(x, tuple(range(1, x.ndim)), self.eps)
        return x_hat * params.gamma + params.beta, (x_hat, inv_std)

    def grad(
        self, params: LayerNormParams, residuals: tuple[Array, Array], dy: Array
    ) -> tuple[LayerNormParams, Array]:
        x_hat, inv_std = residuals
        self._check_params(params, x_hat.shape[1:])
        dgamma = _sum(dy * x_hat, (0,))
        dbeta = _sum(dy, (0,))
        dx = _normalize_vjp(dy * params.gamma, x_hat, inv_std, tuple(range(1, dy.ndim)))
        return LayerNormParams(dgamma, dbeta), dx
