"""fit, accuracy and evaluate under faults: Ctrl-C, overflowing updates, misread targets, bad arguments."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pytest

import fnn
from fnn.errors import ArgumentError
from fnn.losses import Loss
from fnn.train import DivergenceError, FitInterrupted
from tests.helpers import host
from tests.test_train import leaves_equal, small_problem

SCE = fnn.losses.softmax_cross_entropy


class Faulty(Loss):
    """Softmax cross entropy that raises ``KeyboardInterrupt`` on its ``stop_at``-th call (counting from 1)
    and returns a NaN loss on its ``nan_at``-th call, as a Ctrl-C and a bad batch would."""

    accepts_labels = True

    def __init__(self, stop_at: int, nan_at: int = 0) -> None:
        self.stop_at, self.nan_at, self.calls = stop_at, nan_at, 0

    def compute(self, y: Any, t: Any) -> tuple[Any, Any]:
        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        value, grad = SCE.compute(y, t)
        return (value * np.nan if self.calls == self.nan_at else value), grad


def fit(loss: Loss, epochs: int = 3, **kwargs: Any) -> fnn.train.FitResult[Any]:
    """The spiral network with Adam, 60 samples in 3 batches of 20 per epoch."""
    model, params, x, t = small_problem()
    return fnn.fit(
        model, loss, fnn.optim.adam(0.05), params, x, t, key=fnn.random.key(3), epochs=epochs,
        batch_size=20, progress=False, **kwargs,
    )


def by_hand(steps: int) -> tuple[Any, Any]:
    """``steps`` steps of the loop ``fit`` runs, written with the public pieces (module docstring)."""
    model, params, x, t = small_problem()
    opt = fnn.optim.adam(0.05)
    opt_state = opt.init(params)
    step = fnn.value_and_grad(model, SCE)
    done = 0
    for epoch in range(3):
        shuffle_key, _ = fnn.random.split(fnn.random.fold_in(fnn.random.key(3), epoch))
        for xb, tb in fnn.batches(shuffle_key, x, t, batch_size=20):
            if done == steps:
                return params, opt_state
            _, grads = step(params, xb, tb)
            updates, opt_state = opt.update(grads, opt_state, params)
            params = fnn.optim.apply_updates(params, updates)
            done += 1
    return params, opt_state


# --- Ctrl-C --------------------------------------------------------------------------------------


def test_ctrl_c_mid_epoch_keeps_every_completed_step() -> None:
    with pytest.raises(FitInterrupted, match=r"interrupted in epoch 2/3 after 1 of its steps") as info:
        fit(Faulty(stop_at=5))  # calls 1-3: epoch 1; call 4: the first step of epoch 2
    stop = info.value
    assert isinstance(stop, KeyboardInterrupt) and not isinstance(stop, Exception)
    assert (stop.epoch, stop.step) == (1, 1)
    params, opt_state = by_hand(4)
    assert leaves_equal(stop.result.params, params)
    assert stop.result.opt_state[0].count == opt_state[0].count == 4
    assert leaves_equal(stop.result.opt_state, opt_state)
    whole = fit(SCE, epochs=2).history  # epoch 1 and the first step of epoch 2, measured as fit measures them
    assert stop.result.history == attrs.evolve(fit(SCE, epochs=1).history, step_loss=whole.step_loss[:4])


def test_ctrl_c_between_epochs_returns_the_completed_epochs() -> None:
    stop_in_eval = Faulty(stop_at=8)  # each epoch: 3 steps and one evaluation call; 8 is epoch 2's
    model, _, x, t = small_problem()
    with pytest.raises(FitInterrupted) as info:
        fit(stop_in_eval, eval_data=(x, t))
    stop = info.value
    assert (stop.epoch, stop.step) == (1, 3)  # epoch 2's steps are applied, its evaluation was cut
    assert leaves_equal(stop.result.params, by_hand(6)[0])
    complete = fit(SCE, epochs=1, eval_data=(x, t)).history
    steps = fit(SCE, epochs=2).history.step_loss[:6]  # epoch 2's steps are recorded, not its metrics
    assert stop.result.history == attrs.evolve(complete, step_loss=steps) and len(complete.eval_loss) == 1


def test_ctrl_c_after_a_non_finite_step_keeps_the_epochs_start() -> None:
    with pytest.raises(FitInterrupted, match="after 0 of its steps") as info:
        fit(Faulty(stop_at=6, nan_at=5))
    stop = info.value
    assert (stop.epoch, stop.step) == (1, 0)
    assert leaves_equal(stop.result.params, by_hand(3)[0])
    assert all(np.isfinite(host(leaf)).all() for leaf in fnn.tree.leaves(stop.result.params))


def test_ctrl_c_keeps_the_model_state() -> None:
    model = fnn.sequential(fnn.Dense(8), fnn.BatchNorm(), fnn.relu, fnn.Dense(3))
    _, _, x, t = small_problem()
    params = model.init(fnn.random.key(1), (2,))
    state = model.init_state((2,))
    args: tuple[Any, ...] = (model, Faulty(stop_at=4), fnn.optim.sgd(0.1), params, x, t)
    with pytest.raises(FitInterrupted) as info:
        fnn.fit(*args, key=fnn.random.key(0), epochs=2, batch_size=20, state=state, progress=False)
    one_epoch = fnn.fit(
        model, SCE, fnn.optim.sgd(0.1), params, x, t, key=fnn.random.key(0), epochs=1, batch_size=20,
        state=state, progress=False,
    )
    assert leaves_equal(info.value.result.state, one_epoch.state)
    assert not leaves_equal(one_epoch.state, state)


# --- finite params ------------------------------------------------------------------------------


@pytest.mark.parametrize("epochs", [1, 2])
def test_an_overflowing_last_update_is_a_divergence_with_finite_params(epochs: int) -> None:
    x = fnn.default_backend().asarray(np.linspace(-1, 1, 8).reshape(-1, 1))
    model = fnn.sequential(fnn.Dense(1))
    params = model.init(fnn.random.key(0), (1,))
    # one step per epoch; its loss is finite, its update −η·g overflows float32 to inf
    with pytest.raises(DivergenceError, match=r"parameters became NaN or infinite in epoch 1/") as info:
        with np.errstate(over="ignore", invalid="ignore"):
            fnn.fit(model, fnn.losses.mse, fnn.optim.sgd(1e38), params, x, 1e3 * x, key=fnn.random.key(0),
                    epochs=epochs, batch_size=8, progress=False)
    error = info.value
    assert (error.epoch, error.step) == (1, 1)
    assert leaves_equal(error.params, params)
    assert all(np.isfinite(host(leaf)).all() for leaf in fnn.tree.leaves(error.params))


def test_non_finite_initial_params_are_refused() -> None:
    model, params, x, t = small_problem()
    w = host(params[2].w).copy()
    w[1, 2] = np.inf
    bad = (params[0], params[1], fnn.DenseParams(fnn.array_module(params[2].w).asarray(w), params[2].b))
    with pytest.raises(fnn.TrainingError, match=r"initial params\[2\]\.w hold NaN or infinite values"):
        fnn.fit(model, SCE, fnn.optim.sgd(0.1), bad, x, t, key=fnn.random.key(0), epochs=1, batch_size=20,
                progress=False)


# --- accuracy and evaluate read targets exactly ------------------------------------------------


def test_accuracy_reads_integer_one_hot_and_refuses_misreadable_targets() -> None:
    model, params, x, t = small_problem()
    params = fit(SCE, epochs=3).params
    labels = host(t).argmax(axis=1)
    right = float(np.mean(host(model.apply(params, x)).argmax(axis=1) == labels))
    assert 0 < right < 1
    b = fnn.array_module(x)
    for one_hot in (t, b.asarray(host(t).astype(np.int64)), b.asarray(host(t).astype(bool))):
        assert fnn.accuracy(model, params, x, one_hot, batch_size=7) == right
        e = fnn.evaluate(model, params, x, one_hot, loss=SCE, batch_size=7)
        assert e.accuracy == right
    with pytest.raises(fnn.DTypeError, match=r"accuracy: class labels of shape \(N,\) must have an integer"):
        fnn.accuracy(model, params, x, b.asarray(labels.astype(np.float32)))
    with pytest.raises(fnn.DTypeError, match=r"evaluate: class labels .* got float64"):
        fnn.evaluate(model, params, x, b.asarray(labels.astype(np.float64)), loss=SCE)
    column = b.asarray(labels.reshape(-1, 1))
    for call in (lambda: fnn.accuracy(model, params, x, column),
                 lambda: fnn.evaluate(model, params, x, column, loss=SCE)):
        with pytest.raises(fnn.ShapeError, match=r"shape \(60, 1\) are neither .* pass t.reshape\(-1\)"):
            call()


@pytest.mark.parametrize(
    "loss",
    [fnn.losses.mse, fnn.losses.mae, fnn.losses.rmse, fnn.losses.huber, fnn.losses.binary_cross_entropy,
     fnn.losses.sigmoid_binary_cross_entropy, fnn.losses.categorical_cross_entropy, SCE],
    ids=repr,
)
def test_evaluate_in_batches_equals_the_loss_of_the_whole_data(loss: Loss) -> None:
    b = fnn.backend(dtype="float64")
    last = fnn.softmax if loss.accepts_labels else fnn.sigmoid  # probabilities for the cross entropies
    model = fnn.sequential(fnn.Dense(3), last)
    params = model.init(fnn.random.key(0), (2,), b)
    x = b.asarray(np.random.default_rng(0).normal(size=(20, 2)))
    t = b.asarray(np.eye(3)[np.arange(20) % 3]) if loss.accepts_labels else model.apply(params, x[::-1])
    whole = float(loss(model.apply(params, x), t))
    for size in (1, 7, 20):
        batched = fnn.evaluate(model, params, x, t, loss=loss, batch_size=size).loss
        assert batched == pytest.approx(whole, rel=1e-12)


def test_the_epoch_loss_of_rmse_is_the_rmse_of_the_samples() -> None:
    _, _, x, _ = small_problem()
    model = fnn.sequential(fnn.Dense(1))
    params = model.init(fnn.random.key(0), (2,))
    t = x[:, :1] * 3
    history = fnn.fit(model, fnn.losses.rmse, fnn.optim.sgd(1e-30), params, x, t, key=fnn.random.key(0),
                      epochs=1, batch_size=7, progress=False).history  # a step too small to move a param
    assert history.loss[0] == pytest.approx(float(fnn.losses.rmse(model.apply(params, x), t)), rel=1e-6)


# --- clear errors -------------------------------------------------------------------------------


def test_fit_names_a_wrong_kind_of_argument_and_the_fix() -> None:
    model, params, x, t = small_problem()

    def run(model: Any, loss: Any, optimizer: Any) -> Any:
        return fnn.fit(model, loss, optimizer, params, x, t, key=fnn.random.key(0), epochs=1, batch_size=20,
                       progress=False)

    def plain_loss(y: Any, t: Any) -> Any:
        return ((y - t) ** 2).mean()

    with pytest.raises(ArgumentError, match=r"fit: `loss` must be an fnn.losses.Loss .*plain_loss"):
        run(model, plain_loss, fnn.optim.sgd(0.1))
    with pytest.raises(TypeError, match=r"fit: `optimizer` .* got 'adam'; build one, e.g. fnn.optim.adam\("):
        run(model, SCE, "adam")
    with pytest.raises(TypeError, match=r"fit: `optimizer` .* got 'ada'; build one, e.g. fnn.optim.sgd\("):
        run(model, SCE, "ada")
    with pytest.raises(ArgumentError, match=r"fit: `optimizer` must be .* got None"):
        run(model, SCE, None)
    with pytest.raises(ArgumentError, match=r"fit: `model` must be an fnn layer, .*fnn.sequential\("):
        run(fnn.functional.relu, SCE, fnn.optim.sgd(0.1))
    with pytest.raises(ArgumentError, match=r"accuracy: `model` must be an fnn layer"):
        fnn.accuracy(fnn.functional.relu, params, x, t)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"evaluate: `loss` must be an fnn.losses.Loss"):
        fnn.evaluate(model, params, x, t, loss=plain_loss)  # type: ignore[arg-type]


def test_fit_error_messages_never_embed_the_data() -> None:
    model, params, x, t = small_problem()
    data: Any = [[0.5, 0.5]] * 100_000
    opt = fnn.optim.sgd(0.1)
    with pytest.raises(fnn.ShapeError, match=r"expected arrays .* a list \[\[0\.5, 0\.5\], ") as info:
        fnn.fit(model, SCE, opt, params, data, t, key=fnn.random.key(0), epochs=1, batch_size=20)
    assert len(str(info.value)) < 300
    epochs: Any = [1] * 100_000
    with pytest.raises(ValueError, match=r"`epochs` must be .* got \[1, 1, 1, 1, 1, 1, \.\.\.\]$"):
        fnn.fit(model, SCE, opt, params, x, t, key=fnn.random.key(0), epochs=epochs, batch_size=20)
