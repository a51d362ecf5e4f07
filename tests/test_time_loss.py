"""time_softmax_cross_entropy: the book's TimeSoftmaxWithLoss, with ignored positions and masks."""

from __future__ import annotations

import numpy as np
import pytest

import fnn
from fnn import DataError, DTypeError, ShapeError
from fnn.losses import TimeSoftmaxCrossEntropy, softmax_cross_entropy, time_softmax_cross_entropy
from fnn.typing import Array
from tests.helpers import assert_allclose, host

loss = time_softmax_cross_entropy


def on_backend(a: Array) -> Array:
    return fnn.backend().asarray(a, dtype=a.dtype)


def books_loss(xs: Array, ts: Array, ignore_label: int = -1) -> float:
    """The book's ``TimeSoftmaxWithLoss.forward``, as it writes it."""
    n, t, v = xs.shape
    mask = ts != ignore_label
    xs, ts, mask = xs.reshape(n * t, v), ts.reshape(n * t), mask.reshape(n * t)
    ys = np.exp(xs - xs.max(axis=1, keepdims=True))
    ys /= ys.sum(axis=1, keepdims=True)
    ls = np.log(ys[np.arange(n * t), ts])
    ls *= mask
    return float(-np.sum(ls) / mask.sum())


def case(seed: int, shape: tuple[int, int, int] = (3, 5, 7), ignored: float = 0.3) -> tuple[Array, Array]:
    rng = np.random.default_rng(seed)
    y = rng.normal(size=shape) * 3
    t = rng.integers(0, shape[2], shape[:2])
    t[rng.random(shape[:2]) < ignored] = -1
    t[0, 0] = 1  # at least one kept position
    return y, t


