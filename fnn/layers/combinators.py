"""Combinators: branches and merges as layers, in the spirit of stax's.

=====================================  ==========================================================
layer                                  forward (per example)
=====================================  ==========================================================
``parallel(f₁, …, fₖ)``                ``(x₁, …, xₖ) ↦ (f₁(x₁), …, fₖ(xₖ))``
``FanOut(k)``                          ``x ↦ (x, …, x)`` (``k`` copies)
``FanInSum()``                         ``(x₁, …, xₖ) ↦ x₁ + … + xₖ``
``FanInConcat(axis=-1)``               ``(x₁, …, xₖ) ↦ concatenate(x₁, …, xₖ)`` along ``axis``
``residual(f)``                        ``x ↦ x + f(x)``
=====================================  ==========================================================

Each is a layer: it nests in :func:`fnn.sequential` (and a sequential nests in it),
infers its output shape, forwards state and keys to its children and names the
failing branch in errors (``branch 1 (Dense(features=3)): …``). Tuple inputs have a
tuple of shapes as ``in_shape``. A block ``y = f(x) + g(x)`` is
``sequential(FanOut(2), parallel(f, g), FanInSum())``:

>>> import fnn
>>> block = fnn.sequential(fnn.FanOut(2), fnn.parallel(fnn.Dense(4), fnn.Dense(4)), fnn.FanInSum())
>>> params = block.init(fnn.random.key(0), (3,))
>>> block.apply(params, fnn.backend().ones((2, 3))).shape
(2, 4)
"""

from __future__ import annotations

from typing import Any, cast, overload

import attrs
from typing_extensions import TypeVar

from fnn import random
from fnn.backend import Backend, array_module
from fnn.errors import ShapeError, StateError
from fnn.layers.core import Composite, Layer, ParameterFreeLayer, add_cotangents, check_shape_tree, is_shape
from fnn.typing import ArrayTree, ShapeTree

__all__ = ["FanInConcat", "FanInSum", "FanOut", "Parallel", "Residual", "parallel", "residual"]

TP = TypeVar("TP", bound="tuple[Any, ...]", default="tuple[Any, ...]")
P = TypeVar("P")
P1 = TypeVar("P1")
P2 = TypeVar("P2")
P3 = TypeVar("P3")
P4 = TypeVar("P4")


def _check_layers(instance: object, attribute: object, value: tuple[object, ...]) -> None:
    if not value:
        raise ValueError("parallel: give at least one layer")
    for i, layer in enumerate(value):
        if not isinstance(layer, Layer):
            raise TypeError(f"parallel: argument {i} is {layer!r}, which is not an fnn layer")


def _entries(where: str, what: str, value: Any, n: int) -> tuple[Any, ...]:
    """``value`` as a tuple of ``n`` entries, or a :class:`ShapeError` saying what arrived."""
    if not isinstance(value, tuple) or len(value) != n:
        got = f"a tuple of {len(value)}" if isinstance(value, tuple) else type(value).__name__
        raise ShapeError(f"{where}: expected {what} as a tuple of {n} entries (one per branch), got {got}")
    return value


def _shapes(where: str, in_shape: ShapeTree, n: int | None = None) -> tuple[ShapeTree, ...]:
    """``in_shape`` validated as a tuple of shapes (of ``n`` entries when given)."""
    shape = check_shape_tree(where, in_shape)
    if is_shape(shape) or (n is not None and len(shape) != n):
        count = "" if n is None else f"{n} "
        raise ShapeError(
            f"{where}: expected `in_shape` as a tuple of {count}input shapes such as ((3,), (3,)), "
            f"got {shape}"
        )
    return shape


