"""BatchNorm (training and inference modes, pure state) and LayerNorm."""

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


def test_batch_norm_features_training_uses_batch_statistics_and_returns_new_state() -> None:
    layer = fnn.BatchNorm(momentum=0.8, eps=1e-5)
    b = f64()
    params = fnn.BatchNormParams(b.asarray([1.0, 2.0, 0.5]), b.asarray([0.0, 1.0, -1.0]))
    state = layer.init_state((3,), b)
    x = b.asarray(np.random.default_rng(0).normal(3.0, 2.0, (16, 3)))
    before = (state.mean.copy(), state.var.copy())
    y, _, new_state = layer.forward_train(params, state, x)
    xh, gamma, beta = host(x), host(params.gamma), host(params.beta)  # the reference, in NumPy
    mean, var = xh.mean(axis=0), xh.var(axis=0)
    assert_allclose(y, gamma * (xh - mean) / np.sqrt(var + 1e-5) + beta)
    assert_allclose(new_state.mean, 0.8 * 0 + 0.2 * mean)
    assert_allclose(new_state.var, 0.8 * 1 + 0.2 * var)
    assert_array_equal(state.mean, before[0])  # never mutated
    assert_array_equal(state.var, before[1])
    assert_array_equal(layer.forward(params, x)[0], y)  # forward: batch stats, no state


def test_batch_norm_inference_uses_running_statistics() -> None:
    layer = fnn.BatchNorm()
    b = f64()
    params = layer.init(fnn.random.key(0), (2,), b)
    state = fnn.BatchNormState(b.asarray([1.0, -1.0]), b.asarray([4.0, 0.25]))
    x = b.asarray([[3.0, 0.0], [1.0, -1.0]])
    expected = (host(x) - host(state.mean)) / np.sqrt(host(state.var) + 1e-5)
    assert_allclose(layer.apply_stateful(params, state, x), expected)
    model = fnn.sequential(fnn.Dense(2), layer)
    model_params = model.init(fnn.random.key(0), (2,), b)
    model_state = model.init_state((2,), b)
    assert model_state[0] is None and isinstance(model_state[1], fnn.BatchNormState)
    assert_array_equal(model_state[1].mean, [0.0, 0.0])
    assert_array_equal(model_state[1].var, [1.0, 1.0])
    assert_array_equal(
        model.apply(model_params, x, (None, state)), model.apply_stateful(model_params, (None, state), x)
    )


def test_batch_norm_over_channels_of_images() -> None:
    layer = fnn.BatchNorm()
    b = f64()
    params = layer.init(fnn.random.key(0), (3, 4, 5), b)
    assert params.gamma.shape == (3,)
    x = b.asarray(np.random.default_rng(1).normal(2.0, 3.0, (4, 3, 4, 5)))
    y, _, state = layer.forward_train(params, layer.init_state((3, 4, 5), b), x)
    assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    assert_allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-5)
    assert_allclose(state.mean, 0.1 * host(x).mean(axis=(0, 2, 3)))


@pytest.mark.parametrize("in_shape", [(4,), (2, 3, 3)])
def test_batch_norm_gradients_in_training_mode_with_state(in_shape: tuple[int, ...]) -> None:
    layer = fnn.BatchNorm()
    b = f64()
    rng = np.random.default_rng(2)
    params = fnn.BatchNormParams(
        b.asarray(rng.standard_normal(in_shape[0])), b.asarray(rng.standard_normal(in_shape[0]))
    )
    x = b.asarray(rng.standard_normal((5, *in_shape)))
    fnn.check_grads(layer, params, x, state=layer.init_state(in_shape, b))


def test_batch_norm_trains_with_value_grad_and_state() -> None:
    model = fnn.sequential(fnn.Dense(4), fnn.BatchNorm(), fnn.relu, fnn.Dense(2))
    params = model.init(fnn.random.key(0), (3,))
    state = model.init_state((3,))
    x = fnn.random.normal(fnn.random.key(1), (8, 3))
    t = f32().asarray([0, 1] * 4, dtype="int64")
    step = fnn.value_grad_and_state(model, fnn.losses.softmax_cross_entropy)
    loss, grads, new_state = step(params, state, x, t)
    assert loss.dtype == np.float32 and grads[1].gamma.dtype == np.float32
    assert new_state[1].mean.dtype == new_state[1].var.dtype == np.float32
    assert not np.array_equal(host(new_state[1].mean), host(state[1].mean))
    assert fnn.tree.structure(grads) == fnn.tree.structure(params)


