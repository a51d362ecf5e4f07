"""Hyperparameters held in the optimizer state, readable and changeable between steps.

``inject_hyperparams(factory)`` takes an optimizer factory (``fnn.optim.adam``, or any
function returning a :class:`~fnn.optim.GradientTransformation`) and returns one with
the same arguments whose optimizer keeps its numeric arguments in its state::

    opt = optim.inject_hyperparams(optim.adam)(learning_rate=1e-3)
    state = opt.init(params)
    optim.hyperparams(state)["learning_rate"]                    # 0.001
    state = optim.set_hyperparams(state, learning_rate=2.5e-4)   # a new state; the old one is unchanged

The next ``update`` uses the new value. Because the values are state, they are
saved and restored with the rest of it (:func:`fnn.io.save`) and a checkpoint
resumes with the learning rate it stopped at. Only numbers are held (Python ``int``
and ``float``, not ``bool``): a schedule, a mask or a flag stays fixed. To make a
scheduled learning rate changeable, chain a :func:`~fnn.optim.reduce_on_plateau`
or a :func:`~fnn.optim.scale` instead.
"""

from __future__ import annotations

import inspect
import math
import numbers
from typing import Any, Callable, Generic, TypeVar

import attrs
from typing_extensions import ParamSpec

from fnn.errors import ArgumentError, DTypeError, ShapeError, StateError, StructureError
from fnn.optim.base import GradientTransformation, check_state
from fnn.optim.states import find_states, replace_states
from fnn.typing import PyTree

__all__ = ["InjectHyperparamsState", "hyperparams", "inject_hyperparams", "set_hyperparams"]

S = TypeVar("S")
G = TypeVar("G")
T = TypeVar("T")
Args = ParamSpec("Args")

_BUILD_HINT = "build the optimizer with fnn.optim.inject_hyperparams(factory)(...)"
_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
_UPDATE_ERRORS = (StateError, StructureError, ShapeError, DTypeError, ValueError)


@attrs.frozen(eq=False)
class InjectHyperparamsState(Generic[S]):
    """State of an optimizer made by :func:`inject_hyperparams`.

    Attributes:
        hyperparams: The numeric arguments of the factory by name (``{"learning_rate": 0.001, …}``),
            Python ``float`` or ``int`` values. Change them with :func:`set_hyperparams`.
        inner_state: The state of the optimizer the factory builds.
    """

    hyperparams: dict[str, float]
    inner_state: S


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def inject_hyperparams(
    factory: Callable[Args, GradientTransformation[S]],
) -> Callable[Args, GradientTransformation[InjectHyperparamsState[S]]]:
    """``factory`` with its numeric arguments moved into the optimizer state.

    ``inject_hyperparams(f)(*args, **kwargs)`` builds ``f(*args, **kwargs)`` once (so
    bad arguments fail here, with ``f``'s message) and returns an optimizer whose
    state is ``InjectHyperparamsState(hyperparams, inner_state)``: ``hyperparams``
    holds every argument (given or default) that is a Python number, and each
    ``update`` runs ``f`` rebuilt with the state's values. The rebuilt optimizer is
    kept until the values change, so a step costs one comparison of a small dict.

    Args:
        factory: A function returning a :class:`~fnn.optim.GradientTransformation`,
            such as :func:`fnn.optim.adam`.

    Returns:
        A function with ``factory``'s arguments returning the optimizer.

    Raises:
        TypeError: ``factory`` is not callable or takes arguments without names
            (``*args``, ``**kwargs``, positional-only), or (when called) the arguments do
            not fit its signature, or it has no numeric argument to hold.
        StateError: (at update) the state was not made by this optimizer, or its
            hyperparameters have other names.
        ValueError: (at update) a value set with :func:`set_hyperparams` is out of the
            factory's range (the factory's message, prefixed with its name).

    >>> import numpy as np
    >>> from fnn import optim
    >>> opt = optim.inject_hyperparams(optim.sgd)(learning_rate=0.5)
    >>> state = opt.init(np.zeros(1))
    >>> opt.update(np.array([1.0]), state)[0]
    array([-0.5])
    >>> state = optim.set_hyperparams(state, learning_rate=0.25)
    >>> opt.update(np.array([1.0]), state)[0]
    array([-0.25])
    """
    if not callable(factory):
        raise TypeError(
            f"inject_hyperparams: `factory` must be a function returning an optimizer, got {factory!r}"
        )
    signature = inspect.signature(factory)
    owner = f"inject_hyperparams({getattr(factory, '__name__', repr(factory))})"
    unnamed = [p.name for p in signature.parameters.values() if p.kind not in _NAMED]
    if unnamed:
        raise TypeError(
            f"{owner}: the factory must take named arguments only, not positional-only ones or "
            f"*args/**kwargs (it has {unnamed}); wrap it in a function with named arguments"
        )

    def build(*args: Args.args, **kwargs: Args.kwargs) -> GradientTransformation[InjectHyperparamsState[S]]:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{owner}: {error}") from None
        bound.apply_defaults()
        named = dict(bound.arguments)
        injected = {name: value for name, value in named.items() if _is_number(value)}
        if not injected:
            raise TypeError(f"{owner}: no numeric argument to hold in the state (got {bound.arguments})")
        static = {name: value for name, value in named.items() if name not in injected}
        initial: GradientTransformation[S] = factory(**named)  # type: ignore[call-arg]
        # The values and the optimizer built with them: rebuilt only when the state's values differ.
        memo: list[Any] = [dict(injected), initial]

        def inner_for(values: dict[str, float]) -> GradientTransformation[S]:
            if values != memo[0]:
                if values.keys() != injected.keys():
                    raise StateError(
                        f"{owner}: the state holds hyperparameters {sorted(values)}, this optimizer "
                        f"{sorted(injected)}; pass the state that this optimizer's init(params) returned"
                    )
                try:
                    memo[1] = factory(**static, **values)  # type: ignore[arg-type, call-arg]
                except (ValueError, TypeError) as error:
                    raise type(error)(f"{owner}: the hyperparameters in the state: {error}") from None
                memo[0] = dict(values)
            inner: GradientTransformation[S] = memo[1]
            return inner

        def init(params: PyTree) -> InjectHyperparamsState[S]:
            return InjectHyperparamsState(dict(injected), initial.init(params))

        def update(
            grads: G, state: InjectHyperparamsState[S], params: PyTree = None
        ) -> tuple[G, InjectHyperparamsState[S]]:
            check_state(owner, state, InjectHyperparamsState)
            try:
                updates, inner_state = inner_for(state.hyperparams).update(grads, state.inner_state, params)
            except _UPDATE_ERRORS as error:
                message = str(error)
                if message.startswith(owner) or type(error) not in _UPDATE_ERRORS:  # subclasses: as they are
                    raise
                raise type(error)(f"{owner}: {message}") from None
            return updates, InjectHyperparamsState(state.hyperparams, inner_state)

        return GradientTransformation(init, update)

    return build


