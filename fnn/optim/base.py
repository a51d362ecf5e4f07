"""The optimizer type: a pair of pure functions, ``init`` and ``update``, and how to combine them.

An optimizer (optax calls it a gradient transformation) turns gradients into
*updates*, the amounts to add to the parameters::

    opt_state = optimizer.init(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    params = apply_updates(params, updates)          # θ ← θ + u

Updates already carry the sign and the learning rate: for :func:`fnn.optim.sgd`
``u = −η g``. Nothing is mutated: ``update`` returns new updates and a new state,
and states are immutable pytrees (frozen attrs classes named after the transform
that owns them, such as ``ScaleByAdamState``). Primitive transforms compose with
:func:`chain`; the named optimizers in :mod:`fnn.optim.aliases` are such chains.

>>> import numpy as np
>>> from fnn import optim
>>> opt = optim.sgd(0.1)
>>> params = {"w": np.array([1.0, 2.0])}
>>> state = opt.init(params)
>>> updates, state = opt.update({"w": np.array([10.0, -10.0])}, state, params)
>>> optim.apply_updates(params, updates)["w"]
array([0., 3.])
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Generic, Protocol, Union, overload

import attrs
import numpy as np
from typing_extensions import TypeAlias, TypeVar

from fnn import tree
from fnn.errors import DTypeError, FnnError, ShapeError, StateError, StructureError
from fnn.typing import Array, PyTree

__all__ = [
    "EmptyState",
    "GradientTransformation",
    "InitFn",
    "Optimizer",
    "Schedule",
    "ScalarOrSchedule",
    "StepOwnedFn",
    "UpdateFn",
    "apply_updates",
    "chain",
    "identity",
]

Schedule: TypeAlias = Callable[[int], float]
"""A function of the step count (0 for the first update) giving a value such as the learning rate."""

ScalarOrSchedule: TypeAlias = Union[float, Schedule]
"""A fixed value or a :data:`Schedule`."""

S = TypeVar("S", default=Any)
"""The state type of a transform (``Any`` where it is not known)."""
S_co = TypeVar("S_co", covariant=True, default=Any)
S1 = TypeVar("S1")
S2 = TypeVar("S2")
S3 = TypeVar("S3")
S4 = TypeVar("S4")
G = TypeVar("G")
P = TypeVar("P")

NEW_STATE_HINT = (
    "pass the state that this optimizer's init(params) returned, for params of this model "
    "(a state made by another optimizer or for other params does not fit)"
)
"""The fix, shared by every error about a state that does not fit its transform or its grads."""


class InitFn(Protocol[S_co]):
    """``init(params) -> state``: the initial state of a transform for ``params``."""

    def __call__(self, params: PyTree) -> S_co: ...


# Covariant in the state type although it takes a state: see GradientTransformation.
class UpdateFn(Protocol[S_co]):  # type: ignore[misc]
    """``update(grads, state, params=None) -> (updates, new_state)``; updates have the type of ``grads``."""

    def __call__(
        self, grads: G, state: S_co, params: PyTree = None  # type: ignore[misc]
    ) -> tuple[G, S_co]: ...


class StepOwnedFn(Protocol[S_co]):  # type: ignore[misc]
    """``step_owned(grads, state, params) -> (new_params, new_state)``: an update and its
    :func:`apply_updates` in one, which may write into ``grads`` (given up by the caller)."""

    def __call__(self, grads: PyTree, state: S_co, params: P) -> tuple[P, S_co]: ...  # type: ignore[misc]


@attrs.frozen
class GradientTransformation(Generic[S_co]):
    """A pair of pure functions that turn gradients into updates; an optimizer.

    The type parameter is the type of its state: ``adam(...)`` is a
    ``GradientTransformation[tuple[ScaleByAdamState, LearningRateState]]``, so a
    type checker knows ``opt_state[0].mu`` and refuses ``opt_state[0].m``. The
    parameter is covariant, so that a dict of ``sgd(...)`` and ``adam(...)`` is a
    dict of ``GradientTransformation[object]`` that needs no annotation; the price
    is that a type checker lets such an optimizer's ``update`` take any state, and
    a state of another optimizer is refused at run time (a ``StateError``).

    Attributes:
        init: ``init(params) -> state``. The state has float arrays in the dtype
            of ``params`` and a Python ``int`` step count where the transform counts steps.
        update: ``update(grads, state, params=None) -> (updates, new_state)``.
            ``grads`` and ``updates`` have the structure of ``params``; ``params``
            is needed only by transforms that read the parameters (weight decay).
        step_owned: ``step_owned(grads, state, params) -> (new_params, new_state)``:
            ``update`` and :func:`apply_updates` in one, for a caller that gives
            ``grads`` up and never reads them again. The same values, but it may write
            the updates and the new params over gradient arrays that nothing else
            holds (:mod:`fnn.optim.owned`). ``None`` (the default) where the transform
            has no such form; :func:`fnn.train_step` and :func:`fnn.fit` call it when
            it is there (``sgd`` has one). A transform built from another one's
            ``update`` (``attrs.evolve(t, update=...)``) must drop or replace it, or
            training steps would still take the old rule.
    """

    init: InitFn[S_co]
    update: UpdateFn[S_co]
    step_owned: StepOwnedFn[S_co] | None = None


Optimizer: TypeAlias = GradientTransformation
"""An optimizer is a :class:`GradientTransformation` whose updates are added to the params."""


@attrs.frozen
class EmptyState:
    """The state of a transform that keeps none (``clip``, ``scale``, ``add_decayed_weights``)."""


def check_state(owner: str, state: object, expected: type) -> None:
    """Refuse a ``state`` that is not an ``expected`` instance (one type comparison).

    Raises:
        StateError: ``state`` was made by another transform; the message names ``owner``.
    """
    if type(state) is not expected:
        raise StateError(
            f"{owner}: the optimizer state is {_describe_state(state)}, expected {expected.__name__}; "
            + NEW_STATE_HINT
        )


def _describe_state(state: object) -> str:
    if type(state) is tuple:
        return "a tuple of (" + ", ".join(type(s).__name__ for s in state) + ")"
    return type(state).__name__


class LeafMismatch(Exception):
    """Internal: a leaf rule met leaves of different shapes; :func:`mismatch_error` says which."""


def mismatch_error(
    owner: str, reference: PyTree, other: PyTree, names: tuple[str, str], fix: str
) -> FnnError:
    """The error naming the first leaf of ``other`` whose shape or dtype kind differs from ``reference``'s.

    A subtree in ``other`` where ``reference`` has a leaf (which :func:`fnn.tree.map`
    hands to the leaf rule whole) is a :class:`StructureError`.

    Args:
        owner: Who raises (``apply_updates``, ``scale_by_adam``, …).
        reference: The tree whose leaves are right (the params, the optimizer state).
        other: The tree of the same structure with a wrong leaf (the updates, the grads).
        names: How the message calls the two trees, such as ``("params", "updates")``.
        fix: What to do about it, the end of the message.
    """
    if tree.structure(reference) != tree.structure(other):
        return StructureError(
            f"{owner}: the {names[1]} are nested differently from the {names[0]}: "
            f"{tree.structure(other)!r} against {tree.structure(reference)!r}"
        )
    for path, ref, leaf in zip(tree.paths(reference), tree.leaves(reference), tree.leaves(other)):
        ref_shape, leaf_shape = np.shape(ref), np.shape(leaf)
        if ref_shape != leaf_shape:
            return ShapeError(
                f"{owner}: {names[1]}{path} has shape {leaf_shape}, {names[0]}{path} has {ref_shape}; {fix}"
            )
        if _kind(ref) != _kind(leaf):
            return DTypeError(
                f"{owner}: {names[1]}{path} has dtype {_dtype(leaf)}, {names[0]}{path} has {_dtype(ref)} "
                f"(a float leaf needs float {names[1]}); {fix}"
            )
    raise AssertionError("mismatch_error: no leaf differs")  # pragma: no cover - callers found one


def _dtype(x: object) -> Any:
    dtype = getattr(x, "dtype", None)  # not `or`: a dtype without fields is falsy
    return np.asarray(x).dtype if dtype is None else dtype


def _kind(x: object) -> str:
    kind: str = _dtype(x).kind
    return kind


def structure_error(owner: str, error: StructureError, names: tuple[str, str]) -> StructureError:
    """``error`` (from :func:`fnn.tree.map` over ``reference, other``) restated with the trees' names."""
    return StructureError(
        f"{owner}: the {names[1]} are nested differently from the {names[0]} ({error}; 'expected' is "
        f"the {names[0]}, 'got' the {names[1]})"
    )