@attrs.frozen
class Parallel(Composite[TP]):
    """Branches applied to the entries of a tuple input: ``(x₁, …, xₖ) ↦ (f₁(x₁), …, fₖ(xₖ))``.

    **Backward (VJP)**: the branches are independent, so ``dxᵢ`` and ``dθᵢ`` come from
    branch ``i``'s ``grad`` with ``dyᵢ`` alone.

    **Residuals**: the tuple of the branches' residuals.

    **Shapes**: ``in_shape`` is a tuple of the branches' input shapes; the output
    shape is the tuple of theirs. Params and state are tuples with one entry per
    branch (state ``None`` when no branch has any).
    """

    place = "branch"

    branches: tuple[Layer[Any], ...] = attrs.field(validator=_check_layers)

    @property
    def children(self) -> tuple[Layer[Any], ...]:
        return self.branches

    def __repr__(self) -> str:
        return f"parallel({', '.join(branch.name for branch in self.branches)})"

    def init(self, key: random.Key, in_shape: ShapeTree, backend: Backend | None = None) -> TP:
        params: Any = self.init_children(key, _shapes(self.name, in_shape, len(self.branches)), backend)
        return cast(TP, params)

    def init_state(self, in_shape: ShapeTree, backend: Backend | None = None) -> Any:
        return self.init_children_state(_shapes(self.name, in_shape, len(self.branches)), backend)

    def out_shape(self, in_shape: ShapeTree) -> ShapeTree:
        shapes = _shapes(self.name, in_shape, len(self.branches))
        return tuple(self.guard(i, lambda: b.out_shape(shapes[i])) for i, b in enumerate(self.branches))

    def _check(self, params: Any, x: Any) -> None:
        n = len(self.branches)
        if not isinstance(params, tuple) or len(params) != n:
            raise StateError(f"{self.name}: expected params as a tuple of {n} entries, as init returns")
        _entries(self.name, "the input", x, n)

    def forward_train(
        self, params: TP, state: Any, x: ArrayTree, key: random.Key | None = None
    ) -> tuple[ArrayTree, tuple[Any, ...], Any]:
        self._check(params, x)
        states, keys = self.split_state(state), self.split_key(key)
        outs = [
            self.guard(i, lambda: self.train_child(i, params[i], states[i], x[i], keys[i]))
            for i in range(len(x))
        ]
        return tuple(o[0] for o in outs), tuple(o[1] for o in outs), self.join_state([o[2] for o in outs])

    def apply_with_state(self, params: TP, state: Any, x: ArrayTree) -> tuple[ArrayTree, Any]:
        self._check(params, x)
        states = self.split_state(state)
        outs = [self.guard(i, lambda: self.infer_child(i, params[i], states[i], x[i])) for i in range(len(x))]
        return tuple(o[0] for o in outs), None if state is None else tuple(o[1] for o in outs)

    def grad(self, params: TP, residuals: tuple[Any, ...], dy: ArrayTree) -> tuple[TP, ArrayTree]:
        self._check(params, dy)
        outs = [
            self.guard(i, lambda: b.grad(params[i], residuals[i], dy[i])) for i, b in enumerate(self.branches)
        ]
        dparams: Any = tuple(o[0] for o in outs)
        return dparams, tuple(o[1] for o in outs)


