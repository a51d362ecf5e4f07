"""``fnn.train_step`` and ``fnn.optim.owned``: the same values as the hand-written loop, and an update
array written over only when nothing else can see it."""

from __future__ import annotations

from typing import Any, Literal

import attrs
import numpy as np
import pytest

import fnn
from fnn import optim
from fnn.optim import GradientTransformation
from fnn.optim.owned import MIN_SIZE, _sole_count, apply_owned_updates, scale_and_add_owned
from tests.helpers import assert_array_equal, host

LOSS = fnn.losses.softmax_cross_entropy
BIG = 300  # 300·300 = 90,000 ≥ MIN_SIZE elements: the hidden layer's weight is written over
assert BIG * BIG >= MIN_SIZE > 20 * BIG


def _model() -> fnn.Sequential:
    return fnn.sequential(fnn.Dense(BIG), fnn.relu, fnn.Dense(BIG), fnn.relu, fnn.Dense(3))


def _data(order: Literal["C", "F"] = "C") -> tuple[Any, Any]:
    xp = fnn.backend()
    x = xp.asarray(np.asarray(np.random.default_rng(0).normal(size=(8, 20)), dtype=np.float32, order=order))
    return x, xp.asarray(np.arange(8) % 3, "int64")


def _address(a: Any) -> int:
    return int(a.__array_interface__["data"][0])


def _numpy_only() -> None:
    if fnn.default_backend().name != "numpy":
        pytest.skip("updates are written over only on the NumPy backend")


