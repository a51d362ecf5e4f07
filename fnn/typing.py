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

PyTree: TypeAlias = Any
"""Nested tuples, lists, dicts, ``None`` and attrs classes with arrays at the leaves."""

DTypeLike: TypeAlias = Union[str, "npt.DTypeLike"]
"""Anything ``numpy.dtype`` accepts, for example ``"float32"``."""

ArrayFunction: TypeAlias = Callable[[Array], Array]
"""A plain function of one array, such as :func:`fnn.relu`."""
