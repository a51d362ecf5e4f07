"""Assertions that read arrays of either backend (CuPy arrays are copied to the host first)."""

from __future__ import annotations

from typing import Any

import numpy as np

from fnn.backend import to_numpy


def host(x: Any) -> Any:
    """``x`` as a NumPy array (arrays, scalars and nested lists alike)."""
    if isinstance(x, (list, tuple)):
        return np.asarray([host(v) for v in x])
    return to_numpy(x)


def assert_allclose(actual: Any, desired: Any, **kwargs: Any) -> None:
    """``numpy.testing.assert_allclose`` on host copies of ``actual`` and ``desired``."""
    np.testing.assert_allclose(host(actual), host(desired), **kwargs)


def assert_array_equal(actual: Any, desired: Any, **kwargs: Any) -> None:
    """``numpy.testing.assert_array_equal`` on host copies of ``actual`` and ``desired``."""
    np.testing.assert_array_equal(host(actual), host(desired), **kwargs)
