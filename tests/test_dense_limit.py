"""benchmarks/dense_limit.py's in-place NumPy Adam, the bound of fnn's Adam, computes fnn's Adam."""

from __future__ import annotations

import numpy as np

import fnn
from benchmarks.numpy_limit import InPlaceAdam


def test_the_in_place_numpy_adam_takes_fnns_adam_steps() -> None:
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(shape, dtype=np.float32) for shape in [(5, 4), (4,)]]
    grads = [rng.standard_normal(p.shape, dtype=np.float32) for p in params]
    bound = InPlaceAdam(params, grads, 0.01)
    opt = fnn.optim.adam(0.01)
    ours, state = list(params), opt.init(params)
    for _ in range(3):
        bound.step()
        updates, state = opt.update(grads, state, ours)
        ours = fnn.optim.apply_updates(ours, updates)
    for mine, theirs, before in zip(bound.params, ours, params):
        assert not np.array_equal(theirs, before)
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-7)
