"""Activation layers. Parameter-free ones are also plain functions: ``fnn.relu(x)``.

Each keeps the smallest residual its backward needs (``y`` where the derivative
is a function of the output, ``x`` otherwise).

>>> import numpy as np, fnn
>>> x = np.array([[-2.0, 0.5]])
>>> fnn.relu(x), fnn.LeakyReLU(0.1).apply(None, x)
(array([[0. , 0.5]]), array([[-0.2,  0.5]]))
>>> y, residual = fnn.sigmoid.forward(None, x)
>>> fnn.sigmoid.grad(None, residual, np.ones_like(y))[1].round(4)  # σ'(x) = y(1 − y)
array([[0.105, 0.235]])
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from fnn import functional as F
from fnn import random
from fnn.backend import Backend, array_module, resolve
from fnn.layers.core import (
    Layer,
    ParameterFreeLayer,
    check_dtype,
    check_float_input,
    check_in_shape,
    check_ndim,
)
from fnn.layers.param_checks import check_params
from fnn.typing import Array, Shape

__all__ = [
    "Activation",
    "Identity",
    "Step",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "Softmax",
    "LogSoftmax",
    "LeakyReLU",
    "ELU",
    "PReLU",
    "PReLUParams",
    "identity",
    "step",
    "sigmoid",
    "tanh",
    "relu",
    "softmax",
    "log_softmax",
]


class Activation(ParameterFreeLayer):
    """A parameter-free layer that is also a function of arrays: ``layer(x) == layer.apply(None, x)``.

    Subclasses implement :meth:`call` (the forward formula) and :meth:`vjp`
    (``dx`` from the residual and ``dy``); :attr:`keeps` says which residual,
    ``"x"`` or ``"y"``.
    """

    holds_no_layers = True

    keeps: str = "y"

    in_place: ClassVar[bool] = False
    """Whether :meth:`call_in_place` is implemented. A :class:`~fnn.layers.sequential.Sequential`
    calls it on an output that the layer before made and shares with nothing
    (:attr:`fnn.layers.core.Layer.fresh_output`), saving a new array and its page faults. A
    subclass that overrides ``call``, ``apply`` or ``forward`` (a formula of its own) is run
    out of place unless it sets the flag and its own ``call_in_place``."""

    def call(self, x: Array) -> Array:
        raise NotImplementedError

    def vjp(self, residual: Array, dy: Array) -> Array:
        raise NotImplementedError

    def call_in_place(self, x: Array) -> Array:
        """:meth:`call` written into ``x`` itself (which the caller owns and gives up); returns ``x``."""
        raise NotImplementedError

    def __call__(self, x: Array) -> Array:
        return self.apply(None, x)

    def out_shape(self, in_shape: Shape) -> Shape:
        return check_in_shape(self, in_shape, None)

    def apply(self, params: None, x: Array) -> Array:
        check_float_input(self, x)
        return self.call(x)

    def forward(self, params: None, x: Array) -> tuple[Array, Array]:
        y = self.apply(params, x)
        return y, (x if self.keeps == "x" else y)

    def grad(self, params: None, residuals: Array, dy: Array) -> tuple[None, Array]:
        return None, self.vjp(residuals, dy)


def _named(name: str) -> Any:
    """A ``__repr__`` that prints ``name`` (the public instance's name)."""
    return lambda self: name


@attrs.frozen(repr=False)
class Identity(Activation):
    """``y = x``. **Backward**: ``dx = dy``."""

    __repr__ = _named("identity")

    def call(self, x: Array) -> Array:
        return x

    def vjp(self, residual: Array, dy: Array) -> Array:
        return dy


@attrs.frozen(repr=False)
class Step(Activation):
    """The perceptron's step: ``y = [x > 0]``.

    **Backward**: the derivative is zero wherever it exists (everywhere but ``x = 0``),
    so ``dx = 0``: a step network cannot learn by gradients, which is why the course
    moves on to sigmoid.
    """

    __repr__ = _named("step")

    def call(self, x: Array) -> Array:
        return F.step(x)

    def vjp(self, residual: Array, dy: Array) -> Array:
        return dy * 0


@attrs.frozen(repr=False)
class Sigmoid(Activation):
    """``y = σ(x) = 1 / (1 + e⁻ˣ)`` (never overflows).

    **Backward**: ``σ' = σ(1 − σ)``, so ``dx = dy · y(1 − y)``. **Residuals**: ``y``.
    """

    __repr__ = _named("sigmoid")

    in_place = True

    def call(self, x: Array) -> Array:
        return F.sigmoid(x)

    def call_in_place(self, x: Array) -> Array:
        check_float_input(self, x)
        return F.sigmoid_into(x, x)

    def vjp(self, residual: Array, dy: Array) -> Array:
        return F.sigmoid_grad(residual, dy)


@attrs.frozen(repr=False)
class Tanh(Activation):
    """``y = tanh(x)``. **Backward**: ``dx = dy · (1 − y²)``. **Residuals**: ``y``."""

    __repr__ = _named("tanh")

    in_place = True

    def call(self, x: Array) -> Array:
        return F.tanh(x)

    def call_in_place(self, x: Array) -> Array:
        check_float_input(self, x)
        y: Array = array_module(x).tanh(x, out=x)
        return y

    def vjp(self, residual: Array, dy: Array) -> Array:
        return F.tanh_grad(residual, dy)


@attrs.frozen(repr=False)
class ReLU(Activation):
    """``y = max(x, 0)``. **Backward**: ``dx = dy · [y > 0]``. **Residuals**: ``y``."""

    __repr__ = _named("relu")

    in_place = True

    def call(self, x: Array) -> Array:
        return F.relu(x)

    def vjp(self, residual: Array, dy: Array) -> Array:
        return F.relu_grad(residual, dy)

    def call_in_place(self, x: Array) -> Array:
        check_float_input(self, x)
        return F.relu_into(x, x)


@attrs.frozen(repr=False)
class Softmax(Activation):
    """``yᵢ = exp(xᵢ − m) / Σⱼ exp(xⱼ − m)`` over the last axis, ``m = max x``.

    **Backward**: ``∂yᵢ/∂xⱼ = yᵢ(δᵢⱼ − yⱼ)``, so ``dx = y ⊙ (dy − Σⱼ dyⱼyⱼ)``.
    **Residuals**: ``y``. For training, prefer logits with
    :data:`fnn.losses.softmax_cross_entropy`, whose fused gradient is ``(y − t)/N``.
    """

    __repr__ = _named("softmax")

    def out_shape(self, in_shape: Shape) -> Shape:
        return check_in_shape(self, in_shape, None, "it normalizes over the last axis", min_ndim=1)

    def call(self, x: Array) -> Array:
        return F.softmax(x)

    def vjp(self, residual: Array, dy: Array) -> Array:
        return F.softmax_grad(residual, dy)


@attrs.frozen(repr=False)
class LogSoftmax(Activation):
    """``yᵢ = xᵢ − log Σⱼ exp(xⱼ)`` over the last axis.

    **Backward**: ``∂yᵢ/∂xⱼ = δᵢⱼ − softmaxⱼ``, so ``dx = dy − eʸ Σⱼ dyⱼ``. **Residuals**: ``y``.
    """

    __repr__ = _named("log_softmax")

    def out_shape(self, in_shape: Shape) -> Shape:
        return check_in_shape(self, in_shape, None, "it normalizes over the last axis", min_ndim=1)

    def call(self, x: Array) -> Array:
        return F.log_softmax(x)

    def vjp(self, residual: Array, dy: Array) -> Array:
        return F.log_softmax_grad(residual, dy)


def _positive_float(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"`{attribute.name}` must be positive, got {value!r}")


@attrs.frozen
class LeakyReLU(Activation):
    """``y = x if x > 0 else αx``.

    **Backward**: ``dx = dy if x > 0 else α·dy``. **Residuals**: ``x``.
    """

    alpha: float = attrs.field(default=0.01, validator=_positive_float)
    keeps = "x"

    def call(self, x: Array) -> Array:
        return F.leaky_relu(x, self.alpha)

    def vjp(self, residual: Array, dy: Array) -> Array:
        return F.leaky_relu_grad(residual, dy, self.alpha)


@attrs.frozen
class ELU(Activation):
    """``y = x if x > 0 else α(eˣ − 1)``.

    **Backward**: ``dy/dx = 1`` for ``x > 0`` and ``αeˣ = y + α`` otherwise, so
    ``dx = dy if y > 0 else dy · (y + α)``. **Residuals**: ``y``.
    """

    alpha: float = attrs.field(default=1.0, validator=_positive_float)

    def call(self, x: Array) -> Array:
        return F.elu(x, self.alpha)

    def vjp(self, residual: Array, dy: Array) -> Array:
        return F.elu_grad(residual, dy, self.alpha)


@attrs.frozen(eq=False)
class PReLUParams:
    """Parameters of :class:`PReLU`.

    Attributes:
        alpha: The learned negative slope per channel, shape ``(C,)`` (``C = in_shape[0]``).
    """

    alpha: Array


@attrs.frozen
class PReLU(Layer[PReLUParams]):
    """Leaky ReLU with a learned slope per channel (He et al., 2015).

    **Forward**: ``y = x if x > 0 else aᶜ x`` where ``c`` indexes axis 1 (features of
    ``(N, D)`` input, channels of ``(N, C, H, W)`` input).

    **Backward (VJP)**: ``dx = dy if x > 0 else aᶜ dy``;
    ``daᶜ = Σ dy · x · [x ≤ 0]`` over every axis but the channel axis.

    **Residuals**: ``x``.

    Args:
        init_alpha: The starting slope (0.25, as in the paper).
    """

    init_alpha: float = 0.25

    def init(self, key: random.Key, in_shape: Shape, backend: Backend | None = None) -> PReLUParams:
        shape = self.out_shape(in_shape)
        return PReLUParams(resolve(backend).full((shape[0],), self.init_alpha))

    def out_shape(self, in_shape: Shape) -> Shape:
        return check_in_shape(self, in_shape, None, min_ndim=1)

    def _slope(self, params: PReLUParams, x: Array) -> Array:
        check_params(self, params, PReLUParams, alpha=(-1,))
        channels = params.alpha.shape[0]
        check_ndim(self, x, (channels,) + (-1,) * max(getattr(x, "ndim", 2) - 2, 0))
        check_dtype(self, x, params.alpha)
        return params.alpha.reshape((1, -1) + (1,) * (x.ndim - 2))

    def apply(self, params: PReLUParams, x: Array) -> Array:
        a = self._slope(params, x)
        return F.leaky_relu(x, a)  # type: ignore[arg-type]

    def forward(self, params: PReLUParams, x: Array) -> tuple[Array, Array]:
        return self.apply(params, x), x

    def grad(self, params: PReLUParams, residuals: Array, dy: Array) -> tuple[PReLUParams, Array]:
        x = residuals
        a = self._slope(params, x)
        negative = x <= 0
        axes = (0,) + tuple(range(2, x.ndim))
        da = (dy * x * negative).sum(axis=axes)
        return PReLUParams(da), F.leaky_relu_grad(x, dy, a)  # type: ignore[arg-type]


identity = Identity()
step = Step()
sigmoid = Sigmoid()
tanh = Tanh()
relu = ReLU()
softmax = Softmax()
log_softmax = LogSoftmax()
