"""``sequential``: layers composed in order, itself a layer."""

from __future__ import annotations

from typing import Any, Iterator, cast, overload

import attrs
from typing_extensions import TypeVar

from fnn import random
from fnn.backend import Backend, resolve
from fnn.errors import FnnError, StateError
from fnn.layers.activations import Activation
from fnn.layers.core import Composite, Layer, check_shape_tree, is_shape
from fnn.tree import param_count
from fnn.typing import Array, ArrayTree, ShapeTree

__all__ = ["Sequential", "sequential"]

SP = TypeVar("SP", bound="tuple[Any, ...]", default="tuple[Any, ...]")
"""The params type of a :class:`Sequential`: the tuple of its children's params types."""

P1 = TypeVar("P1")
P2 = TypeVar("P2")
P3 = TypeVar("P3")
P4 = TypeVar("P4")
P5 = TypeVar("P5")
P6 = TypeVar("P6")
P7 = TypeVar("P7")
P8 = TypeVar("P8")


def _check_layers(instance: object, attribute: object, value: tuple[object, ...]) -> None:
    for i, layer in enumerate(value):
        if not isinstance(layer, Layer):
            raise TypeError(
                f"sequential: argument {i} is {layer!r}, which is not an fnn layer; "
                "use fnn's layers and activations (fnn.relu, fnn.Dense(10), ...)"
            )


def _in_place(layer: Layer[Any], before: Layer[Any]) -> bool:
    """Whether ``layer`` may overwrite the output that ``before`` hands it."""
    return (
        before.fresh_output
        and isinstance(layer, Activation)
        and layer.in_place
        and _kept(_FRESH, type(before), "fresh_output", ("apply", "forward", "forward_train"))
        and _kept(_IN_PLACE, type(layer), "in_place", ("call", "call_in_place", "apply", "forward"))
    )


_FRESH: dict[type, bool] = {}
_IN_PLACE: dict[type, bool] = {}


def _kept(memo: dict[type, bool], cls: type, flag: str, methods: tuple[str, ...]) -> bool:
    """Whether the class that sets ``flag`` for ``cls`` also defines, itself or in a base, each of
    ``methods`` (memoized per class in ``memo``): a subclass that overrides one of them (a ``Sigmoid``
    with its own ``call``, a ``Dense`` that keeps its output) does not inherit the promise unless it
    sets ``flag`` again."""
    kept = memo.get(cls)
    if kept is None:

        def owner(name: str) -> type:
            return next(k for k in cls.__mro__ if name in k.__dict__)

        kept = memo[cls] = all(issubclass(owner(flag), owner(method)) for method in methods)
    return kept


