"""Tests of the training loop's issue-15 features: step history, book log lines, callbacks, early stopping,
evaluation every k steps or on a sample, streams of batches, plateau schedules and non-finite policies."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Iterator

import attrs
import numpy as np
import pytest

import fnn
from fnn.train import BookLog, Callback, EarlyStopping, Event, History, Stop
from tests.helpers import host
from tests.test_train import leaves_equal, small_problem
from tests.test_train_hardening import Faulty, by_hand

SCE = fnn.losses.softmax_cross_entropy


def fit(epochs: int = 3, **kwargs: Any) -> fnn.train.FitResult[Any]:
    """The spiral network with Adam, 60 samples in 3 batches of 20 per epoch (as tests/test_train_hardening)."""
    model, params, x, t = small_problem()
    arrays = {} if "data" in kwargs else {"x": x, "t": t, "batch_size": 20}
    return fnn.fit(
        model, kwargs.pop("loss", SCE), fnn.optim.adam(0.05), params, key=fnn.random.key(3), epochs=epochs,
        progress=False, **arrays, **kwargs,
    )


# --- per-step history ----------------------------------------------------------------------------


def test_every_step_loss_is_recorded_and_the_epoch_loss_is_their_mean() -> None:
    history = fit().history
    assert history.steps == 9 and history.epoch_end == (3, 6, 9)
    model, params, x, t = small_problem()
    xb, tb = first_batch(x, t)
    assert history.step_loss[0] == float(SCE(model.apply(params, xb), tb))  # step 1's, on the first batch
    for epoch in range(3):
        losses = np.asarray(history.step_loss[3 * epoch : 3 * epoch + 3])
        assert history.loss[epoch] == float(losses @ np.full(3, 20.0)) / 60  # equal batches: the plain mean


def first_batch(x: Any, t: Any) -> tuple[Any, ...]:
    """The first batch fit draws (epoch 0, Adam run of ``fit``)."""
    shuffle_key, _ = fnn.random.split(fnn.random.fold_in(fnn.random.key(3), 0))
    return next(fnn.batches(shuffle_key, x, t, batch_size=20))


def test_history_join_shifts_the_later_step_counts() -> None:
    a = History(loss=(1.0,), step_loss=(2.0, 1.0), epoch_end=(2,), eval_loss=(1.5,), eval_step=(2,))
    b = History(loss=(0.5,), step_loss=(0.75, 0.25), epoch_end=(2,), eval_loss=(0.5,), eval_step=(1,))
    assert a.join(b) == History(
        loss=(1.0, 0.5), step_loss=(2.0, 1.0, 0.75, 0.25), epoch_end=(2, 4), eval_loss=(1.5, 0.5), eval_step=(2, 3)
    )
    assert History().join(a) == a and a.join(History()) == a


def test_smoothed_step_loss_is_a_trailing_mean() -> None:
    h = History(step_loss=(4.0, 2.0, 0.0, 2.0))
    assert h.smoothed_step_loss(1) == h.step_loss
    assert h.smoothed_step_loss(3) == (4.0, 3.0, 2.0, 4.0 / 3.0)
    with pytest.raises(ValueError, match="`window` must be a positive integer, got 0"):
        h.smoothed_step_loss(0)


def test_history_plots_per_step_and_per_epoch(tmp_path: Path) -> None:
    history = fit(eval_data=small_problem()[2:], eval_every=2, train_accuracy=True).history
    for per in ("step", "epoch"):
        path = history.plot(tmp_path / f"{per}.png", per=per, smooth=2)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    epochs_at = history._epoch_of(history.eval_step)
    assert epochs_at.tolist() == [2 / 3, 4 / 3, 2.0, 8 / 3]  # evaluations after steps 2, 4, 6, 8 of 3 per epoch
    with pytest.raises(ValueError, match="`per` must be 'epoch' or 'step', got 'batch'"):
        history.plot(tmp_path / "x.png", per="batch")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no completed step"):
        History(loss=(1.0,)).plot(tmp_path / "x.png", per="step")


# --- the second book's log lines -----------------------------------------------------------------


@pytest.mark.parametrize("perplexity", [False, True])
def test_book_log_lines_match_the_trainers_format(perplexity: bool) -> None:
    lines: list[str] = []
    history = fit(epochs=2, callbacks=[BookLog(every=2, perplexity=perplexity, write=lines.append)]).history
    name = "perplexity" if perplexity else "loss"
    pattern = re.compile(rf"\| epoch (\d) \|  iter (\d) / 3 \| time \d+\[s\] \| {name} (\d+\.\d\d)")
    matches = [pattern.fullmatch(line) for line in lines]
    assert all(matches), lines
    # as the book: lines at iterations 1 and 3 of each epoch, the mean since the last line (across epochs)
    s = history.step_loss
    windows = [s[0:1], s[1:3], s[3:4], s[4:6]]
    expected = [
        (e, i, f"{(math.exp if perplexity else float)(float(np.mean(w))):.2f}")
        for (e, i), w in zip([("1", "1"), ("1", "3"), ("2", "1"), ("2", "3")], windows)
    ]
    assert [m.groups() for m in matches if m] == expected


# --- callbacks -----------------------------------------------------------------------------------


@attrs.frozen
class Recorder(Callback[tuple[tuple[str, int, int, int], ...]]):
    """Remembers (hook, epoch, step, epoch step) of every event in its memo; stops at step ``stop_at``."""

    stop_at: int = 0
    seen: list[Any] = attrs.field(factory=list)

    def init(self) -> tuple[tuple[str, int, int, int], ...]:
        return ()

    def on_step(self, memo: Any, event: Event) -> tuple[Any, Stop | None]:
        w = fnn.tree.leaves(event.params)[0]
        if isinstance(w, np.ndarray):  # CuPy arrays have no read-only flag
            with pytest.raises(ValueError, match="read-only"):
                w[...] = 0.0  # a callback cannot write into the run's params
        self.seen.append(float(event.loss))
        memo = (*memo, ("step", event.epoch, event.step, event.epoch_step))
        return memo, Stop("enough", None) if event.step == self.stop_at else None

    def on_epoch(self, memo: Any, event: Event) -> tuple[Any, Stop | None]:
        assert event.metrics["loss"] == event.loss == event.history.loss[-1]
        self.seen.append(memo)
        return (*memo, ("epoch", event.epoch, event.step, event.epoch_step)), None


def test_callbacks_see_every_boundary_in_order_and_can_stop() -> None:
    recorder = Recorder()
    result = fit(epochs=2, callbacks=[recorder])
    assert result.stopped is None
    assert recorder.seen[:3] == list(result.history.step_loss[:3])  # the step's own loss
    assert recorder.seen[3] == (("step", 1, 1, 1), ("step", 1, 2, 2), ("step", 1, 3, 3))  # the memo is threaded
    assert recorder.seen[-1][-1] == ("step", 2, 6, 3)
    stopped = fit(epochs=3, callbacks=[Recorder(stop_at=4)])
    assert stopped.stopped == "enough"
    assert stopped.history.steps == 4 and stopped.history.epochs == 1  # epoch 2 was cut after one step
    assert leaves_equal(stopped.params, by_hand(4)[0])


def stopping_point(values: tuple[float, ...], patience: int) -> tuple[int, int]:
    """(reading that stops, best reading), from 1, of early stopping in mode min on ``values``."""
    best, best_at, waited = math.inf, 0, 0
    for i, v in enumerate(values, 1):
        if v < best:
            best, best_at, waited = v, i, 0
        else:
            waited += 1
            if waited > patience:
                return i, best_at
    raise AssertionError("no stop in these values")


def test_callbacks_and_checkpoints_of_the_wrong_kind_are_named() -> None:
    with pytest.raises(fnn.errors.ArgumentError, match=r"`callbacks` must be a list of fnn.train.Callback values, got \[<built-in function print>\]; a function of your own"):
        fit(callbacks=[print])
    with pytest.raises(fnn.errors.ArgumentError, match="`callbacks` must be a list of fnn.train.Callback values, got BookLog\\(every=20, perplexity=False\\)"):
        fit(callbacks=BookLog())
    with pytest.raises(fnn.errors.ArgumentError, match="`checkpoints` must be an fnn.train.Checkpoints, got 'ckpt'; write fnn.train.Checkpoints"):
        fit(checkpoints="ckpt")


def test_early_stopping_restores_the_best_params() -> None:
    plain = fit(epochs=12).history.loss
    stop_at, best_at = stopping_point(plain, patience=0)
    assert best_at < stop_at < 12  # the spiral's epoch loss does rise under Adam(0.05)
    result = fit(epochs=12, callbacks=[EarlyStopping("loss", patience=0)])
    assert result.history.epochs == stop_at and result.history.loss == plain[:stop_at]
    assert result.stopped == f"loss did not improve on {plain[best_at - 1]} for 1 readings"
    best = fit(epochs=best_at)
    assert leaves_equal(result.params, best.params) and leaves_equal(result.opt_state, best.opt_state)
    kept = fit(epochs=12, callbacks=[EarlyStopping("loss", patience=0, restore_best=False)])
    assert leaves_equal(kept.params, fit(epochs=stop_at).params)


def test_early_stopping_on_eval_loss_every_k_steps() -> None:
    _, _, x, t = small_problem()
    plain = fit(epochs=12, eval_data=(x, t), eval_every=2).history
    stop_at, _ = stopping_point(plain.eval_loss, patience=0)
    stop = EarlyStopping("eval_loss", patience=0, restore_best=False)
    result = fit(epochs=12, eval_data=(x, t), eval_every=2, callbacks=[stop])
    assert result.history.eval_step == plain.eval_step[:stop_at] and result.history.steps == 2 * stop_at


def test_early_stopping_bad_settings() -> None:
    with pytest.raises(ValueError, match="`EarlyStopping.patience` must be an integer >= 0, got -1"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="`mode` must be 'min' or 'max', got 'up'"):
        EarlyStopping(mode="up")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"EarlyStopping.monitor is 'eval_loss', which this run does not record \(it records loss\); pass eval_data"):
        fit(callbacks=[EarlyStopping("eval_loss")])


# --- evaluation every k steps, on a sample ---------------------------------------------------------


def test_eval_every_k_steps_evaluates_the_params_of_that_step() -> None:
    model, _, x, t = small_problem()
    history = fit(eval_data=(x, t), eval_every=4).history
    assert history.eval_step == (4, 8)  # 9 steps; no evaluation at the epochs' ends
    for i, step in enumerate(history.eval_step):
        e = fnn.evaluate(model, by_hand(step)[0], x, t, loss=SCE)
        assert (history.eval_loss[i], history.eval_accuracy[i]) == (e.loss, e.accuracy)


def test_eval_samples_evaluates_the_first_samples_only() -> None:
    model, _, x, t = small_problem()
    result = fit(epochs=1, eval_data=(x, t), eval_samples=7, train_accuracy=True)
    e = fnn.evaluate(model, result.params, x[:7], t[:7], loss=SCE)
    assert result.history.eval_loss == (e.loss,) and result.history.eval_accuracy == (e.accuracy,)
    assert result.history.train_accuracy == (fnn.accuracy(model, result.params, x[:7], t[:7]),)
    with pytest.raises(ValueError, match="`eval_samples` must be a positive integer, got 0"):
        fit(eval_data=(x, t), eval_samples=0)
    with pytest.raises(ValueError, match="`eval_samples` limits the evaluation of `eval_data`"):
        fit(eval_samples=7)
    with pytest.raises(ValueError, match="`eval_every` says how often to evaluate `eval_data`; pass eval_data"):
        fit(eval_every=2)


# --- streams -------------------------------------------------------------------------------------


def test_a_pipeline_of_each_epochs_key_equals_the_arrays() -> None:
    _, _, x, t = small_problem()

    def pipeline(key: fnn.random.Key) -> Iterator[tuple[Any, ...]]:
        return fnn.batches(key, x, t, batch_size=20)

    streamed = fit(data=pipeline)
    whole = fit()
    assert leaves_equal(streamed.params, whole.params) and streamed.history == whole.history


def test_a_list_of_batches_is_one_pass_per_epoch() -> None:
    _, _, x, t = small_problem()
    listed = fit(data=list(fnn.batches(None, x, t, batch_size=20, shuffle=False)))
    assert leaves_equal(listed.params, fit(shuffle=False).params)


def test_an_iterator_is_cut_into_epochs_of_steps_per_epoch() -> None:
    _, _, x, t = small_problem()

    def forever() -> Iterator[tuple[Any, ...]]:
        for epoch in range(100):
            yield from fnn.batches(None, x, t, batch_size=30, shuffle=False)

    history = fit(epochs=3, data=forever(), steps_per_epoch=5).history
    assert history.epoch_end == (5, 10, 15) and history.steps == 15
    with pytest.raises(ValueError, match="epoch 2 got no batches from `data`; an iterator is used up"):
        fit(epochs=2, data=iter(list(fnn.batches(None, x, t, batch_size=30, shuffle=False))))


def test_stream_arguments_that_need_arrays_are_refused() -> None:
    _, _, x, t = small_problem()
    batches = list(fnn.batches(None, x, t, batch_size=30, shuffle=False))
    with pytest.raises(ValueError, match="`data` is a stream of batches; batch_size, train_accuracy go"):
        fit(data=batches, batch_size=30, train_accuracy=True)
    with pytest.raises(ValueError, match="`steps_per_epoch` is for streams"):
        fit(steps_per_epoch=2)
    with pytest.raises(ValueError, match="give the training data as arrays `x, t` or as a stream `data=`"):
        model, params, _, _ = small_problem()
        fnn.fit(model, SCE, fnn.optim.sgd(1.0), params, key=fnn.random.key(0), epochs=1)


# --- learning rate from a metric, non-finite policy ------------------------------------------------


def test_observe_feeds_the_plateau_schedule_each_epoch() -> None:
    model, params, x, t = small_problem()
    opt = fnn.optim.chain(fnn.optim.adam(0.05), fnn.optim.reduce_on_plateau(factor=0.5, patience=0))
    run: dict[str, Any] = dict(key=fnn.random.key(3), batch_size=20, progress=False)
    result = fnn.fit(model, SCE, opt, params, x, t, epochs=6, observe="loss", **run)
    losses = result.history.loss
    worse = [i for i in range(1, 6) if losses[i] >= min(losses[:i])]  # each halves the scale (patience 0)
    assert worse and worse[0] < 5
    (plateau,) = fnn.optim.find_states(result.opt_state, fnn.optim.ReduceOnPlateauState)
    assert plateau.scale == 0.5 ** len(worse) and plateau.best == min(losses)
    plain = fnn.fit(model, SCE, opt, params, x, t, epochs=6, **run).history.loss
    first = worse[0] + 1  # the first epoch trained with a halved step
    assert plain[:first] == losses[:first] and plain[first] != losses[first]
    with pytest.raises(ValueError, match="observe is 'eval_accuracy', which this run does not record"):
        fnn.fit(model, SCE, opt, params, x, t, epochs=1, observe="eval_accuracy", **run)


def test_on_nonfinite_stop_returns_the_last_finite_params() -> None:
    result = fit(loss=Faulty(stop_at=0, nan_at=5), on_nonfinite="stop")
    assert result.stopped is not None and "the loss became nan at epoch 2/3, step 2/3" in result.stopped
    assert leaves_equal(result.params, by_hand(3)[0]) and result.history.epochs == 1
    with pytest.raises(ValueError, match="`on_nonfinite` must be 'raise' or 'stop', got 'skip'"):
        fit(on_nonfinite="skip")


def test_non_finite_check_ends_the_epoch_at_the_first_nan() -> None:
    loss = Faulty(stop_at=0, nan_at=5)  # step 2 of epoch 2
    with pytest.raises(fnn.train.DivergenceError, match="the loss became nan at epoch 2/3, step 2/3") as info:
        fit(loss=loss, callbacks=[fnn.train.NonFiniteCheck()])
    assert loss.calls == 5  # no step after the bad one (without the check, the epoch runs to its end)
    assert leaves_equal(info.value.params, by_hand(3)[0])
    unchecked = Faulty(stop_at=0, nan_at=5)
    with pytest.raises(fnn.train.DivergenceError, match="step 2/3"):
        fit(loss=unchecked)
    assert unchecked.calls == 6
    sparse = Faulty(stop_at=0, nan_at=5)
    result = fit(loss=sparse, callbacks=[fnn.train.NonFiniteCheck(every=3)], on_nonfinite="stop")
    assert sparse.calls == 6 and result.stopped is not None and "step 2/3" in result.stopped


def test_key_data_round_trips_and_refuses_bad_data() -> None:
    k = fnn.random.fold_in(fnn.random.split(fnn.random.key(2**63))[1], 7)
    data = fnn.random.key_data(k)
    assert data.dtype == np.uint64 and data.tolist() == [2**63, 1, 2**32 + 7]
    assert fnn.random.wrap_key_data(data) == k
    assert host(fnn.random.normal(fnn.random.wrap_key_data(data), (3,))).tolist() == host(
        fnn.random.normal(k, (3,))
    ).tolist()
    with pytest.raises(fnn.errors.StateError, match="the seed 18446744073709551616 does not fit in 64 bits"):
        fnn.random.key_data(fnn.random.key(2**64))
    for bad in (np.zeros(0, np.uint64), np.array([-1, 2]), np.array([1.0])):
        with pytest.raises(fnn.errors.StateError, match="expected a non-empty vector of non-negative integers"):
            fnn.random.wrap_key_data(bad)
