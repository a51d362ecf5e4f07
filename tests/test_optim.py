"""Tests of fnn.optim: a registry of every optimizer against the textbook, a parabola, dtypes, purity.

Steps each optimizer needs to bring the book's ``f(x, y) = x²/20 + y²`` from
``(-7, 2)`` to within ``‖(x, y)‖ < 1e-3`` of the minimum (float64; learning rates
of the book's figure 6-8 where it gives one):

==============================================  =====
optimizer                                       steps
==============================================  =====
``sgd(0.95)``                                      89
``momentum(0.1, beta=0.9)``                       160
``nesterov(0.1, beta=0.9)``                        98
``adagrad(1.5)``                                   69
``rmsprop(0.1)``                                  107
``adam(0.3)``                                     144
``adamw(0.3, weight_decay=0.01)``                 141
``sgd(warmup_cosine_decay(0.95, 10, 1000, .1))``   95
==============================================  =====

``test_reaches_the_minimum`` asserts these counts (within one step).
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest

import fnn
from fnn import optim
from fnn.optim import GradientTransformation
from fnn.optim import aliases as aliases_module
from tests.helpers import assert_allclose, assert_array_equal, host

Floats = list[float]


# --- the textbook rules, written out element by element in plain Python floats -------------


def textbook_sgd(theta: Floats, grads: list[Floats], lr: float) -> Floats:
    """θ ← θ − η g."""
    theta = list(theta)
    for g in grads:
        theta = [p - lr * gi for p, gi in zip(theta, g)]
    return theta


def textbook_momentum(theta: Floats, grads: list[Floats], lr: float, beta: float) -> Floats:
    """The book's Momentum: v ← β v − η g; θ ← θ + v (v from 0)."""
    theta, v = list(theta), [0.0] * len(theta)
    for g in grads:
        v = [beta * vi - lr * gi for vi, gi in zip(v, g)]
        theta = [p + vi for p, vi in zip(theta, v)]
    return theta


def textbook_nesterov(theta: Floats, grads: list[Floats], lr: float, beta: float) -> Floats:
    """Nesterov (Sutskever et al.): v ← β v + g; θ ← θ − η (g + β v)."""
    theta, v = list(theta), [0.0] * len(theta)
    for g in grads:
        v = [beta * vi + gi for vi, gi in zip(v, g)]
        theta = [p - lr * (gi + beta * vi) for p, gi, vi in zip(theta, g, v)]
    return theta


def textbook_adagrad(theta: Floats, grads: list[Floats], lr: float, eps: float) -> Floats:
    """The book's AdaGrad: h ← h + g²; θ ← θ − η g / (√h + ε)."""
    theta, h = list(theta), [0.0] * len(theta)
    for g in grads:
        h = [hi + gi * gi for hi, gi in zip(h, g)]
        theta = [p - lr * gi / (math.sqrt(hi) + eps) for p, gi, hi in zip(theta, g, h)]
    return theta


def textbook_rmsprop(theta: Floats, grads: list[Floats], lr: float, rho: float, eps: float) -> Floats:
    """The book's RMSprop: h ← ρ h + (1 − ρ) g²; θ ← θ − η g / (√h + ε)."""
    theta, h = list(theta), [0.0] * len(theta)
    for g in grads:
        h = [rho * hi + (1 - rho) * gi * gi for hi, gi in zip(h, g)]
        theta = [p - lr * gi / (math.sqrt(hi) + eps) for p, gi, hi in zip(theta, g, h)]
    return theta


def textbook_adam(
    theta: Floats, grads: list[Floats], lr: float, b1: float, b2: float, eps: float, wd: float = 0.0
) -> Floats:
    """Adam (Kingma & Ba, Algorithm 1), plus AdamW's decoupled decay −η λ θ when wd > 0.

    m ← β₁ m + (1 − β₁) g; v ← β₂ v + (1 − β₂) g²; m̂ = m / (1 − β₁ᵗ); v̂ = v / (1 − β₂ᵗ);
    θ ← θ − η (m̂ / (√v̂ + ε) + λ θ).
    """
    theta, m, v = list(theta), [0.0] * len(theta), [0.0] * len(theta)
    for t, g in enumerate(grads, start=1):
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
        v = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(v, g)]
        theta = [
            p - lr * ((mi / (1 - b1**t)) / (math.sqrt(vi / (1 - b2**t)) + eps) + wd * p)
            for p, mi, vi in zip(theta, m, v)
        ]
    return theta