@attrs.frozen
class Sequential(Composite[SP]):
    """Layers applied one after another: ``y = fₖ(… f₂(f₁(x)))``.

    Its params are the tuple of its children's params (``None`` for parameter-free
    children) and its state the tuple of their states (``None`` when no child has
    state), so sequentials nest. Inputs and outputs may be tuples of arrays: each
    layer receives what the one before returned.

    **Backward (VJP)**: the chain rule, children's ``grad`` in reverse order:
    ``dxᵢ = ∂fᵢᵀ dxᵢ₊₁`` with ``dxₖ₊₁ = dy``. When the first layer takes integer ids
    (an embedding), ``dx`` is ``None``.

    **Residuals**: the tuple of the children's residuals.

    Errors raised by a child name its place: ``layer 2 (Dense(features=10)): …``.

    **In place**: an activation that can overwrite its input (ReLU, sigmoid, tanh) does so
    when the layer before it returns a new array that nothing else shares (``Dense``,
    ``Conv2D``, pooling: see :attr:`fnn.layers.core.Layer.fresh_output`). The results are
    the same bit for bit and the arrays the caller passed are never written; each such
    pair saves one activation-sized array: the SimpleConvNet step measured 0.94-0.97 of
    its time (fewer page faults), its inference in batches of 1,000 images 0.83-0.88; the
    MLPs' inference 0.98-0.99, their training steps unchanged. (Overwriting ``dy`` backward
    the same way measured slower, 1.10: the allocator then returned and re-faulted more pages.)
    """

    place = "layer"

    layers: tuple[Layer[Any], ...] = attrs.field(validator=_check_layers)

    @property
    def children(self) -> tuple[Layer[Any], ...]:
        return self.layers

    @property
    def integer_input(self) -> bool:  # type: ignore[override]
        """Whether the first layer takes integer ids."""
        return bool(self.layers) and self.layers[0].integer_input

    def _shapes(self, in_shape: ShapeTree) -> Iterator[tuple[int, Layer[Any], ShapeTree]]:
        shape = check_shape_tree(self.name, in_shape)
        for i, layer in enumerate(self.layers):
            yield i, layer, shape
            shape = self.guard(i, lambda: layer.out_shape(shape))

    def init(self, key: random.Key, in_shape: ShapeTree, backend: Backend | None = None) -> SP:
        b = resolve(backend)
        keys = random.split(key, max(len(self.layers), 1))
        params: Any = tuple(
            self.guard(i, lambda: layer.init(keys[i], shape, b)) for i, layer, shape in self._shapes(in_shape)
        )
        return cast(SP, params)

    def init_state(self, in_shape: ShapeTree, backend: Backend | None = None) -> Any:
        b = resolve(backend)
        return self.join_state(
            [self.guard(i, lambda: layer.init_state(shape, b)) for i, layer, shape in self._shapes(in_shape)]
        )

    def out_shape(self, in_shape: ShapeTree) -> ShapeTree:
        shape = check_shape_tree(self.name, in_shape)
        for i, layer in enumerate(self.layers):
            shape = self.guard(i, lambda: layer.out_shape(shape))
        return shape

    def apply(self, params: SP, x: ArrayTree, state: Any = None) -> Array:
        """Inference; models with state (batch norm) need ``state``."""
        self._check_params(params)
        if state is not None:
            return self.apply_stateful(params, state, x)
        i = 0
        before: Layer[Any] | None = None
        try:
            for i, layer in enumerate(self.layers):
                if before is not None and _in_place(layer, before):
                    x = cast(Activation, layer).call_in_place(x)
                else:
                    x = layer.apply(params[i], x)
                before = layer
        except FnnError as error:
            raise self.placed(i, error) from None
        y: Array = x
        return y

    def apply_stateful(self, params: SP, state: Any, x: ArrayTree) -> Array:
        states = self._states(state)
        i = 0
        try:
            for i, layer in enumerate(self.layers):
                x = layer.apply_stateful(params[i], states[i], x)
        except FnnError as error:
            raise self.placed(i, error) from None
        y: Array = x
        return y

    def apply_with_state(self, params: SP, state: Any, x: ArrayTree) -> tuple[Array, Any]:
        self._check_params(params)
        states = self._states(state)
        new_states = []
        i = 0
        try:
            for i in range(len(self.layers)):
                x, s = self.infer_child(i, params[i], states[i], x)
                new_states.append(s)
        except FnnError as error:
            raise self.placed(i, error) from None
        return x, None if state is None else tuple(new_states)

    def forward(self, params: SP, x: ArrayTree) -> tuple[Array, tuple[Any, ...]]:
        self._check_params(params)
        residuals = []
        i = 0
        before: Layer[Any] | None = None
        try:
            for i, layer in enumerate(self.layers):
                if before is not None and _in_place(layer, before):
                    x = r = cast(Activation, layer).call_in_place(x)
                else:
                    x, r = layer.forward(params[i], x)
                residuals.append(r)
                before = layer
        except FnnError as error:
            raise self.placed(i, error) from None
        return x, tuple(residuals)

    def forward_train(
        self, params: SP, state: Any, x: ArrayTree, key: random.Key | None = None
    ) -> tuple[Array, tuple[Any, ...], Any]:
        self._check_params(params)
        states = self._states(state)
        keys = (None,) * len(self.layers) if key is None else self.split_key(key)
        residuals = []
        new_states = []
        i = 0
        before: Layer[Any] | None = None
        try:
            for i, layer in enumerate(self.layers):
                if before is not None and _in_place(layer, before):
                    x = r = cast(Activation, layer).call_in_place(x)
                    s = states[i]
                else:
                    x, r, s = layer.forward_train(params[i], states[i], x, keys[i])
                residuals.append(r)
                new_states.append(s)
                before = layer
        except FnnError as error:
            raise self.placed(i, error) from None
        new_state = None if state is None else tuple(new_states)
        return x, tuple(residuals), new_state

    def grad(self, params: SP, residuals: tuple[Any, ...], dy: ArrayTree) -> tuple[SP, ArrayTree]:
        self._check_params(params)
        self._check_entries("residuals", residuals, "forward")
        grads: list[Any] = [None] * len(self.layers)
        i = 0
        try:
            for i in range(len(self.layers) - 1, -1, -1):
                grads[i], dy = self.layers[i].grad(params[i], residuals[i], dy)
        except FnnError as error:
            raise self.placed(i, error) from None
        result: Any = tuple(grads)
        return result, dy

    def param_grad(self, params: SP, residuals: tuple[Any, ...], dy: ArrayTree) -> SP:
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
            raise self.placed(i, error) from None
        result: Any = tuple(grads)
        return cast(SP, result)

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

    def _check_params(self, params: SP) -> None:
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

    def summary(self, in_shape: ShapeTree, backend: Backend | None = None) -> str:
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
        total = (
            "",
            "total",
            "input " + _batch_shape(check_shape_tree(self.name, in_shape)),
            str(param_count(params)),
        )
        widths = [max(len(r[c]) for r in rows + [total]) for c in range(4)]
        rule = tuple("-" * w for w in widths)
        lines = [rows[0], rule, *rows[1:], rule, total]
        return "\n".join(
            "  ".join(
                cell.rjust(w) if c == 3 else cell.ljust(w) for c, (cell, w) in enumerate(zip(r, widths))
            ).rstrip()
            for r in lines
        )