def identity() -> GradientTransformation[EmptyState]:
    """The transform that passes gradients through unchanged: ``u = g``.

    >>> identity().update([1.0], EmptyState())
    ([1.0], EmptyState())
    """

    def init(params: PyTree) -> EmptyState:
        return EmptyState()

    def update(grads: G, state: EmptyState, params: PyTree = None) -> tuple[G, EmptyState]:
        check_state("identity", state, EmptyState)
        return grads, state

    return GradientTransformation(init, update)


@overload
def chain(t1: GradientTransformation[S1], /) -> GradientTransformation[S1]: ...
@overload
def chain(
    t1: GradientTransformation[S1], t2: GradientTransformation[S2], /
) -> GradientTransformation[tuple[S1, S2]]: ...
@overload
def chain(
    t1: GradientTransformation[S1], t2: GradientTransformation[S2], t3: GradientTransformation[S3], /
) -> GradientTransformation[tuple[S1, S2, S3]]: ...
@overload
def chain(
    t1: GradientTransformation[S1],
    t2: GradientTransformation[S2],
    t3: GradientTransformation[S3],
    t4: GradientTransformation[S4],
    /,
) -> GradientTransformation[tuple[S1, S2, S3, S4]]: ...
@overload
def chain(*transforms: GradientTransformation[Any]) -> GradientTransformation[tuple[Any, ...]]: ...
def chain(*transforms: GradientTransformation[Any]) -> GradientTransformation[Any]:
    """Transforms applied one after another: ``u = Tₖ(… T₂(T₁(g)))``.

    The state is the tuple of the transforms' states, in order (typed: the chain of
    a ``GradientTransformation[A]`` and a ``GradientTransformation[B]`` has state
    ``tuple[A, B]``). A chain of one transform is that transform itself (no extra
    tuple, no extra call).

    Args:
        transforms: The transforms, first applied first.

    Returns:
        The composed :class:`GradientTransformation`.

    Raises:
        TypeError: an argument is not a :class:`GradientTransformation`.
        StateError: (at update) the state is not a tuple of one state per transform.

    >>> import numpy as np
    >>> from fnn import optim
    >>> opt = optim.chain(optim.clip(1.0), optim.scale(-0.5))
    >>> opt.update(np.array([3.0, -0.2]), opt.init(np.zeros(2)))[0]
    array([-0.5,  0.1])
    """
    for i, t in enumerate(transforms):
        if not isinstance(t, GradientTransformation):
            raise TypeError(
                f"chain: argument {i} is {t!r}, which is not a GradientTransformation; "
                "pass transforms such as fnn.optim.clip(1.0) or fnn.optim.adam(1e-3)"
            )
    if len(transforms) == 1:
        return transforms[0]

    def init(params: PyTree) -> tuple[Any, ...]:
        return tuple(t.init(params) for t in transforms)

    def update(grads: G, state: tuple[Any, ...], params: PyTree = None) -> tuple[G, tuple[Any, ...]]:
        check_chain_state(len(transforms), state)
        new_state = []
        for t, s in zip(transforms, state):
            grads, s = t.update(grads, s, params)
            new_state.append(s)
        return grads, tuple(new_state)

    return GradientTransformation(init, update)


