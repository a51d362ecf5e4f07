"""``fnn.functional`` on 0-d arrays, NumPy scalars and Python floats, against the same values in an N-d array.

The module promises plain array functions; a scalar input must give the element
the N-d input gives at the same place, in the same dtype (float64 for a Python float).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import fnn
from fnn import functional as F
from tests.helpers import assert_allclose, host

# name -> the function applied to (x, dy); the derivatives take the forward's residual as x.
CALLS: dict[str, Callable[[Any, Any], Any]] = {
    "identity": lambda x, dy: F.identity(x),
    "step": lambda x, dy: F.step(x),
    "sigmoid": lambda x, dy: F.sigmoid(x),
    "sigmoid_grad": F.sigmoid_grad,
    "tanh": lambda x, dy: F.tanh(x),
    "tanh_grad": F.tanh_grad,
    "relu": lambda x, dy: F.relu(x),
    "relu_grad": F.relu_grad,
    "leaky_relu": lambda x, dy: F.leaky_relu(x, 0.1),
    "leaky_relu_grad": lambda x, dy: F.leaky_relu_grad(x, dy, 0.1),
    "elu": lambda x, dy: F.elu(x, 0.5),
    "elu_grad": lambda x, dy: F.elu_grad(x, dy, 0.5),
    "softmax": lambda x, dy: F.softmax(x),
    "softmax_grad": F.softmax_grad,
    "log_softmax": lambda x, dy: F.log_softmax(x),
    "log_softmax_grad": F.log_softmax_grad,
    "logsumexp": lambda x, dy: F.logsumexp(x),
}

# Over the last axis, a 0-d input is a vector of one element: compare with shape (1,).
NORMALIZING = {"softmax", "softmax_grad", "log_softmax", "log_softmax_grad", "logsumexp"}

VALUES = [-1.5, -0.25, 0.0, 0.7, 3.0]


def test_every_function_is_covered() -> None:
    assert sorted(CALLS) == sorted(F.__all__)


def as_vector(name: str, values: list[float], dtype: str) -> Any:
    """The reference layout: all values in one 1-D array, or each in its own (1,) row when normalizing."""
    b = fnn.backend(dtype=dtype)
    return b.asarray([[v] for v in values]) if name in NORMALIZING else b.asarray(values)


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("kind", ["0-d float32", "0-d float64", "numpy float64 scalar", "python float"])
def test_scalar_input_equals_the_nd_result(name: str, kind: str) -> None:
    f = CALLS[name]
    dtype = "float32" if kind == "0-d float32" else "float64"
    reference = host(f(as_vector(name, VALUES, dtype), as_vector(name, [0.5 + v for v in VALUES], dtype)))
    for i, (v, dv) in enumerate(zip(VALUES, [0.5 + v for v in VALUES])):
        x: Any
        dy: Any
        if kind.startswith("0-d"):
            b = fnn.backend(dtype=dtype)
            x, dy = b.asarray(v), b.asarray(dv)
        elif kind == "numpy float64 scalar":
            x, dy = np.float64(v), np.float64(dv)
        else:
            x, dy = v, dv
        result = f(x, dy)
        assert np.shape(host(result)) == ()
        assert np.asarray(host(result)).dtype == np.dtype(dtype)
        assert_allclose(result, reference.reshape(-1)[i], rtol=1e-6 if dtype == "float32" else 1e-15)


def test_sigmoid_of_scalars_in_both_tails() -> None:
    python_float: Any = -1000.0  # the static type is Array; scalars are accepted at run time
    numpy_scalar: Any = np.float32(100.0)
    assert float(F.sigmoid(python_float)) == 0.0
    assert float(F.sigmoid(numpy_scalar)) == 1.0
    assert float(F.sigmoid(np.asarray(-20.0))) == pytest.approx(2.0611536181902037e-09, rel=1e-14)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
def test_last_axis_functions_compute_integer_input_in_float64(name: str) -> None:
    """Their result was cast back to the input's dtype: ``softmax([1, 2, 3])`` came out as zeros."""
    f = CALLS[name]
    xp = fnn.backend().xp
    as_float = f(xp.asarray([[1.0, 2.0, 3.0], [0.0, 0.0, 1.0]]), None)
    for dtype in ["int64", "int32", "uint8"]:
        result = f(xp.asarray([[1, 2, 3], [0, 0, 1]], dtype=dtype), None)
        assert result.dtype == np.float64
        assert_allclose(result, as_float, rtol=1e-15)
    assert_allclose(f(xp.asarray([True, False]), None), f(xp.asarray([1.0, 0.0]), None), rtol=1e-15)


@pytest.mark.parametrize(
    "shape", [(5,), (256, 1024), (1000, 50), (40, 3, 24, 24), (3, 40_000), (2, 70_000), (20_011,), (0, 4)]
)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_relu_equals_maximum_with_zero_bit_for_bit(shape: tuple[int, ...], dtype: Any) -> None:
    """The fast path (rows of the trailing axes against a row of zeros) keeps NaN and -0.0 as ``maximum`` does."""
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    if x.size:
        x.flat[0], x.flat[-1], x.flat[x.size // 2] = np.nan, -0.0, 0.0
    expected = np.maximum(x, 0)
    in_place = x.copy()
    for got, want in (
        (F.relu(x), expected),
        (F.relu(x[::-1]), expected[::-1]),
        (F.relu(np.asfortranarray(x)), expected),
        (F.relu_into(in_place, in_place), expected),
    ):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert np.array_equal(got, want, equal_nan=True)
        assert np.array_equal(np.signbit(got), np.signbit(want))
    assert np.array_equal(in_place, expected, equal_nan=True)
