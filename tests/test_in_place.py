"""Activations written into the array the layer before made (``Activation.call_in_place``), and the
derivatives built in one array: the same numbers bit for bit as the plain formulas."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pytest

import fnn
from fnn import functional as F
from tests.helpers import assert_array_equal, host, layer_by_layer, traced_apply

EDGES = [-1000.0, -100.0, -88.8, -20.0, -0.0, 0.0, 1e-8, 20.0, 100.0, np.nan, np.inf, -np.inf]


def _values(dtype: Any) -> Any:
    x = np.random.default_rng(0).normal(scale=8.0, size=(40, 30)).astype(dtype)
    x.flat[: len(EDGES)] = EDGES
    return x


def _same(got: Any, want: Any) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want, equal_nan=True)
    assert np.array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_sigmoid_fresh_and_in_place_is_one_over_one_plus_exp_of_minus_x_bit_for_bit(dtype: Any) -> None:
    x = _values(dtype)
    with np.errstate(over="ignore"):
        want = 1 / (1 + np.exp(-x))
    _same(F.sigmoid(x), want)
    for layout in (x[::-1], x[:, ::2], np.asfortranarray(x)):
        with np.errstate(over="ignore"):
            _same(F.sigmoid(layout), 1 / (1 + np.exp(-layout)))
    inside = x.copy()
    assert F.sigmoid_into(inside, inside) is inside
    _same(inside, want)


@pytest.mark.parametrize("dtypes", [(np.float32, np.float32), (np.float64, np.float64), (np.float32, np.float64)])
def test_the_sigmoid_and_tanh_derivatives_are_the_plain_formulas_bit_for_bit(dtypes: tuple[Any, Any]) -> None:
    y_dtype, dy_dtype = dtypes
    rng = np.random.default_rng(1)
    y = rng.uniform(-1, 1, size=(40, 30)).astype(y_dtype)
    dy = rng.normal(size=(40, 30)).astype(dy_dtype)
    for y_in, dy_in in ((y, dy), (y[::-1], dy), (y, dy[:1]), (y[:1], dy)):  # layouts and broadcasting
        _same(F.sigmoid_grad(y_in, dy_in), dy_in * y_in * (1 - y_in))
        _same(F.tanh_grad(y_in, dy_in), dy_in * (1 - y_in * y_in))
    for y_int, dy_int in ((np.array([True, False]), np.array([True, True])), (np.array([1, 0]), np.array([2, 3]))):
        _same(F.sigmoid_grad(y_int, dy_int), dy_int * y_int * (1 - y_int))  # as the formula promotes them
        _same(F.tanh_grad(y_int, dy_int), dy_int * (1 - y_int * y_int))
    for y_in in (y, y[::-1]):  # the residuals are read, never written
        before = y_in.copy()
        F.sigmoid_grad(y_in, dy)
        F.tanh_grad(y_in, dy)
        assert_array_equal(y_in, before)


def _mlp() -> fnn.Sequential:
    return fnn.sequential(
        fnn.Dense(7), fnn.sigmoid, fnn.Dense(6), fnn.tanh, fnn.Dense(5), fnn.relu, fnn.Dense(3), fnn.sigmoid
    )


@pytest.mark.parametrize("order", ["C", "F", "strided", "negative", "read-only"])
def test_a_sequential_with_activations_in_place_gives_the_layer_by_layer_results(order: str) -> None:
    """Each activation overwrites the Dense output before it: the same numbers, the inputs untouched."""
    model = _mlp()
    params = model.init(fnn.random.key(0), (4,))
    x = host(fnn.random.normal(fnn.random.key(1), (10, 8)))
    x = {
        "C": np.ascontiguousarray(x[:, :4]),
        "F": np.asfortranarray(x[:, :4]),
        "strided": x[::2, ::2],
        "negative": x[::-1, :4],
        "read-only": np.ascontiguousarray(x[:, :4]),
    }[order]
    x.flags.writeable = order != "read-only"
    x = fnn.backend().asarray(x) if fnn.default_backend().name != "numpy" else x
    x_before = host(x).copy()
    h, dy, d, grads = layer_by_layer(model, params, x, lambda shape: fnn.random.normal(fnn.random.key(2), shape))
    assert_array_equal(model.apply(params, x), h)
    y, model_residuals = model.forward(params, x)
    assert_array_equal(y, h)
    y, train_residuals, _ = model.forward_train(params, None, x)
    assert_array_equal(y, h)
    for model_r in (model_residuals, train_residuals):
        model_grads, dx = model.grad(params, model_r, dy)
        assert_array_equal(dx, d)
        for mine, theirs in zip(fnn.tree.leaves(model_grads), fnn.tree.leaves(grads)):
            assert_array_equal(mine, theirs)
    assert_array_equal(x, x_before)


@pytest.mark.parametrize("activation", [fnn.sigmoid, fnn.tanh, fnn.relu])
def test_an_activation_after_dense_makes_no_second_output_array(activation: Any) -> None:
    if fnn.default_backend().name != "numpy":
        pytest.skip("tracemalloc sees NumPy's host memory only")
    model = fnn.sequential(fnn.Dense(512), activation)
    params = model.init(fnn.random.key(0), (8,))
    x = fnn.random.normal(fnn.random.key(1), (256, 8))
    y, peak = traced_apply(model, params, x)
    assert y.nbytes <= peak < 1.5 * y.nbytes


def test_an_activation_first_or_after_a_layer_that_may_share_its_output_is_not_in_place() -> None:
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    x_before = x.copy()
    models: list[fnn.Sequential[Any]] = [
        fnn.sequential(fnn.sigmoid, fnn.tanh),
        fnn.sequential(fnn.identity, fnn.tanh, fnn.sigmoid),
    ]
    for model in models:
        y = model.apply(model.init(fnn.random.key(0), (4,)), x)
        assert_array_equal(x, x_before)
        assert not np.shares_memory(y, x)


@attrs.frozen(repr=False)
class _DoubledSigmoid(fnn.layers.Sigmoid):
    """A user's sigmoid subclass with its own formula: ``2σ(x)``."""

    def call(self, x: Any) -> Any:
        return 2 * F.sigmoid(x)


_SEEN: list[Any] = []


@attrs.frozen
class _LoggingDense(fnn.Dense):
    """A user's ``Dense`` that keeps every output it returns."""

    def apply(self, params: Any, x: Any) -> Any:
        y = super().apply(params, x)
        _SEEN.append(y)
        return y


def test_a_subclass_that_changes_the_formula_or_keeps_its_output_is_not_run_in_place() -> None:
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    model = fnn.sequential(fnn.Dense(5), _DoubledSigmoid())
    params = model.init(fnn.random.key(0), (4,))
    assert_array_equal(model.apply(params, x), 2 * F.sigmoid(model.layers[0].apply(params[0], x)))
    logging = fnn.sequential(_LoggingDense(5), fnn.tanh)
    params = logging.init(fnn.random.key(0), (4,))
    _SEEN.clear()
    y = logging.apply(params, x)
    assert len(_SEEN) == 1 and not np.shares_memory(_SEEN[0], y)
    assert_array_equal(_SEEN[0], fnn.Dense(5).apply(params[0], x))
