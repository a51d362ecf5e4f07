"""An empty batch (``N = 0``) through every registered layer.

The rule: a layer that can compute on no examples returns an empty output of the promised
shape, empty ``dx`` and zero parameter gradients (a sum over no examples), with no warning;
a layer that cannot (batch norm in training: no batch statistics) raises
:class:`fnn.ShapeError` naming the layer, and writes nothing. Inference works on every layer.
"""

from __future__ import annotations

import numpy as np
import pytest

import fnn
from tests.helpers import assert_array_equal, host
from tests.layer_registry import CASES, LayerCase


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_empty_batch(case: LayerCase) -> None:
    b = fnn.backend(dtype="float32")
    layer = case.make()
    params = layer.init(fnn.random.key(0), case.in_shape, b)
    state = layer.init_state(case.in_shape, b)
    x = b.zeros((0, *case.in_shape))
    out_shape = (0, *layer.out_shape(case.in_shape))
    inference = layer.apply_stateful(params, state, x) if state is not None else layer.apply(params, x)
    assert inference.shape == out_shape and inference.dtype == x.dtype
    if not case.trains_on_empty_batch:
        with pytest.raises(fnn.ShapeError, match=r"BatchNorm\(.*\): training normalizes with the batch's mean and variance, but the batch is empty \(input shape \(0, "):
            layer.forward_train(params, state, x, fnn.random.key(1))
        return
    y, residuals, new_state = layer.forward_train(params, state, x, fnn.random.key(1))
    assert y.shape == out_shape and y.dtype == x.dtype
    dparams, dx = layer.grad(params, residuals, b.zeros(out_shape))
    assert dx.shape == x.shape and dx.dtype == x.dtype
    for g, p in zip(fnn.tree.leaves(dparams), fnn.tree.leaves(params)):
        assert g.shape == p.shape and g.dtype == p.dtype
        assert_array_equal(g, np.zeros(p.shape))
    for s in fnn.tree.leaves(new_state):
        assert np.isfinite(host(s)).all()


def test_batch_norm_running_statistics_survive_an_empty_batch() -> None:
    b = fnn.backend()
    model = fnn.sequential(fnn.Dense(3), fnn.BatchNorm())
    params, state = model.init(fnn.random.key(0), (2,), b), model.init_state((2,), b)
    step = fnn.value_grad_and_state(model, fnn.losses.mse)
    with pytest.raises(fnn.ShapeError, match=r"^layer 1 \(BatchNorm\(momentum=0\.9, eps=1e-05\)\): training normalizes .* the batch is empty \(input shape \(0, 3\)\); skip empty batches"):
        step(params, state, b.zeros((0, 2)), b.zeros((0, 3)))
    assert_array_equal(state[1].mean, np.zeros(3))
    assert_array_equal(state[1].var, np.ones(3))
