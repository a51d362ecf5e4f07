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

Nothing is ever mutated: new state is returned, never written in place. Inference
that must also return the new state (a stateful recurrent layer generating one step at
a time) calls ``apply_with_state(params, state, x) -> (y, new_state)``.

**Inputs and outputs may be tuples of arrays** (``(xs, h0)`` in, ``(hs, h_last)`` out);
``in_shape``/``out_shape`` are then the same tuple structure of shapes (a
:data:`fnn.typing.ShapeTree`), ``grad`` takes ``dy`` with the output's structure and
returns ``dx`` with the input's. A layer that takes integer ids sets
``integer_input = True`` and returns ``None`` as their gradient.

**Layers made of other layers** subclass :class:`Composite`, which forwards state, keys
and randomness to the children and names the failing child in errors. A layer that
holds other layers without it, and so would silently drop a child's state or key,
raises :class:`fnn.StateError` the first time it is trained or asked for its state.
"""

from __future__ import annotations

import abc
import operator
from typing import Any, Callable, ClassVar, Generic, TypeVar

from fnn.backend import Backend, check_plain_array, is_cupy_array
from fnn.errors import BackendError, DTypeError, FnnError, ShapeError, StateError
from fnn.random import Key
from fnn.typing import Array, ArrayTree, Shape, ShapeTree

P = TypeVar("P")
T = TypeVar("T")


class Layer(abc.ABC, Generic[P]):
    """Base class of every fnn layer; ``P`` is the type of its params pytree.

    Subclasses are frozen attrs classes. They implement :meth:`init`,
    :meth:`out_shape`, :meth:`forward` and :meth:`grad`, and override :meth:`apply`
    when inference can skip work that the residuals need.
    """

    stochastic: ClassVar[bool] = False
    """Whether the layer draws random numbers in training (and so needs a key)."""

    holds_no_layers: ClassVar[bool] = False
    """Whether the class never holds another layer (fnn's leaf layers, such as ``Dense``,
    say so: their training pass then skips the wrapper check, a cost on every step)."""

    integer_input: ClassVar[bool] = False
    """Whether the layer takes integer ids (an embedding); the gradient of its input is then ``None``."""

    fresh_output: ClassVar[bool] = False
    """Whether :meth:`apply` and :meth:`forward` return a new array that neither the input nor
    the residuals share: a :class:`~fnn.layers.sequential.Sequential` may then let the next
    layer overwrite it (an in-place activation, see
    :attr:`fnn.layers.activations.Activation.in_place`). A subclass that overrides ``apply``,
    ``forward`` or ``forward_train`` does not inherit the promise; it sets the flag again if
    its own output is new too."""

    @abc.abstractmethod
    def init(self, key: Key, in_shape: ShapeTree, backend: Backend | None = None) -> P:
        """New parameters for inputs of shape ``(N, *in_shape)`` (a tuple of shapes for tuple inputs)."""

    @abc.abstractmethod
    def out_shape(self, in_shape: ShapeTree) -> ShapeTree:
        """The output shape (without batch axis) for inputs of ``in_shape``."""

    @abc.abstractmethod
    def forward(self, params: P, x: ArrayTree) -> tuple[Array, Any]:
        """``(y, residuals)``: the output and what :meth:`grad` needs."""

    @abc.abstractmethod
    def grad(self, params: P, residuals: Any, dy: ArrayTree) -> tuple[P, ArrayTree]:
        """``(dparams, dx)``: the gradients of a scalar loss given ``dy = ∂L/∂y``."""

    def apply(self, params: P, x: ArrayTree) -> Array:
        """The output for inference; keeps no residuals."""
        return self.forward(params, x)[0]

    def param_grad(self, params: P, residuals: Any, dy: ArrayTree) -> P:
        """``dparams`` alone: :meth:`grad` without ``dx``.

        Training needs no gradient with respect to the data, so a model's first
        layer can skip it (for a dense layer that is a third of its backward cost).
        Layers override this when ``dx`` is expensive; the default calls :meth:`grad`.
        """
        return self.grad(params, residuals, dy)[0]

    def init_state(self, in_shape: ShapeTree, backend: Backend | None = None) -> Any:
        """The layer's initial state; ``None`` for layers without state."""
        check_shape_tree(self.name, in_shape)
        check_forwards_contract(self)
        return None

    def apply_stateful(self, params: P, state: Any, x: ArrayTree) -> Array:
        """Inference reading ``state`` (layers without state ignore it)."""
        return self.apply(params, x)

    def apply_with_state(self, params: P, state: Any, x: ArrayTree) -> tuple[Array, Any]:
        """``(y, new_state)``: inference that also returns the state after ``x``.

        Batch norm's state does not change in inference (the default returns ``state``);
        a stateful recurrent layer returns its new carry, so generation can feed one step
        at a time.
        """
        return self.apply_stateful(params, state, x), state

    def forward_train(
        self, params: P, state: Any, x: ArrayTree, key: Key | None = None
    ) -> tuple[Array, Any, Any]:
        """``(y, residuals, new_state)`` in training mode; ``key`` feeds random layers.

        This default drops ``state`` and ``key``, so a layer that wraps others is checked
        to forward them (:func:`check_forwards_contract`), unless its class declares
        :attr:`holds_no_layers`.
        """
        if not self.holds_no_layers:
            check_forwards_contract(self)
        y, residuals = self.forward(params, x)
        return y, residuals, state

    @property
    def has_state(self) -> bool:
        """Whether the layer may keep state: it overrides :meth:`init_state` (or, for a
        :class:`Composite`, one of its children does)."""
        return type(self).init_state is not Layer.init_state

    @property
    def name(self) -> str:
        """The name shown in errors and summaries, such as ``Dense(features=10)``."""
        return repr(self)


