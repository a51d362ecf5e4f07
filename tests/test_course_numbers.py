"""The numbers the course prints, reproduced with fnn's public API on the backend under test."""

from __future__ import annotations

import warnings

import numpy as np

import fnn
from tests.helpers import assert_allclose, assert_array_equal, host


def f64() -> fnn.Backend:
    """The backend under test in float64 (read at test time: the suite sets FNN_BACKEND per run)."""
    return fnn.backend(dtype="float64")


def f32() -> fnn.Backend:
    """The backend under test in float32."""
    return fnn.backend(dtype="float32")


def test_softmax_of_the_course() -> None:
    y = fnn.softmax(f64().asarray([0.3, 2.9, 4.0]))
    assert_allclose(y, [0.01821127, 0.24519181, 0.73659691], rtol=0, atol=5e-9)
    assert abs(float(y.sum()) - 1.0) < 1e-12


def test_softmax_overflow_guard_gives_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = fnn.softmax(f64().asarray([1010.0, 1000.0, 990.0]))
    assert_allclose(y, [9.99954600e-01, 4.53978686e-05, 2.06106005e-09], rtol=1e-6)


def test_softmax_is_batched_over_the_last_axis() -> None:
    x = f32().asarray([[0.3, 2.9, 4.0], [1010.0, 1000.0, 990.0]])
    y = fnn.softmax(x)
    assert y.dtype == np.float32
    assert_allclose(y[0], [0.01821127, 0.24519181, 0.73659691], rtol=1e-6)
    assert_allclose(y.sum(axis=-1), [1.0, 1.0], rtol=1e-6)


def test_sigmoid_of_the_course() -> None:
    assert_allclose(
        fnn.sigmoid(f64().asarray([-1.0, 1.0, 2.0])), [0.26894142, 0.73105858, 0.88079708], rtol=0, atol=5e-9
    )


def test_sigmoid_has_no_overflow_warning_for_large_negative_inputs() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = fnn.sigmoid(f32().asarray([-1000.0, -100.0, 1000.0]))
    assert_array_equal(y, np.array([0.0, 0.0, 1.0], dtype=np.float32))


def test_sigmoid_keeps_its_relative_accuracy_in_the_left_tail() -> None:
    for b, rtol in ((f32(), 1e-6), (f64(), 1e-14)):
        x = b.asarray(np.linspace(-80.0, 30.0, 1101))
        exact = 1 / (1 + np.exp(-host(x).astype(np.float64)))  # of the rounded x; no overflow here
        assert_allclose(fnn.sigmoid(x), exact, rtol=rtol, atol=0)


def test_step_relu_and_identity() -> None:
    x = f64().asarray([-1.0, 0.0, 2.0])
    assert_array_equal(fnn.step(x), [0.0, 0.0, 1.0])
    assert_array_equal(fnn.relu(x), [0.0, 0.0, 2.0])
    assert_array_equal(fnn.identity(x), x)
    assert_allclose(fnn.tanh(x), np.tanh(host(x)))
    assert_allclose(fnn.LeakyReLU(0.1).apply(None, x), [-0.1, 0.0, 2.0])
    assert_allclose(fnn.ELU(1.0).apply(None, x), [np.exp(-1.0) - 1, 0.0, 2.0])


def test_log_softmax_matches_log_of_softmax() -> None:
    x = f64().asarray([[0.3, 2.9, 4.0], [1010.0, 1000.0, 990.0]])
    assert_allclose(np.exp(host(fnn.log_softmax(x))), fnn.softmax(x), rtol=1e-12)
    assert_allclose(fnn.log_softmax(x)[1, 2], -20.0000454, rtol=1e-7)


def three_layer_network() -> tuple[fnn.Sequential, tuple[object, ...]]:
    model = fnn.sequential(fnn.Dense(3), fnn.sigmoid, fnn.Dense(2), fnn.sigmoid, fnn.Dense(2), fnn.identity)
    b = f64()
    params = (
        fnn.DenseParams(b.asarray([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]]), b.asarray([0.1, 0.2, 0.3])),
        None,
        fnn.DenseParams(b.asarray([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]]), b.asarray([0.1, 0.2])),
        None,
        fnn.DenseParams(b.asarray([[0.1, 0.3], [0.2, 0.4]]), b.asarray([0.1, 0.2])),
        None,
    )
    return model, params


def test_three_layer_network_of_chapter_3() -> None:
    model, params = three_layer_network()
    initialised = model.init(fnn.random.key(0), (2,), f64())
    assert fnn.tree.structure(initialised) == fnn.tree.structure(params)
    y = model.apply(params, f64().asarray([[1.0, 0.5]]))
    assert_allclose(y, [[0.31682708, 0.69627909]], rtol=0, atol=5e-9)


def test_the_course_cross_entropy_and_mse_examples() -> None:
    # "Deep Learning from Scratch" 4.2: the answer is class 2.
    b = f64()
    t = b.asarray([[0, 0, 1, 0, 0, 0, 0, 0, 0, 0]])
    good = b.asarray([[0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0]])
    bad = b.asarray([[0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0]])
    assert abs(float(fnn.losses.categorical_cross_entropy(good, t)) - 0.510825457) < 1e-6
    assert abs(float(fnn.losses.categorical_cross_entropy(bad, t)) - 2.302584092) < 1e-6
    # The book's sum-of-squares 0.5·Σ(y−t)² is 0.0975 (good) and 0.5975 (bad); mse averages 10 elements.
    assert abs(float(fnn.losses.mse(good, t)) - 2 * 0.0975 / 10) < 1e-12
    assert abs(float(fnn.losses.mse(bad, t)) - 2 * 0.5975 / 10) < 1e-12