def test_batch_norm_without_state_raises_state_error_with_the_fix() -> None:
    layer = fnn.BatchNorm()
    params = layer.init(fnn.random.key(0), (3,))
    x = f32().zeros((2, 3))
    with pytest.raises(
        fnn.StateError, match=r"BatchNorm.*inference needs the running statistics.*init_state"
    ):
        layer.apply(params, x)
    with pytest.raises(
        fnn.StateError, match=r"training needs the running statistics.*model.init_state\(in_shape\)"
    ):
        layer.forward_train(params, None, x)
    model = fnn.sequential(fnn.Dense(3), layer)
    model_params = model.init(fnn.random.key(0), (3,))
    with pytest.raises(fnn.StateError, match=r"layer 1 \(BatchNorm.*model.init_state\(in_shape\)"):
        fnn.value_and_grad(model, fnn.losses.mse)(model_params, x, x)
    with pytest.raises(fnn.StateError, match=r"layer 1 \(BatchNorm.*inference needs"):
        model.apply(model_params, x)


def test_batch_norm_errors() -> None:
    with pytest.raises(ValueError, match=r"`momentum` must be in \[0, 1\), got 1.5"):
        fnn.BatchNorm(momentum=1.5)
    with pytest.raises(ValueError, match="`eps` must be positive, got 0"):
        fnn.BatchNorm(eps=0)
    with pytest.raises(
        fnn.ShapeError, match=r"expected inputs of shape \(N, D\) or \(N, C, H, W\), got in_shape \(2, 3\)"
    ):
        fnn.BatchNorm().init(fnn.random.key(0), (2, 3))
    layer = fnn.BatchNorm()
    params, state = layer.init(fnn.random.key(0), (3,)), layer.init_state((3,))
    with pytest.raises(fnn.ShapeError, match=r"expected input of shape \(N, 3\), got \(2, 4\)"):
        layer.forward_train(params, state, f32().zeros((2, 4)))
    with pytest.raises(fnn.DTypeError, match="expected input of dtype float32, got float64"):
        layer.apply_stateful(params, state, f64().zeros((2, 3)))


def test_layer_norm_normalizes_each_example() -> None:
    layer = fnn.LayerNorm()
    b = f64()
    params = layer.init(fnn.random.key(0), (2, 3, 4), b)
    assert params.gamma.shape == (2, 3, 4)
    x = b.asarray(np.random.default_rng(0).normal(5.0, 3.0, (3, 2, 3, 4)))
    y = layer.apply(params, x)
    assert_allclose(y.mean(axis=(1, 2, 3)), 0, atol=1e-12)
    assert_allclose(y.var(axis=(1, 2, 3)), 1, atol=1e-5)
    rng = np.random.default_rng(1)
    params = fnn.LayerNormParams(
        b.asarray(rng.standard_normal((2, 3, 4))), b.asarray(rng.standard_normal((2, 3, 4)))
    )
    fnn.check_grads(layer, params, x)
    with pytest.raises(fnn.ShapeError, match=r"LayerNorm.*expected input of shape \(N, 2, 3, 4\)"):
        layer.apply(params, x[:, :1])


def test_batch_norm_apply_takes_state_like_a_model() -> None:
    layer = fnn.BatchNorm()
    params = layer.init(fnn.random.key(0), (3,))
    b = f32()
    state = fnn.layers.BatchNormState(b.asarray([1.0, 2.0, 3.0]), b.asarray([4.0, 1.0, 0.25]))
    x = b.asarray([[3.0, 2.0, 3.5]])
    y = layer.apply(params, x, state=state)
    assert_allclose(y, [[1.0, 0.0, 1.0]], atol=1e-4)  # (x − mean) / √(var + eps)
    assert_array_equal(y, layer.apply_stateful(params, state, x))