def _recording(addresses: list[list[int]]) -> GradientTransformation[Any]:
    """A transform that passes updates through and notes where each lives (holding no reference)."""

    def update(grads: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        addresses.append([_address(u) for u in fnn.tree.leaves(grads)])
        return grads, state

    return GradientTransformation(lambda params: None, update)


@pytest.mark.parametrize(
    "make",
    [
        lambda: optim.sgd(0.1),
        lambda: optim.sgd(lambda count: 0.1 / (count + 1)),
        lambda: optim.momentum(0.1),
        lambda: optim.adam(0.01),
        optim.identity,
    ],
    ids=["sgd", "sgd-schedule", "momentum", "adam", "identity"],
)
def test_train_step_equals_the_hand_written_loop_bit_for_bit(make: Any) -> None:
    model, opt = _model(), make()
    x, t = _data()
    params = model.init(fnn.random.key(0), (20,))
    vg = fnn.value_and_grad(model, LOSS)
    step = fnn.train_step(model, LOSS, opt)
    p_loop, s_loop = params, opt.init(params)
    p_step, s_step = params, opt.init(params)
    for _ in range(3):
        loss_loop, grads = vg(p_loop, x, t)
        updates, s_loop = opt.update(grads, s_loop, p_loop)
        p_loop = optim.apply_updates(p_loop, updates)
        p_step, s_step, loss_step = step(p_step, s_step, x, t)
        assert float(loss_step) == float(loss_loop)
    for a, b in zip(fnn.tree.leaves((p_loop, s_loop)), fnn.tree.leaves((p_step, s_step))):
        assert_array_equal(b, a)
    if make is not optim.identity:  # (the identity adds the gradient: ascent)
        assert float(loss_step) < float(vg(params, x, t)[0])  # it trains


def test_train_step_leaves_its_inputs_alone_and_takes_read_only_and_f_ordered_ones() -> None:
    model, opt = _model(), optim.momentum(0.1)
    x, t = _data("F")
    params = model.init(fnn.random.key(0), (20,))
    state = opt.init(params)
    params, state, _ = fnn.train_step(model, LOSS, opt)(params, state, x, t)  # a non-empty velocity
    before = [host(a).copy() for a in fnn.tree.leaves((params, state, x, t))]
    if fnn.default_backend().name == "numpy":
        for a in fnn.tree.leaves((params, state, x, t)):
            a.flags.writeable = False
    new_params, new_state, _ = fnn.train_step(model, LOSS, opt)(params, state, x, t)
    for a, b in zip(fnn.tree.leaves((params, state, x, t)), before):
        assert_array_equal(a, b)
    for new, old in zip(fnn.tree.leaves((new_params, new_state)), fnn.tree.leaves((params, state))):
        assert not np.shares_memory(host(new), host(old))


def test_the_large_updates_become_the_new_params_and_the_small_ones_do_not() -> None:
    _numpy_only()
    addresses: list[list[int]] = []
    opt = optim.chain(optim.sgd(0.1), _recording(addresses))
    model = _model()
    params = model.init(fnn.random.key(0), (20,))
    new, _, _ = fnn.train_step(model, LOSS, opt)(params, opt.init(params), *_data())
    written_over = [_address(p) == a for p, a in zip(fnn.tree.leaves(new), addresses[0])]
    sizes = [p.size for p in fnn.tree.leaves(new)]
    assert written_over == [size >= MIN_SIZE for size in sizes] == [False, False, True, False, False, False]


def test_fit_writes_the_new_params_over_its_updates_too() -> None:
    _numpy_only()
    addresses: list[list[int]] = []
    opt = optim.chain(optim.sgd(0.1), _recording(addresses))
    model = _model()
    x, t = _data()
    params = model.init(fnn.random.key(0), (20,))
    result = fnn.fit(
        model, LOSS, opt, params, x, t, key=fnn.random.key(1), epochs=1, batch_size=8, progress=False
    )
    assert _address(result.params[2].w) == addresses[-1][2]


def _recording_sgd(addresses: list[list[int]]) -> GradientTransformation[Any]:
    """``sgd(0.1)`` whose ``step_owned`` notes where each gradient it is given lives."""
    sgd = optim.sgd(0.1)
    step_owned = sgd.step_owned
    assert step_owned is not None

    def recorded(grads: Any, state: Any, params: Any) -> tuple[Any, Any]:
        addresses.append([_address(g) for g in fnn.tree.leaves(grads)])
        return step_owned(grads, state, params)

    return GradientTransformation(sgd.init, sgd.update, recorded)


def test_with_sgd_the_large_gradients_become_the_updates_and_then_the_new_params() -> None:
    _numpy_only()
    addresses: list[list[int]] = []
    model, opt = _model(), _recording_sgd(addresses)
    x, t = _data()
    params = model.init(fnn.random.key(0), (20,))
    new, _, _ = fnn.train_step(model, LOSS, opt)(params, opt.init(params), x, t)
    assert _address(new[2].w) == addresses[0][2]  # (a small leaf's fresh array may reuse a freed address)
    result = fnn.fit(
        model, LOSS, opt, params, x, t, key=fnn.random.key(1), epochs=1, batch_size=8, progress=False
    )
    assert _address(result.params[2].w) == addresses[-1][2]
    for a, b in zip(fnn.tree.leaves(new), fnn.tree.leaves(result.params)):
        np.testing.assert_allclose(host(b), host(a), rtol=1e-5, atol=1e-7)  # one step on the batch, shuffled


def test_which_transforms_step_with_the_gradients_they_are_given() -> None:
    scaling: list[GradientTransformation[Any]] = [
        optim.sgd(0.1),
        optim.sgd(lambda count: 0.1),
        optim.scale(2.0),
    ]
    others: list[GradientTransformation[Any]] = [
        optim.momentum(0.1),
        optim.adam(0.01),
        optim.chain(optim.clip(1.0), optim.sgd(0.1)),
    ]
    assert all(opt.step_owned is not None for opt in scaling)
    assert all(opt.step_owned is None for opt in others)
    sgd = optim.sgd(0.1)
    assert sgd.step_owned is not None
    with pytest.raises(fnn.StateError, match="^sgd: scale: the optimizer state is ScaleByScheduleState"):
        sgd.step_owned(_params(), optim.sgd(lambda count: 0.1).init(None), _params())


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_scale_and_add_owned_writes_over_gradients_only_it_holds_with_the_values_of_the_loop(
    dtype: Any,
) -> None:
    rng = np.random.default_rng(0)
    values = [rng.normal(size=(BIG, BIG)).astype(dtype) for _ in range(8)]
    params: dict[str, Any] = {"a": values[0], "b": [values[1]], "c": (values[2],), "d": _KeepState(values[3])}
    grads: dict[str, Any] = {"a": values[4].copy(), "b": [values[5].copy()], "c": (values[6].copy(),)}
    grads["d"] = _KeepState(values[7].copy())
    addresses = [_address(g) for g in fnn.tree.leaves(grads)]
    new = scale_and_add_owned(params, grads, -0.37)
    del grads
    expected = optim.apply_updates(
        params,
        fnn.tree.map(
            lambda g: g * -0.37,
            {"a": values[4], "b": [values[5]], "c": (values[6],), "d": _KeepState(values[7])},
        ),
    )
    for got, want in zip(fnn.tree.leaves(new), fnn.tree.leaves(expected)):
        assert got.dtype == dtype
        assert_array_equal(got, want)
    written_over = [_address(g) == a for g, a in zip(fnn.tree.leaves(new), addresses)]
    assert written_over == [
        True,
        False,
        False,
        True,
    ]  # a list's or a tuple's leaves never are (their walk holds more)


class _Sub(np.ndarray):
    """An ndarray subclass: its arithmetic may differ, so it gets a fresh product."""


def test_scale_and_add_owned_writes_over_no_view_shared_repeated_read_only_small_integer_or_subclassed_array() -> (
    None
):
    base = np.ones((2, BIG, BIG), np.float32)
    shared = np.ones((BIG, BIG), np.float32)
    grads: dict[str, Any] = {
        "view": base[0],
        "shared": shared,
        "read_only": np.ones((BIG, BIG), np.float32),
        "small": np.ones(MIN_SIZE - 1, np.float32),
        "integer": np.ones((BIG, BIG), np.int64),
        "subclass": _Sub((BIG, BIG), np.float32),
        "f_ordered": np.asfortranarray(np.ones((BIG, BIG), np.float32)),
        "float64": np.ones((BIG, BIG), np.float64),
    }
    grads["subclass"].fill(1)
    grads["read_only"].flags.writeable = False
    twice = np.ones((BIG, BIG), np.float32)
    grads["twice"] = grads["twice_again"] = twice
    del twice  # held by the two places in the tree alone
    params = {name: np.zeros(g.shape, np.float32) for name, g in grads.items()}
    addresses = {name: _address(g) for name, g in grads.items()}
    new = scale_and_add_owned(params, grads, 2.0)  # (`grads` keeps the originals alive: no address is reused)
    for name, g in grads.items():
        assert _address(new[name]) != addresses[name], name
        assert new[name].dtype == params[name].dtype and new[name].flags.c_contiguous, name
        assert_array_equal(new[name], np.full(g.shape, 2, params[name].dtype))
        assert (g == 1).all(), name


def test_scale_and_add_owned_gives_the_errors_of_sgds_update_and_apply_updates() -> None:
    sgd = optim.sgd(0.5)
    for grads in ({"a": None, "b": np.ones((BIG, BIG), np.float32)}, {"a": (np.ones((BIG, BIG), np.float32),)}):
        with pytest.raises(Exception) as expected:
            optim.apply_updates(_params(), sgd.update(grads, sgd.init(None))[0])
        with pytest.raises(type(expected.value)) as got:
            scale_and_add_owned(_params(), grads, -0.5)
        assert str(got.value) == str(expected.value)


def test_scale_and_add_owned_gives_the_errors_of_apply_updates() -> None:
    integer = {"a": np.zeros((BIG, BIG), np.int64), "b": np.zeros(3, np.int64)}
    with pytest.raises(fnn.DTypeError, match=r"^apply_updates: updates\['a'\] has dtype float64, params\['a'\] has int64"):
        scale_and_add_owned(integer, {"a": np.ones((BIG, BIG), np.int64), "b": np.ones(3, np.int64)}, 0.5)
    with pytest.raises(fnn.DTypeError, match=r"^apply_updates: updates\['a'\] has dtype float64, params\['a'\] has int64"):
        scale_and_add_owned({"a": integer["a"]}, {"a": np.ones((BIG, BIG))}, 0.5)  # the same layout
    for grads in (
        {"a": np.ones((BIG, BIG), np.float32), "b": np.ones((BIG, 1), np.float32)},
        {"a": np.ones(3)},
    ):
        with pytest.raises(Exception) as expected:
            optim.apply_updates(_params(), grads)
        with pytest.raises(type(expected.value), match="^apply_updates: ") as got:
            scale_and_add_owned(_params(), grads, 1.0)
        assert str(got.value) == str(expected.value)


@attrs.frozen
class _KeepState:
    kept: Any


def _keeping_updates() -> GradientTransformation[Any]:
    """SGD that also keeps its updates in its state: the same arrays, and the same container."""

    def update(grads: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        updates = fnn.tree.map(lambda g: g * -0.1, grads)
        return updates, _KeepState(updates)

    return GradientTransformation(lambda params: _KeepState(None), update)


def test_updates_the_optimizer_state_holds_are_never_written_over() -> None:
    model, opt = _model(), _keeping_updates()
    params = model.init(fnn.random.key(0), (20,))
    new, state, _ = fnn.train_step(model, LOSS, opt)(params, opt.init(params), *_data())
    for p, u, q in zip(fnn.tree.leaves(params), fnn.tree.leaves(state.kept), fnn.tree.leaves(new)):
        assert_array_equal(q, host(p) + host(u))  # the kept updates are still the updates
        assert not np.shares_memory(host(q), host(u))


_FROZEN_GRAD = np.ones((BIG, BIG), np.float32)


@attrs.frozen
class _Shift(fnn.layers.core.Layer[Any]):
    """``y = x + c`` with a learned ``c`` whose gradient is always the same module-level array."""

    def init(self, key: Any, in_shape: Any, backend: Any = None) -> Any:
        return {"c": np.full((BIG, BIG), 5.0, np.float32)}

    def out_shape(self, in_shape: Any) -> Any:
        return in_shape

    def apply(self, params: Any, x: Any) -> Any:
        return x + params["c"]

    def forward(self, params: Any, x: Any) -> tuple[Any, Any]:
        return self.apply(params, x), None

    def grad(self, params: Any, residuals: Any, dy: Any) -> tuple[Any, Any]:
        return {"c": _FROZEN_GRAD}, dy


@pytest.mark.parametrize(
    "make, shift", [(optim.identity, 1.0), (lambda: optim.sgd(0.5), -0.5)], ids=["identity", "sgd"]
)
def test_a_gradient_or_update_a_layer_holds_elsewhere_is_never_written_over(make: Any, shift: float) -> None:
    _numpy_only()
    model, opt = fnn.sequential(_Shift(), fnn.Dense(3)), make()
    x = np.ones((2, BIG, BIG), np.float32)
    params = model.init(fnn.random.key(0), (BIG, BIG))
    new, _, _ = fnn.train_step(model, fnn.losses.mse, opt)(
        params, opt.init(params), x, np.zeros((2, BIG, 3), np.float32)
    )
    assert_array_equal(_FROZEN_GRAD, np.ones((BIG, BIG), np.float32))
    assert_array_equal(new[0]["c"], np.full((BIG, BIG), 5.0 + shift, np.float32))


def _params() -> dict[str, Any]:
    return {"a": np.zeros((BIG, BIG), np.float32), "b": np.full((BIG, BIG), 2.0, np.float32)}


def test_a_view_a_repeated_array_and_a_read_only_array_are_never_written_over() -> None:
    base = np.ones((2, BIG, BIG), np.float32)
    read_only = np.ones((BIG, BIG), np.float32)
    read_only.flags.writeable = False
    for updates in ({"a": base[0], "b": base[1]}, {"a": read_only, "b": read_only.copy()}):
        new = apply_owned_updates(_params(), updates, None)
        assert_array_equal(new["a"], np.ones((BIG, BIG), np.float32))
        assert_array_equal(new["b"], np.full((BIG, BIG), 3.0, np.float32))
    assert_array_equal(base, np.ones((2, BIG, BIG), np.float32))
    assert_array_equal(read_only, np.ones((BIG, BIG), np.float32))
    twice = np.ones((BIG, BIG), np.float32)
    new = apply_owned_updates(_params(), {"a": twice, "b": twice}, None)
    assert_array_equal(twice, np.ones((BIG, BIG), np.float32))
    assert not np.shares_memory(new["a"], twice) and not np.shares_memory(new["b"], twice)


def test_an_update_in_another_memory_layout_gives_a_new_array_in_the_params_layout() -> None:
    f_ordered = np.asfortranarray(np.ones((BIG, BIG), np.float32))
    new = apply_owned_updates(_params(), {"a": f_ordered, "b": np.ones((BIG, BIG), np.float32)}, None)
    assert new["a"].flags.c_contiguous and not np.shares_memory(new["a"], f_ordered)
    assert_array_equal(new["a"], np.ones((BIG, BIG), np.float32))


def test_an_update_of_another_dtype_gives_a_new_array_in_the_params_dtype() -> None:
    new = apply_owned_updates(
        _params(), {"a": np.ones((BIG, BIG)), "b": np.ones((BIG, BIG), np.float32)}, None
    )
    assert new["a"].dtype == np.float32 and float(new["a"][0, 0]) == 1.0
    assert float(new["b"][0, 0]) == 3.0


def test_wrong_updates_get_the_errors_of_apply_updates() -> None:
    wrong: list[Any] = [
        {"a": np.ones((BIG, BIG), np.float32), "b": np.ones((BIG, 1), np.float32)},
        {"a": np.ones((BIG, BIG), np.float32)},
        {"a": np.ones((BIG, BIG), np.float32), "b": np.ones((BIG, BIG), np.int64)},
    ]
    for updates in wrong:
        with pytest.raises(Exception) as expected:
            optim.apply_updates(_params(), updates)
        with pytest.raises(type(expected.value), match="^apply_updates: ") as got:
            apply_owned_updates(_params(), updates, None)
        assert str(got.value) == str(expected.value)


def test_reference_counts_are_read_on_this_interpreter() -> None:
    assert _sole_count() is not None


def test_train_step_refuses_a_model_with_running_state() -> None:
    model = fnn.sequential(fnn.Dense(4), fnn.BatchNorm(), fnn.Dense(3))
    params = model.init(fnn.random.key(0), (20,))
    opt = optim.sgd(0.1)
    with pytest.raises(fnn.StateError, match="value_grad_and_state"):
        fnn.train_step(model, LOSS, opt)(params, opt.init(params), *_data())
