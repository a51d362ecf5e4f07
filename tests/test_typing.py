"""Typing tests: what user code sees, pinned with ``assert_type``; checked by ``mypy --strict``.

Lines marked ``# type: ignore[...]`` must be rejected by mypy: with
``warn_unused_ignores`` (part of ``--strict``), a line that stops failing becomes
an error. The functions also run under pytest, so the pinned code really works.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typing_extensions import assert_type

import fnn
from fnn.optim import AdamState, GradientTransformation, SgdState
from fnn.train import FitResult
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


def test_the_params_type_flows_through_a_training_script(tmp_path: Path) -> None:
    """Every value of a hand-written step and of fit keeps its type (tests/typing_training_fail.py: the mistakes)."""
    b = fnn.backend(dtype="float64")
    key = fnn.random.key(0)
    model = fnn.Dense(2)
    params = model.init(key, (3,), b)
    x, t = b.ones((4, 3)), b.asarray([[1, 0], [0, 1], [0, 1], [1, 0]])
    opt = fnn.optim.adam(0.1)
    assert_type(opt, GradientTransformation[AdamState])
    opt_state = opt.init(params)
    assert_type(opt_state, AdamState)
    assert_type(opt_state[0], fnn.optim.ScaleByAdamState)
    assert_type(opt_state[0].count, int)
    loss, grads = fnn.value_and_grad(model, fnn.losses.softmax_cross_entropy)(params, x, t)
    assert_type(grads, fnn.DenseParams)
    updates, opt_state = opt.update(grads, opt_state, params)
    assert_type(updates, fnn.DenseParams)
    assert_type(opt_state, AdamState)
    params = fnn.optim.apply_updates(params, updates)
    assert_type(params, fnn.DenseParams)
    assert_type(fnn.tree.map(lambda p: p * 0.5, params), fnn.DenseParams)
    assert_type(fnn.tree.map(lambda p, u: p + u, params, updates), fnn.DenseParams)
    fnn.io.save(tmp_path / "params.npz", params)
    assert_type(fnn.io.load(tmp_path / "params.npz", like=params), fnn.DenseParams)
    assert_type(fnn.io.load(tmp_path / "params.npz"), Any)  # without `like` the file decides
    result = fnn.fit(
        model, fnn.losses.softmax_cross_entropy, opt, params, x, t, key=key, epochs=2, batch_size=2, progress=False
    )
    assert_type(result, FitResult[fnn.DenseParams, AdamState])
    trained, trained_state, history = result
    assert_type(trained, fnn.DenseParams)
    assert_type(trained_state, AdamState)
    assert_type(history, fnn.History)
    assert_type(result[2], fnn.History)  # indexing, as the type checker sees it, works too
    assert result[2] is history and len(result) == 3 and trained_state[0].count == 4
    sgd = fnn.optim.sgd(0.1)
    assert_type(sgd.init(params), SgdState)
    for optimizer in {"sgd": sgd, "adam": opt}.values():  # mixed optimizers need no annotation
        trained, _, history = fnn.fit(
            model, fnn.losses.softmax_cross_entropy, optimizer, params, x, t, key=key, epochs=1, batch_size=4,
            progress=False,
        )  # fmt: skip
        assert_type(trained, fnn.DenseParams)
        assert len(history.loss) == 1