def _batch_shape(shape: ShapeTree) -> str:
    """``(N, 3)`` for a shape, ``((N, 5, 3), (N, 4))`` for a tuple of shapes."""
    if is_shape(shape):
        return "(" + ", ".join(["N", *(str(s) for s in shape)]) + ")"
    return "(" + ", ".join(_batch_shape(entry) for entry in shape) + ")"


@overload
def sequential() -> Sequential[tuple[()]]: ...
@overload
def sequential(l1: Layer[P1], /) -> Sequential[tuple[P1]]: ...
@overload
def sequential(l1: Layer[P1], l2: Layer[P2], /) -> Sequential[tuple[P1, P2]]: ...
@overload
def sequential(l1: Layer[P1], l2: Layer[P2], l3: Layer[P3], /) -> Sequential[tuple[P1, P2, P3]]: ...
@overload
def sequential(
    l1: Layer[P1], l2: Layer[P2], l3: Layer[P3], l4: Layer[P4], /
) -> Sequential[tuple[P1, P2, P3, P4]]: ...
@overload
def sequential(
    l1: Layer[P1], l2: Layer[P2], l3: Layer[P3], l4: Layer[P4], l5: Layer[P5], /
) -> Sequential[tuple[P1, P2, P3, P4, P5]]: ...
@overload
def sequential(
    l1: Layer[P1], l2: Layer[P2], l3: Layer[P3], l4: Layer[P4], l5: Layer[P5], l6: Layer[P6], /
) -> Sequential[tuple[P1, P2, P3, P4, P5, P6]]: ...
@overload
def sequential(
    l1: Layer[P1], l2: Layer[P2], l3: Layer[P3], l4: Layer[P4], l5: Layer[P5], l6: Layer[P6], l7: Layer[P7], /
) -> Sequential[tuple[P1, P2, P3, P4, P5, P6, P7]]: ...
@overload
def sequential(
    l1: Layer[P1],
    l2: Layer[P2],
    l3: Layer[P3],
    l4: Layer[P4],
    l5: Layer[P5],
    l6: Layer[P6],
    l7: Layer[P7],
    l8: Layer[P8],
    /,
) -> Sequential[tuple[P1, P2, P3, P4, P5, P6, P7, P8]]: ...
@overload
def sequential(*layers: Layer[Any]) -> Sequential: ...
def sequential(*layers: Layer[Any]) -> Sequential[Any]:
    """Compose ``layers`` in order into one layer (see :class:`Sequential`).

    Up to eight layers, the params type is precise: ``sequential(Dense(4), relu,
    Dense(2))`` is a ``Sequential[tuple[DenseParams, None, DenseParams]]``, so a type
    checker knows ``params[0].w`` and rejects ``params[0].W``. Longer models (or layers
    unpacked from a list) get ``tuple[Any, ...]``.

    >>> import fnn
    >>> model = fnn.sequential(fnn.Dense(10), fnn.sigmoid, fnn.Dense(3))
    >>> params = model.init(fnn.random.key(0), (2,))
    >>> model.apply(params, fnn.backend().zeros((5, 2))).shape
    (5, 3)
    """
    return Sequential(tuple(layers))
