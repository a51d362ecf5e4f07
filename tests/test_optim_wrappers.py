"""Tests of gradient accumulation, masked and frozen training, and the moving average of the params."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import fnn
from fnn import optim
from fnn.optim import GradientTransformation
from tests.helpers import assert_array_equal, host


def f64() -> fnn.Backend:
    return fnn.backend(dtype="float64")


def f32() -> fnn.Backend:
    return fnn.backend(dtype="float32")


def dense(w: Any, b: Any) -> Any:
    """A ``DenseParams`` node of any leaves (masks hold bools where the params hold arrays)."""
    return fnn.DenseParams(w, b)


def bits(tree: Any) -> list[bytes]:
    return [host(leaf).tobytes() for leaf in fnn.tree.leaves(tree)]


# --- accumulate_gradients ----------------------------------------------------------------------


def small_regression() -> tuple[fnn.Layer[Any], Any, Any, Any]:
    """A Dense(1) model, dyadic params and integer data: every float64 sum below is exact."""
    b = f64()
    model = fnn.sequential(fnn.Dense(1))
    params = (dense(b.asarray([[0.5], [-0.25], [1.0]]), b.asarray([0.125])),)
    x = b.asarray([[1, 2, 0], [0, -1, 3], [2, 2, 2], [-3, 1, 1], [1, 0, 0], [0, 0, 4], [1, 1, 1], [2, 0, -2]])
    t = b.asarray([[1], [0], [2], [-1], [3], [1], [0], [-2]])
    return model, params, x, t


@pytest.mark.parametrize("make", [lambda: optim.sgd(0.125), lambda: optim.adam(0.1)], ids=["sgd", "adam"])
def test_k_accumulated_steps_equal_one_step_on_the_concatenated_batch(
    make: Any,
) -> None:
    model, params, x, t = small_regression()
    value_and_grad = fnn.value_and_grad(model, fnn.losses.mse)  # a mean over the batch
    k = 4  # batches of 2: MSE's 2/M is 1 for a batch, 1/4 for all 8 samples, exact like the mean
    opt = optim.accumulate_gradients(make(), every_k=k)
    state = opt.init(params)
    for i in range(k):
        _, grads = value_and_grad(params, x[2 * i : 2 * i + 2], t[2 * i : 2 * i + 2])
        updates, state = opt.update(grads, state, params)
        if i < k - 1:
            assert all(not host(u).any() for u in fnn.tree.leaves(updates))  # zero updates in between
            assert state.mini_step == i + 1
            new_params = optim.apply_updates(params, updates)
            assert bits(new_params) == bits(params)
    _, full_grads = value_and_grad(params, x, t)
    plain = make()
    expected, plain_state = plain.update(full_grads, plain.init(params), params)
    assert bits(updates) == bits(expected)
    assert bits(state.inner_state) == bits(plain_state)
    assert state.mini_step == 0 and not any(host(s).any() for s in fnn.tree.leaves(state.grad_sum))


def test_accumulation_restarts_and_the_inner_count_advances_once_per_k_steps() -> None:
    opt = optim.accumulate_gradients(optim.sgd(optim.step_decay(1.0, step_size=1, rate=0.5)), every_k=2)
    b = f64()
    state = opt.init(b.zeros((1,)))
    seen = []
    for g in (1.0, 3.0, 5.0, 7.0):
        u, state = opt.update(b.asarray([g]), state)
        seen.append(float(u[0]))
    assert seen == [0.0, -2.0, 0.0, -3.0]  # means 2 and 6; η = 1, then 0.5
    assert state.inner_state == optim.ScaleByScheduleState(2)


def test_float16_grads_accumulate_in_float32() -> None:
    opt = optim.accumulate_gradients(optim.sgd(1e-4), every_k=4)
    params = (np.zeros(2, np.float16),)
    state = opt.init(params)
    assert state.grad_sum[0].dtype == np.float32
    for _ in range(4):  # 4 · 30000 = 120000 overflows float16 (max 65504)
        updates, state = opt.update((np.full(2, 30000.0, np.float16),), state, params)
    assert updates[0].dtype == np.float16
    assert_array_equal(updates[0].astype(np.float32), np.full(2, np.float16(-3.0), np.float32))


def test_accumulated_state_saves_and_resumes(tmp_path: Any) -> None:
    opt = optim.accumulate_gradients(optim.adam(0.1), every_k=2)
    model, params, x, t = small_regression()
    grads = fnn.grad(model, fnn.losses.mse)(params, x, t)
    state = opt.init(params)
    _, state = opt.update(grads, state, params)
    fnn.io.save(tmp_path / "s.npz", state)
    for loaded in (fnn.io.load(tmp_path / "s.npz"), fnn.io.load(tmp_path / "s.npz", like=state)):
        assert bits(opt.update(grads, loaded, params)[0]) == bits(opt.update(grads, state, params)[0])


def test_accumulate_gradients_bad_use() -> None:
    with pytest.raises(ValueError, match="`every_k` must be a positive integer, got 0"):
        optim.accumulate_gradients(optim.sgd(0.1), 0)
    with pytest.raises(ValueError, match="`every_k` must be a positive integer, got 2.0"):
        optim.accumulate_gradients(optim.sgd(0.1), 2.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="accumulate_gradients: `transform` is 0.1, which is not a GradientTransformation"):
        optim.accumulate_gradients(0.1, 2)  # type: ignore[arg-type]
    opt = optim.accumulate_gradients(optim.adam(0.1), every_k=1)
    b = f32()
    with pytest.raises(fnn.StateError, match="^accumulate_gradients: the optimizer state is a tuple of"):
        opt.update(b.ones((2,)), optim.adam(0.1).init(b.ones((2,))))  # type: ignore[arg-type]
    with pytest.raises(
        fnn.ShapeError, match=r"^accumulate_gradients: grads has shape \(3,\), optimizer state has \(2,\)"
    ):
        opt.update(b.ones((3,)), opt.init(b.ones((2,))))


# --- masked and freeze -------------------------------------------------------------------------


def two_layers() -> Any:
    b = f64()
    return (
        dense(b.asarray([[1.0, -2.0]]), b.asarray([0.5, 0.25])),
        None,
        dense(b.asarray([[4.0], [8.0]]), b.asarray([1.0])),
    )


def grads_of(params: Any) -> Any:
    return fnn.tree.map(lambda p: p * 0.5 + 0.25, params)


def test_masked_applies_the_transform_to_the_selected_leaves_and_passes_the_others() -> None:
    params = two_layers()
    mask = (dense(True, False), None, dense(False, True))
    opt = optim.masked(optim.adam(0.1), mask)
    state = opt.init(params)
    mu = state.inner_state[0].mu  # moments for the selected leaves only
    assert fnn.tree.structure(mu) == fnn.tree.structure((dense(0, None), None, dense(None, 0)))
    grads = grads_of(params)
    updates, state = opt.update(grads, state, params)
    selected = (dense(grads[0].w, None), None, dense(None, grads[2].b))
    adam = optim.adam(0.1)
    expected, _ = adam.update(selected, adam.init(selected))
    assert bits(updates[0].w) == bits(expected[0].w) and bits(updates[2].b) == bits(expected[2].b)
    assert updates[0].b is grads[0].b and updates[2].w is grads[2].w  # passed through
    assert updates[1] is None


def test_freeze_keeps_frozen_params_exactly_even_with_weight_decay() -> None:
    params = two_layers()
    frozen = optim.path_mask(lambda path: path.startswith("[0]"))
    assert fnn.tree.leaves(frozen(params)) == [True, True, False, False]
    assert fnn.tree.structure(frozen(params)) == fnn.tree.structure(params)
    opt = optim.freeze(optim.adamw(0.1, weight_decay=0.5), frozen=frozen)
    alone = optim.adamw(0.1, weight_decay=0.5)
    state, alone_state = opt.init(params), alone.init(params[2])
    start = bits(params[0])
    p = params
    for step in range(3):
        grads = grads_of(p)
        updates, state = opt.update(grads, state, p)
        expected, alone_state = alone.update(grads[2], alone_state, p[2])
        assert bits(updates[2]) == bits(expected)
        assert_array_equal(updates[0].w, np.zeros((1, 2)))
        p = optim.apply_updates(p, updates)
    assert bits(p[0]) == start
    assert fnn.tree.leaves(state.inner_state[0].mu[0]) == []  # no moments for frozen params


def test_masks_may_be_numpy_bools_or_functions_of_the_grads() -> None:
    params = two_layers()
    by_ndim = optim.masked(optim.sgd(1.0), lambda tree: fnn.tree.map(lambda leaf: leaf.ndim > 1, tree))
    numpy_bools = optim.masked(
        optim.sgd(1.0), (dense(np.bool_(True), np.bool_(False)), None, dense(np.True_, np.False_))
    )
    grads = grads_of(params)
    for opt in (by_ndim, numpy_bools):
        u, _ = opt.update(grads, opt.init(params))
        assert_array_equal(u[0].w, -host(grads[0].w))
        assert_array_equal(u[2].b, host(grads[2].b))


def test_masked_state_saves_and_loads(tmp_path: Any) -> None:
    params = two_layers()
    opt = optim.freeze(optim.momentum(0.1), frozen=optim.path_mask(lambda path: path.endswith(".b")))
    state = opt.init(params)
    _, state = opt.update(grads_of(params), state, params)
    fnn.io.save(tmp_path / "s.npz", state)
    for loaded in (fnn.io.load(tmp_path / "s.npz"), fnn.io.load(tmp_path / "s.npz", like=state)):
        assert bits(opt.update(grads_of(params), loaded, params)[0]) == bits(opt.update(grads_of(params), state, params)[0])


def test_masked_and_freeze_bad_masks() -> None:
    params = two_layers()
    with pytest.raises(
        TypeError,
        match=r"masked: `mask` must hold True or False at each leaf of the params, got 1; build it with fnn.tree.map",
    ):
        optim.masked(optim.sgd(0.1), (dense(1, 0), None, dense(1, 1))).init(params)
    with pytest.raises(
        fnn.StructureError,
        match=r"freeze: `frozen` is nested differently from the params \(pytrees differ at the root: expected tuple of length 3, got tuple of length 2",
    ):
        optim.freeze(optim.sgd(0.1), (True, False)).init(params)
    with pytest.raises(
        fnn.StructureError, match=r"masked: `mask` is nested differently from the grads \(pytrees differ at \[2\]"
    ):
        partial = optim.masked(optim.sgd(0.1), (dense(True, True), None, dense(True, True)))
        partial.update((params[0], None, None), partial.init(params))
    with pytest.raises(TypeError, match=r"freeze: `frozen` must hold True or False .* got \(True, True\)"):
        optim.freeze(optim.sgd(0.1), (dense((True, True), True), None, dense(True, True))).init(params)
    with pytest.raises(TypeError, match="masked: `transform` is 'adam', which is not a GradientTransformation"):
        optim.masked("adam", (True,))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="path_mask: `predicate` must be a function of a leaf's path, got '.b'"):
        optim.path_mask(".b")  # type: ignore[arg-type]
    opt = optim.masked(optim.adam(0.1), optim.path_mask(lambda path: True))
    with pytest.raises(fnn.StateError, match="^masked: the optimizer state is a tuple of .*, expected MaskedState"):
        opt.update(grads_of(params), optim.adam(0.1).init(params), params)  # type: ignore[arg-type]
    state = opt.init(params)
    wrong = (params[0], None, dense(params[2].w, f64().ones((3,))))
    with pytest.raises(fnn.ShapeError, match=r"^masked: adam: scale_by_adam: grads\[2\]\.b has shape \(3,\), optimizer state\[2\]\.b has \(1,\)"):
        opt.update(wrong, state, params)


# --- ema_params --------------------------------------------------------------------------------


def run_ema(debias: bool) -> tuple[list[float], Any]:
    """sgd(1) with grads −1, −2, −4 from θ = 0: θ = 1, 3, 7; the average after each step (β = 0.5)."""
    opt = optim.chain(optim.sgd(1.0), optim.ema_params(0.5, debias=debias))
    b = f64()
    params = b.asarray([0.0])
    state = opt.init(params)
    averages = []
    for g in (-1.0, -2.0, -4.0):
        updates, state = opt.update(b.asarray([g]), state, params)
        params = optim.apply_updates(params, updates)
        averages.append(float(optim.averaged_params(state, like=params)[0]))
    return averages, state


def test_ema_with_debiasing_by_hand() -> None:
    # a = 0.5·1, 0.5·0.5 + 0.5·3, 0.5·1.75 + 0.5·7 = 0.5, 1.75, 4.375; w = 0.5, 0.75, 0.875
    averages, state = run_ema(debias=True)
    assert averages == [1.0, 1.75 / 0.75, 5.0]
    assert state[1].weight == 0.875


def test_ema_without_debiasing_starts_from_the_initial_params() -> None:
    # a = θ₀ = 0, then 0.5, 1.75, 4.375 with w = 1: the initial params weigh 0.5ᵗ
    averages, _ = run_ema(debias=False)
    assert averages == [0.5, 1.75, 4.375]


def test_ema_counts_only_real_steps_inside_accumulation_and_keeps_float16_in_float32() -> None:
    opt = optim.accumulate_gradients(optim.chain(optim.sgd(1.0), optim.ema_params(0.5)), every_k=2)
    params = (np.zeros(2, np.float16),)
    state = opt.init(params)
    assert state.inner_state[1].total[0].dtype == np.float32
    for _ in range(4):
        updates, state = opt.update((np.full(2, -2.0, np.float16),), state, params)
        params = optim.apply_updates(params, updates)
    average = optim.averaged_params(state, like=params)
    assert state.inner_state[1].weight == 0.75  # two real steps
    assert average[0].dtype == np.float16
    assert_array_equal(average[0], np.full(2, (0.25 * 2 + 0.5 * 4) / 0.75, np.float16))  # θ = 2, 4


def test_ema_bad_use() -> None:
    with pytest.raises(ValueError, match=r"`decay` must be in \[0, 1\), got 1.0"):
        optim.ema_params(1.0)
    with pytest.raises(TypeError, match="`debias` must be True or False, got 1"):
        optim.ema_params(0.9, debias=1)  # type: ignore[arg-type]
    opt = optim.ema_params(0.9)
    b = f64()
    with pytest.raises(ValueError, match="ema_params needs the params"):
        opt.update(b.ones((1,)), opt.init(b.ones((1,))))
    with pytest.raises(fnn.StateError, match="averaged_params: the average has seen no step yet"):
        optim.averaged_params(opt.init(b.ones((1,))), like=b.ones((1,)))
    with pytest.raises(fnn.StateError, match="averaged_params: the optimizer state holds 0 EmaParamsState, expected one; chain fnn.optim.ema_params"):
        optim.averaged_params(optim.adam().init(b.ones((1,))), like=b.ones((1,)))
    _, state = opt.update(b.ones((1,)), opt.init(b.ones((1,))), b.ones((1,)))
    with pytest.raises(fnn.ShapeError, match=r"averaged_params: `like` params has shape \(2,\), average has \(1,\)"):
        optim.averaged_params(state, like=b.ones((2,)))
    with pytest.raises(fnn.ShapeError, match=r"ema_params: grads has shape \(2,\), optimizer state has \(1,\)"):
        opt.update(b.ones((2,)), state, b.ones((1,)))


def test_every_new_wrapper_refuses_another_transforms_state() -> None:
    b = f64()
    params = (b.ones((2,)),)
    makes: list[GradientTransformation] = [
        optim.accumulate_gradients(optim.sgd(0.1), 2),
        optim.masked(optim.sgd(0.1), (True,)),
        optim.freeze(optim.sgd(0.1), (False,)),
        optim.ema_params(0.9),
        optim.reduce_on_plateau(),
        optim.inject_hyperparams(optim.sgd)(0.1),
    ]
    for t in makes:
        with pytest.raises(fnn.StateError, match=r"^[\w()]+: the optimizer state is TraceState, expected \w+; pass the state"):
            t.update(params, optim.trace(0.5).init(params), params)
