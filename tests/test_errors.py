"""Bad input gets a clear fnn error that names the layer, the expected and the actual value.

Inputs are arrays of the backend under test (``FNN_BACKEND``), made at test time.
"""

from __future__ import annotations

import numpy as np
import pytest

import fnn
from fnn.typing import Array


def ones(shape: tuple[int, ...], dtype: str) -> Array:
    """Ones of ``shape`` and ``dtype`` (any dtype, integers too) on the backend under test."""
    return fnn.backend().asarray(np.ones(shape), dtype=dtype)


def model_and_params() -> tuple[fnn.Sequential, tuple[object, ...]]:
    model = fnn.sequential(fnn.Dense(5), fnn.relu, fnn.Dense(3))
    return model, model.init(fnn.random.key(0), (4,))


def test_error_classes_subclass_the_matching_builtins() -> None:
    assert issubclass(fnn.ShapeError, ValueError) and issubclass(fnn.ShapeError, fnn.FnnError)
    assert issubclass(fnn.DTypeError, TypeError)
    assert issubclass(fnn.BackendError, RuntimeError)
    assert issubclass(fnn.GradCheckError, AssertionError)
    assert issubclass(fnn.DataError, ValueError) and issubclass(fnn.FormatError, ValueError)
    assert issubclass(fnn.StateError, ValueError) and issubclass(fnn.TrainingError, RuntimeError)


def test_float64_input_to_a_float32_model() -> None:
    model, params = model_and_params()
    with pytest.raises(
        fnn.DTypeError,
        match=r"layer 0 \(Dense\(features=5\)\): expected input of dtype float32, got float64; cast",
    ):
        model.apply(params, ones((2, 4), "float64"))


def test_integer_input() -> None:
    model, params = model_and_params()
    with pytest.raises(
        fnn.DTypeError, match=r"layer 0 \(Dense\(features=5\)\): expected a float array, got int64"
    ):
        model.apply(params, ones((2, 4), "int64"))
    with pytest.raises(fnn.DTypeError, match=r"relu: expected a float array, got int64"):
        fnn.relu(ones((3,), "int64"))


def test_wrong_feature_size_names_the_layer_and_shapes() -> None:
    model, params = model_and_params()
    with pytest.raises(
        fnn.ShapeError,
        match=r"layer 0 \(Dense\(features=5\)\): expected input of shape \(N, 4\), got \(2, 7\)",
    ):
        model.apply(params, ones((2, 7), "float32"))
    b = fnn.backend()
    mismatched = (params[0], None, fnn.DenseParams(b.zeros((6, 3)), b.zeros((3,))))
    with pytest.raises(
        fnn.ShapeError,
        match=r"layer 2 \(Dense\(features=3\)\): expected input of shape \(N, 6\), got \(2, 5\)",
    ):
        model.apply(mismatched, ones((2, 4), "float32"))
    with pytest.raises(
        fnn.ShapeError, match=r"expected input of shape \(N, 4\), got \(2, 28, 28\); add a Flatten"
    ):
        model.forward(params, ones((2, 28, 28), "float32"))


def test_nested_sequential_errors_carry_every_place() -> None:
    inner = fnn.sequential(fnn.Dense(3), fnn.Dense(2))
    model = fnn.sequential(fnn.tanh, inner)
    params = model.init(fnn.random.key(0), (4,))
    with pytest.raises(
        fnn.ShapeError,
        match=r"layer 1 \(Sequential\(2 layers\)\): layer 0 \(Dense\(features=3\)\): expected input of shape \(N, 4\)",
    ):
        model.apply(params, ones((1, 5), "float32"))