def check_chain_state(length: int, state: object) -> None:
    """Refuse a ``state`` that is not a tuple of ``length`` states, one per transform of a chain.

    Raises:
        StateError: ``state`` is not such a tuple.
    """
    if type(state) is not tuple or len(state) != length:
        raise StateError(
            f"chain of {length} transforms: the optimizer state is {_describe_state(state)}, "
            f"expected a tuple of {length} states, one per transform; " + NEW_STATE_HINT
        )


def named(name: str, transform: GradientTransformation[S]) -> GradientTransformation[S]:
    """``transform`` whose errors at update start with ``name`` (so they name ``adam``, not its parts)."""

    def update(grads: G, state: S, params: PyTree = None) -> tuple[G, S]:
        try:
            return transform.update(grads, state, params)
        except (StateError, StructureError, ShapeError, DTypeError) as error:
            raise type(error)(f"{name}: {error}") from None

    step_owned = transform.step_owned
    if step_owned is None:
        return GradientTransformation(transform.init, update)

    def step_owned_named(grads: PyTree, state: S, params: P) -> tuple[P, S]:
        try:
            return step_owned(grads, state, params)
        except StateError as error:  # (a mismatch of grads and params is apply_updates's, as in a loop)
            raise StateError(f"{name}: {error}") from None

    return GradientTransformation(transform.init, update, step_owned_named)