# --- the registry ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """An optimizer under test.

    ``make`` builds it with the hyperparameters of ``textbook``; ``first`` is
    θ after one update from θ₀ = (1, −2) with g = (0.5, −1), worked by hand;
    ``parabola`` is the optimizer used on the book's f(x, y) and ``steps`` the count
    it needs (the table in the module docstring).
    """

    name: str
    make: Callable[[], GradientTransformation]
    textbook: Callable[[Floats, list[Floats]], Floats]
    first: Floats
    parabola: Callable[[], GradientTransformation]
    steps: int
    owner: str = ""
    """A regex of how its errors start (default: the name before any ``-``)."""


CASES = [
    # sgd: θ = 1 − 0.1·0.5 = 0.95;  −2 − 0.1·(−1) = −1.9
    Case(
        "sgd",
        lambda: optim.sgd(0.1),
        lambda th, gs: textbook_sgd(th, gs, 0.1),
        [0.95, -1.9],
        lambda: optim.sgd(0.95),
        89,
    ),
    # momentum: v = −0.1 g, so the first step equals SGD's
    Case(
        "momentum",
        lambda: optim.momentum(0.1, beta=0.9),
        lambda th, gs: textbook_momentum(th, gs, 0.1, 0.9),
        [0.95, -1.9],
        lambda: optim.momentum(0.1, beta=0.9),
        160,
    ),
    # nesterov: v = g, u = −0.1 (g + 0.9 g) = −0.19 g: 1 − 0.095 = 0.905;  −2 + 0.19 = −1.81
    Case(
        "nesterov",
        lambda: optim.nesterov(0.1, beta=0.9),
        lambda th, gs: textbook_nesterov(th, gs, 0.1, 0.9),
        [0.905, -1.81],
        lambda: optim.nesterov(0.1, beta=0.9),
        98,
    ),
    # adagrad: h = g², u = −0.1 g / (|g| + 1e-7) ≈ −0.1 sign(g): 0.9, −1.9
    Case(
        "adagrad",
        lambda: optim.adagrad(0.1),
        lambda th, gs: textbook_adagrad(th, gs, 0.1, 1e-7),
        [0.9, -1.9],
        lambda: optim.adagrad(1.5),
        69,
    ),
    # rmsprop: h = 0.01 g², √h = 0.1 |g|, u = −0.1 g / (0.1 |g|) ≈ −sign(g): 0.0, −1.0
    Case(
        "rmsprop",
        lambda: optim.rmsprop(0.1, decay=0.99),
        lambda th, gs: textbook_rmsprop(th, gs, 0.1, 0.99, 1e-7),
        [0.0, -1.0],
        lambda: optim.rmsprop(0.1),
        107,
    ),
    # adam: m̂ = g, v̂ = g², u = −0.1 g / (|g| + 1e-8) ≈ −0.1 sign(g): 0.9, −1.9
    Case(
        "adam",
        lambda: optim.adam(0.1),
        lambda th, gs: textbook_adam(th, gs, 0.1, 0.9, 0.999, 1e-8),
        [0.9, -1.9],
        lambda: optim.adam(0.3),
        144,
    ),
    # adamw, λ = 0.5: u = −0.1 (sign(g) + 0.5 θ): 1 − 0.1·1.5 = 0.85;  −2 − 0.1·(−1 − 1) = −1.8
    Case(
        "adamw",
        lambda: optim.adamw(0.1, weight_decay=0.5),
        lambda th, gs: textbook_adam(th, gs, 0.1, 0.9, 0.999, 1e-8, wd=0.5),
        [0.85, -1.8],
        lambda: optim.adamw(0.3, weight_decay=0.01),
        141,
    ),
    # sgd on a schedule: the first step uses η(0) = 0.1 of a constant schedule
    Case(
        "sgd-schedule",
        lambda: optim.sgd(optim.constant(0.1)),
        lambda th, gs: textbook_sgd(th, gs, 0.1),
        [0.95, -1.9],
        lambda: optim.sgd(optim.warmup_cosine_decay(0.95, 10, 1000, 0.1)),
        95,
    ),
    # adam with its hyperparameters in the state: the same numbers as adam
    Case(
        "inject_hyperparams-adam",
        lambda: optim.inject_hyperparams(optim.adam)(0.1),
        lambda th, gs: textbook_adam(th, gs, 0.1, 0.9, 0.999, 1e-8),
        [0.9, -1.9],
        lambda: optim.inject_hyperparams(optim.adam)(learning_rate=0.3),
        144,
        owner=r"inject_hyperparams\(adam\)",
    ),
    # a plateau scale that nothing reduced (no observe): sgd's numbers
    Case(
        "reduce_on_plateau-sgd",
        lambda: optim.chain(optim.sgd(0.1), optim.reduce_on_plateau(factor=0.5, patience=0)),
        lambda th, gs: textbook_sgd(th, gs, 0.1),
        [0.95, -1.9],
        lambda: optim.chain(optim.sgd(0.95), optim.reduce_on_plateau()),
        89,
        owner="sgd",  # a state of two parts passes the chain; sgd refuses its part
    ),
    # accumulation over one step: adam on the mean of one gradient, i.e. adam
    Case(
        "accumulate_gradients-adam",
        lambda: optim.accumulate_gradients(optim.adam(0.1), every_k=1),
        lambda th, gs: textbook_adam(th, gs, 0.1, 0.9, 0.999, 1e-8),
        [0.9, -1.9],
        lambda: optim.accumulate_gradients(optim.adam(0.3), every_k=1),
        144,
    ),
    # momentum on every leaf (a mask function of the tree)
    Case(
        "masked-momentum",
        lambda: optim.masked(optim.momentum(0.1, beta=0.9), optim.path_mask(lambda path: True)),
        lambda th, gs: textbook_momentum(th, gs, 0.1, 0.9),
        [0.95, -1.9],
        lambda: optim.masked(optim.momentum(0.1, beta=0.9), optim.path_mask(lambda path: True)),
        160,
    ),
    # adamw with nothing frozen
    Case(
        "freeze-adamw",
        lambda: optim.freeze(optim.adamw(0.1, weight_decay=0.5), lambda tree: fnn.tree.map(lambda p: False, tree)),
        lambda th, gs: textbook_adam(th, gs, 0.1, 0.9, 0.999, 1e-8, wd=0.5),
        [0.85, -1.8],
        lambda: optim.freeze(optim.adamw(0.3, weight_decay=0.01), optim.path_mask(lambda path: False)),
        141,
    ),
    # an average of the params alongside sgd: the updates are sgd's
    Case(
        "ema_params-sgd",
        lambda: optim.chain(optim.sgd(0.1), optim.ema_params(0.9)),
        lambda th, gs: textbook_sgd(th, gs, 0.1),
        [0.95, -1.9],
        lambda: optim.chain(optim.sgd(0.95), optim.ema_params(0.99, debias=False)),
        89,
        owner="(sgd|ema_params)",  # the chain passes a state of two parts; whichever part it does not fit refuses it
    ),
]
IDS = [c.name for c in CASES]


def test_registry_covers_every_named_optimizer() -> None:
    optimizers = {name for name in aliases_module.__all__ if inspect.isfunction(getattr(aliases_module, name))}
    assert optimizers == {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"}
    assert optimizers <= set(IDS)


def f64() -> fnn.Backend:
    """float64 on the backend under test (``FNN_BACKEND``)."""
    return fnn.backend(dtype="float64")


def f32() -> fnn.Backend:
    """float32 on the backend under test (``FNN_BACKEND``)."""
    return fnn.backend(dtype="float32")


def run(opt: GradientTransformation, theta: Floats, grads: list[Floats]) -> Any:
    b = f64()
    params = b.asarray(theta)
    state = opt.init(params)
    for g in grads:
        updates, state = opt.update(b.asarray(g), state, params)
        params = optim.apply_updates(params, updates)
    return params


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_one_update_equals_the_hand_worked_numbers(case: Case) -> None:
    theta = run(case.make(), [1.0, -2.0], [[0.5, -1.0]])
    assert_allclose(theta, case.first, rtol=0, atol=1e-5)  # ε makes "≈" differ by < 1e-5


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_three_updates_follow_the_textbook_formula(case: Case) -> None:
    grads = [[0.5, -1.0], [-0.25, 3.0], [0.125, 0.0]]
    theta = run(case.make(), [1.0, -2.0], grads)
    assert_allclose(theta, case.textbook([1.0, -2.0], grads), rtol=1e-12, atol=1e-15)


def steps_to_minimum(opt: GradientTransformation, tol: float = 1e-3, max_steps: int = 5000) -> int:
    """Steps until ‖(x, y)‖ < tol on f(x, y) = x²/20 + y², ∇f = (x/10, 2y), from (−7, 2)."""
    b = f64()
    params = {"x": b.asarray(-7.0), "y": b.asarray(2.0)}
    state = opt.init(params)
    for step in range(1, max_steps + 1):
        grads = {"x": params["x"] / 10, "y": 2 * params["y"]}
        updates, state = opt.update(grads, state, params)
        params = optim.apply_updates(params, updates)
        if math.hypot(float(params["x"]), float(params["y"])) < tol:
            return step
    raise AssertionError(f"did not reach the minimum in {max_steps} steps: {params}")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_reaches_the_minimum(case: Case) -> None:
    steps = steps_to_minimum(case.parabola())
    assert abs(steps - case.steps) <= 1, f"{case.name}: {steps} steps, the table says {case.steps}"


def float32_tree() -> Any:
    """Params with tuples, attrs nodes, a None leaf and a dict, all float32."""
    b = f32()
    return (
        fnn.DenseParams(b.asarray([[0.5, -1.0], [2.0, 0.25]]), None),
        {"a": b.asarray([1.0, -3.0, 0.5]), "s": b.asarray(2.0)},
    )


def grads_like(params: Any, scale: float) -> Any:
    return fnn.tree.map(lambda p: (p * scale + np.float32(0.1)).astype(p.dtype), params)


def state_leaf_types() -> tuple[type, ...]:
    """What an optimizer state may hold: the backend's arrays (NumPy also gives NumPy scalars) and
    Python numbers (counts, hyperparameters, a plateau's scale: weak scalars that keep float32 float32)."""
    b = f32()
    return (np.ndarray, np.generic, int, float) if b.name == "numpy" else (b.xp.ndarray, int, float)


def float_leaves(tree: Any) -> list[Any]:
    return [leaf for leaf in fnn.tree.leaves(tree) if hasattr(leaf, "dtype") and leaf.dtype.kind == "f"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float32_params_give_float32_state_and_updates(case: Case) -> None:
    for opt in (case.make(), case.parabola()):
        params = float32_tree()
        state = opt.init(params)
        for step in range(3):
            updates, state = opt.update(grads_like(params, 0.5 - step), state, params)
            assert all(leaf.dtype == np.float32 for leaf in float_leaves(state)), state
            assert all(leaf.dtype == np.float32 for leaf in float_leaves(updates))
            assert fnn.tree.structure(updates) == fnn.tree.structure(params)
            params = optim.apply_updates(params, updates)
            assert all(leaf.dtype == np.float32 for leaf in fnn.tree.leaves(params))
        for leaf in fnn.tree.leaves(state):  # arrays of the backend under test, and int counts
            assert isinstance(leaf, state_leaf_types()), type(leaf)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float64_grads_do_not_promote_a_float32_state(case: Case) -> None:
    params = float32_tree()
    opt = case.make()
    state = opt.init(params)
    for step in range(2):
        grads = fnn.tree.map(lambda p: p.astype(np.float64) * 0.5 + 0.1, params)  # e.g. a float64 loss
        updates, state = opt.update(grads, state, params)
        assert all(leaf.dtype == np.float32 for leaf in float_leaves(state)), state
        params = optim.apply_updates(params, updates)
        assert all(leaf.dtype == np.float32 for leaf in fnn.tree.leaves(params))


def snapshot(tree: Any) -> list[Any]:
    """Host copies of the leaves (independent of the arrays, wherever those live)."""
    return [np.array(host(leaf), copy=True) for leaf in fnn.tree.leaves(tree)]


def same(tree: Any, saved: list[Any]) -> bool:
    return all(np.array_equal(host(a), b) for a, b in zip(fnn.tree.leaves(tree), saved, strict=True))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_no_input_is_mutated(case: Case) -> None:
    opt = case.make()
    params = float32_tree()
    state = opt.init(params)
    updates, state = opt.update(grads_like(params, 1.0), state, params)
    grads = grads_like(params, -2.0)
    before = (snapshot(params), snapshot(grads), snapshot(state), snapshot(updates))
    new_updates, new_state = opt.update(grads, state, params)
    new_params = optim.apply_updates(params, new_updates)
    assert same(params, before[0]) and same(grads, before[1])
    assert same(state, before[2]) and same(updates, before[3])
    assert not same(new_params, before[0])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_same_inputs_same_bits(case: Case) -> None:
    a = run(case.make(), [1.0, -2.0], [[0.5, -1.0], [0.3, 0.2]])
    b = run(case.make(), [1.0, -2.0], [[0.5, -1.0], [0.3, 0.2]])
    assert host(a).tobytes() == host(b).tobytes()


def test_state_survives_save_and_load(tmp_path: Any) -> None:
    opt = optim.adam(0.1)
    params = float32_tree()
    state = opt.init(params)
    updates, state = opt.update(grads_like(params, 1.0), state, params)
    fnn.io.save(tmp_path / "state.npz", state)
    loaded = fnn.io.load(tmp_path / "state.npz")  # without `like`: the count comes back as an int
    assert type(loaded[0].count) is int
    assert all(isinstance(leaf, (np.ndarray, np.generic)) for leaf in fnn.tree.leaves(loaded[0].mu))  # host
    b = f32()
    on_device = fnn.tree.map(lambda v: b.xp.asarray(v) if isinstance(v, np.ndarray) else v, loaded)
    placed = fnn.io.load(tmp_path / "state.npz", like=state)  # with `like`: where the state lives
    assert all(type(a) is type(s) for a, s in zip(fnn.tree.leaves(placed), fnn.tree.leaves(state)))
    for s in (state, on_device, placed):
        u, s2 = opt.update(grads_like(params, 2.0), s, params)
        assert s2[0].count == 2
        assert same(u, snapshot(opt.update(grads_like(params, 2.0), state, params)[0]))


# --- primitive transforms ----------------------------------------------------------------------


def test_clip_elementwise() -> None:
    u, _ = optim.clip(0.5).update({"a": f64().asarray([-2.0, 0.25, 0.75])}, optim.EmptyState())
    assert_array_equal(u["a"], [-0.5, 0.25, 0.5])


def test_clip_by_global_norm_rescales_only_above_the_limit() -> None:
    t = optim.clip_by_global_norm(5.0)
    b = f32()
    g = (b.asarray([3.0, 0.0]), {"b": b.asarray([4.0])})  # ‖g‖ = 5: unchanged
    u, _ = t.update(g, t.init(g))
    assert same(u, snapshot(g))
    g2 = (b.asarray([6.0, 0.0]), {"b": b.asarray([8.0])})  # ‖g‖ = 10: halved
    u2, _ = t.update(g2, t.init(g2))
    assert_allclose(u2[0], [3.0, 0.0])
    assert_allclose(u2[1]["b"], [4.0])
    assert u2[0].dtype == np.float32


def test_add_decayed_weights_with_mask() -> None:
    b = f64()
    params = fnn.DenseParams(b.asarray([[2.0]]), b.asarray([4.0]))
    grads = fnn.DenseParams(b.asarray([[1.0]]), b.asarray([1.0]))
    t = optim.add_decayed_weights(0.5, mask=lambda p: fnn.tree.map(lambda w: w.ndim > 1, p))
    u, _ = t.update(grads, t.init(params), params)
    assert_array_equal(u.w, [[2.0]])  # 1 + 0.5·2
    assert_array_equal(u.b, [1.0])  # the bias is spared
    with pytest.raises(ValueError, match="needs the params"):
        t.update(grads, t.init(params))


def test_chain_keeps_one_state_per_transform_in_order() -> None:
    opt = optim.chain(optim.clip(1.0), optim.trace(0.5), optim.scale(-2.0))
    b = f64()
    state = opt.init(b.zeros((1,)))
    assert isinstance(state, tuple) and len(state) == 3
    u, state = opt.update(b.asarray([3.0]), state)  # clip → 1, v = 1, u = −2
    u, state = opt.update(b.asarray([3.0]), state)  # v = 0.5 + 1 = 1.5, u = −3
    assert_array_equal(u, [-3.0])
    single = optim.sgd(0.1)
    assert optim.chain(single) is single


def test_apply_updates_keeps_the_params_dtype() -> None:
    new = optim.apply_updates((f32().asarray([1.0]), None), (f64().asarray([0.5]), None))
    assert new[0].dtype == np.float32 and new[1] is None
    assert_array_equal(new[0], [1.5])


def test_schedule_count_is_kept_in_the_state() -> None:
    opt = optim.sgd(optim.step_decay(1.0, step_size=2, rate=0.5))
    b = f64()
    params = b.asarray([0.0])
    state = opt.init(params)
    steps = []
    for _ in range(5):
        u, state = opt.update(b.asarray([1.0]), state, params)
        steps.append(float(-u[0]))
    assert steps == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert state == optim.ScaleByScheduleState(5)


# --- schedules -----------------------------------------------------------------------------------


def test_schedules_by_hand() -> None:
    assert optim.constant(0.3)(7) == 0.3
    assert [optim.step_decay(1.0, 3, 0.1)(t) for t in (0, 2, 3, 6)] == pytest.approx([1, 1, 0.1, 0.01])
    assert optim.exponential_decay(2.0, 0.5, 4)(2) == pytest.approx(2.0 * 0.5**0.5)
    assert optim.exponential_decay(2.0, 0.5, 4, staircase=True)(7) == 1.0
    cos = optim.cosine_decay(1.0, 10)
    assert (cos(0), cos(5), cos(10), cos(20)) == pytest.approx((1.0, 0.5, 0.0, 0.0))
    assert [optim.linear_warmup(1.0, 4)(t) for t in (0, 1, 4, 8)] == [0.0, 0.25, 1.0, 1.0]
    joined = optim.join([optim.constant(1.0), optim.linear(1.0, 0.0, 2), optim.constant(0.1)], [2, 4])
    assert [joined(t) for t in range(6)] == [1.0, 1.0, 1.0, 0.5, 0.1, 0.1]
    warm = optim.warmup_cosine_decay(1.0, warmup_steps=2, decay_steps=6, end_value=0.2)
    assert [round(warm(t), 6) for t in (0, 1, 2, 4, 6, 9)] == [0.0, 0.5, 1.0, 0.6, 0.2, 0.2]


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "factory",
    [optim.sgd, optim.momentum, optim.nesterov, optim.adagrad, optim.rmsprop, optim.adam, optim.adamw],
)
@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan"), float("inf")])
def test_non_positive_learning_rate(factory: Callable[[float], GradientTransformation], lr: float) -> None:
    with pytest.raises(ValueError, match="`learning_rate` must be a positive finite number"):
        factory(lr)


def test_bad_hyperparameters() -> None:
    with pytest.raises(TypeError, match="`learning_rate` must be a real number"):
        optim.sgd(True)
    with pytest.raises(ValueError, match=r"`decay` must be in \[0, 1\)"):
        optim.momentum(0.1, beta=1.0)
    with pytest.raises(ValueError, match=r"`b2` must be in \[0, 1\)"):
        optim.adam(0.1, b2=1.5)
    with pytest.raises(ValueError, match="`eps` must be a positive finite number"):
        optim.adagrad(0.1, eps=0.0)
    with pytest.raises(ValueError, match="`weight_decay` must be a finite number >= 0"):
        optim.adamw(0.1, weight_decay=-1.0)
    with pytest.raises(ValueError, match="`max_norm` must be a positive finite number"):
        optim.clip_by_global_norm(0.0)
    with pytest.raises(ValueError, match="`max_delta`"):
        optim.clip(-1.0)
    with pytest.raises(ValueError, match="`step_size` must be a finite number"):
        optim.scale(float("nan"))
    with pytest.raises(TypeError, match="chain: argument 1 is 0.1"):
        optim.chain(optim.sgd(0.1), 0.1)  # type: ignore[call-overload]


def test_bad_schedules() -> None:
    with pytest.raises(ValueError, match="`decay_steps` must be a positive integer"):
        optim.cosine_decay(0.1, 0)
    with pytest.raises(ValueError, match="`value` must be a finite number >= 0"):
        optim.constant(-1.0)
    with pytest.raises(ValueError, match=r"join: 2 schedules need 1 boundaries, got 2"):
        optim.join([optim.constant(1.0), optim.constant(0.5)], [2, 3])
    with pytest.raises(ValueError, match="`boundaries` must increase"):
        optim.join([optim.constant(1.0)] * 3, [4, 4])
    with pytest.raises(ValueError, match="must exceed `warmup_steps`"):
        optim.warmup_cosine_decay(1.0, 10, 10)
    opt = optim.sgd(lambda count: 0.1 - 0.1 * count)
    b = f64()
    state = opt.init(b.zeros((1,)))
    _, state = opt.update(b.ones((1,)), state)
    _, state = opt.update(b.ones((1,)), state)  # η(1) = 0: allowed
    with pytest.raises(ValueError, match="schedule gave -0.1 at step count 2"):
        opt.update(b.ones((1,)), state)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: optim.step_decay(1.0, 10, rate=1.5), r"`rate` must be in \(0, 1\], got 1.5"),
        (lambda: optim.step_decay(1.0, 0), "`step_size` must be a positive integer, got 0"),
        (lambda: optim.exponential_decay(1.0, 0.0), "`decay_rate` must be a positive finite number, got 0.0"),
        (
            lambda: optim.exponential_decay(1.0, 0.5, True),
            "`transition_steps` must be a positive integer, got True",
        ),
        (lambda: optim.cosine_decay(1.0, 10, alpha=1.5), r"`alpha` must be in \[0, 1\], got 1.5"),
        (lambda: optim.linear(1.0, -1.0, 5), "`end_value` must be a finite number >= 0, got -1.0"),
        (lambda: optim.linear_warmup(float("inf"), 5), "`peak_value` must be a finite number >= 0, got inf"),
        (lambda: optim.linear_warmup(1.0, 0), "`warmup_steps` must be a positive integer, got 0"),
        (
            lambda: optim.warmup_cosine_decay(1.0, 2, 10, end_value=2.0),
            r"`end_value` \(2.0\) must not exceed `peak_value` \(1.0\)",
        ),
        (
            lambda: optim.warmup_cosine_decay(0.0, 2, 10),
            "`peak_value` must be a positive finite number, got 0.0",
        ),
        (
            lambda: optim.join([optim.constant(1.0)] * 2, [0]),
            "`boundaries` must be a positive integer, got 0",
        ),
        (
            lambda: optim.scale_by_schedule(0.1),  # type: ignore[arg-type]
            r"`schedule` must be callable as schedule\(count\), got 0.1",
        ),
        (lambda: optim.rmsprop(0.1, decay=-0.1), r"`decay` must be a finite number >= 0, got -0.1"),
        (
            lambda: optim.scale_by_rss(initial_accumulator_value=-1.0),
            "`initial_accumulator_value` must be a finite number >= 0",
        ),
    ],
)
def test_bad_schedule_and_transform_arguments(make: Callable[[], Any], match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_a_schedule_that_is_not_finite_stops_the_update() -> None:
    t = optim.scale_by_schedule(lambda count: float("nan"))
    b = f64()
    with pytest.raises(ValueError, match="the schedule gave nan at step count 0"):
        t.update(b.ones((1,)), t.init(b.zeros((1,))))
    opt = optim.sgd(lambda count: float("inf"))
    with pytest.raises(
        ValueError, match="the learning-rate schedule gave inf at step count 0; learning rates must be finite"
    ):
        opt.update(b.ones((1,)), opt.init(b.zeros((1,))))


# --- mismatched states, grads and updates -------------------------------------------------------

STATELESS = {"sgd", "sgd-schedule", "reduce_on_plateau-sgd"}  # no state leaves to compare the grads with: apply_updates checks them


def optimizer_name(case: Case) -> str:
    return case.owner or case.name.split("-")[0]


def test_apply_updates_refuses_an_update_of_another_shape_or_kind() -> None:
    b = f32()
    params = [fnn.DenseParams(b.ones((2, 2)), b.ones((2,))), fnn.DenseParams(b.ones((2, 3)), b.ones((2,)))]
    updates = fnn.tree.map(lambda p: p * 0.5, params)
    wrong = [updates[0], fnn.DenseParams(updates[1].w, b.ones((3, 2)))]
    with pytest.raises(
        fnn.ShapeError,
        match=r"apply_updates: updates\[1\]\.b has shape \(3, 2\), params\[1\]\.b has \(2,\); are the updates from another model\?",
    ):
        optim.apply_updates(params, wrong)
    integers = [updates[0], fnn.DenseParams(updates[1].w, b.asarray([1, 2], dtype="int64"))]
    with pytest.raises(
        fnn.DTypeError,
        match=r"apply_updates: updates\[1\]\.b has dtype int64, params\[1\]\.b has float32 \(a float leaf needs float updates\)",
    ):
        optim.apply_updates(params, integers)
    with pytest.raises(fnn.ShapeError, match=r"updates\[0\]\.b has shape \(\), params\[0\]\.b has \(2,\)"):
        optim.apply_updates(params, [fnn.DenseParams(updates[0].w, 0.5), updates[1]])  # type: ignore[arg-type]
    with pytest.raises(
        fnn.StructureError,
        match=r"apply_updates: the updates are nested differently from the params \(pytrees differ at the root: expected list of length 2, got list of length 1",
    ):
        optim.apply_updates(params, updates[:1])
    assert_array_equal(optim.apply_updates(params, updates)[1].b, [1.5, 1.5])  # right updates still pass


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_another_optimizers_state_is_refused(case: Case) -> None:
    params = float32_tree()
    other = optim.adagrad(0.1) if case.name != "adagrad" else optim.adam(0.1)
    opt = case.make()
    with pytest.raises(
        fnn.StateError,
        match=rf"^{optimizer_name(case)}: .*the optimizer state is .*; pass the state that this optimizer's init\(params\) returned",
    ):
        opt.update(grads_like(params, 1.0), other.init(params), params)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_grads_of_another_shape_are_refused(case: Case) -> None:
    params = float32_tree()
    opt = case.make()
    state = opt.init(params)
    grads = grads_like(params, 1.0)
    grads[1]["a"] = f32().ones((2, 3))  # the param is (3,): broadcasting would make it (2, 3)
    if case.name in STATELESS:
        match = r"^apply_updates: updates\[1\]\['a'\] has shape \(2, 3\), params\[1\]\['a'\] has \(3,\)"
    else:
        match = (
            rf"^{optimizer_name(case)}: (\w+: )*grads\[1\]\['a'\] has shape \(2, 3\), optimizer state\[1\]\['a'\] "
            r"has \(3,\); the state was made by init\(params\) for params of other shapes"
        )
    with pytest.raises(fnn.ShapeError, match=match):
        updates, state = opt.update(grads, state, params)
        optim.apply_updates(params, updates)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_grads_of_another_structure_are_refused(case: Case) -> None:
    params = float32_tree()
    opt = case.make()
    state = opt.init(params)
    grads = grads_like(params, 1.0)
    del grads[1]["s"]
    owner = "apply_updates: " if case.name in STATELESS else rf"{optimizer_name(case)}: (\w+: )*"
    names = "updates are nested differently from the params" if case.name in STATELESS else (
        # masked and freeze compare the grads with the params they select from first
        "grads are nested differently from the (optimizer state|params)"
    )
    with pytest.raises(fnn.StructureError, match=rf"^{owner}the {names} \(pytrees differ at \[1\]"):
        updates, state = opt.update(grads, state, params)
        optim.apply_updates(params, updates)


def test_a_subtree_where_the_params_have_a_leaf_is_a_structure_error() -> None:
    b = f32()
    params = (b.ones((2,)),)
    nested = ((b.ones((2,)), b.ones((2,))),)
    with pytest.raises(
        fnn.StructureError,
        match=r"apply_updates: the updates are nested differently from the params: \(\(\*, \*\),\) against \(\*,\)",
    ):
        optim.apply_updates(params, nested)
    opt = optim.adam(0.1)
    with pytest.raises(
        fnn.StructureError,
        match=r"adam: scale_by_adam: the grads are nested differently from the optimizer state: \(\(\*, \*\),\) against \(\*,\)",
    ):
        opt.update(nested, opt.init(params))


def test_weight_decay_refuses_params_of_another_shape() -> None:
    t = optim.add_decayed_weights(0.1)
    b = f32()
    with pytest.raises(
        fnn.ShapeError, match=r"add_decayed_weights: grads\[0\] has shape \(2, 2\), params\[0\] has \(2,\)"
    ):
        t.update([b.ones((2, 2))], t.init(None), [b.ones((2,))])


@pytest.mark.parametrize(
    "make",
    [optim.identity, lambda: optim.scale(2.0), lambda: optim.clip(1.0), lambda: optim.clip_by_global_norm(1.0),
     lambda: optim.add_decayed_weights(0.1), lambda: optim.trace(0.5), lambda: optim.scale_by_rss(),
     lambda: optim.scale_by_rms(), lambda: optim.scale_by_adam(), lambda: optim.scale_by_schedule(optim.constant(1.0))],
)  # fmt: skip
def test_every_primitive_transform_refuses_another_transforms_state(make: Callable[[], GradientTransformation]) -> None:
    t = make()
    params = (f64().ones((2,)),)
    other = optim.scale_by_adam() if type(t.init(params)) is not optim.ScaleByAdamState else optim.trace(0.5)
    with pytest.raises(fnn.StateError, match=r"^\w+: the optimizer state is \w+, expected \w+; pass the state"):
        t.update(params, other.init(params), params)


def test_chain_refuses_a_state_that_is_not_one_per_transform() -> None:
    opt = optim.chain(optim.clip(1.0), optim.trace(0.5))
    b = f64()
    with pytest.raises(
        fnn.StateError,
        match=r"chain of 2 transforms: the optimizer state is a tuple of \(EmptyState\), expected a tuple of 2 states",
    ):
        opt.update(b.ones((1,)), (optim.EmptyState(),))  # type: ignore[arg-type]


def test_clip_by_global_norm_of_float16_grads_sums_in_float32() -> None:
    # 300² = 90000 overflows float16 (max 65504): the norm must still be 500, not inf.
    t = optim.clip_by_global_norm(1.0)
    g: Any = [np.array([300.0], np.float16), {"b": np.array([400.0], np.float16)}]
    u, _ = t.update(g, t.init(g))
    assert u[0].dtype == np.float16 and u[1]["b"].dtype == np.float16
    assert_allclose(u[0].astype(np.float32), [0.6], rtol=1e-3)
    assert_allclose(u[1]["b"].astype(np.float32), [0.8], rtol=1e-3)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float16_params_with_large_grads_give_finite_updates(case: Case) -> None:
    # Squares of gradients above 256 overflow float16: every optimizer squares in float32.
    params = (np.array([1.0, -2.0], np.float16), np.array([0.5], np.float16))
    opt = optim.chain(optim.clip_by_global_norm(10.0), case.make())
    state = opt.init(params)
    for _ in range(3):
        grads = (np.array([3000.0, -500.0], np.float16), np.array([700.0], np.float16))
        updates, state = opt.update(grads, state, params)
        params = optim.apply_updates(params, updates)
    assert all(p.dtype == np.float16 and np.isfinite(p).all() for p in params)
    assert float(params[0][0]) < 1.0 and float(params[1][0]) < 0.5  # they moved downhill


SCHEDULES_AT_THE_END = [
    # (schedule, its value at every count from 10⁶ on, mathematically)
    (optim.constant(0.1), 0.1),
    (optim.step_decay(1.0, step_size=10, rate=0.5), 0.0),
    (optim.exponential_decay(1.0, decay_rate=0.5, transition_steps=3), 0.0),
    (optim.exponential_decay(1.0, decay_rate=0.5, transition_steps=3, staircase=True), 0.0),
    (optim.exponential_decay(0.0, decay_rate=1.5), 0.0),
    (optim.cosine_decay(1.0, decay_steps=100, alpha=0.1), 0.1),
    (optim.linear(1.0, 0.2, transition_steps=50), 0.2),
    (optim.linear_warmup(1.0, warmup_steps=5), 1.0),
    (optim.join([optim.constant(1.0), optim.linear(1.0, 0.3, 2)], [3]), 0.3),
    (optim.warmup_cosine_decay(1.0, warmup_steps=10, decay_steps=100, end_value=0.05), 0.05),
]


SCHEDULE_IDS = [
    "constant", "step_decay", "exponential_decay", "exponential_staircase", "exponential_of_zero",
    "cosine_decay", "linear", "linear_warmup", "join", "warmup_cosine_decay",
]  # fmt: skip


@pytest.mark.parametrize(("schedule", "end"), SCHEDULES_AT_THE_END, ids=SCHEDULE_IDS)
def test_schedules_at_large_and_numpy_step_counts(schedule: Callable[[Any], float], end: float) -> None:
    for count in (10**6, 2**31 - 1, np.int32(2**31 - 1), np.int64(2**40), 10**12, float(10**12)):
        assert schedule(count) == end, count
    for count in (7, np.int32(7), np.int64(7), np.uint8(7), 7.0, np.float32(7.0)):  # the same value for each
        assert schedule(count) == schedule(7)


@pytest.mark.parametrize("count", [2.5, -1, float("inf"), float("nan"), True, "3"])
@pytest.mark.parametrize(("schedule", "end"), SCHEDULES_AT_THE_END, ids=SCHEDULE_IDS)
def test_schedules_refuse_a_count_that_is_not_a_whole_number(
    schedule: Callable[[Any], float], end: float, count: Any
) -> None:
    with pytest.raises(ValueError, match=rf": the step count must be a whole number >= 0, got {count!r}"):
        schedule(count)


def test_a_growing_exponential_schedule_that_passes_the_largest_float_is_an_error() -> None:
    s = optim.exponential_decay(2.0, decay_rate=1.5)
    assert s(100) == pytest.approx(2.0 * 1.5**100)
    for count in (10**4, 10**12):
        with pytest.raises(
            ValueError,
            match=rf"exponential_decay: 2.0 · 1.5\^\(t / 1\) at step count {count} passes the largest float; .* lower `decay_rate`",
        ):
            s(count)
    with pytest.raises(ValueError, match="at step count 30 passes the largest float"):
        optim.exponential_decay(1e300, decay_rate=2.0, staircase=True)(30)  # 2³⁰ is finite, the product not


# --- the fused Adam (adam_with_learning_rate) against the chain it replaces ---------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "learning_rate", [0.01, optim.warmup_cosine_decay(0.05, 3, 10)], ids=["float", "schedule-from-0"]
)
def test_fused_adam_equals_the_chain_of_scale_by_adam_and_the_learning_rate(
    dtype: str, learning_rate: Any
) -> None:
    b = fnn.backend(dtype=dtype)
    rng = np.random.default_rng(0)
    params: Any = {"w": b.asarray(rng.standard_normal((3, 4))), "s": b.asarray(0.5), "none": None}
    fused = optim.adam(learning_rate, b1=0.8, b2=0.99, eps=1e-6)
    chain = optim.chain(optim.scale_by_adam(0.8, 0.99, 1e-6), optim.scale_by_learning_rate(learning_rate))
    s_fused, s_chain = fused.init(params), chain.init(params)
    assert fnn.tree.structure(s_fused) == fnn.tree.structure(s_chain)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    for step in range(4):
        grads = fnn.tree.map(lambda p: b.asarray(rng.standard_normal(np.shape(p))) * 10.0 ** (step - 2), params)
        u_fused, s_fused = fused.update(grads, s_fused, params)
        u_chain, s_chain = chain.update(grads, s_chain, params)
        for mine, theirs in zip(fnn.tree.leaves((u_fused, s_fused)), fnn.tree.leaves((u_chain, s_chain))):
            assert getattr(mine, "dtype", None) == getattr(theirs, "dtype", None)
            assert_allclose(host(mine), host(theirs), rtol=rtol, atol=0)
        if step == 0 and callable(learning_rate):  # η(0) = 0: no step, but the moments advance
            assert all(not np.any(host(u)) for u in fnn.tree.leaves(u_fused))
            assert np.any(host(s_fused[0].mu["w"]))
    assert s_fused[0].count == 4 and s_fused[1] == s_chain[1]