def test_shape_errors_at_init_before_data_flows() -> None:
    model = fnn.sequential(fnn.Dense(3), fnn.Dense(2))
    with pytest.raises(
        fnn.ShapeError,
        match=r"layer 0 \(Dense\(features=3\)\): expected inputs of 1 axis\(es\).*got in_shape \(1, 28, 28\); add a Flatten",
    ):
        model.init(fnn.random.key(0), (1, 28, 28))
    with pytest.raises(fnn.ShapeError, match=r"layer 0 \(Sum\(\)\): .*got in_shape \(\)"):
        fnn.sequential(fnn.Sum()).out_shape(())
    assert fnn.Sum().out_shape((4,)) == ()
    with pytest.raises(fnn.ShapeError, match=r"layer 0 \(softmax\): .*got in_shape \(\); it normalizes"):
        fnn.sequential(fnn.softmax).init(fnn.random.key(0), ())
    with pytest.raises(
        fnn.ShapeError, match=r"Dense\(features=3\): `in_shape` must be a tuple of sizes.*got 4; write \(4,\) for a single axis"
    ):
        fnn.Dense(3).init(fnn.random.key(0), 4)  # type: ignore[arg-type]


def test_bad_inputs_in_apply_name_the_layer() -> None:
    f32 = fnn.backend()
    prelu = fnn.PReLU()
    a = prelu.init(fnn.random.key(0), (3,), f32)
    with pytest.raises(
        fnn.ShapeError,
        match=r"layer 0 \(PReLU\(init_alpha=0.25\)\): expected input of shape \(N, 3\), got \(2, 5\)",
    ):
        fnn.sequential(prelu).apply((a,), f32.ones((2, 5)))
    with pytest.raises(fnn.ShapeError, match=r"expected input of shape \(N, 3\), got \(3,\)"):
        prelu.apply(a, f32.ones((3,)))
    with pytest.raises(
        fnn.ShapeError, match=r"Sum\(\): expected input of shape \(N, T, \.\.\.\), got \(3,\)"
    ):
        fnn.Sum().apply(None, f32.ones((3,)))
    dense = fnn.Dense(2)
    # a plain Python list (no array of any backend): fnn must name its type
    with pytest.raises(fnn.DTypeError, match=r"Dense\(features=2\): expected a float array, got list"):
        dense.apply(dense.init(fnn.random.key(0), (3,)), [[1.0, 2.0, 3.0]])  # type: ignore[arg-type]
    maxout = fnn.sequential(fnn.Maxout(2))
    with pytest.raises(
        fnn.DTypeError,
        match=r"^layer 0 \(Maxout\(features=2, pieces=2\)\): expected input of dtype float32, got float64",
    ):
        maxout.apply(maxout.init(fnn.random.key(0), (3,)), ones((2, 3), "float64"))


def test_bad_hyperparameters_at_construction() -> None:
    with pytest.raises(ValueError, match="`features` must be a positive integer, got 0"):
        fnn.Dense(0)
    with pytest.raises(ValueError, match="`pieces` must be an integer >= 2, got 1"):
        fnn.Maxout(3, pieces=1)
    with pytest.raises(ValueError, match="`alpha` must be positive, got -1"):
        fnn.LeakyReLU(-1)
    with pytest.raises(ValueError, match="`times` must be a positive integer"):
        fnn.Repeat(0)
    with pytest.raises(TypeError, match="argument 1 is <built-in function abs>, which is not an fnn layer"):
        fnn.sequential(fnn.relu, abs)  # type: ignore[call-overload]


def test_wrong_params_structure() -> None:
    model, params = model_and_params()
    with pytest.raises(
        fnn.StateError, match="expected params as a tuple of 3 entries .* got tuple of length 2"
    ):
        model.apply(params[:2], ones((1, 4), "float32"))


def test_backend_errors() -> None:
    with pytest.raises(fnn.BackendError, match="unknown backend 'torch'"):
        fnn.backend("torch")  # type: ignore[arg-type]
    with pytest.raises(
        fnn.DTypeError, match=r"`dtype` must be one of \('float16', 'float32', 'float64'\), got 'int32'"
    ):
        fnn.backend(dtype="int32")
