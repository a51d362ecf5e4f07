"""Tests of the optimizer state a training loop controls: injected hyperparameters and reduce-on-plateau."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from typing_extensions import assert_type

import fnn
from fnn import optim
from fnn.optim import GradientTransformation, InjectHyperparamsState
from tests.helpers import assert_array_equal, host


def f32() -> fnn.Backend:
    return fnn.backend(dtype="float32")


def params_tree() -> Any:
    b = f32()
    return (fnn.DenseParams(b.asarray([[0.5, -1.0], [2.0, 0.25]]), b.asarray([0.5, 0.0])), {"a": b.asarray(3.0)})


def grads_tree(scale: float) -> Any:
    return fnn.tree.map(lambda p: p * np.float32(scale) + np.float32(0.25), params_tree())


def bits(tree: Any) -> list[bytes]:
    return [host(leaf).tobytes() for leaf in fnn.tree.leaves(tree)]


# --- inject_hyperparams ------------------------------------------------------------------------


def test_injected_adam_is_bit_for_bit_adam_and_follows_a_new_learning_rate() -> None:
    injected = optim.inject_hyperparams(optim.adam)(0.1, b2=0.99)
    assert_type(injected, GradientTransformation[InjectHyperparamsState[optim.AdamState]])
    plain = optim.adam(0.1, b2=0.99)
    params = params_tree()
    state, plain_state = injected.init(params), plain.init(params)
    assert state.hyperparams == {"learning_rate": 0.1, "b1": 0.9, "b2": 0.99, "eps": 1e-8}
    for step in range(3):
        u, state = injected.update(grads_tree(step - 1.0), state, params)
        v, plain_state = plain.update(grads_tree(step - 1.0), plain_state, params)
        assert bits(u) == bits(v) and bits(state.inner_state) == bits(plain_state)
    changed = optim.set_hyperparams(state, learning_rate=0.025)
    assert state.hyperparams["learning_rate"] == 0.1  # the old state is unchanged
    u, changed = injected.update(grads_tree(2.0), changed, params)
    v, _ = optim.adam(0.025, b2=0.99).update(grads_tree(2.0), plain_state, params)
    assert bits(u) == bits(v)
    assert changed.hyperparams["learning_rate"] == 0.025 and changed.inner_state[0].count == 4


def test_sgd_learning_rate_read_and_changed_through_a_chain() -> None:
    opt = optim.chain(optim.clip(10.0), optim.inject_hyperparams(optim.momentum)(0.5, beta=0.5))
    b = f32()
    state = opt.init(b.zeros((1,)))
    assert optim.hyperparams(state) == {"learning_rate": 0.5, "beta": 0.5}
    u, state = opt.update(b.asarray([2.0]), state)  # v = 2, u = −1
    assert_array_equal(u, [-1.0])
    state = optim.set_hyperparams(state, learning_rate=1, beta=0.25)  # ints become floats
    assert optim.hyperparams(state) == {"learning_rate": 1.0, "beta": 0.25}
    assert type(optim.hyperparams(state)["learning_rate"]) is float
    u, state = opt.update(b.asarray([2.0]), state)  # v = 0.25·2 + 2 = 2.5, u = −2.5
    assert_array_equal(u, [-2.5])


def test_injected_state_saves_and_resumes_bit_for_bit(tmp_path: Any) -> None:
    opt = optim.inject_hyperparams(optim.adamw)(0.1, weight_decay=0.5)
    params = params_tree()
    state = opt.init(params)
    _, state = opt.update(grads_tree(1.0), state, params)
    state = optim.set_hyperparams(state, learning_rate=0.05, weight_decay=0.25)
    fnn.io.save(tmp_path / "state.npz", state)
    plain = fnn.io.load(tmp_path / "state.npz")
    like = fnn.io.load(tmp_path / "state.npz", like=state)
    for loaded in (plain, like):
        assert type(loaded) is InjectHyperparamsState
        assert optim.hyperparams(loaded) == optim.hyperparams(state)
        u, _ = opt.update(grads_tree(-1.0), loaded, params)
        assert bits(u) == bits(opt.update(grads_tree(-1.0), state, params)[0])


def test_set_hyperparams_checks_its_values() -> None:
    state = optim.inject_hyperparams(optim.adam)(0.1).init(f32().zeros((1,)))
    with pytest.raises(fnn.errors.ArgumentError, match="set_hyperparams: `learning_rate` must be a real number, got '0.1'"):
        optim.set_hyperparams(state, learning_rate="0.1")  # type: ignore[arg-type]
    with pytest.raises(fnn.errors.ArgumentError, match="`b1` must be a real number, got True"):
        optim.set_hyperparams(state, b1=True)
    with pytest.raises(ValueError, match="set_hyperparams: `learning_rate` must be finite, got nan"):
        optim.set_hyperparams(state, learning_rate=float("nan"))
    with pytest.raises(
        fnn.StateError,
        match=r"set_hyperparams: no InjectHyperparamsState in the optimizer state holds \['lr'\]; they hold "
        r"\[\['b1', 'b2', 'eps', 'learning_rate'\]\]",
    ):
        optim.set_hyperparams(state, lr=0.1)
    with pytest.raises(fnn.StateError, match="no InjectHyperparamsState .* build the optimizer with fnn.optim.inject_hyperparams"):
        optim.set_hyperparams(optim.adam(0.1).init(f32().zeros((1,))), learning_rate=0.1)


def test_an_integer_hyperparameter_refuses_a_fraction() -> None:
    def every(k: int = 2) -> GradientTransformation[optim.EmptyState]:
        return optim.scale(1.0 / k)

    state = optim.inject_hyperparams(every)().init(None)
    assert optim.set_hyperparams(state, k=4).hyperparams == {"k": 4}
    with pytest.raises(fnn.errors.ArgumentError, match=r"set_hyperparams: `k` holds an integer \(2\), got 2.5"):
        optim.set_hyperparams(state, k=2.5)


def test_init_uses_the_arguments_given_not_values_set_since() -> None:
    opt = optim.inject_hyperparams(optim.scale_by_rss)(initial_accumulator_value=1.0)
    b = f32()
    changed = optim.set_hyperparams(opt.init(b.zeros((1,))), initial_accumulator_value=4.0)
    opt.update(b.ones((1,)), changed)  # builds scale_by_rss(initial_accumulator_value=4.0)
    fresh = opt.init(b.zeros((1,)))
    assert optim.hyperparams(fresh)["initial_accumulator_value"] == 1.0
    assert_array_equal(fresh.inner_state.sum_of_squares, [1.0])


def test_a_value_out_of_range_fails_at_the_next_update_with_the_factorys_message() -> None:
    opt = optim.inject_hyperparams(optim.sgd)(0.1)
    b = f32()
    state = optim.set_hyperparams(opt.init(b.zeros((1,))), learning_rate=-0.5)
    with pytest.raises(
        ValueError,
        match=r"inject_hyperparams\(sgd\): the hyperparameters in the state: `learning_rate` must be a positive finite number, got -0.5",
    ):
        opt.update(b.ones((1,)), state)


def test_inject_hyperparams_bad_use() -> None:
    with pytest.raises(TypeError, match="inject_hyperparams: `factory` must be a function returning an optimizer, got 0.1"):
        optim.inject_hyperparams(0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"inject_hyperparams\(adam\): got an unexpected keyword argument 'lr'"):
        optim.inject_hyperparams(optim.adam)(lr=0.1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"inject_hyperparams\(identity\): no numeric argument to hold in the state"):
        optim.inject_hyperparams(optim.identity)()
    with pytest.raises(
        TypeError,
        match=r"inject_hyperparams\(<lambda>\): the factory must take named arguments only, .* \(it has \['kwargs'\]\); wrap it",
    ):
        optim.inject_hyperparams(lambda **kwargs: optim.sgd(**kwargs))
    with pytest.raises(ValueError, match="`learning_rate` must be a positive finite number, got -1"):
        optim.inject_hyperparams(optim.adam)(-1)  # the factory checks its arguments at once
    opt = optim.inject_hyperparams(optim.adam)(0.1)
    other = optim.inject_hyperparams(optim.momentum)(0.1)
    params = (f32().zeros((2,)),)
    with pytest.raises(
        fnn.StateError,
        match=r"inject_hyperparams\(adam\): the state holds hyperparameters \['beta', 'learning_rate'\], this optimizer \['b1', 'b2', 'eps', 'learning_rate'\]",
    ):
        opt.update(params, other.init(params))  # type: ignore[arg-type]
    with pytest.raises(
        fnn.StateError, match=r"^inject_hyperparams\(adam\): the optimizer state is a tuple of \(ScaleByAdamState, EmptyState\), expected InjectHyperparamsState"
    ):
        opt.update(params, optim.adam(0.1).init(params))  # type: ignore[arg-type]


def test_hyperparams_needs_exactly_one_injected_state() -> None:
    b = f32()
    with pytest.raises(fnn.StateError, match="hyperparams: the optimizer state holds 0 InjectHyperparamsState, expected one; build"):
        optim.hyperparams(optim.adam().init(b.zeros((1,))))
    two = optim.chain(optim.inject_hyperparams(optim.clip)(1.0), optim.inject_hyperparams(optim.sgd)(0.1))
    state = two.init(b.zeros((1,)))
    with pytest.raises(fnn.StateError, match=r"holds 2 InjectHyperparamsState, expected one; read them with fnn.optim.find_states"):
        optim.hyperparams(state)
    found = optim.find_states(state, InjectHyperparamsState)
    assert [s.hyperparams for s in found] == [{"max_delta": 1.0}, {"learning_rate": 0.1}]


# --- reduce_on_plateau -------------------------------------------------------------------------


def scales(opt: GradientTransformation, values: list[float]) -> list[float]:
    """The plateau scale after observing each value."""
    state = opt.init(None)
    out = []
    for v in values:
        state = optim.observe(state, v)
        out.append(optim.find_states(state, optim.ReduceOnPlateauState)[0].scale)
    return out


def test_the_book_improved_language_model_divides_the_learning_rate_by_4_when_perplexity_does_not_improve() -> None:
    # BetterRnnlm's trainer: if best_ppl > ppl: best_ppl = ppl, else: lr /= 4.0 (lr = 20)
    opt = optim.chain(optim.sgd(20.0), optim.reduce_on_plateau(factor=0.25, patience=0))
    perplexities = [400.0, 250.0, 260.0, 180.0, 180.0, 170.0, 175.0, 176.0]
    lr, best, book = 20.0, float("inf"), []
    for ppl in perplexities:
        if best > ppl:
            best = ppl
        else:
            lr /= 4.0
        book.append(lr)
    assert book == [20.0, 20.0, 5.0, 5.0, 1.25, 1.25, 0.3125, 0.078125]
    b = f32()
    params = b.zeros((1,))
    state = opt.init(params)
    seen = []
    for ppl in perplexities:
        state = optim.observe(state, ppl)
        u, _ = opt.update(b.ones((1,)), state, params)
        seen.append(-float(u[0]))
    assert seen == book
    assert u.dtype == np.float32


def test_patience_cooldown_and_min_scale() -> None:
    opt = optim.reduce_on_plateau(factor=0.5, patience=1, cooldown=1, min_scale=0.2)
    # 1.0 best; 2 bad → reduce (0.5), cooldown eats the next bad one; then 2 bad → 0.25; then 0.2 (floor)
    values = [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 0.5, 0.6]
    assert scales(opt, values) == [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2]


def test_threshold_is_relative_to_the_best() -> None:
    opt = optim.reduce_on_plateau(factor=0.5, patience=0, threshold=0.1)
    # best 10: 9.5 is less than 10% better (bad), 8.5 is (best 8.5); 7.7 is not 10% below 8.5 (7.65)
    assert scales(opt, [10.0, 9.5, 8.5, 7.7]) == [1.0, 0.5, 0.5, 0.25]


def test_max_mode_for_an_accuracy() -> None:
    opt = optim.reduce_on_plateau(factor=0.5, patience=0, mode="max")
    assert scales(opt, [0.5, 0.7, 0.7, 0.9, 0.8]) == [1.0, 1.0, 0.5, 0.5, 0.25]


def test_observe_accepts_numbers_and_0d_arrays_and_counts_inf_as_no_improvement() -> None:
    opt = optim.reduce_on_plateau(factor=0.5, patience=0)
    state = opt.init(None)
    for value in (np.float32(2.0), f32().asarray(1.0), 1, float("inf")):
        state = optim.observe(state, value)
    assert (state.scale, state.best) == (0.25, 1.0)  # 1 equals the best: no improvement, nor inf
    assert type(state.best) is float


def test_observe_reaches_plateaus_nested_in_wrappers() -> None:
    inner = optim.chain(optim.adam(0.1), optim.reduce_on_plateau(factor=0.5, patience=0))
    opt = optim.chain(optim.clip(1.0), optim.inject_hyperparams(optim.scale)(1.0), optim.reduce_on_plateau(0.25, 0))
    state: Any = (opt.init(None), {"part": inner.init(None)})
    for v in (1.0, 2.0):
        state = optim.observe(state, v)
    assert [s.scale for s in optim.find_states(state, optim.ReduceOnPlateauState)] == [0.25, 0.5]


def test_a_reduced_scale_multiplies_every_update_and_keeps_dtypes() -> None:
    opt = optim.chain(optim.adam(0.1), optim.reduce_on_plateau(factor=0.5, patience=0))
    params = params_tree()
    state = optim.observe(optim.observe(opt.init(params), 1.0), 1.0)
    u, _ = opt.update(grads_tree(1.0), state, params)
    full, _ = optim.adam(0.1).update(grads_tree(1.0), state[0], params)
    assert bits(u) == bits(fnn.tree.map(lambda x: x * np.float32(0.5), full))
    assert all(leaf.dtype == np.float32 for leaf in fnn.tree.leaves(u))


def test_plateau_state_saves_and_loads(tmp_path: Any) -> None:
    opt = optim.chain(optim.sgd(1.0), optim.reduce_on_plateau(factor=0.5, patience=1, cooldown=2, mode="max"))
    state = opt.init(None)
    for v in (0.5, 0.4, 0.3):
        state = optim.observe(state, v)
    fnn.io.save(tmp_path / "s.npz", state)
    for loaded in (fnn.io.load(tmp_path / "s.npz"), fnn.io.load(tmp_path / "s.npz", like=state)):
        assert loaded == state


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: optim.reduce_on_plateau(factor=1.0), ValueError, r"`factor` must be in \(0, 1\), got 1.0"),
        (lambda: optim.reduce_on_plateau(factor=0.0), ValueError, "`factor` must be a positive finite number, got 0.0"),
        (lambda: optim.reduce_on_plateau(patience=-1), ValueError, "`patience` must be an integer >= 0, got -1"),
        (lambda: optim.reduce_on_plateau(patience=1.5), ValueError, "`patience` must be an integer >= 0, got 1.5"),  # type: ignore[arg-type]
        (lambda: optim.reduce_on_plateau(cooldown=True), ValueError, "`cooldown` must be an integer >= 0, got True"),
        (lambda: optim.reduce_on_plateau(mode="minimum"), ValueError, "`mode` must be 'min' or 'max', got 'minimum'"),  # type: ignore[arg-type]
        (lambda: optim.reduce_on_plateau(threshold=-0.1), ValueError, "`threshold` must be a finite number >= 0"),
        (lambda: optim.reduce_on_plateau(min_scale=2.0), ValueError, r"`min_scale` must be in \[0, 1\], got 2.0"),
    ],
)
def test_reduce_on_plateau_bad_arguments(make: Callable[[], Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        make()


def test_observe_bad_values() -> None:
    state = optim.reduce_on_plateau().init(None)
    with pytest.raises(TypeError, match=r"observe: `value` must be one real number \(the monitored metric\), got an array of shape \(2,\)"):
        optim.observe(state, f32().ones((2,)))
    with pytest.raises(TypeError, match="got 'low'"):
        optim.observe(state, "low")
    with pytest.raises(TypeError, match="got True"):
        optim.observe(state, True)
    with pytest.raises(TypeError, match="got np.True_"):
        optim.observe(state, np.True_)
    with pytest.raises(ValueError, match=r"observe: `value` is nan; .*did training diverge\?"):
        optim.observe(state, float("nan"))
    with pytest.raises(fnn.StateError, match="observe: the optimizer state holds no ReduceOnPlateauState; chain fnn.optim.reduce_on_plateau"):
        optim.observe(optim.adam().init(f32().zeros((1,))), 1.0)
    with pytest.raises(fnn.StateError, match="^reduce_on_plateau: the optimizer state is EmptyState, expected ReduceOnPlateauState"):
        optim.reduce_on_plateau().update(f32().ones((1,)), optim.EmptyState())  # type: ignore[arg-type]
