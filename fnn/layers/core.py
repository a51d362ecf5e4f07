"""The layer contract and the checks every layer shares.

A layer is a frozen attrs class that holds hyperparameters only. Its arrays live in
a separate, immutable *params* pytree that ``init`` creates and every other method
takes as its first argument:

=========================================  ===============================================
method                                     meaning
=========================================  ===============================================
``init(key, in_shape, backend=None)``      new params for inputs of ``in_shape`` (no batch axis)
``out_shape(in_shape)``                    the output shape, without creating anything
``apply(params, x)``                       inference; keeps nothing for a backward pass
``forward(params, x)``                     ``(y, residuals)``: training forward pass
``grad(params, residuals, dy)``            ``(dparams, dx)``: the hand-derived VJP
``param_grad(params, residuals, dy)``      ``dparams`` alone (skips ``dx`` where cheaper)
=========================================  ===============================================

Parameter-free layers subclass ``ParameterFreeLayer``, whose ``init`` only validates the
shape. Layers with running state (batch norm) or randomness (dropout) also override the
three methods below; every other layer inherits defaults that ignore state and keys,
so plain models never mention either:

=============================================  ===========================================
``init_state(in_shape, backend=None)``         the layer's initial state (``None`` if it has none)
``apply_stateful(params, state, x)``           inference that reads the state
``forward_train(params, state, x, key=None)``  ``(y, residuals, new_state)``; ``key`` feeds
                                               random layers
=============================================  ===========================================

Nothing is ever mutated: new state is returned, never written in place.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar, Generic, TypeVar

from fnn.backend import Backend, check_plain_array, is_cupy_array
from fnn.errors import BackendError, DTypeError, ShapeError
from fnn.random import Key
from fnn.typing import Array, Shape

P = TypeVar("P")


class Layer(abc.ABC, Generic[P]):
    """Base class of every fnn layer; ``P`` is the type of its params pytree.

    Subclasses are frozen attrs classes. They implement :meth:`init`,
    :meth:`out_shape`, :meth:`forward` and :meth:`grad`, and override :meth:`apply`
    when inference can skip work that the residuals need.
    """

    stochastic: ClassVar[bool] = False
    """Whether the layer draws random numbers in training (and so needs a key)."""

    @abc.abstractmethod
    def init(self, key: Key, in_shape: Shape, backend: Backend | None = None) -> P:
        """New parameters for inputs of shape ``(N, *in_shape)``."""

    @abc.abstractmethod
    def out_shape(self, in_shape: Shape) -> Shape:
        """The output shape (without batch axis) for inputs of ``in_shape``."""

    @abc.abstractmethod
    def forward(self, params: P, x: Array) -> tuple[Array, Any]:
        """``(y, residuals)``: the output and what :meth:`grad` needs."""

    @abc.abstractmethod
    def grad(self, params: P, residuals: Any, dy: Array) -> tuple[P, Array]:
        """``(dparams, dx)``: the gradients of a scalar loss given ``dy = ∂L/∂y``."""

    def apply(self, params: P, x: Array) -> Array:
        """The output for inference; keeps no residuals."""
        return self.forward(params, x)[0]

    def param_grad(self, params: P, residuals: Any, dy: Array) -> P:
        """``dparams`` alone: :meth:`grad` without ``dx``.

        Training needs no gradient with respect to the data, so a model's first
        layer can skip it (for a dense layer that is a third of its backward cost).
        Layers override this when ``dx`` is expensive; the default calls :meth:`grad`.
        """
        return self.grad(params, residuals, dy)[0]

    def init_state(self, in_shape: Shape, backend: Backend | None = None) -> Any:
        """The layer's initial state; ``None`` for layers without state."""
        return None

    def apply_stateful(self, params: P, state: Any, x: Array) -> Array:
        """Inference reading ``state`` (layers without state ignore it)."""
        return self.apply(params, x)

    def forward_train(
        self, params: P, state: Any, x: Array, key: Key | None = None
    ) -> tuple[Array, Any, Any]:
        """``(y, residuals, new_state)`` in training mode; ``key`` feeds random layers."""
        y, residuals = self.forward(params, x)
        return y, residuals, state

    @property
    def name(self) -> str:
        """The name shown in errors and summaries, such as ``Dense(features=10)``."""
        return repr(self)


