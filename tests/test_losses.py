"""Every loss: value against its formula, gradient against central differences, dtypes, errors.

Test data is drawn on the host with NumPy (the reference formulas compute on it) and
moved to the backend under test (``FNN_BACKEND``) with :func:`on_backend` before fnn sees it.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnn
from fnn.losses import Loss
from fnn.typing import Array
from tests.helpers import assert_allclose, assert_array_equal, host

Targets = Callable[[np.random.Generator, tuple[int, int]], Array]


def on_backend(a: Array) -> Array:
    """Host data ``a`` as an array of the backend under test, keeping its dtype."""
    return fnn.backend().asarray(a, dtype=a.dtype)


def f64() -> fnn.Backend:
    """The backend under test in float64 (read at test time: the suite sets FNN_BACKEND per run)."""
    return fnn.backend(dtype="float64")


def labels(values: list[int]) -> Array:
    """Integer class labels on the backend under test."""
    return fnn.backend().asarray(values, dtype="int64")


def real(rng: np.random.Generator, shape: tuple[int, int]) -> Array:
    return rng.standard_normal(shape)


def binary(rng: np.random.Generator, shape: tuple[int, int]) -> Array:
    return (rng.random(shape) > 0.5).astype(np.float64)


def distribution(rng: np.random.Generator, shape: tuple[int, int]) -> Array:
    p = rng.random(shape) + 0.1
    result: Array = p / p.sum(axis=1, keepdims=True)
    return result


def probabilities(rng: np.random.Generator, shape: tuple[int, int]) -> Array:
    return 0.1 + 0.8 * rng.random(shape)


def softmaxed(rng: np.random.Generator, shape: tuple[int, int]) -> Array:
    """Probabilities from fnn's softmax (computed on the backend under test), as host data."""
    result: Array = host(fnn.softmax(f64().asarray(rng.standard_normal(shape))))
    return result


# (loss, predictions, targets, reference formula)
LOSSES: list[tuple[Loss, Targets, Targets, Callable[[Array, Array], float]]] = [
    (fnn.losses.mse, real, real, lambda y, t: float(np.mean((y - t) ** 2))),
    (fnn.losses.mae, real, real, lambda y, t: float(np.mean(np.abs(y - t)))),
    (fnn.losses.rmse, real, real, lambda y, t: float(np.sqrt(np.mean((y - t) ** 2)))),
    (
        fnn.losses.huber,
        lambda r, s: 2 * r.standard_normal(s),
        real,
        lambda y, t: float(np.mean(np.where(np.abs(y - t) <= 1, 0.5 * (y - t) ** 2, np.abs(y - t) - 0.5))),
    ),
    (
        fnn.losses.binary_cross_entropy,
        probabilities,
        binary,
        lambda p, t: float(-np.mean(t * np.log(p + 1e-7) + (1 - t) * np.log(1 - p + 1e-7))),
    ),
    (
        fnn.losses.sigmoid_binary_cross_entropy,
        real,
        binary,
        lambda z, t: float(
            -np.mean(t * np.log(1 / (1 + np.exp(-z))) + (1 - t) * np.log(1 - 1 / (1 + np.exp(-z))))
        ),
    ),
    (
        fnn.losses.negative_sampling_loss,
        real,
        binary,
        lambda z, t: float(
            -np.sum(t * np.log(1 / (1 + np.exp(-z))) + (1 - t) * np.log(1 - 1 / (1 + np.exp(-z)))) / z.shape[0]
        ),
    ),
    (
        fnn.losses.categorical_cross_entropy,
        softmaxed,
        distribution,
        lambda p, t: float(-np.sum(t * np.log(p + 1e-7)) / p.shape[0]),
    ),
    (
        fnn.losses.softmax_cross_entropy,
        real,
        distribution,
        lambda z, t: float(-np.sum(t * np.log(host(fnn.softmax(f64().asarray(z))))) / z.shape[0]),
    ),
]
ids = [repr(case[0]) for case in LOSSES]


