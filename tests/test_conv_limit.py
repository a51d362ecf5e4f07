"""benchmarks/conv_limit.py's hand-fused SimpleConvNet step computes fnn's loss and SGD update (no timing)."""

from __future__ import annotations

import numpy as np
import pytest

import fnn
from benchmarks.conv_limit import FastestConvStep, agreement
from benchmarks.workloads import LR, W4, fnn_model, fnn_params, init_params, make_data, to_canonical


def test_the_fastest_numpy_conv_step_is_fnns_step() -> None:
    params, (x, t) = init_params(W4, seed=3), make_data(W4, n=6, seed=4)
    fastest = FastestConvStep(params, x, t)
    loss = fastest.step()
    tree = fnn_params(W4, params)
    value, grads = fnn.value_and_grad(fnn_model(W4), fnn.losses.softmax_cross_entropy)(tree, x, t)
    opt = fnn.optim.sgd(LR)
    new = to_canonical(W4, fnn.optim.apply_updates(tree, opt.update(grads, opt.init(tree), tree)[0]))
    assert loss == pytest.approx(float(value), rel=1e-5)
    for mine, theirs, before in zip(fastest.new, new, params):
        assert not np.array_equal(theirs, before)  # every parameter moved
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-7)
    assert fastest.step() == loss  # buffers reused: the same step again gives the same loss


def test_agreement_reports_small_relative_errors() -> None:
    params, (x, t) = init_params(W4), make_data(W4, n=4, seed=5)
    loss_error, update_error = agreement(params, x, t)
    assert 0 <= loss_error < 1e-5 and 0 <= update_error < 1e-3