class ParameterFreeLayer(Layer[None]):
    """Base of layers without parameters: ``init`` only validates ``in_shape`` and returns ``None``."""

    def init(self, key: Key, in_shape: Shape, backend: Backend | None = None) -> None:
        self.out_shape(in_shape)
        return None


def check_float_input(layer: object, x: Array) -> None:
    """Raise :class:`DTypeError` unless ``x`` is a plain array of a float dtype.

    Plain: not a ``numpy.matrix`` or masked array (see :func:`fnn.backend.check_plain_array`).
    """
    kind = getattr(getattr(x, "dtype", None), "kind", None)
    check_plain_array(layer, x)
    if kind != "f":
        got = getattr(x, "dtype", type(x).__name__)
        raise DTypeError(
            f"{layer!r}: expected a float array, got {got}; convert the input with backend.asarray(x) first"
        )


def check_dtype(layer: object, x: Array, like: Array) -> None:
    """Raise unless ``x`` is a plain array living where the parameter ``like`` does, of its dtype.

    Raises:
        BackendError: one is a CuPy (GPU) array and the other a NumPy (host) array.
        DTypeError: the dtypes differ, or ``x`` is a ``numpy.matrix`` or masked array.
    """
    if type(x) is not type(like):
        check_plain_array(layer, x)
        if is_cupy_array(x) != is_cupy_array(like):
            where = {True: "a CuPy (GPU) array", False: "a NumPy (host) array"}
            raise BackendError(
                f"{layer!r}: the input is {where[is_cupy_array(x)]} but the parameters are "
                f"{where[is_cupy_array(like)]}; move the input with backend.asarray(x) "
                "(or fnn.to_numpy(x)) to where the parameters are"
            )
    expected = like.dtype
    if x.dtype != expected:
        check_float_input(layer, x)
        raise DTypeError(
            f"{layer!r}: expected input of dtype {expected}, got {x.dtype}; "
            f"cast it with x.astype('{expected}') or init the model in {x.dtype}"
        )


def check_ndim(layer: object, x: Array, expected: Shape, hint: str = "") -> None:
    """Raise :class:`ShapeError` unless ``x.shape == (N, *expected)``; ``-1`` matches any size.

    Raises :class:`DTypeError` first when ``x`` is not a plain array (a list, a
    ``numpy.matrix``, a masked array).
    """
    if not hasattr(x, "ndim"):
        check_float_input(layer, x)
    ok = x.ndim == len(expected) + 1 and all(e == -1 or e == s for e, s in zip(expected, x.shape[1:]))
    if not ok:
        check_plain_array(layer, x)
        pattern = ", ".join("?" if e == -1 else str(e) for e in expected)
        raise ShapeError(
            f"{layer!r}: expected input of shape (N, {pattern}), got {tuple(x.shape)}"
            + (f"; {hint}" if hint else "")
        )


def check_in_shape(layer: object, in_shape: Shape, ndim: int, hint: str = "") -> Shape:
    """Validate ``in_shape`` (no batch axis) as ``ndim`` positive sizes and return it as a tuple."""
    if not isinstance(in_shape, (tuple, list)):
        raise ShapeError(f"{layer!r}: `in_shape` must be a tuple such as (3,), got {in_shape!r}")
    shape = tuple(int(s) for s in in_shape)
    if len(shape) != ndim or any(s < 1 for s in shape):
        raise ShapeError(
            f"{layer!r}: expected inputs of {ndim} axis(es) of positive size after the batch axis, "
            f"got in_shape {shape}" + (f"; {hint}" if hint else "")
        )
    return shape
