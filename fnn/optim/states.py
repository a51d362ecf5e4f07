"""Finding and replacing one kind of state inside an optimizer state, wherever a chain nests it.

An optimizer state is a pytree of the states of its transforms: ``chain`` makes a
tuple of them, wrappers such as :func:`~fnn.optim.inject_hyperparams` or
:func:`~fnn.optim.accumulate_gradients` keep their inner transform's state in a
field. A training loop that reads or changes one kind of state (the plateau's
scale, the learning rate) should not have to know that layout, so these functions
walk the state (tuples, lists, dicts and attrs classes) and stop at the states of
the asked type. They walk the whole tree: call them once per evaluation, not once
per step.

>>> import numpy as np
>>> from fnn import optim
>>> opt = optim.chain(optim.trace(0.9), optim.scale_by_schedule(optim.constant(0.1)))
>>> state = opt.init(np.zeros(2))
>>> find_states(state, optim.ScaleByScheduleState)
[ScaleByScheduleState(count=0)]
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

import attrs

__all__ = ["find_states"]

T = TypeVar("T")
N = TypeVar("N")


def find_states(opt_state: object, state_type: type[T]) -> list[T]:
    """Every state of type ``state_type`` inside ``opt_state``, in the order of the transforms.

    Args:
        opt_state: An optimizer state (what ``optimizer.init`` returned, or a later one).
        state_type: The state class to look for, such as :class:`~fnn.optim.ReduceOnPlateauState`.

    Returns:
        The matching states (an empty list when there is none); a match is not searched further.
    """
    found: list[T] = []
    _collect(opt_state, state_type, found)
    return found


def _collect(node: object, state_type: type[T], found: list[T]) -> None:
    if type(node) is state_type:
        found.append(node)
    elif isinstance(node, (tuple, list)):
        for child in node:
            _collect(child, state_type, found)
    elif isinstance(node, dict):
        for child in node.values():
            _collect(child, state_type, found)
    elif attrs.has(type(node)):
        for field in attrs.fields(type(node)):  # type: ignore[arg-type]  # attrs.has above
            _collect(getattr(node, field.name), state_type, found)


def replace_states(opt_state: T, state_type: type[N], replace: Callable[[N], N]) -> tuple[T, int]:
    """``opt_state`` with each ``state_type`` state ``s`` replaced by ``replace(s)``, and how many there were.

    Nodes without a match inside are kept as they are (the same objects).
    """
    count = [0]

    def walk(node: Any) -> Any:
        if type(node) is state_type:
            count[0] += 1
            return replace(node)
        if isinstance(node, (tuple, list)):
            children = [walk(child) for child in node]
            if all(new is old for new, old in zip(children, node)):
                return node
            return type(node)(*children) if hasattr(node, "_fields") else type(node)(children)
        if isinstance(node, dict):
            values = {k: walk(v) for k, v in node.items()}
            return node if all(values[k] is node[k] for k in node) else values
        if attrs.has(type(node)):
            changed = {}
            for field in attrs.fields(type(node)):
                old = getattr(node, field.name)
                new = walk(old)
                if new is not old:
                    changed[field.alias] = new
            return attrs.evolve(node, **changed) if changed else node
        return node

    new_state: T = walk(opt_state)
    return new_state, count[0]