def add(p: Array, u: Array) -> Array:
    """``p + u`` in ``p``'s dtype; :class:`LeafMismatch` if their shapes or dtype kinds differ."""
    try:
        if p.shape != u.shape or (p.dtype is not u.dtype and p.dtype.kind != u.dtype.kind):
            raise LeafMismatch
    except AttributeError:  # a Python scalar
        return _add_scalar(p, u)
    result: Array = p + u
    if result.dtype != p.dtype:
        result = result.astype(p.dtype)
    return result


def _add_scalar(p: Any, u: Any) -> Array:
    """``p + u`` where one of them is a Python scalar, compared as NumPy sees them."""
    if np.shape(p) != np.shape(u) or _kind(p) != _kind(u):
        raise LeafMismatch
    result: Array = p + u
    return result


def apply_updates(params: P, updates: PyTree) -> P:
    """New parameters ``θ + u``, leaf by leaf, in the dtype of each parameter.

    Every update must have its param's shape and dtype kind (a float update for a
    float param): broadcasting an update of another shape would silently change
    the param's shape. The check is a shape comparison per leaf.

    Args:
        params: The parameters (any pytree of arrays; ``None`` leaves stay ``None``).
        updates: The updates from ``optimizer.update``, of the same structure.

    Returns:
        A new pytree of the type of ``params``; ``params`` and ``updates`` are not modified.

    Raises:
        StructureError: the two trees are nested differently.
        ShapeError: an update's shape differs from its param's (the message names
            the leaf, such as ``params[2].w``).
        DTypeError: an update's dtype kind differs from its param's (an integer
            update for a float param).

    >>> import numpy as np
    >>> apply_updates((np.float32([1.0]), None), (np.float32([0.5]), None))
    (array([1.5], dtype=float32), None)
    """
    return add_leaves(params, updates, add)


def add_leaves(params: P, updates: PyTree, rule: Callable[[Any, Any], Any]) -> P:
    """``rule(θ, u)`` leaf by leaf, with :func:`apply_updates`'s errors; ``rule`` raises
    :class:`LeafMismatch` (as :func:`add` does) for a leaf of the wrong shape or dtype kind."""
    try:
        new: P = tree.map(rule, params, updates)
    except StructureError as error:
        raise structure_error("apply_updates", error, ("params", "updates")) from None
    except LeafMismatch:
        raise mismatch_error(
            "apply_updates", params, updates, ("params", "updates"), "are the updates from another model?"
        ) from None
    return new


def check_number(name: str, value: object, *, low: float, inclusive: bool = False) -> float:
    """``value`` as a float, if it is a finite real number above ``low`` (or equal, when ``inclusive``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number, got {value!r}")
    v = float(value)
    ok = math.isfinite(v) and (v >= low if inclusive else v > low)
    if not ok:
        bound = f"a finite number >= {low:g}" if inclusive else f"a finite number > {low:g}"
        if low == 0 and not inclusive:
            bound = "a positive finite number"
        raise ValueError(f"`{name}` must be {bound}, got {value!r}")
    return v
