"""Typing tests: what user code sees, pinned with ``assert_type``; checked by ``mypy --strict``.

Lines marked ``# type: ignore[...]`` must be rejected by mypy: with
``warn_unused_ignores`` (part of ``--strict``), a line that stops failing becomes
an error. The functions also run under pytest, so the pinned code really works.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

import fnn
from fnn.typing import Array


def test_what_user_code_sees() -> None:
    key = fnn.random.key(0)
    assert_type(key, fnn.random.Key)
    assert_type(fnn.random.split(key), tuple[fnn.random.Key, ...])
    b = fnn.backend(dtype="float64")  # the backend under test
    assert_type(b, fnn.Backend)
    dense = fnn.Dense(3)
    params = dense.init(key, (2,), b)
    assert_type(params, fnn.DenseParams)
    assert_type(params.w, Array)
    x = b.ones((4, 2))
    assert_type(dense.apply(params, x), Array)
    dparams, dx = dense.grad(params, dense.forward(params, x)[1], b.ones((4, 3)))
    assert_type(dparams, fnn.DenseParams)
    model = fnn.sequential(dense, fnn.relu, fnn.Dense(1))
    assert_type(model, fnn.Sequential[tuple[fnn.DenseParams, None, fnn.DenseParams]])
    model_params = model.init(key, (2,), b)
    assert_type(model_params, tuple[fnn.DenseParams, None, fnn.DenseParams])
    value, grads = fnn.value_and_grad(model, fnn.losses.mse)(model_params, x, b.zeros((4, 1)))
    assert_type(value, Array)
    assert_type(grads, tuple[fnn.DenseParams, None, fnn.DenseParams])
    assert_type(fnn.relu(x), Array)
    assert_type(fnn.losses.mse(x, x), Array)
    assert_type(fnn.param_count(model_params), int)
    assert float(value) >= 0.0
