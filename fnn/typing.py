"""Type aliases and protocols that user code and fnn share.

``Array`` is the array type of every backend. NumPy's ``NDArray`` is used as the
static type; CuPy arrays satisfy the same interface at run time, so code typed
against ``Array`` works on both backends.
"""

from __future__ import annotations

from typing import Any, Callable, Union

import numpy.typing as npt
from typing_extensions import TypeAlias

Array: TypeAlias = "npt.NDArray[Any]"
"""An n-dimensional array of the active backend (NumPy or CuPy)."""

Shape: TypeAlias = "tuple[int, ...]"
"""A shape without the batch axis, as taken by ``init`` and ``out_shape``."""

ShapeTree: TypeAlias = "tuple[Any, ...]"
"""A :data:`Shape`, or a tuple of ``ShapeTree`` for a layer whose input or output is a
tuple of arrays: ``((T, D), (H,))`` describes ``(xs, h0)`` with ``xs: (N, T, D)``,
``h0: (N, H)``. A tuple whose entries are all ints is a shape; ``()`` is the shape of
a per-example scalar."""

ArrayTree: TypeAlias = Any
"""An array, or a tuple (pytree) of arrays: the input or output of a composite layer."""

PyTree: TypeAlias = Any
"""Nested tuples, lists, dicts, ``None`` and attrs classes with arrays at the leaves."""

DTypeLike: TypeAlias = Union[str, "npt.DTypeLike"]
"""Anything ``numpy.dtype`` accepts, for example ``"float32"``."""

ArrayFunction: TypeAlias = Callable[[Array], Array]
"""A plain function of one array, such as :func:`fnn.relu`."""
