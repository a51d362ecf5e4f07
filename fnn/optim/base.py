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
from typing import Any, Callable, Protocol, Union

import attrs
from typing_extensions import TypeAlias

from fnn import tree
from fnn.typing import Array, PyTree

__all__ = [
    "EmptyState",
    "GradientTransformation",
    "InitFn",
    "Optimizer",
    "Schedule",
    "ScalarOrSchedule",
    "UpdateFn",
    "apply_updates",
    "chain",
    "identity",
]

Schedule: TypeAlias = Callable[[int], float]
"""A function of the step count (0 for the first update) giving a value such as the learning rate."""

ScalarOrSchedule: TypeAlias = Union[float, Schedule]
"""A fixed value or a :data:`Schedule`."""


class InitFn(Protocol):
    """``init(params) -> state``: the initial state of a transform for ``params``."""

    def __call__(self, params: PyTree) -> Any: ...


class UpdateFn(Protocol):
    """``update(grads, state, params=None) -> (updates, new_state)``."""

    def __call__(self, grads: PyTree, state: Any, params: PyTree = None) -> tuple[PyTree, Any]: ...


@attrs.frozen
class GradientTransformation:
    """A pair of pure functions that turn gradients into updates; an optimizer.

    Attributes:
        init: ``init(params) -> state``. The state has float arrays in the dtype
            of ``params`` and a Python ``int`` step count where the transform counts steps.
        update: ``update(grads, state, params=None) -> (updates, new_state)``.
            ``grads`` and ``updates`` have the structure of ``params``; ``params``
            is needed only by transforms that read the parameters (weight decay).
    """

    init: InitFn
    update: UpdateFn


Optimizer: TypeAlias = GradientTransformation
"""An optimizer is a :class:`GradientTransformation` whose updates are added to the params."""


@attrs.frozen
class EmptyState:
    """The state of a transform that keeps none (``clip``, ``scale``, ``add_decayed_weights``)."""


def identity() -> GradientTransformation:
    """The transform that passes gradients through unchanged: ``u = g``.

    >>> identity().update([1.0], EmptyState())
    ([1.0], EmptyState())
    """

    def init(params: PyTree) -> EmptyState:
        return EmptyState()

    def update(grads: PyTree, state: Any, params: PyTree = None) -> tuple[PyTree, Any]:
        return grads, state

    return GradientTransformation(init, update)


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Transforms applied one after another: ``u = Tₖ(… T₂(T₁(g)))``.

    The state is the tuple of the transforms' states, in order. A chain of one
    transform is that transform itself (no extra tuple, no extra call).

    Args:
        transforms: The transforms, first applied first.

    Returns:
        The composed :class:`GradientTransformation`.

    Raises:
        TypeError: an argument is not a :class:`GradientTransformation`.

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

    def update(grads: PyTree, state: Any, params: PyTree = None) -> tuple[PyTree, Any]:
        new_state = []
        for t, s in zip(transforms, state):
            grads, s = t.update(grads, s, params)
            new_state.append(s)
        return grads, tuple(new_state)

    return GradientTransformation(init, update)


def _add(p: Array, u: Array) -> Array:
    result: Array = p + u
    if result.dtype != p.dtype:
        result = result.astype(p.dtype)
    return result


def apply_updates(params: PyTree, updates: PyTree) -> PyTree:
    """New parameters ``θ + u``, leaf by leaf, in the dtype of each parameter.

    Args:
        params: The parameters (any pytree of arrays; ``None`` leaves stay ``None``).
        updates: The updates from ``optimizer.update``, of the same structure.

    Returns:
        A new pytree; ``params`` and ``updates`` are not modified.

    Raises:
        StructureError: the two trees are nested differently.

    >>> import numpy as np
    >>> apply_updates((np.float32([1.0]), None), (np.float32([0.5]), None))
    (array([1.5], dtype=float32), None)
    """
    return tree.map(_add, params, updates)


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
