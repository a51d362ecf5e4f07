"""Conv2D and the im2col helpers: against a loop reference, adjointness, gradients, errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import fnn
from fnn.layers import conv as conv_module
from fnn.layers.conv import col2im, pad2d, sliding_windows
from tests.helpers import assert_allclose, assert_array_equal, host, layer_by_layer, traced_apply


def f64() -> fnn.Backend:
    """The backend under test in float64 (read at test time: the suite sets FNN_BACKEND per run)."""
    return fnn.backend(dtype="float64")


def f32() -> fnn.Backend:
    """The backend under test in the default dtype (float32)."""
    return fnn.backend()


def conv_reference(x: Any, w: Any, b: Any, stride: tuple[int, int], padding: tuple[int, int]) -> Any:
    """Cross-correlation by explicit loops over output pixels (the definition), in NumPy on host copies."""
    x, w, b = host(x), host(w), None if b is None else host(b)
    ph, pw = padding
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, _, h, wd = x.shape
    f, _, kh, kw = w.shape
    oh, ow = (h - kh) // stride[0] + 1, (wd - kw) // stride[1] + 1
    y = np.zeros((n, f, oh, ow))
    for p in range(oh):
        for q in range(ow):
            patch = x[:, :, p * stride[0] : p * stride[0] + kh, q * stride[1] : q * stride[1] + kw]
            y[:, :, p, q] = np.einsum("ncij,fcij->nf", patch, w)
    return y + (0 if b is None else b[None, :, None, None])


CONFIGS = [
    dict(kernel_size=3),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 2)),
    dict(kernel_size=(1, 4), stride=(1, 3)),
    dict(kernel_size=2, stride=2),
    dict(kernel_size=2, stride=3, padding=1),
    dict(kernel_size=5, padding=2, use_bias=False),
    dict(kernel_size=(3, 1)),  # stride 1 without the spare row
    dict(kernel_size=(2, 3), padding=(0, 1)),  # stride 1, asymmetric window and padding
    dict(kernel_size=1, use_bias=False),
]


@pytest.mark.parametrize("config", CONFIGS, ids=[str(c) for c in CONFIGS])
def test_matches_loop_reference_and_gradients(config: dict[str, Any]) -> None:
    layer = fnn.Conv2D(3, **config)
    b = f64()
    params = layer.init(fnn.random.key(0), (2, 7, 6), b)
    rng = np.random.default_rng(1)
    if params.b is not None:
        params = fnn.Conv2DParams(params.w, b.asarray(rng.standard_normal(3)))
    x = b.asarray(rng.standard_normal((2, 2, 7, 6)))
    y = layer.apply(params, x)
    assert y.shape == (2, *layer.out_shape((2, 7, 6)))
    assert_allclose(y, conv_reference(x, params.w, params.b, layer.stride, layer.padding), atol=1e-12)
    fnn.check_grads(layer, params, x)


def test_col2im_is_the_adjoint_of_the_window_gather() -> None:
    b = f64()
    rng = np.random.default_rng(0)
    for kernel, stride, padding in [
        ((3, 3), (1, 1), (1, 1)),
        ((2, 3), (2, 3), (0, 1)),
        ((2, 2), (3, 2), (1, 0)),
    ]:
        x = b.asarray(rng.standard_normal((2, 3, 7, 8)))
        windows = sliding_windows(pad2d(x, padding), kernel, stride)
        d = b.asarray(rng.standard_normal(windows.shape))
        left = float((windows * d).sum())
        right = float((x * col2im(d, x.shape, stride, padding)).sum())
        assert left == pytest.approx(right, rel=1e-12)


def test_sliding_windows_is_a_view() -> None:
    b = fnn.backend(dtype="float32")
    x = b.asarray(np.arange(2 * 3 * 5 * 5, dtype="float32").reshape(2, 3, 5, 5))
    windows = sliding_windows(x, (2, 3), (1, 2))
    assert b.xp.shares_memory(windows, x)
    assert float(windows[1, 2, 1, 2, 3, 1]) == float(x[1, 2, 3 + 1, 2 + 2])


def test_float32_stays_float32_and_strided_input_works() -> None:
    layer = fnn.Conv2D(4, 3, stride=2, padding=1)
    b = f32()
    params = layer.init(fnn.random.key(0), (3, 9, 9), b)
    x = fnn.random.normal(fnn.random.key(1), (2, 3, 9, 18), b)[..., ::2]
    y, residuals = layer.forward(params, x)
    assert y.dtype == np.float32
    dparams, dx = layer.grad(params, residuals, b.ones(y.shape))
    assert dparams.b is not None
    assert dx.dtype == dparams.w.dtype == dparams.b.dtype == np.float32
    assert_allclose(y, layer.apply(params, x.copy()), rtol=1e-6)


@pytest.mark.parametrize("config", [dict(kernel_size=3, padding=1), dict(kernel_size=(2, 3), stride=2)])
def test_column_chunks_give_the_one_chunk_results(config: dict[str, Any], monkeypatch: Any) -> None:
    """With ``col`` built one image at a time, forward, apply and all gradients are unchanged."""
    layer = fnn.Conv2D(3, **config)
    b = f64()
    params = layer.init(fnn.random.key(0), (2, 7, 6), b)
    params = fnn.Conv2DParams(params.w, b.asarray(np.random.default_rng(2).standard_normal(3)))
    x = fnn.random.normal(fnn.random.key(1), (5, 2, 7, 6), b)
    y, residuals = layer.forward(params, x)
    dy = fnn.random.normal(fnn.random.key(2), y.shape, b)
    dparams, dx = layer.grad(params, residuals, dy)
    monkeypatch.setattr(conv_module, "COL_CHUNK_BYTES", 1)
    assert len(layer._batches(residuals[0], y.shape[2:])) == 5
    y_chunked, residuals_chunked = layer.forward(params, x)
    assert_allclose(y_chunked, y, rtol=1e-12, atol=1e-12)
    assert_allclose(layer.apply(params, x), y, rtol=1e-12, atol=1e-12)
    dparams_chunked, dx_chunked = layer.grad(params, residuals_chunked, dy)
    assert dparams.b is not None and dparams_chunked.b is not None
    assert_allclose(dparams_chunked.w, dparams.w, rtol=1e-12, atol=1e-12)
    assert_allclose(dparams_chunked.b, dparams.b, rtol=1e-12, atol=1e-12)
    assert_allclose(dx_chunked, dx, rtol=1e-12, atol=1e-12)
    assert_allclose(y, conv_reference(x, params.w, params.b, layer.stride, layer.padding), atol=1e-12)


def test_default_init_is_he_normal_with_conv_fans() -> None:
    params = fnn.Conv2D(64, 3).init(fnn.random.key(0), (32, 8, 8), f64())
    assert params.w.shape == (64, 32, 3, 3)
    assert float(params.w.std()) == pytest.approx(np.sqrt(2 / (32 * 9)), rel=0.05)
    assert_array_equal(params.b, np.zeros(64))


def test_in_a_model_with_value_and_grad() -> None:
    model = fnn.sequential(fnn.Conv2D(2, 3), fnn.relu, fnn.MaxPool2D(2), fnn.Flatten(), fnn.Dense(3))
    b = f64()
    params = model.init(fnn.random.key(0), (1, 6, 6), b)
    x = fnn.random.normal(fnn.random.key(1), (4, 1, 6, 6), b)
    t = b.asarray([0, 1, 2, 1], dtype="int64")
    fnn.check_grads(model, params, x, loss=fnn.losses.softmax_cross_entropy, t=t)


def test_a_sequential_gives_the_layer_by_layer_results_with_relu_in_place() -> None:
    """ReLU overwrites Conv2D's output inside a sequential: the same numbers, the inputs intact."""
    model = fnn.sequential(fnn.Conv2D(3, 3), fnn.relu, fnn.MaxPool2D(2), fnn.Flatten(), fnn.Dense(2))
    b = f64()
    params = model.init(fnn.random.key(0), (2, 6, 6), b)
    x = fnn.random.normal(fnn.random.key(1), (4, 2, 6, 6), b)
    x_before = x.copy()
    h, dy, d, grads = layer_by_layer(model, params, x, lambda shape: fnn.random.normal(fnn.random.key(2), shape, b))
    assert_array_equal(model.apply(params, x), h)
    y, model_residuals = model.forward(params, x)
    assert_array_equal(y, h)
    model_grads, dx = model.grad(params, model_residuals, dy)
    assert_array_equal(dx, d)
    for mine, theirs in zip(fnn.tree.leaves(model_grads), fnn.tree.leaves(grads)):
        assert_array_equal(mine, theirs)
    assert_array_equal(x, x_before)
    dy_before = dy.copy()
    model.grad(params, model.forward(params, x)[1], dy)
    assert_array_equal(dy, dy_before)


