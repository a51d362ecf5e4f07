"""Dropout: rate semantics, keys, inference identity, gradients, errors."""

from __future__ import annotations

import numpy as np
import pytest

import fnn
from tests.helpers import assert_allclose, assert_array_equal, host


def f64() -> fnn.Backend:
    """The backend under test in float64 (read at test time: the suite sets FNN_BACKEND per run)."""
    return fnn.backend(dtype="float64")


def f32() -> fnn.Backend:
    """The backend under test in the default dtype (float32)."""
    return fnn.backend()


def test_rate_is_the_probability_of_dropping_and_kept_values_are_scaled() -> None:
    layer = fnn.Dropout(0.3)
    x = f32().ones((200, 500))
    y, _, _ = layer.forward_train(None, None, x, fnn.random.key(0))
    assert y.dtype == np.float32
    dropped = float((y == 0).mean())
    assert dropped == pytest.approx(0.3, abs=0.01)
    assert_allclose(y[y != 0], np.float32(1 / 0.7))
    assert float(y.mean()) == pytest.approx(1.0, abs=0.02)  # inverted: E[y] = x


def test_same_key_same_mask_different_key_different_mask() -> None:
    layer = fnn.Dropout(0.5)
    x = fnn.random.normal(fnn.random.key(1), (4, 10))
    a = layer.forward_train(None, None, x, fnn.random.key(5))[0]
    b = layer.forward_train(None, None, x, fnn.random.key(5))[0]
    c = layer.forward_train(None, None, x, fnn.random.key(6))[0]
    assert_array_equal(a, b)
    assert not np.array_equal(host(a), host(c))


def test_inference_is_the_identity() -> None:
    layer = fnn.Dropout(0.5)
    x = fnn.random.normal(fnn.random.key(1), (4, 10))
    assert_array_equal(layer.apply(None, x), x)
    assert_array_equal(layer.apply_stateful(None, None, x), x)
    model = fnn.sequential(fnn.Dense(3), layer)
    params = model.init(fnn.random.key(0), (10,))
    assert_array_equal(model.apply(params, x), fnn.Dense(3).apply(params[0], x))


def test_gradient_with_a_fixed_key() -> None:
    layer = fnn.Dropout(0.4)
    b = f64()
    x = b.asarray(np.random.default_rng(0).standard_normal((3, 7)))
    fnn.check_grads(layer, None, x, key=fnn.random.key(3))
    y, mask, _ = layer.forward_train(None, None, x, fnn.random.key(3))
    _, dx = layer.grad(None, mask, b.ones(x.shape))
    assert_array_equal(dx != 0, y != 0)


def test_rate_zero_keeps_everything() -> None:
    x = fnn.random.normal(fnn.random.key(1), (4, 10))
    assert_array_equal(fnn.Dropout(0.0).forward_train(None, None, x, fnn.random.key(0))[0], x)


def test_model_with_dropout_trains_with_a_key_and_refuses_without() -> None:
    model = fnn.sequential(fnn.Dense(8), fnn.relu, fnn.Dropout(0.5), fnn.Dense(2), fnn.Dropout(0.5))
    assert model.stochastic
    b = f64()
    params = model.init(fnn.random.key(0), (3,), b)
    x = b.asarray(np.random.default_rng(0).standard_normal((6, 3)))
    t = b.asarray([0, 1, 0, 1, 1, 0], dtype="int64")
    vg = fnn.value_and_grad(model, fnn.losses.softmax_cross_entropy)
    first = vg(params, x, t, key=fnn.random.key(1))
    again = vg(params, x, t, key=fnn.random.key(1))
    assert_array_equal(first[0], again[0])
    fnn.check_grads(model, params, x, loss=fnn.losses.softmax_cross_entropy, t=t, key=fnn.random.key(1))
    with pytest.raises(fnn.StateError, match=r"layer 2 \(Dropout\(rate=0.5\)\): training needs a random key"):
        vg(params, x, t)


def test_errors() -> None:
    for bad in (1.0, -0.1, True, "0.5"):
        with pytest.raises(
            ValueError, match=r"`rate` is the probability of DROPPING an element and must be in \[0, 1\)"
        ):
            fnn.Dropout(bad)  # type: ignore[arg-type]
    with pytest.raises(
        fnn.StateError, match=r"Dropout\(rate=0.5\): training needs a random key.*key=fnn.random.key"
    ):
        fnn.Dropout(0.5).forward(None, f32().ones((2, 2)))
    with pytest.raises(fnn.StateError, match="use apply"):
        fnn.Dropout(0.5).forward_train(None, None, f32().ones((2, 2)))
    integers = f32().asarray(np.ones((2, 2)), dtype="int32")
    with pytest.raises(fnn.DTypeError, match="expected a float array"):
        fnn.Dropout(0.5).forward_train(None, None, integers, fnn.random.key(0))


def test_over_sequences_it_is_the_books_time_dropout() -> None:
    """(N, T, D): elementwise, independent across time steps, inverted, keyed; identity in inference."""
    layer = fnn.Dropout(0.5)
    assert layer.out_shape((35, 100)) == (35, 100)
    xs = f32().ones((20, 35, 100))
    ys, mask, _ = layer.forward_train(None, None, xs, fnn.random.key(2))
    kept = host(ys) != 0
    assert ys.shape == xs.shape and float(kept.mean()) == pytest.approx(0.5, abs=0.01)
    assert_allclose(ys[ys != 0], np.float32(2.0))
    assert not (kept[:, :1] == kept).all()  # not one mask per sequence: steps differ
    assert_array_equal(layer.forward_train(None, None, xs, fnn.random.key(2))[0], ys)
    assert_array_equal(layer.apply(None, xs), xs)
    x64 = f64().asarray(np.random.default_rng(1).standard_normal((2, 4, 3)))
    fnn.check_grads(layer, None, x64, key=fnn.random.key(4))