@overload
def parallel(l1: Layer[P1], /) -> Parallel[tuple[P1]]: ...
@overload
def parallel(l1: Layer[P1], l2: Layer[P2], /) -> Parallel[tuple[P1, P2]]: ...
@overload
def parallel(l1: Layer[P1], l2: Layer[P2], l3: Layer[P3], /) -> Parallel[tuple[P1, P2, P3]]: ...
@overload
def parallel(
    l1: Layer[P1], l2: Layer[P2], l3: Layer[P3], l4: Layer[P4], /
) -> Parallel[tuple[P1, P2, P3, P4]]: ...
@overload
def parallel(*branches: Layer[Any]) -> Parallel: ...
def parallel(*branches: Layer[Any]) -> Parallel[Any]:
    """Branches applied to the entries of a tuple input (see :class:`Parallel`).

    Up to four branches the params type is precise, as for :func:`fnn.sequential`.

    >>> import fnn
    >>> layer = fnn.parallel(fnn.Dense(2), fnn.relu)
    >>> params = layer.init(fnn.random.key(0), ((3,), (5,)))
    >>> layer.out_shape(((3,), (5,)))
    ((2,), (5,))
    """
    return Parallel(tuple(branches))


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{attribute.name}` must be a positive integer, got {value!r}")


@attrs.frozen
class FanOut(ParameterFreeLayer):
    """``copies`` references to the input: ``x ↦ (x, …, x)``.

    **Backward (VJP)**: every copy reaches the loss, so their gradients add:
    ``dx = Σᵢ dyᵢ`` (``None`` entries, from integer inputs, count as zero).

    **Residuals**: none. **Shapes**: ``s ↦ (s, …, s)``.
    """

    copies: int = attrs.field(validator=_positive)

    def out_shape(self, in_shape: ShapeTree) -> ShapeTree:
        return (check_shape_tree(repr(self), in_shape),) * self.copies

    def forward(self, params: None, x: ArrayTree) -> tuple[ArrayTree, None]:
        return (x,) * self.copies, None

    def apply(self, params: None, x: ArrayTree) -> ArrayTree:
        return (x,) * self.copies

    def grad(self, params: None, residuals: None, dy: ArrayTree) -> tuple[None, ArrayTree]:
        entries = _entries(repr(self), "dy", dy, self.copies)
        dx = entries[0]
        for entry in entries[1:]:
            dx = add_cotangents(dx, entry)
        return None, dx


def _same_shapes(layer: object, shapes: tuple[ShapeTree, ...]) -> None:
    for i, shape in enumerate(shapes[1:], 1):
        if shape != shapes[0]:
            raise ShapeError(
                f"{layer!r}: input {i} has shape {shape} but input 0 has {shapes[0]}; "
                "the added inputs need one shape"
            )


@attrs.frozen
class FanInSum(ParameterFreeLayer):
    """The sum of the entries of a tuple input: ``(x₁, …, xₖ) ↦ x₁ + … + xₖ``.

    **Backward (VJP)**: ``∂y/∂xᵢ = I``, so ``dxᵢ = dy`` for every ``i``.

    **Residuals**: ``k``. **Shapes**: ``(s, …, s) ↦ s``.
    """

    def out_shape(self, in_shape: ShapeTree) -> ShapeTree:
        shapes = _shapes(repr(self), in_shape)
        _same_shapes(self, shapes)
        return shapes[0]

    def apply(self, params: None, x: ArrayTree) -> ArrayTree:
        if not isinstance(x, tuple) or not x:
            raise ShapeError(f"{self!r}: expected a tuple of arrays to add, got {type(x).__name__}")
        y = x[0]
        for entry in x[1:]:
            if entry.shape != y.shape:
                raise ShapeError(
                    f"{self!r}: cannot add inputs of shapes {tuple(y.shape)} and {tuple(entry.shape)}"
                )
            y = y + entry
        return y

    def forward(self, params: None, x: ArrayTree) -> tuple[ArrayTree, int]:
        return self.apply(params, x), len(x)

    def grad(self, params: None, residuals: int, dy: ArrayTree) -> tuple[None, ArrayTree]:
        return None, (dy,) * residuals


@attrs.frozen
class FanInConcat(ParameterFreeLayer):
    """The entries of a tuple input joined along ``axis`` (an axis of the per-example shape).

    **Forward**: ``y = concatenate(x₁, …, xₖ)`` along ``axis`` (``-1``: the last;
    ``0``: the first after the batch axis).

    **Backward (VJP)**: each input receives its own slice: ``dxᵢ = dy[…, oᵢ:oᵢ₊₁, …]``
    with ``oᵢ`` the running sum of the sizes along ``axis``.

    **Residuals**: the split offsets. **Shapes**: sizes along ``axis`` add up; the other
    axes must agree.
    """

    axis: int = -1

    def out_shape(self, in_shape: ShapeTree) -> ShapeTree:
        shapes = _shapes(repr(self), in_shape)
        ndim = len(shapes[0])
        if not -ndim <= self.axis < ndim:
            raise ShapeError(f"{self!r}: axis {self.axis} is out of range for inputs of shape {shapes[0]}")
        axis = self.axis % ndim
        rest = [s[:axis] + s[axis + 1 :] for s in shapes]
        _same_shapes(self, tuple(rest))
        size = sum(s[axis] for s in shapes)
        return (*shapes[0][:axis], size, *shapes[0][axis + 1 :])

    def _batch_axis(self, x: Any) -> int:
        return self.axis if self.axis < 0 else self.axis + 1

    def apply(self, params: None, x: ArrayTree) -> ArrayTree:
        if not isinstance(x, tuple) or not x:
            raise ShapeError(f"{self!r}: expected a tuple of arrays to join, got {type(x).__name__}")
        try:
            y: Any = array_module(x[0]).concatenate(x, axis=self._batch_axis(x))
        except ValueError as error:
            shapes = ", ".join(str(tuple(e.shape)) for e in x)
            raise ShapeError(f"{self!r}: cannot join inputs of shapes {shapes}: {error}") from None
        return y

    def forward(self, params: None, x: ArrayTree) -> tuple[ArrayTree, list[int]]:
        axis = self._batch_axis(x)
        offsets: list[int] = []
        total = 0
        for entry in x[:-1]:
            total += entry.shape[axis]
            offsets.append(total)
        return self.apply(params, x), offsets

    def grad(self, params: None, residuals: list[int], dy: ArrayTree) -> tuple[None, ArrayTree]:
        return None, tuple(array_module(dy).split(dy, residuals, axis=self._batch_axis(dy)))


@attrs.frozen
class Residual(Composite[P]):
    """A skip connection around ``body``: ``y = x + f(x)``.

    **Backward (VJP)**: ``∂y/∂x = I + ∂f/∂x``, so ``dx = dy + (∂f/∂x)ᵀ dy`` and
    ``dθ = (∂f/∂θ)ᵀ dy``: the gradient reaches ``x`` both through the body and around it.

    **Residuals**: the body's. **Shapes**: the body must keep the shape; for a block
    that changes it, add a projection:
    ``sequential(FanOut(2), parallel(f, projection), FanInSum())``.

    Params and state are the body's own (not wrapped in a tuple).
    """

    place = "residual body"

    body: Layer[P]

    @property
    def children(self) -> tuple[Layer[Any], ...]:
        return (self.body,)

    def __repr__(self) -> str:
        return f"residual({self.body.name})"

    def child_label(self, i: int) -> str:
        return f"{self.place} ({self.body.name})"

    def out_shape(self, in_shape: ShapeTree) -> ShapeTree:
        shape = check_shape_tree(self.name, in_shape)
        out = self.guard(0, lambda: self.body.out_shape(shape))
        if out != shape:
            raise ShapeError(
                f"{self.name}: the body maps {shape} to {out}, but x + f(x) needs the same shape; "
                "for a block that changes the shape use "
                "sequential(FanOut(2), parallel(body, projection), FanInSum())"
            )
        return shape

    def init(self, key: random.Key, in_shape: ShapeTree, backend: Backend | None = None) -> P:
        shape = self.out_shape(in_shape)
        return self.guard(0, lambda: self.body.init(key, shape, backend))

    def init_state(self, in_shape: ShapeTree, backend: Backend | None = None) -> Any:
        shape = self.out_shape(in_shape)
        return self.guard(0, lambda: self.body.init_state(shape, backend))

    def forward_train(
        self, params: P, state: Any, x: ArrayTree, key: random.Key | None = None
    ) -> tuple[ArrayTree, Any, Any]:
        fx, residuals, new_state = self.guard(0, lambda: self.body.forward_train(params, state, x, key))
        return self._skip(x, fx), residuals, new_state

    def apply_with_state(self, params: P, state: Any, x: ArrayTree) -> tuple[ArrayTree, Any]:
        fx, new_state = self.guard(0, lambda: self.infer_child(0, params, state, x))
        return self._skip(x, fx), new_state

    def _skip(self, x: Any, fx: Any) -> Any:
        """``x + f(x)``, entry by entry for tuple inputs."""
        if isinstance(x, tuple) and isinstance(fx, tuple) and len(x) == len(fx):
            return tuple(self._skip(a, b) for a, b in zip(x, fx))
        if getattr(fx, "shape", None) != getattr(x, "shape", None) or isinstance(x, tuple):
            raise ShapeError(
                f"{self.name}: the body returned {_describe(fx)} for the input {_describe(x)}; "
                "x + f(x) needs the same shape"
            )
        return x + fx

    def grad(self, params: P, residuals: Any, dy: ArrayTree) -> tuple[P, ArrayTree]:
        dparams, dfx = self.guard(0, lambda: self.body.grad(params, residuals, dy))
        return dparams, add_cotangents(dy, dfx)


def _describe(value: Any) -> str:
    if isinstance(value, tuple):
        return "a tuple of " + str(len(value))
    return f"shape {tuple(getattr(value, 'shape', ()))}"


def residual(body: Layer[P]) -> Residual[P]:
    """``x ↦ x + body(x)`` (see :class:`Residual`); the params are ``body``'s.

    >>> import fnn
    >>> block = fnn.residual(fnn.sequential(fnn.Dense(3), fnn.relu))
    >>> params = block.init(fnn.random.key(0), (3,))
    >>> block.apply(params, fnn.backend().ones((2, 3))).shape
    (2, 3)
    """
    if not isinstance(body, Layer):
        raise TypeError(f"residual: {body!r} is not an fnn layer")
    return Residual(body)

