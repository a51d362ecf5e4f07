"""Helpers the training modules share: argument checks and the one host copy of device scalars."""

from __future__ import annotations

import numbers
import reprlib
from typing import Any

import numpy as np

from fnn import optim, tree
from fnn.backend import array_module, to_numpy
from fnn.errors import ArgumentError
from fnn.layers.core import Layer
from fnn.losses import Loss
from fnn.optim.base import GradientTransformation

_short = reprlib.Repr()
_short.maxother = _short.maxstring = 80


def brief(value: object) -> str:
    """``repr(value)`` cut to a line: an error message never embeds a whole data set."""
    return _short.repr(value)


def positive_int(name: str, value: object) -> int:
    """``value`` as an ``int`` if it is a positive integer (NumPy's too), else a ``ValueError`` naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {brief(value)}")
    return int(value)  # NumPy integers (a size from an array's shape) are welcome


def positive(instance: object, attribute: Any, value: object) -> None:
    """An attrs validator: the field must be a positive integer (:func:`positive_int`)."""
    positive_int(f"{type(instance).__name__}.{attribute.name}", value)


def non_negative(instance: object, attribute: Any, value: object) -> None:
    """An attrs validator: the field must be an integer ``>= 0``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        name = f"{type(instance).__name__}.{attribute.name}"
        raise ValueError(f"`{name}` must be an integer >= 0, got {brief(value)}")


def check_kinds(name: str, **arguments: object) -> None:
    """Raise :class:`ArgumentError` unless each of ``model``, ``loss``, ``optimizer`` given is of its kind."""
    for argument, value in arguments.items():
        kind, (what, remedy) = _KINDS[argument]
        if not isinstance(value, kind):
            if argument == "optimizer" and isinstance(value, str) and callable(getattr(optim, value, None)):
                remedy = f"build one, e.g. fnn.optim.{value}(learning_rate)"
            raise ArgumentError(f"{name}: `{argument}` must be {what}, got {brief(value)}; {remedy}")


_KINDS: dict[str, tuple[type, tuple[str, str]]] = {
    "model": (
        Layer,
        ("an fnn layer", "build it from fnn's layers: fnn.sequential(fnn.Dense(10), fnn.relu, ...)"),
    ),
    "loss": (
        Loss,
        (
            "an fnn.losses.Loss such as fnn.losses.softmax_cross_entropy",
            "a loss of your own subclasses fnn.losses.Loss and implements compute(y, t) -> (ℓ, dℓ/dy)",
        ),
    ),
    "optimizer": (
        GradientTransformation,
        ("an fnn.optim.GradientTransformation", "build one, e.g. fnn.optim.sgd(learning_rate)"),
    ),
}


def to_host(values: list[Any]) -> Any:
    """Device scalars (losses, counts) as one float64 NumPy vector: a single copy to the host."""
    if not values:
        return np.zeros(0)
    return to_numpy(array_module(values[0]).stack(values)).astype(np.float64)


def finite_flags(*trees: Any) -> list[Any]:
    """One device scalar per float leaf of ``trees``: whether all its elements are finite (no host copy)."""
    flags = []
    for leaf in tree.leaves(trees):
        if getattr(leaf, "dtype", None) is not None and leaf.dtype.kind in "fc":
            flags.append(array_module(leaf).isfinite(leaf).all())
    return flags
