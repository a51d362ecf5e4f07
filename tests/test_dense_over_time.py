"""Dense over leading axes: ``(N, T, D) → (N, T, F)``, the second book's TimeAffine.

The registry cases ``dense_over_time*`` and ``sequential_over_time`` run it through the
shared harness (gradient checks, layouts, dtypes); these tests pin the math against
the 2-D layer applied at each time step, and the errors.
"""

from __future__ import annotations

import numpy as np
import pytest

import fnn
from tests.helpers import assert_allclose


def test_each_time_step_is_the_2d_layer_and_gradients_sum_over_time() -> None:
    b = fnn.backend(dtype="float64")
    layer = fnn.Dense(4)
    params = layer.init(fnn.random.key(0), (5, 3), b)
    assert params.w.shape == (3, 4) and layer.out_shape((5, 3)) == (5, 4)
    rng = np.random.default_rng(0)
    x, dy = b.asarray(rng.standard_normal((2, 5, 3))), b.asarray(rng.standard_normal((2, 5, 4)))
    y, residuals = layer.forward(params, x)
    assert y.shape == (2, 5, 4)
    dparams, dx = layer.grad(params, residuals, dy)
    dw, db = b.zeros((3, 4)), b.zeros((4,))
    for t in range(5):
        assert_allclose(y[:, t], layer.apply(params, x[:, t]), rtol=1e-12)
        step_params, step_dx = layer.grad(params, x[:, t], dy[:, t])
        assert_allclose(dx[:, t], step_dx, rtol=1e-12)
        dw, db = dw + step_params.w, db + step_params.b
    assert_allclose(dparams.w, dw, rtol=1e-12)
    assert_allclose(dparams.b, db, rtol=1e-12)
    assert_allclose(layer.param_grad(params, residuals, dy).w, dw, rtol=1e-12)


def test_a_sequence_model_trains_end_to_end() -> None:
    b = fnn.backend(dtype="float64")
    model = fnn.sequential(fnn.Dense(6), fnn.tanh, fnn.Dense(3))
    params = model.init(fnn.random.key(0), (4, 2), b)
    x = b.asarray(np.random.default_rng(1).standard_normal((3, 4, 2)))
    assert model.apply(params, x).shape == (3, 4, 3)
    fnn.check_grads(model, params, x)


def test_image_batches_still_need_a_flatten() -> None:
    layer = fnn.Dense(10)
    with pytest.raises(
        fnn.ShapeError, match=r"^Dense\(features=10\): .*got in_shape \(1, 28, 28\); add a Flatten layer before it \(Dense takes \(N, D\), or \(N, T, D\) mapping the last axis\)"
    ):
        layer.init(fnn.random.key(0), (1, 28, 28))
    with pytest.raises(fnn.ShapeError, match=r"got in_shape \(2, 3, 4\); add a Flatten"):
        layer.out_shape((2, 3, 4))
    params = layer.init(fnn.random.key(0), (28,))
    with pytest.raises(
        fnn.ShapeError, match=r"^Dense\(features=10\): expected input of shape \(N, 28\), got \(2, 1, 28, 28\); add a Flatten layer"
    ):
        layer.apply(params, fnn.backend().ones((2, 1, 28, 28)))
    with pytest.raises(fnn.ShapeError, match=r"expected input of shape \(N, 28\), got \(2, 5, 27\); add a Flatten"):
        layer.apply(params, fnn.backend().ones((2, 5, 27)))


def test_maxout_keeps_to_two_axes() -> None:
    layer = fnn.Maxout(2)
    params = layer.init(fnn.random.key(0), (3,))
    with pytest.raises(
        fnn.ShapeError, match=r"^Maxout\(features=2, pieces=2\): expected input of shape \(N, \?\), got \(2, 1, 3\); add a Flatten"
    ):
        layer.apply(params, fnn.backend().ones((2, 1, 3)))
