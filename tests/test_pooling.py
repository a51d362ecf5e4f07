"""Pooling and Flatten: against loop references, the tie rule, gradients with ties, errors."""

from __future__ import annotations

from typing import Any

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


def pool_reference(
    x: Any, window: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int], op: str
) -> Any:
    """Pooling by explicit loops over output pixels, in NumPy on a host copy of ``x``."""
    x = host(x)
    ph, pw = padding
    fill = -np.inf if op == "max" else 0.0
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    oh = (x.shape[2] - window[0]) // stride[0] + 1
    ow = (x.shape[3] - window[1]) // stride[1] + 1
    y = np.zeros(x.shape[:2] + (oh, ow))
    for p in range(oh):
        for q in range(ow):
            patch = x[
                :, :, p * stride[0] : p * stride[0] + window[0], q * stride[1] : q * stride[1] + window[1]
            ]
            y[:, :, p, q] = patch.max(axis=(2, 3)) if op == "max" else patch.mean(axis=(2, 3))
    return y


POOLS = [
    dict(window=2),
    dict(window=3, stride=2, padding=1),
    dict(window=(2, 3), stride=(1, 2)),
    dict(window=(3, 2), stride=1, padding=(1, 1)),
    dict(window=2, stride=3),
]


@pytest.mark.parametrize("cls", [fnn.MaxPool2D, fnn.AvgPool2D])
@pytest.mark.parametrize("config", POOLS, ids=[str(c) for c in POOLS])
def test_matches_loop_reference_and_gradients(cls: Any, config: dict[str, Any]) -> None:
    layer = cls(**config)
    x = f64().asarray(np.random.default_rng(0).standard_normal((2, 2, 6, 7)))
    y = layer.apply(None, x)
    op = "max" if cls is fnn.MaxPool2D else "avg"
    assert_allclose(y, pool_reference(x, layer.window, layer.stride, layer.padding, op), atol=1e-12)
    assert y.shape == (2, *layer.out_shape((2, 6, 7)))
    assert_array_equal(layer.forward(None, x)[0], y)
    fnn.check_grads(layer, None, x)


def test_tie_rule_first_in_row_major_window_order() -> None:
    """Exact ties: the whole gradient goes to the first maximal element (row-major in the window)."""
    b = f64()
    x = b.asarray(
        [[[[1.0, 3.0, 2.0, 2.0], [3.0, 3.0, 2.0, 2.0], [0.0, 0.0, 5.0, 1.0], [0.0, 0.0, 1.0, 5.0]]]]
    )
    layer = fnn.MaxPool2D(2)
    y, residuals = layer.forward(None, x)
    assert_array_equal(y, [[[[3.0, 2.0], [0.0, 5.0]]]])
    _, dx = layer.grad(None, residuals, b.asarray([[[[10.0, 20.0], [30.0, 40.0]]]]))
    expected = np.zeros((1, 1, 4, 4))
    expected[0, 0, 0, 1] = 10.0  # 3 at (0,1) before the 3s at (1,0), (1,1)
    expected[0, 0, 0, 2] = 20.0  # all four 2s tie: the top-left one
    expected[0, 0, 2, 0] = 30.0  # all four 0s tie: the top-left one
    expected[0, 0, 2, 2] = 40.0  # 5 at (2,2) before 5 at (3,3)
    assert_array_equal(dx, expected)


def test_tie_rule_with_overlapping_windows_and_padding() -> None:
    b = f64()
    x = b.ones((1, 1, 3, 3))  # everything ties
    layer = fnn.MaxPool2D(3, stride=1, padding=1)
    y, residuals = layer.forward(None, x)
    _, dx = layer.grad(None, residuals, b.ones((1, 1, 3, 3)))
    # each window sends its gradient to its first real (non-padding) element
    expected = np.array([[[[4.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 0.0]]]])
    assert_array_equal(dx, expected)
    assert float(dx.sum()) == 9.0  # every window's gradient goes to exactly one element