def hyperparams(opt_state: object) -> dict[str, float]:
    """The hyperparameters held in ``opt_state`` (a copy: changing it changes no state).

    Args:
        opt_state: A state of an optimizer made by :func:`inject_hyperparams`, or a
            state that holds exactly one such state (a chain with one injected part).

    Raises:
        StateError: ``opt_state`` holds no :class:`InjectHyperparamsState`, or more than
            one (read them with ``find_states(opt_state, InjectHyperparamsState)``).

    >>> import numpy as np
    >>> from fnn import optim
    >>> opt = optim.chain(optim.clip(1.0), optim.inject_hyperparams(optim.momentum)(0.1, beta=0.9))
    >>> hyperparams(opt.init(np.zeros(1)))
    {'learning_rate': 0.1, 'beta': 0.9}
    """
    found = find_states(opt_state, InjectHyperparamsState)
    if len(found) != 1:
        raise StateError(
            f"hyperparams: the optimizer state holds {len(found)} InjectHyperparamsState, expected one; "
            + (
                _BUILD_HINT
                if not found
                else "read them with fnn.optim.find_states(opt_state, fnn.optim.InjectHyperparamsState)"
            )
        )
    return dict(found[0].hyperparams)


def _checked_value(name: str, value: object, old: float) -> float:
    if not _is_number(value):
        raise ArgumentError(f"set_hyperparams: `{name}` must be a real number, got {value!r}")
    assert isinstance(value, numbers.Real)
    if isinstance(old, int) and not isinstance(value, numbers.Integral):
        raise ArgumentError(f"set_hyperparams: `{name}` holds an integer ({old}), got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"set_hyperparams: `{name}` must be finite, got {value!r}")
    return type(old)(value)


def set_hyperparams(opt_state: T, **values: float) -> T:
    """A new optimizer state whose injected hyperparameters have the given values.

    Every :class:`InjectHyperparamsState` inside ``opt_state`` that holds the named
    hyperparameters gets the new values (all of them, e.g. each part of a
    :func:`~fnn.optim.masked` optimizer); ``opt_state`` itself is not changed. A
    value keeps the Python type of the one it replaces (an ``int`` given for a
    ``float`` becomes a ``float``), so the state saves and loads (``like=``) as before.
    The range is checked by the optimizer's factory at the next update.

    Args:
        opt_state: The state.
        values: New values by hyperparameter name, such as ``learning_rate=1e-4``.

    Returns:
        The new state, of the type of ``opt_state``.

    Raises:
        ArgumentError: (a ``TypeError``) a value is not a real number, or a fractional
            value for an integer hyperparameter.
        ValueError: a value is not finite.
        StateError: no injected state holds the named hyperparameters.

    >>> import numpy as np
    >>> from fnn import optim
    >>> state = optim.inject_hyperparams(optim.adam)(1e-3).init(np.zeros(1))
    >>> optim.hyperparams(set_hyperparams(state, learning_rate=1e-4))["learning_rate"]
    0.0001
    """

    def replace(state: InjectHyperparamsState[Any]) -> InjectHyperparamsState[Any]:
        if not values.keys() <= state.hyperparams.keys():
            return state
        new = dict(state.hyperparams)
        for name, value in values.items():
            new[name] = _checked_value(name, value, state.hyperparams[name])
        return InjectHyperparamsState(new, state.inner_state)

    new_state, _ = replace_states(opt_state, InjectHyperparamsState, replace)
    if new_state is opt_state and values:
        held = [sorted(s.hyperparams) for s in find_states(opt_state, InjectHyperparamsState)]
        fix = f"they hold {held}" if held else _BUILD_HINT
        raise StateError(
            f"set_hyperparams: no InjectHyperparamsState in the optimizer state holds {sorted(values)}; {fix}"
        )
    return new_state
