"""float16 models: parameters and activations in float16, sums in float32 where it matters.

See docs/gpu.md ("Half precision") for the policy these tests pin down: softmax,
losses, batch-norm statistics and optimizer moments are computed in float32.
"""

from __future__ import annotations

import numpy as np
import pytest

import fnn
from fnn.backend import accumulation_dtype
from tests.helpers import assert_allclose, host


def half() -> fnn.Backend:
    return fnn.backend(dtype="float16")


def test_accumulation_dtype_widens_only_float16() -> None:
    assert accumulation_dtype("float16") == np.float32
    assert accumulation_dtype("float32") == np.float32
    assert accumulation_dtype("float64") == np.float64


def test_softmax_of_large_float16_logits_sums_in_float32() -> None:
    # Σ exp over 4096 equal logits: 4096 · e⁰ is exact in float32; the float16 result is 1/4096 each.
    x = half().zeros((2, 4096))
    y = fnn.functional.softmax(x)
    assert y.dtype == np.float16
    assert_allclose(y, np.full((2, 4096), 1 / 4096), rtol=1e-3)
    assert_allclose(fnn.functional.log_softmax(x), np.full((2, 4096), -np.log(4096)), rtol=1e-3)


def test_losses_on_float16_predictions_give_a_float32_value_and_a_float16_gradient() -> None:
    b = half()
    y = b.asarray(np.linspace(-3, 3, 40).reshape(4, 10))
    labels = b.asarray([1, 2, 3, 9], dtype="int64")
    value, grad = fnn.losses.softmax_cross_entropy.value_and_grad(y, labels)
    assert value.dtype == np.float32 and grad.dtype == np.float16
    exact_value, exact_grad = fnn.losses.softmax_cross_entropy.value_and_grad(y.astype("float64"), labels)
    assert float(value) == pytest.approx(float(exact_value), rel=1e-6)
    assert_allclose(grad, exact_grad, rtol=2e-3, atol=1e-5)
    # The mean of 70,000 squared errors of 1.0 is 1.0; a float16 sum would stop at 2048.
    ones = b.ones((70_000, 1))
    assert float(fnn.losses.mse(ones, ones * 0)) == pytest.approx(1.0)


def test_batch_norm_keeps_float32_statistics_for_float16_models() -> None:
    b = half()
    layer = fnn.BatchNorm()
    params, state = layer.init(fnn.random.key(0), (3,), b), layer.init_state((3,), b)
    assert state.mean.dtype == np.float32 and state.var.dtype == np.float32
    x = b.asarray(300 + 10 * np.random.default_rng(0).standard_normal((512, 3)))
    y, residuals, new_state = layer.forward_train(params, state, x)
    assert y.dtype == np.float16 and new_state.mean.dtype == np.float32
    wide = host(x).astype(np.float64)
    assert_allclose(new_state.mean, 0.1 * wide.mean(axis=0), rtol=1e-4)
    assert_allclose(new_state.var, 0.9 + 0.1 * wide.var(axis=0), rtol=1e-3)
    assert_allclose(y, (wide - wide.mean(axis=0)) / np.sqrt(wide.var(axis=0) + 1e-5), atol=1e-2)
    dparams, dx = layer.grad(params, residuals, b.ones(y.shape))
    assert dx.dtype == np.float16 and dparams.beta.dtype == np.float16
    assert_allclose(dparams.beta, np.full(3, 512.0))
    assert layer.apply_stateful(params, new_state, x).dtype == np.float16


@pytest.mark.parametrize(
    "make",
    [fnn.optim.adam, fnn.optim.rmsprop, fnn.optim.adagrad, lambda lr: fnn.optim.momentum(lr, 0.9)],
    ids=["adam", "rmsprop", "adagrad", "momentum"],
)
def test_optimizer_moments_of_float16_params_are_float32(make: object) -> None:
    b = half()
    params = {"w": b.ones((3,))}
    opt = make(1e-3)  # type: ignore[operator]
    state = opt.init(params)
    moments = [leaf for leaf in fnn.tree.leaves(state) if hasattr(leaf, "dtype")]
    assert moments and all(m.dtype == np.float32 for m in moments)
    grads = {"w": b.asarray([300.0, -300.0, 1e-3])}  # 300² overflows float16
    updates, state = opt.update(grads, state, params)
    assert all(np.isfinite(host(m)).all() for m in fnn.tree.leaves(state) if hasattr(m, "dtype"))
    new = fnn.optim.apply_updates(params, updates)
    assert new["w"].dtype == np.float16 and np.isfinite(host(new["w"])).all()


def test_a_float16_network_learns_the_spiral() -> None:
    b = half()
    x, t = fnn.datasets.spiral(fnn.random.key(0), backend=b)
    model = fnn.sequential(fnn.Dense(32), fnn.relu, fnn.Dense(3))
    params = model.init(fnn.random.key(1), (2,), b)
    result = fnn.fit(
        model, fnn.losses.softmax_cross_entropy, fnn.optim.adam(0.02), params, x, t,
        key=fnn.random.key(2), epochs=150, batch_size=60, progress=False,
    )  # fmt: skip
    assert all(leaf.dtype == np.float16 for leaf in fnn.tree.leaves(result.params))
    assert result.history.loss[-1] < 0.35
    assert fnn.accuracy(model, result.params, x, t) > 0.9