class ParameterFreeLayer(Layer[None]):
    """Base of layers without parameters: ``init`` only validates ``in_shape`` and returns ``None``."""

    def init(self, key: Key, in_shape: ShapeTree, backend: Backend | None = None) -> None:
        self.out_shape(in_shape)
        return None


def add_cotangents(a: Any, b: Any) -> Any:
    """``a + b`` for gradients reaching one value along two paths (a fan-out).

    Tuples add entry by entry; ``None`` (no gradient, as for integer ids) is zero.
    """
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, tuple):
        return tuple(add_cotangents(u, v) for u, v in zip(a, b))
    return a + b


_CONTAINERS = (Layer, tuple, list, dict)


def _held_layers(layer: object) -> list[Layer[Any]]:
    """The layers stored in ``layer``'s fields, directly or in a tuple, list or dict."""
    fields = getattr(type(layer), "__attrs_attrs__", None)
    if fields is not None:
        values = [getattr(layer, field.name) for field in fields]
    else:
        values = list(getattr(layer, "__dict__", {}).values())
    held: list[Layer[Any]] = []
    for value in values:
        if not isinstance(value, _CONTAINERS):
            continue
        if isinstance(value, dict):
            value = tuple(value.values())
        if isinstance(value, (tuple, list)):
            held.extend(entry for entry in value if isinstance(entry, Layer))
        elif isinstance(value, Layer):
            held.append(value)
    return held


def check_forwards_contract(layer: Layer[Any]) -> None:
    """Raise if ``layer`` holds a layer with state or randomness but does not forward them.

    A wrapper written with only ``init``, ``out_shape``, ``forward`` and ``grad`` inherits
    defaults that ignore state and keys: a batch norm inside would train without
    updating its statistics and infer with batch statistics, a dropout inside would
    report a missing key although one was given. :class:`Composite` forwards both.

    Raises:
        StateError: ``layer`` is not a :class:`Composite` and holds a layer that has state
            or draws random numbers.
    """
    if isinstance(layer, Composite):
        return
    held = _held_layers(layer)
    needy = [child for child in held if child.has_state or child.stochastic]
    if needy:
        what = "has state (running statistics)" if needy[0].has_state else "draws random numbers"
        raise StateError(
            f"{layer!r} wraps {needy[0].name}, which {what}, but {type(layer).__name__} does not "
            "forward state and keys to it; subclass fnn.Composite (list the wrapped layers in "
            "`children`) instead of fnn.Layer"
        )


