"""The benchmark suite's implementations compute the same thing (tiny sizes; no timing).

fnn, the textbook NumPy code and, where importable, PyTorch and JAX each take one SGD
step from the same parameters; losses and updates must agree to float32 precision.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import suite
from benchmarks.floor import Floor, InferenceFloor
from benchmarks.workloads import MLP_WORKLOADS, W1, W4, Workload, init_params, make_data

TINY = [w.scaled(batch=8, hidden=16) for w in MLP_WORKLOADS] + [W4.scaled(batch=4)]


@pytest.mark.parametrize("w", TINY, ids=lambda w: w.name)
def test_training_step_agrees(w: Workload) -> None:
    names = ["textbook"] + [n for n in ("torch", "jax") if not suite.available(n) and w.name == "W1"]
    errors = suite.check_training(w, names)
    assert set(errors) == set(names)


def test_inference_agrees() -> None:
    for w in (W1.scaled(batch=8, hidden=16), W4.scaled(batch=2)):
        x, _ = make_data(w, 6, seed=6)
        assert "textbook" in suite.check_inference(w, x, 3)


def test_adam_and_fit_agree() -> None:
    small = W1.scaled(batch=10, hidden=8)
    assert suite.check_adam(small, steps=2)["textbook"] < 1e-3
    assert suite.check_fit(small) == 0.0


def test_floor_runs() -> None:
    for w in TINY:
        x, t = make_data(w)
        floor = Floor(w, init_params(w), x, t)
        floor.step()
        assert all(np.isfinite(d).all() for d in floor.dw)
    x_all, _ = make_data(W1, 4)
    InferenceFloor(W1, init_params(W1), x_all, 2).run()


def test_the_minimal_numpy_step_is_fnns_step() -> None:
    """benchmarks/numpy_limit.py's hand-fused W1 step computes fnn's loss and SGD update."""
    import fnn
    from benchmarks import numpy_limit as lim

    a = lim.buffers(seed=3)
    loss = lim.minimal_step(a)()
    model = fnn.sequential(fnn.Dense(lim.H), fnn.relu, fnn.Dense(lim.K))
    params = (fnn.layers.DenseParams(a["w1"], a["b1"]), None, fnn.layers.DenseParams(a["w2"], a["b2"]))
    labels = a["flat"] - np.arange(lim.N) * lim.K
    value, grads = fnn.value_and_grad(model, fnn.losses.softmax_cross_entropy)(params, a["x"], labels)
    opt = fnn.optim.sgd(lim.LR)
    new = fnn.optim.apply_updates(params, opt.update(grads, opt.init(params), params)[0])
    assert loss == pytest.approx(float(value), rel=1e-5)
    for mine, theirs in ((a["new_w1"], new[0].w), (a["new_b1"], new[0].b), (a["new_w2"], new[2].w), (a["new_b2"], new[2].b)):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-7)