def test_fused_adam_matches_the_paper_formula_on_large_and_tiny_values() -> None:
    # u = −η m̂ / (√v̂ + ε), in float64 from Python floats, for gradients across 40 decades
    # (folding the corrections into scalars must neither overflow nor lose the ε term).
    lr, b1, b2, eps = 1e-5, 0.9, 0.999, 1e-8
    g_values = [1e-20, -3e-9, 1e-8, 0.5, -7.0, 1e15, -3e18]
    theta = [1.0] * len(g_values)
    expected = textbook_adam(theta, [g_values, [v / 3 for v in g_values]], lr, b1, b2, eps)
    opt = optim.adam(lr, b1=b1, b2=b2, eps=eps)
    b = f32()
    params = b.asarray(theta)
    state = opt.init(params)
    for grads in ([g_values], [[v / 3 for v in g_values]]):
        updates, state = opt.update(b.asarray(grads[0]), state, params)
        params = optim.apply_updates(params, updates)
    assert_allclose(host(params), expected, rtol=1e-6)


def test_fused_adam_passes_nan_through_at_a_zero_learning_rate() -> None:
    opt = optim.adam(optim.linear_warmup(0.1, 10))
    b = f32()
    params = b.asarray([1.0, 2.0])
    updates, _ = opt.update(b.asarray([float("nan"), 1.0]), opt.init(params), params)
    assert np.isnan(host(updates)[0]) and host(updates)[1] == 0