class Composite(Layer[P]):
    """Base of layers made of other layers: forwards state, keys and randomness.

    ``Sequential``, every combinator and ``Graph`` subclass it, and so should a
    user's own composite layer (an attention block calling its children's
    ``forward``/``grad``, say). A subclass provides

    - :attr:`children`: the wrapped layers, in a fixed order;
    - :meth:`init`, :meth:`out_shape` and (when a child may have state) :meth:`init_state`
      (:meth:`init_children` and :meth:`init_children_state` do the common case);
    - :meth:`forward_train` ``(params, state, x, key) -> (y, residuals, new_state)``,
      calling each child through :meth:`train_child`;
    - :meth:`apply_with_state` ``(params, state, x) -> (y, new_state)``, calling each
      child through :meth:`infer_child` (keeps no residuals);
    - :meth:`grad`.

    The base derives ``forward``, ``apply`` and ``apply_stateful`` from those two, makes
    the layer ``stochastic`` when a child is, splits keys among the stochastic children
    only (:meth:`split_key`), keeps the state as a tuple with one entry per child or
    ``None`` when no child has any (:meth:`split_state`, :meth:`join_state`), and
    prefixes a child's error with its place (:meth:`guard`): ``branch 1 (Dense(features=3)): …``.
    """

    place: ClassVar[str] = "child"
    """How errors name a child: ``layer``, ``branch``, ``node``."""

    @property
    @abc.abstractmethod
    def children(self) -> tuple[Layer[Any], ...]:
        """The wrapped layers."""

    @property
    def stochastic(self) -> bool:  # type: ignore[override]
        """Whether any child draws random numbers in training."""
        return any(child.stochastic for child in self.children)

    @property
    def has_state(self) -> bool:
        return any(child.has_state for child in self.children)

    def child_label(self, i: int) -> str:
        """How errors name child ``i``: ``branch 1 (Dense(features=3))``."""
        return f"{self.place} {i} ({self.children[i].name})"

    def placed(self, i: int, error: FnnError) -> FnnError:
        """``error`` again (same class), its message prefixed with the place of child ``i``."""
        message = str(error).removeprefix(f"{self.children[i].name}: ")
        return type(error)(f"{self.child_label(i)}: {message}")

    def guard(self, i: int, action: Callable[[], T]) -> T:
        """``action()``, with an fnn error re-raised as :meth:`placed` for child ``i``."""
        try:
            return action()
        except FnnError as error:
            raise self.placed(i, error) from None

    def split_key(self, key: Key | None) -> tuple[Key | None, ...]:
        """One key per child: independent keys for the stochastic children, ``None`` for the rest.

        Only stochastic children consume a split, so adding a dropout layer does not
        change the random numbers any other layer sees.
        """
        from fnn import random

        keys: list[Key | None] = [None] * len(self.children)
        if key is None:
            return tuple(keys)
        stochastic = [i for i, child in enumerate(self.children) if child.stochastic]
        if stochastic:
            for i, k in zip(stochastic, random.split(key, len(stochastic))):
                keys[i] = k
        return tuple(keys)

    def split_state(self, state: Any) -> tuple[Any, ...]:
        """The children's states from the composite's (``None`` gives ``None`` for each)."""
        n = len(self.children)
        if state is None:
            return (None,) * n
        if not isinstance(state, tuple) or len(state) != n:
            got = (
                f"{type(state).__name__} of length {len(state)}"
                if isinstance(state, (tuple, list))
                else type(state).__name__
            )
            raise StateError(
                f"{self.name}: expected state as a tuple of {n} entries (one per {self.place}, "
                f"as init_state returns), got {got}"
            )
        return state

    @staticmethod
    def join_state(states: tuple[Any, ...] | list[Any]) -> Any:
        """The composite's state: the tuple of the children's, or ``None`` when all are ``None``."""
        return None if all(s is None for s in states) else tuple(states)

    def init_children(
        self, key: Key, shapes: tuple[ShapeTree, ...], backend: Backend | None
    ) -> tuple[Any, ...]:
        """Each child's params for its input shape ``shapes[i]``, from one split of ``key``."""
        from fnn import random
        from fnn.backend import resolve

        b = resolve(backend)
        keys = random.split(key, max(len(self.children), 1))
        return tuple(
            self.guard(i, lambda: child.init(keys[i], shapes[i], b)) for i, child in enumerate(self.children)
        )

    def init_children_state(self, shapes: tuple[ShapeTree, ...], backend: Backend | None) -> Any:
        """The children's initial states joined with :meth:`join_state`."""
        from fnn.backend import resolve

        b = resolve(backend)
        return self.join_state(
            [self.guard(i, lambda: child.init_state(shapes[i], b)) for i, child in enumerate(self.children)]
        )

    def train_child(self, i: int, params: Any, state: Any, x: Any, key: Key | None) -> tuple[Any, Any, Any]:
        """Child ``i``'s ``(y, residuals, new_state)`` from its ``forward_train``.

        Not its ``forward``: a batch norm given no state must say so, not train on
        batch statistics without updating them.
        """
        return self.children[i].forward_train(params, state, x, key)

    def infer_child(self, i: int, params: Any, state: Any, x: Any) -> tuple[Any, Any]:
        """Child ``i``'s ``(y, new_state)`` in inference: its ``apply`` when no state is given."""
        child = self.children[i]
        if state is None:
            return child.apply(params, x), None
        return child.apply_with_state(params, state, x)

    @abc.abstractmethod
    def forward_train(self, params: P, state: Any, x: Any, key: Key | None = None) -> tuple[Any, Any, Any]:
        """``(y, residuals, new_state)``, each child run through :meth:`train_child`."""

    @abc.abstractmethod
    def apply_with_state(self, params: P, state: Any, x: Any) -> tuple[Any, Any]:
        """``(y, new_state)`` in inference, each child run through :meth:`infer_child`."""

    def init_state(self, in_shape: ShapeTree, backend: Backend | None = None) -> Any:
        """``None`` when no child has state; a composite whose children may have state overrides it
        (usually with :meth:`init_children_state` and each child's input shape).

        Raises:
            StateError: a child has state and the subclass does not say how to create it.
        """
        check_shape_tree(self.name, in_shape)
        if self.has_state:
            raise StateError(
                f"{self.name}: a child has state, so {type(self).__name__} must override init_state "
                "(return self.init_children_state(shapes, backend) with each child's input shape)"
            )
        return None

    def forward(self, params: P, x: Any) -> tuple[Any, Any]:
        y, residuals, _ = self.forward_train(params, None, x, None)
        return y, residuals

    def apply(self, params: P, x: Any) -> Any:
        return self.apply_with_state(params, None, x)[0]

    def apply_stateful(self, params: P, state: Any, x: Any) -> Any:
        return self.apply_with_state(params, state, x)[0]


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