@pytest.mark.parametrize(("loss", "make_y", "make_t", "reference"), LOSSES, ids=ids)
@settings(max_examples=15, deadline=None, derandomize=True)
@given(n=st.integers(1, 5), k=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_value_and_gradient(
    loss: Loss,
    make_y: Targets,
    make_t: Targets,
    reference: Callable[[Array, Array], float],
    n: int,
    k: int,
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    y_host, t_host = make_y(rng, (n, k)), make_t(rng, (n, k))
    expected = reference(y_host, t_host)
    y, t = on_backend(y_host), on_backend(t_host)
    y_before, t_before = y.copy(), t.copy()
    assert abs(float(loss(y, t)) - expected) <= 1e-10 * max(1.0, abs(expected))
    fnn.check_grads(loss, y, t, rtol=1e-5, atol=1e-8)
    assert_array_equal(y, y_before)
    assert_array_equal(t, t_before)


@pytest.mark.parametrize(("loss", "make_y", "make_t", "reference"), LOSSES, ids=ids)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_is_kept(loss: Loss, make_y: Targets, make_t: Targets, reference: object, dtype: str) -> None:
    rng = np.random.default_rng(0)
    y = on_backend(make_y(rng, (4, 3)).astype(dtype))
    t = on_backend(make_t(rng, (4, 3)))  # float64 targets are cast down to the predictions' dtype
    value, dy = loss.value_and_grad(y, t)
    assert value.dtype == np.dtype(dtype) and value.shape == ()
    assert dy.dtype == np.dtype(dtype) and dy.shape == y.shape
    assert loss.grad(y, t).dtype == np.dtype(dtype)


@pytest.mark.parametrize("loss", [fnn.losses.softmax_cross_entropy, fnn.losses.categorical_cross_entropy])
def test_integer_labels_equal_one_hot(loss: Loss) -> None:
    rng = np.random.default_rng(0)
    y = on_backend(softmaxed(rng, (5, 4)).astype(np.float32))
    classes = labels([0, 3, 1, 1, 2])
    one_hot = on_backend(np.eye(4, dtype=np.float32)[host(classes)])
    assert float(loss(y, classes)) == pytest.approx(float(loss(y, one_hot)), rel=1e-6)
    assert_allclose(loss.grad(y, classes), loss.grad(y, one_hot), rtol=1e-6, atol=1e-7)


def test_softmax_cross_entropy_gradient_is_fused() -> None:
    z = f64().asarray([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]])
    t = labels([2, 0])
    expected = (host(fnn.softmax(z)) - np.eye(3)[host(t)]) / 2
    assert_allclose(fnn.losses.softmax_cross_entropy.grad(z, t), expected, rtol=1e-12)


def test_sigmoid_cross_entropy_is_stable_for_huge_logits() -> None:
    b = fnn.backend(dtype="float32")
    z = b.asarray([[1000.0], [-1000.0]])
    t = b.asarray([[1.0], [0.0]])
    assert float(fnn.losses.sigmoid_binary_cross_entropy(z, t)) == 0.0
    assert_array_equal(fnn.losses.sigmoid_binary_cross_entropy.grad(z, t), [[0.0], [0.0]])


def test_rmse_gradient_at_zero_error_is_zero() -> None:
    y = f64().ones((2, 2))
    assert_array_equal(fnn.losses.rmse.grad(y, y), np.zeros((2, 2)))


def test_labels_out_of_range_are_rejected() -> None:
    # On NumPy on purpose: the label range is checked on the host only, where it is free. CuPy
    # labels are never copied back for it; their loss turns NaN instead (see the next test).
    y = fnn.backend("numpy", "float64").zeros((2, 3))
    with pytest.raises(ValueError, match=r"label 3 is out of range for 3 classes \(0\.\.2\)"):
        fnn.losses.softmax_cross_entropy(y, np.array([0, 3]))
    with pytest.raises(ValueError, match="label -1 is out of range"):
        fnn.losses.categorical_cross_entropy(y, np.array([-1, 0]))


@pytest.mark.parametrize("loss", [fnn.losses.softmax_cross_entropy, fnn.losses.categorical_cross_entropy])
@pytest.mark.parametrize("bad", [3, -1])
def test_labels_out_of_range_on_the_backend_under_test(loss: Loss, bad: int) -> None:
    """NumPy labels raise :class:`fnn.DataError`; CuPy labels (not copied to the host) make the loss NaN."""
    b = fnn.backend(dtype="float32")
    y, t = b.zeros((4, 3)), labels([0, 1, bad, 1])
    if b.name == "numpy":
        with pytest.raises(fnn.DataError, match=rf"{loss!r}: label {bad} is out of range for 3 classes"):
            loss(y, t)
    else:
        assert math.isnan(float(loss(y, t)))


def test_mismatched_targets_are_rejected_with_a_hint() -> None:
    with pytest.raises(
        fnn.ShapeError, match=r"targets of shape \(4,\) do not match predictions of shape \(4, 1\); reshape"
    ):
        fnn.losses.mse(f64().zeros((4, 1)), f64().zeros((4,)))
    with pytest.raises(fnn.ShapeError, match="3 labels for 2 predictions"):
        fnn.losses.softmax_cross_entropy(f64().zeros((2, 3)), labels([0, 1, 2]))
    with pytest.raises(fnn.DTypeError, match="expected float predictions, got int64"):
        fnn.losses.mse(on_backend(np.zeros((2, 2), dtype=np.int64)), f64().zeros((2, 2)))


def test_huber_delta_is_validated() -> None:
    with pytest.raises(ValueError, match="`delta` must be positive, got 0"):
        fnn.losses.Huber(delta=0)


def test_bad_labels_and_predictions() -> None:
    y = fnn.backend(dtype="float32").zeros((4, 3))
    y_host = np.zeros((4, 3), dtype="float32")  # the label range is checked on NumPy labels only (see above)
    for loss in (fnn.losses.softmax_cross_entropy, fnn.losses.categorical_cross_entropy):
        with pytest.raises(fnn.DataError, match=rf"{loss!r}: label 3 is out of range for 3 classes \(0..2\)"):
            loss(y_host, np.array([0, 1, 3, 1]))
        with pytest.raises(fnn.DataError, match=r"label -1 is out of range"):
            loss.grad(y_host, np.array([0, 1, -1, 1]))
        with pytest.raises(fnn.ShapeError, match=r"3 labels for 4 predictions"):
            loss(y, labels([0, 1, 1]))
        with pytest.raises(fnn.ShapeError, match=r"integer labels must have an integer dtype"):
            loss(y, f64().asarray([0.0, 1.0, 2.0, 1.0]))
        with pytest.raises(fnn.DTypeError, match=rf"{loss!r}: expected float predictions, got int64"):
            loss(y.astype("int64"), labels([0, 1, 2, 1]))


BOOK_Y = [0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0]  # the book's chapter 4 example, class 2


@pytest.mark.parametrize("loss", [fnn.losses.categorical_cross_entropy, fnn.losses.softmax_cross_entropy])
def test_a_one_dimensional_input_is_one_sample(loss: Loss) -> None:
    b = f64()
    y, one_hot = b.asarray(BOOK_Y), b.asarray(np.eye(10)[2])
    as_label = labels([2])
    python_int: Any = 2  # the book passes a plain label; the static type of `t` is Array
    for t, batch_t in ((one_hot, one_hot[None]), (python_int, as_label), (as_label, as_label), (as_label[0], as_label)):
        batch_value, batch_grad = loss.value_and_grad(y[None], batch_t)
        value, grad = loss.value_and_grad(y, t)
        assert float(value) == float(batch_value)
        assert grad.shape == (10,)
        assert_array_equal(grad, batch_grad[0])
    if loss is fnn.losses.categorical_cross_entropy:
        assert float(loss(y, one_hot)) == pytest.approx(0.510825457, rel=1e-9)  # the book's 0.510825...
    p = b.asarray([0.2, 0.5, 0.3])  # away from 0, where the central difference would leave the domain
    fnn.check_grads(loss, p, b.asarray([0.0, 1.0, 0.0]))
    fnn.check_grads(loss, p, labels([1]))
    with pytest.raises(fnn.ShapeError, match=rf"{loss!r}: 2 labels for 1 predictions"):
        loss(y, labels([2, 3]))
    with pytest.raises(fnn.ShapeError, match=r"integer labels must have an integer dtype"):
        loss(y, b.asarray([2.0]))
    with pytest.raises(fnn.ShapeError, match=rf"{loss!r}: expected predictions of shape \(N, K\), or \(K,\) for one"):
        loss(b.asarray(0.5), labels([0])[0])


@pytest.mark.parametrize(("loss", "make_y", "make_t", "reference"), LOSSES[:6], ids=ids[:6])
def test_element_averaging_losses_give_one_value_for_any_batch_axis(
    loss: Loss, make_y: Targets, make_t: Targets, reference: Callable[[Array, Array], float]
) -> None:
    rng = np.random.default_rng(3)
    y_host, t_host = make_y(rng, (1, 5)), make_t(rng, (1, 5))
    values = []
    for shape in [(5,), (1, 5), (5, 1)]:
        y, t = on_backend(y_host.reshape(shape)), on_backend(t_host.reshape(shape))
        value, grad = loss.value_and_grad(y, t)
        values.append(float(value))
        assert grad.shape == shape
        fnn.check_grads(loss, y, t, rtol=1e-5, atol=1e-8)
    assert values[0] == pytest.approx(reference(y_host, t_host), rel=1e-12)
    assert values[1] == values[0] and values[2] == values[0]


@pytest.mark.parametrize("loss", [case[0] for case in LOSSES], ids=ids)
@pytest.mark.parametrize("shape", [(0, 3), (0,), (2, 0)])
def test_an_empty_batch_is_refused(loss: Loss, shape: tuple[int, ...]) -> None:
    y = f64().zeros(shape)
    t = labels([]) if loss.accepts_labels and shape == (0, 3) else f64().zeros(shape)
    message = re.escape(f"{loss!r}: predictions of shape {shape} are empty") + ".*skip empty batches"
    with pytest.raises(fnn.ShapeError, match=message):
        loss(y, t)
    with pytest.raises(fnn.ShapeError, match=message):
        loss.value_and_grad(y, t)


@pytest.mark.parametrize("loss", [fnn.losses.softmax_cross_entropy, fnn.losses.categorical_cross_entropy])
def test_labels_in_the_wrong_layout_are_refused(loss: Loss) -> None:
    y = f64().asarray(softmaxed(np.random.default_rng(0), (4, 3)))
    with pytest.raises(fnn.ShapeError, match=r"targets of shape \(4, 1\).*labels go in a 1-D array: t\.reshape\(-1\)"):
        loss(y, labels([0, 1, 2, 1]).reshape(4, 1))
    with pytest.raises(fnn.ShapeError, match=r"3 labels for 4 predictions"):
        loss(y, labels([0, 1, 2]))  # (C,): a one-hot row without its batch axis
    with pytest.raises(fnn.ShapeError, match=r"targets of shape \(1, 3\) do not match predictions of shape \(4, 3\)"):
        loss(y, f64().asarray([[0.0, 1.0, 0.0]]))  # would broadcast to every row
    with pytest.raises(fnn.ShapeError, match=r"targets of shape \(3,\) do not match .*that is one target row: give one per"):
        loss(y, f64().asarray([0.0, 1.0, 0.0]))
    with pytest.raises(fnn.DTypeError, match=rf"{loss!r}: expected real-valued targets, got complex128"):
        loss(y, fnn.backend().xp.ones((4, 3), dtype="complex128"))


@settings(max_examples=15, deadline=None, derandomize=True)
@given(n=st.integers(1, 4), k=st.integers(1, 5), seed=st.integers(0, 2**16), scale=st.floats(0.0, 3.0))
def test_softmax_cross_entropy_gradient_for_targets_not_summing_to_one(n: int, k: int, seed: int, scale: float) -> None:
    """Soft targets scaled by any factor (label smoothing gone wrong, weighted rows): the fused
    gradient ``(y − t)/N`` would be wrong; the value and the gradient must still agree."""
    rng = np.random.default_rng(seed)
    z, t = on_backend(real(rng, (n, k))), on_backend(scale * rng.random((n, k)))
    fnn.check_grads(fnn.losses.softmax_cross_entropy, z, t, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("loss", [case[0] for case in LOSSES[:6]], ids=ids[:6])
def test_class_labels_given_to_an_element_averaging_loss_get_a_hint(loss: Loss) -> None:
    with pytest.raises(
        fnn.ShapeError,
        match=r"targets of shape \(4,\) do not match predictions of shape \(4, 3\); for class labels, "
        r"one-hot encode them \(fnn\.datasets\.one_hot\(t, 3\)\)",
    ):
        loss(f64().zeros((4, 3)) + 0.5, labels([0, 1, 2, 1]))