def test_fused_adam_with_a_tiny_learning_rate_gives_tiny_updates_not_nan() -> None:
    # Folding η = 1e-40 into √v would scale it by ~1e41: inf in float32, and inf · 0 = NaN
    # for a parameter whose gradient is 0.
    b = f32()
    params = b.asarray([1.0, 2.0, 3.0])
    grads = b.asarray([0.0, 1.0, -1.0])
    for eta in (1e-12, 1e-40):
        updates, _ = optim.adam(eta).update(grads, optim.adam(eta).init(params), params)
        assert_allclose(host(updates), [0.0, -eta, eta], rtol=1e-5, atol=0)


def test_fused_adam_refuses_a_state_of_one_part() -> None:
    opt = optim.adam(0.1)
    b = f32()
    with pytest.raises(
        fnn.StateError,
        match=r"^adam: chain of 2 transforms: the optimizer state is a tuple of \(ScaleByAdamState\), "
        r"expected a tuple of 2 states",
    ):
        opt.update(b.ones((1,)), (opt.init(b.ones((1,)))[0],))  # type: ignore[arg-type]


def test_adam_makes_three_arrays_per_leaf_and_no_more() -> None:
    # The new m, v and the update: on megabyte leaves every further array is a pass over memory
    # and fresh pages (the chain scale_by_adam → scale_by_learning_rate held four at its peak).
    if f32().name != "numpy":
        pytest.skip("tracemalloc sees NumPy's allocations only")
    import tracemalloc

    leaf = np.zeros((500, 400), np.float32)
    params, grads = {"w": leaf}, {"w": np.full_like(leaf, 0.5)}
    opt = optim.adam(1e-3)
    state = opt.update(grads, opt.init(params), params)[1]
    tracemalloc.start()
    try:
        updates, state = opt.update(grads, state, params)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert 3 * leaf.nbytes <= peak < 3.1 * leaf.nbytes