def _size(value: object) -> int | None:
    """``value`` as an int if it is an integer (Python or NumPy, not bool), else ``None``."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        return None


def check_shape_tree(where: object, in_shape: object) -> ShapeTree:
    """Validate ``in_shape`` as a shape or a tuple (pytree) of shapes; return it with lists as tuples.

    Sizes must be integers: ``5.7`` is refused, never truncated.

    Raises:
        ShapeError: ``in_shape`` is not a tuple (``5`` instead of ``(5,)``), or holds an
            entry that is neither an integer size nor a shape.
    """
    if not isinstance(in_shape, (tuple, list)):
        fix = f"; write ({in_shape!r},) for a single axis" if _size(in_shape) is not None else ""
        raise ShapeError(
            f"{where}: `in_shape` must be a tuple of sizes without the batch axis, such as (784,), "
            f"got {in_shape!r}{fix}"
        )
    if all(not isinstance(entry, (tuple, list)) for entry in in_shape):
        sizes = [_size(entry) for entry in in_shape]
        if None in sizes:
            bad = in_shape[sizes.index(None)]
            raise ShapeError(
                f"{where}: `in_shape` must hold integer sizes, got {bad!r} in {tuple(in_shape)!r}; "
                "sizes are never rounded, pass int(size)"
            )
        return tuple(sizes)
    return tuple(check_shape_tree(where, entry) for entry in in_shape)


def is_shape(shape: ShapeTree) -> bool:
    """Whether ``shape`` is one array's shape (all entries ints), not a tuple of shapes."""
    return all(not isinstance(entry, tuple) for entry in shape)


def check_in_shape(
    layer: object, in_shape: ShapeTree, ndim: int | None, hint: str = "", *, min_ndim: int = 0
) -> Shape:
    """Validate ``in_shape`` (no batch axis) as positive integer sizes and return it as a tuple.

    Args:
        layer: The layer named in errors.
        in_shape: The shape to check.
        ndim: The number of axes required, or ``None`` for any number (at least ``min_ndim``).
        hint: The fix, appended to the message.
        min_ndim: With ``ndim=None``, the fewest axes accepted.

    Raises:
        ShapeError: ``in_shape`` is not a tuple of integers (``5``, ``(5.7,)``, a tuple of
            shapes), or has another number of axes, or a size below 1.
    """
    shape = check_shape_tree(repr(layer), in_shape)
    axes = f"{ndim}" if ndim is not None else f"at least {min_ndim}"
    if not is_shape(shape):
        raise ShapeError(
            f"{layer!r}: expected one input of {axes} axis(es) after the batch axis, got the shapes "
            f"{shape} of a tuple of inputs" + (f"; {hint}" if hint else "")
        )
    wrong_ndim = len(shape) != ndim if ndim is not None else len(shape) < min_ndim
    if wrong_ndim or any(s < 1 for s in shape):
        raise ShapeError(
            f"{layer!r}: expected inputs of {axes} axis(es) of positive size after the batch axis, "
            f"got in_shape {shape}" + (f"; {hint}" if hint else "")
        )
    return shape
