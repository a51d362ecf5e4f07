"""``sequential``: layers composed in order, itself a layer."""

from __future__ import annotations

from typing import Any, Callable, Iterator, TypeVar

import attrs

from fnn import random
from fnn.backend import Backend, resolve
from fnn.errors import FnnError, StateError
from fnn.layers.core import Layer
from fnn.tree import param_count
from fnn.typing import Array, Shape

__all__ = ["Sequential", "sequential"]

T = TypeVar("T")

SequentialParams = tuple[Any, ...]


def _check_layers(instance: object, attribute: object, value: tuple[object, ...]) -> None:
    for i, layer in enumerate(value):
        if not isinstance(layer, Layer):
            raise TypeError(
                f"sequential: argument {i} is {layer!r}, which is not an fnn layer; "
                "use fnn's layers and activations (fnn.relu, fnn.Dense(10), ...)"
            )


@attrs.frozen
class Sequential(Layer[SequentialParams]):
    """Layers applied one after another: ``y = fₖ(… f₂(f₁(x)))``.

    Its params are the tuple of its children's params (``None`` for parameter-free
    children) and its state the tuple of their states, so sequentials nest.

    **Backward (VJP)**: the chain rule, children's ``grad`` in reverse order:
    ``dxᵢ = ∂fᵢᵀ dxᵢ₊₁`` with ``dxₖ₊₁ = dy``.

    **Residuals**: the tuple of the children's residuals.

    Errors raised by a child name its place: ``layer 2 (Dense(features=10)): …``.
    """

    layers: tuple[Layer[Any], ...] = attrs.field(validator=_check_layers)

    @property
    def stochastic(self) -> bool:  # type: ignore[override]
        """Whether any child draws random numbers in training."""
        return any(layer.stochastic for layer in self.layers)

    def _placed(self, i: int, error: FnnError) -> FnnError:
        """``error`` again, its message prefixed with the place of layer ``i``."""
        name = self.layers[i].name
        message = str(error).removeprefix(f"{name}: ")
        return type(error)(f"layer {i} ({name}): {message}")

    def _guard(self, i: int, action: Callable[[], T]) -> T:
        try:
            return action()
        except FnnError as error:
            raise self._placed(i, error) from None

    def _shapes(self, in_shape: Shape) -> Iterator[tuple[int, Layer[Any], Shape]]:
        shape = tuple(in_shape)
        for i, layer in enumerate(self.layers):
            yield i, layer, shape
            shape = self._guard(i, lambda: layer.out_shape(shape))

    def init(self, key: random.Key, in_shape: Shape, backend: Backend | None = None) -> SequentialParams:
        b = resolve(backend)
        keys = random.split(key, max(len(self.layers), 1))
        return tuple(
            self._guard(i, lambda: layer.init(keys[i], shape, b))
            for i, layer, shape in self._shapes(in_shape)
        )

    def init_state(self, in_shape: Shape, backend: Backend | None = None) -> Any:
        b = resolve(backend)
        states = tuple(
            self._guard(i, lambda: layer.init_state(shape, b)) for i, layer, shape in self._shapes(in_shape)
        )
        return None if all(s is None for s in states) else states

    def out_shape(self, in_shape: Shape) -> Shape:
        shape = tuple(in_shape)
        for i, layer in enumerate(self.layers):
            shape = self._guard(i, lambda: layer.out_shape(shape))
        return shape

    def apply(self, params: SequentialParams, x: Array, state: Any = None) -> Array:
        """Inference; models with state (batch norm) need ``state``."""
        self._check_params(params)
        if state is not None:
            return self.apply_stateful(params, state, x)
        i = 0
        try:
            for i, layer in enumerate(self.layers):
                x = layer.apply(params[i], x)
        except FnnError as error:
            raise self._placed(i, error) from None
        return x

    def apply_stateful(self, params: SequentialParams, state: Any, x: Array) -> Array:
        states = self._states(state)
        i = 0
        try:
            for i, layer in enumerate(self.layers):
                x = layer.apply_stateful(params[i], states[i], x)
        except FnnError as error:
            raise self._placed(i, error) from None
        return x

    def forward(self, params: SequentialParams, x: Array) -> tuple[Array, tuple[Any, ...]]:
        self._check_params(params)
        residuals = []
        i = 0
        try:
            for i, layer in enumerate(self.layers):
                x, r = layer.forward(params[i], x)
                residuals.append(r)
        except FnnError as error:
            raise self._placed(i, error) from None
        return x, tuple(residuals)

    def forward_train(
        self, params: SequentialParams, state: Any, x: Array, key: random.Key | None = None
    ) -> tuple[Array, tuple[Any, ...], Any]:
        self._check_params(params)
        states = self._states(state)
        keys: dict[int, random.Key] = {}
        if key is not None:
            stochastic = [i for i, layer in enumerate(self.layers) if layer.stochastic]
            keys = dict(zip(stochastic, random.split(key, len(stochastic)))) if stochastic else {}
        residuals = []
        new_states = []
        i = 0
        try:
            for i, layer in enumerate(self.layers):
                x, r, s = layer.forward_train(params[i], states[i], x, keys.get(i))
                residuals.append(r)
                new_states.append(s)
        except FnnError as error:
            raise self._placed(i, error) from None
        new_state = None if state is None else tuple(new_states)
        return x, tuple(residuals), new_state

    def grad(
        self, params: SequentialParams, residuals: tuple[Any, ...], dy: Array
    ) -> tuple[SequentialParams, Array]:
        self._check_params(params)
        self._check_entries("residuals", residuals, "forward")
        grads: list[Any] = [None] * len(self.layers)
        i = 0
        try:
            for i in range(len(self.layers) - 1, -1, -1):
                grads[i], dy = self.layers[i].grad(params[i], residuals[i], dy)
        except FnnError as error:
            raise self._placed(i, error) from None
        return tuple(grads), dy

    def param_grad(self, params: SequentialParams, residuals: tuple[Any, ...], dy: Array) -> SequentialParams:
        """The chain rule as in :meth:`grad`, but the first layer skips its ``dx``."""
        self._check_params(params)
        self._check_entries("residuals", residuals, "forward")
        grads: list[Any] = [None] * len(self.layers)
        i = 0
        try:
            for i in range(len(self.layers) - 1, 0, -1):
                grads[i], dy = self.layers[i].grad(params[i], residuals[i], dy)
            if self.layers:
                i = 0
                grads[0] = self.layers[0].param_grad(params[0], residuals[0], dy)
        except FnnError as error:
            raise self._placed(i, error) from None
        return tuple(grads)

    def _check_entries(self, what: str, value: Any, source: str) -> None:
        """Raise :class:`StateError` unless ``value`` is a tuple with one entry per layer."""
        if not isinstance(value, tuple) or len(value) != len(self.layers):
            got = (
                f"{type(value).__name__} of length {len(value)}"
                if isinstance(value, (tuple, list))
                else type(value).__name__
            )
            raise StateError(
                f"{self.name}: expected {what} as a tuple of {len(self.layers)} entries "
                f"(one per layer, as {source} returns), got {got}"
            )

    def _check_params(self, params: SequentialParams) -> None:
        self._check_entries("params", params, "init")

    def _states(self, state: Any) -> tuple[Any, ...]:
        if state is None:
            return (None,) * len(self.layers)
        self._check_entries("state", state, "init_state")
        result: tuple[Any, ...] = state
        return result

    @property
    def name(self) -> str:
        return f"Sequential({len(self.layers)} layers)"

    def __repr__(self) -> str:
        inner = ", ".join(layer.name for layer in self.layers)
        return f"sequential({inner})"

    def summary(self, in_shape: Shape, backend: Backend | None = None) -> str:
        """A table of the layers with their output shapes and parameter counts.

        >>> import fnn
        >>> print(fnn.sequential(fnn.Dense(4), fnn.relu, fnn.Dense(2)).summary((3,)))
        #  layer              output shape  params
        -  -----------------  ------------  ------
        0  Dense(features=4)  (N, 4)            16
        1  relu               (N, 4)             0
        2  Dense(features=2)  (N, 2)            10
        -  -----------------  ------------  ------
           total              input (N, 3)      26
        """
        params = self.init(random.key(0), in_shape, backend)
        rows = [("#", "layer", "output shape", "params")]
        for i, layer, shape in self._shapes(in_shape):
            out = layer.out_shape(shape)
            rows.append((str(i), layer.name, _batch_shape(out), str(param_count(params[i]))))
        total = ("", "total", "input " + _batch_shape(tuple(in_shape)), str(param_count(params)))
        widths = [max(len(r[c]) for r in rows + [total]) for c in range(4)]
        rule = tuple("-" * w for w in widths)
        lines = [rows[0], rule, *rows[1:], rule, total]
        return "\n".join(
            "  ".join(
                cell.rjust(w) if c == 3 else cell.ljust(w) for c, (cell, w) in enumerate(zip(r, widths))
            ).rstrip()
            for r in lines
        )


def _batch_shape(shape: Shape) -> str:
    return "(" + ", ".join(["N", *(str(s) for s in shape)]) + ")"


def sequential(*layers: Layer[Any]) -> Sequential:
    """Compose ``layers`` in order into one layer (see :class:`Sequential`).

    >>> import fnn
    >>> model = fnn.sequential(fnn.Dense(10), fnn.sigmoid, fnn.Dense(3))
    >>> params = model.init(fnn.random.key(0), (2,))
    >>> model.apply(params, fnn.backend().zeros((5, 2))).shape
    (5, 3)
    """
    return Sequential(tuple(layers))