@pytest.mark.parametrize("seed", range(4))
def test_value_equals_the_books_loss_with_ignored_positions(seed: int) -> None:
    y, t = case(seed)
    assert_allclose(float(loss(on_backend(y), on_backend(t))), books_loss(y, t), rtol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_gradient_matches_central_differences_with_ignored_positions(seed: int) -> None:
    y, t = case(seed)
    fnn.check_grads(loss, on_backend(y), on_backend(t))
    grad = host(loss.grad(on_backend(y), on_backend(t)))
    assert (grad[t == -1] == 0).all() and grad.shape == y.shape


def test_gradient_is_the_fused_softmax_minus_one_hot_over_kept_positions() -> None:
    y, t = case(7)
    keep = t != -1
    p = np.exp(y - y.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    expected = (p - np.eye(y.shape[2])[np.where(keep, t, 0)]) * keep[..., None] / keep.sum()
    assert_allclose(host(loss.grad(on_backend(y), on_backend(t))), expected, rtol=1e-12, atol=1e-15)


def test_without_ignored_positions_it_is_softmax_cross_entropy_over_all_rows() -> None:
    y, t = case(3, ignored=0.0)
    flat_value, flat_grad = softmax_cross_entropy.value_and_grad(on_backend(y.reshape(-1, 7)), on_backend(t.reshape(-1)))
    value, grad = loss.value_and_grad(on_backend(y), on_backend(t))
    assert_allclose(float(value), float(flat_value), rtol=1e-12)
    assert_allclose(host(grad).reshape(-1, 7), host(flat_grad), rtol=1e-12, atol=1e-15)


def test_a_mask_keeps_its_true_positions_like_the_ignore_label() -> None:
    y, t = case(5, ignored=0.0)
    mask = np.random.default_rng(1).random(t.shape) < 0.6
    mask[0, 0] = True
    by_mask = loss.value_and_grad(on_backend(y), on_backend(t), mask=on_backend(mask))
    by_label = loss.value_and_grad(on_backend(y), on_backend(np.where(mask, t, -1)))
    assert_allclose(float(by_mask[0]), float(by_label[0]), rtol=1e-12)
    assert_allclose(host(by_mask[1]), host(by_label[1]), rtol=1e-12)
    assert_allclose(float(loss(on_backend(y), on_backend(t), on_backend(mask))), float(by_label[0]), rtol=1e-12)


def test_another_ignore_label_and_none() -> None:
    y, t = case(2, ignored=0.0)
    t[1] = 0
    zero_ignored = TimeSoftmaxCrossEntropy(ignore=0)
    assert_allclose(float(zero_ignored(on_backend(y), on_backend(t))), books_loss(y, t, ignore_label=0), rtol=1e-12)
    assert repr(zero_ignored) == "time_softmax_cross_entropy(ignore=0)" and repr(loss) == "time_softmax_cross_entropy"
    keep_all = TimeSoftmaxCrossEntropy(ignore=None)
    assert_allclose(float(keep_all(on_backend(y), on_backend(t))), books_loss(y, t, ignore_label=-99), rtol=1e-12)
    t[0, 0] = -1
    with pytest.raises(DataError, match=r"label -1 is out of range for 7 classes"):
        keep_all(y, t)  # nothing is ignored: -1 is a bad label
    with pytest.raises(ValueError, match=r"`ignore` must be an integer label .* got 1.5"):
        TimeSoftmaxCrossEntropy(ignore=1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_dtypes_follow_the_loss_policy(dtype: str) -> None:
    y, t = case(4)
    value, grad = loss.value_and_grad(on_backend(y.astype(dtype)), on_backend(t))
    assert value.shape == () and value.dtype == ("float32" if dtype == "float16" else dtype)
    assert grad.dtype == dtype
    assert_allclose(float(value), books_loss(y.astype(dtype).astype("float64"), t), rtol=1e-3 if dtype == "float16" else 1e-6)


def test_large_logits_do_not_overflow() -> None:
    y = np.array([[[1000.0, 0.0], [0.0, -1000.0]]])
    value, grad = loss.value_and_grad(on_backend(y), on_backend(np.array([[0, 1]])))
    assert_allclose(float(value), 500.0, rtol=1e-12)
    assert np.isfinite(host(grad)).all()


def test_bad_labels_shapes_and_dtypes_are_refused() -> None:
    y, t = case(0)
    t[1, 2] = 7
    with pytest.raises(DataError, match=r"time_softmax_cross_entropy: label 7 is out of range for 7 classes \(0\.\.6\)"):
        loss(y, t)
    t[1, 2] = -2
    with pytest.raises(DataError, match=r"label -2 is out of range"):
        loss(y, t)
    with pytest.raises(ShapeError, match=r"labels of shape \(3,\) do not fit logits of shape \(3, 5, 7\); expected \(3, 5\)"):
        loss(y, t[:, 0])
    with pytest.raises(DTypeError, match=r"expected integer labels of shape \(3, 5\), got dtype float64$"):
        loss(y, t.astype(float))
    with pytest.raises(DTypeError, match=r"one-hot targets: pass t.argmax\(axis=-1\)"):
        loss(y, np.eye(7)[np.maximum(t, 0)])
    with pytest.raises(ShapeError, match=r"expected logits of shape \(N, T, V\) with labels \(N, T\), got \(7,\)"):
        loss(y[0, 0], np.array(1))
    with pytest.raises(ShapeError, match=r"predictions of shape \(0, 5, 7\) are empty"):
        loss(y[:0], t[:0])
    with pytest.raises(DTypeError, match=r"expected float predictions, got int64"):
        loss(t[..., None], t)
    with pytest.raises(DTypeError, match=r"expected a boolean mask of shape \(3, 5\), got int64 of shape \(3, 5\)"):
        loss(y, t, mask=np.ones((3, 5), dtype=np.int64))
    with pytest.raises(ShapeError, match=r"expected a boolean mask of shape \(3, 5\), got bool of shape \(5,\)"):
        loss(y, t, mask=np.ones(5, dtype=bool))


def test_a_batch_with_every_position_ignored_is_refused() -> None:
    y, _ = case(0)
    with pytest.raises(DataError, match=r"every one of the 15 positions is ignored, and a mean over none is undefined"):
        loss(y, np.full((3, 5), -1))
    with pytest.raises(DataError, match=r"every one of the 15 positions is ignored"):
        loss(y, np.zeros((3, 5), dtype=np.int64), mask=np.zeros((3, 5), dtype=bool))


@pytest.mark.parametrize("dtype", ["float16", "float64"])
def test_value_alone_equals_the_value_with_the_gradient(dtype: str) -> None:
    y, t = case(6)
    mask = np.ones(t.shape, dtype=bool)
    mask[1] = False
    y_b, t_b, mask_b = on_backend(y.astype(dtype)), on_backend(t), on_backend(mask)
    alone = loss.value(y_b, t_b, mask_b)
    assert alone.dtype == loss(y_b, t_b, mask_b).dtype and float(alone) == float(loss(y_b, t_b, mask_b))
    with pytest.raises(DataError, match=r"label 9 is out of range for 7 classes"):
        loss.value(y, np.full(t.shape, 9))


def test_matrices_and_masked_arrays_are_refused() -> None:
    y, t = case(1)
    with pytest.raises(DTypeError, match=r"`t` is a masked array, whose mask fnn would ignore"):
        loss(y, np.ma.masked_array(t, mask=t < 0))
    with pytest.raises(DTypeError, match=r"`mask` is a masked array"):
        loss(y, t, mask=np.ma.masked_array(t >= 0, mask=False))
    with pytest.raises(DTypeError, match=r"`y` is a masked array"):
        loss(np.ma.masked_array(y), t)
