"""Checks that a layer's params are the kind its ``init`` makes: the params class and each leaf's shape.

Params from another layer (``Dense(3)``'s run through ``Dense(2)``), a bias that would
broadcast (shape ``(1,)`` or ``(2, 4)`` where ``(4,)`` belongs), a tuple where a params
class belongs: each raises an fnn error that names the layer and the leaf, instead of
a silently different result or a raw NumPy error.

Layers call :func:`check_params` on their slow path only: their fast path compares a
few shapes inline and falls back here when one differs, so the messages are built
only for an error.

>>> import fnn
>>> layer = fnn.Dense(2)
>>> wrong = fnn.Dense(3).init(fnn.random.key(0), (4,))
>>> check_params(layer, wrong, fnn.DenseParams, w=(-1, 2), b=(2,))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
fnn.errors.ShapeError: Dense(features=2): params.w has shape (4, 3), expected (4, 2); were these params ...
"""

from __future__ import annotations

from typing import Optional

from fnn.errors import DTypeError, ShapeError, StructureError
from fnn.typing import Shape

__all__ = ["check_params", "check_leaf"]

_FIX = "were these params made by init of another layer?"


def check_params(layer: object, params: object, cls: type, **leaves: Optional[Shape]) -> None:
    """Raise unless ``params`` is a ``cls`` whose named leaves have the expected shapes.

    Args:
        layer: The layer the params were given to (named in the message).
        params: What the caller passed as params.
        cls: The params class the layer's ``init`` returns (``DenseParams``, ...).
        **leaves: For each leaf to check, its expected shape (``-1`` matches any size),
            or ``None`` when the leaf must be ``None`` (a layer without bias).

    Raises:
        StructureError: ``params`` is not a ``cls``, or a leaf is ``None`` where an array
            belongs or the other way round.
        DTypeError: a leaf is neither ``None`` nor an array.
        ShapeError: a leaf has another shape.
    """
    if not isinstance(params, cls):
        raise StructureError(
            f"{layer!r}: expected params of type {cls.__name__}, got {type(params).__name__}; "
            f"pass the params this layer's init returned (in a model: its entry of the model's params)"
        )
    for name, expected in leaves.items():
        check_leaf(layer, name, getattr(params, name), expected)


def check_leaf(layer: object, name: str, leaf: object, expected: Optional[Shape]) -> None:
    """Raise unless ``params.<name>`` has shape ``expected`` (``-1``: any size), or is ``None`` as expected.

    Raises:
        StructureError: ``leaf`` is ``None`` and ``expected`` is not, or the other way round.
        DTypeError: ``leaf`` is neither ``None`` nor an array.
        ShapeError: ``leaf.shape`` differs from ``expected``.
    """
    if expected is None:
        if leaf is not None:
            got = f"shape {tuple(leaf.shape)}" if hasattr(leaf, "shape") else type(leaf).__name__
            raise StructureError(f"{layer!r}: params.{name} is an array of {got}, expected None; {_FIX}")
        return
    if leaf is None:
        raise StructureError(
            f"{layer!r}: params.{name} is None, expected an array of shape {_pattern(expected)}; {_FIX}"
        )
    if not hasattr(leaf, "shape") or not hasattr(leaf, "dtype"):
        raise DTypeError(
            f"{layer!r}: params.{name} is a {type(leaf).__name__}, expected an array of shape "
            f"{_pattern(expected)}; convert it with backend.asarray(...)"
        )
    shape = tuple(leaf.shape)
    if len(shape) != len(expected) or any(e not in (-1, s) for e, s in zip(expected, shape)):
        filled = tuple(s if e == -1 else e for e, s in zip(expected, shape))
        want = str(filled) if len(shape) == len(expected) else _pattern(expected)
        raise ShapeError(f"{layer!r}: params.{name} has shape {shape}, expected {want}; {_FIX}")


def _pattern(shape: Shape) -> str:
    """``shape`` as text with ``?`` for the sizes that may be anything: ``(?, 2)``."""
    sizes = ["?" if s == -1 else str(s) for s in shape]
    return "(" + ", ".join(sizes) + ("," if len(sizes) == 1 else "") + ")"