@pytest.mark.parametrize(
    "config", [dict(window=2), dict(window=3, stride=1, padding=1), dict(window=3, stride=2)]
)
def test_check_grads_with_ties_where_the_gradient_is_defined(config: dict[str, Any]) -> None:
    """Many exact ties below each window's maximum, and maxima shared by overlapping windows.

    The inputs on one colour of a checkerboard all tie at -1; those on the other are
    distinct and positive. Every window holds both colours, so no window's maximum ties
    and the maximum is differentiable: check_grads applies.
    """
    layer = fnn.MaxPool2D(**config)
    rng = np.random.default_rng(3)
    data = 1 + rng.permutation(2 * 2 * 6 * 6).reshape(2, 2, 6, 6).astype("float64") / 10
    h, w = np.indices((6, 6))
    data[:, :, (h + w) % 2 == 1] = -1.0
    x = f64().asarray(data)
    flat = layer.forward(None, x)[0]
    windows = fnn.layers.conv.sliding_windows(
        fnn.layers.conv.pad2d(x, layer.padding, -np.inf), layer.window, layer.stride
    )
    winners = (windows == flat[:, :, None, None]).sum(axis=(2, 3))
    assert bool((winners == 1).all()), "a window's maximum ties"
    assert int((x == -1.0).sum()) > 30
    fnn.check_grads(layer, None, x)


def test_max_pool_of_a_1x1_window_is_the_identity() -> None:
    layer = fnn.MaxPool2D(1)
    x = f64().asarray(np.random.default_rng(0).standard_normal((2, 3, 4, 5)))
    y, residuals = layer.forward(None, x)
    assert_array_equal(y, x)
    dy = f64().asarray(np.random.default_rng(1).standard_normal(x.shape))
    assert_array_equal(layer.grad(None, residuals, dy)[1], dy)


def test_global_avg_pool() -> None:
    x = f64().asarray(np.random.default_rng(0).standard_normal((2, 3, 4, 5)))
    layer = fnn.GlobalAvgPool2D()
    assert_allclose(layer.apply(None, x), host(x).mean(axis=(2, 3)))
    assert layer.out_shape((3, 4, 5)) == (3,)
    fnn.check_grads(layer, None, x)


def test_flatten_is_c_order_over_channels_height_width() -> None:
    b = fnn.backend(dtype="float32")
    x = b.asarray(np.arange(2 * 3 * 2 * 2, dtype="float32").reshape(2, 3, 2, 2))
    y = fnn.Flatten().apply(None, x)
    assert_array_equal(y[1], host(x)[1].ravel())
    assert float(y[0, 4]) == float(x[0, 1, 0, 0])
    _, dx = fnn.Flatten().grad(None, fnn.Flatten().forward(None, x)[1], y)
    assert_array_equal(dx, x)


def test_float32_stays_float32() -> None:
    b = f32()
    x = fnn.random.normal(fnn.random.key(0), (2, 3, 6, 6), b)
    for layer in [
        fnn.MaxPool2D(3, stride=2, padding=1),
        fnn.AvgPool2D(2, padding=1),
        fnn.GlobalAvgPool2D(),
        fnn.Flatten(),
    ]:
        y, residuals = layer.forward(None, x)
        _, dx = layer.grad(None, residuals, b.ones(y.shape))
        assert y.dtype == dx.dtype == np.float32, layer


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: fnn.MaxPool2D(0), "`window` must be an integer >= 1"),
        (lambda: fnn.MaxPool2D(2, stride=0), "`stride` must be an integer >= 1"),
        (
            lambda: fnn.AvgPool2D(2, padding=2),
            r"`padding` must be at most half the window \(2, 2\), got \(2, 2\)",
        ),
        (lambda: fnn.AvgPool2D((2, 2, 2)), "`window` must be an integer >= 1 or a pair"),
    ],
)
def test_bad_hyperparameters(make: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_shape_errors() -> None:
    with pytest.raises(fnn.ShapeError, match=r"MaxPool2D\(window=\(2, 2\)\).*got in_shape \(4,\)"):
        fnn.MaxPool2D(2).out_shape((4,))
    with pytest.raises(fnn.ShapeError, match=r"3x3 window does not fit"):
        fnn.MaxPool2D(3).out_shape((1, 2, 8))
    with pytest.raises(fnn.ShapeError, match=r"expected input of shape \(N, \?, \?, \?\), got \(2, 8\)"):
        fnn.AvgPool2D(2).apply(None, f32().zeros((2, 8)))
    with pytest.raises(fnn.DTypeError, match="expected a float array, got int64"):
        fnn.GlobalAvgPool2D().apply(None, f32().asarray(np.zeros((1, 1, 2, 2)), dtype="int64"))
    assert (
        repr(fnn.MaxPool2D(3, stride=2, padding=1))
        == "MaxPool2D(window=(3, 3), stride=(2, 2), padding=(1, 1))"
    )