def test_relu_after_conv_in_a_sequential_makes_no_second_output_array() -> None:
    """Conv2D's output is ReLU's: the peak is one output, not the two of a separate ReLU."""
    if fnn.backend().xp.__name__ != "numpy":
        pytest.skip("tracemalloc sees NumPy's host memory only")
    model = fnn.sequential(fnn.Conv2D(64, 1), fnn.relu)
    params = model.init(fnn.random.key(0), (1, 16, 16))
    x = fnn.random.normal(fnn.random.key(1), (32, 1, 16, 16))
    y, peak = traced_apply(model, params, x)
    assert y.nbytes <= peak < 1.5 * y.nbytes


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(filters=0, kernel_size=3), "`filters` must be a positive integer, got 0"),
        (dict(filters=2, kernel_size=0), "`kernel_size` must be an integer >= 1"),
        (dict(filters=2, kernel_size=(3, 3, 3)), "`kernel_size` must be an integer >= 1 or a pair"),
        (dict(filters=2, kernel_size=3, stride=0), "`stride` must be an integer >= 1"),
        (dict(filters=2, kernel_size=3, padding=-1), "`padding` must be an integer >= 0"),
        (dict(filters=2, kernel_size=3, padding=True), "`padding` must be an integer >= 0"),
    ],
)
def test_bad_hyperparameters(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fnn.Conv2D(**kwargs)


def test_shape_and_dtype_errors_name_the_layer() -> None:
    layer = fnn.Conv2D(2, 3)
    with pytest.raises(
        fnn.ShapeError, match=r"Conv2D\(filters=2, kernel_size=\(3, 3\)\).*got in_shape \(1, 28\)"
    ):
        layer.init(fnn.random.key(0), (1, 28))
    with pytest.raises(fnn.ShapeError, match=r"3x3 window does not fit.*2x5"):
        layer.out_shape((1, 2, 5))
    params = layer.init(fnn.random.key(0), (3, 5, 5))
    with pytest.raises(fnn.ShapeError, match=r"expected input of shape \(N, 3, \?, \?\), got \(2, 1, 5, 5\)"):
        layer.apply(params, f32().zeros((2, 1, 5, 5)))
    with pytest.raises(fnn.DTypeError, match="expected input of dtype float32, got float64"):
        layer.apply(params, f64().zeros((2, 3, 5, 5)))
    model = fnn.sequential(fnn.Flatten(), fnn.Conv2D(2, 3))
    with pytest.raises(fnn.ShapeError, match=r"layer 1 \(Conv2D"):
        model.init(fnn.random.key(0), (1, 4, 4))
