"""Tests of fnn.train: batches, fit (the course's spiral network), history, evaluation and bad input."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

import fnn
from fnn.train import DivergenceError, FitResult
from tests.helpers import assert_array_equal, host

SCE = fnn.losses.softmax_cross_entropy


def leaves_equal(a: Any, b: Any) -> bool:
    """Whether two pytrees hold equal arrays, leaf by leaf (compared on the host)."""
    la, lb = fnn.tree.leaves(a), fnn.tree.leaves(b)
    return len(la) == len(lb) and all(np.array_equal(host(u), host(v)) for u, v in zip(la, lb))


def shares_memory(a: Any, b: Any) -> bool:
    """``shares_memory`` of the arrays' own module (NumPy or CuPy)."""
    return bool(fnn.array_module(a).shares_memory(a, b))


def spiral_model() -> fnn.Sequential:
    """The course's 2-10-3 network: weights 0.01 · N(0, 1), sigmoid hidden layer."""
    w = fnn.initializers.normal(0.01)
    return fnn.sequential(fnn.Dense(10, w_init=w), fnn.sigmoid, fnn.Dense(3, w_init=w))


def small_problem(seed: int = 0, n_per_class: int = 20) -> tuple[fnn.Sequential, Any, Any, Any]:
    x, t = fnn.datasets.spiral(fnn.random.key(seed), n_per_class=n_per_class)
    model = spiral_model()
    return model, model.init(fnn.random.key(seed + 100), (2,)), x, t


# --- batches -------------------------------------------------------------------------------------


def test_batches_without_shuffle_are_views_in_order() -> None:
    b = fnn.backend(dtype="float64")
    x, t = b.asarray(np.arange(14.0).reshape(7, 2)), b.asarray(np.arange(7), dtype=np.int64)
    out = list(fnn.batches(None, x, t, batch_size=3, shuffle=False))
    assert [tb.tolist() for _, tb in out] == [[0, 1, 2], [3, 4, 5], [6]]
    assert all(shares_memory(xb, x) for xb, _ in out)
    assert [
        tb.tolist() for _, tb in fnn.batches(None, x, t, batch_size=3, shuffle=False, drop_last=True)
    ] == [
        [0, 1, 2],
        [3, 4, 5],
    ]


def test_batches_shuffle_visits_every_sample_once_as_copies() -> None:
    b = fnn.backend(dtype="float64")
    x, t = b.asarray(np.arange(20.0).reshape(10, 2)), b.asarray(np.arange(10), dtype=np.int64)
    key = fnn.random.key(3)
    out = list(fnn.batches(key, x, t, batch_size=4))
    labels = b.xp.concatenate([tb for _, tb in out])
    assert sorted(labels.tolist()) == list(range(10)) and labels.tolist() != list(range(10))
    for xb, tb in out:
        assert isinstance(xb, b.xp.ndarray) and isinstance(tb, b.xp.ndarray)  # batches stay on the device
        assert_array_equal(xb[:, 0], 2 * tb)  # rows stay paired
        assert not shares_memory(xb, x)  # gathered per batch: a copy, never a view of the input
    again = b.xp.concatenate([tb for _, tb in fnn.batches(key, x, t, batch_size=4)])
    other = b.xp.concatenate([tb for _, tb in fnn.batches(fnn.random.fold_in(key, 1), x, t, batch_size=4)])
    assert again.tolist() == labels.tolist() and other.tolist() != labels.tolist()


def test_batches_bad_input() -> None:
    b = fnn.backend(dtype="float64")
    x = b.zeros((5, 2))
    with pytest.raises(fnn.ShapeError, match=r"different lengths \[5, 4\]"):
        fnn.batches(None, x, b.zeros((4,)), batch_size=2, shuffle=False)
    with pytest.raises(fnn.ShapeError, match="the data is empty"):
        fnn.batches(None, b.zeros((0, 2)), batch_size=2, shuffle=False)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="`batch_size` must be a positive integer"):
            fnn.batches(None, x, batch_size=bad, shuffle=False)  # type: ignore[arg-type]
    with pytest.raises(fnn.StateError, match="shuffle=True needs a key"):
        fnn.batches(None, x, batch_size=2)
    with pytest.raises(ValueError, match="drop_last=True leaves no batch"):
        fnn.batches(None, x, batch_size=6, shuffle=False, drop_last=True)
    with pytest.raises(ValueError, match="at least one array"):
        fnn.batches(None, batch_size=2, shuffle=False)


# --- fit -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_spiral_network_learns_the_spiral(seed: int) -> None:
    """The course's spiral (DLfS 2, ch. 1): 2-10-3, sigmoid, SGD lr 1.0, batch 30, 300 epochs."""
    data_key, init_key, fit_key = fnn.random.split(fnn.random.key(seed), 3)
    x, t = fnn.datasets.spiral(data_key, n_per_class=100, classes=3, noise=0.2, one_hot=True)
    model = spiral_model()
    params = model.init(init_key, (2,))
    params, opt_state, history = fnn.fit(
        model,
        SCE,
        fnn.optim.sgd(1.0),
        params,
        x,
        t,
        key=fit_key,
        epochs=300,
        batch_size=30,
        progress=False,
    )
    acc = fnn.accuracy(model, params, x, t)
    assert acc >= 0.95, f"seed {seed}: training accuracy {acc}"
    assert history.loss[-1] < 0.15, f"seed {seed}: last-epoch loss {history.loss[-1]}"
    assert len(history.loss) == 300 and history.loss[0] > 1.0


def test_same_key_same_bits_and_another_key_differs() -> None:
    model, params, x, t = small_problem()
    stochastic = fnn.sequential(fnn.Dense(8), fnn.relu, fnn.Dropout(0.3), fnn.Dense(3))
    for m, p in ((model, params), (stochastic, stochastic.init(fnn.random.key(1), (2,)))):
        runs = [
            fnn.fit(
                m,
                SCE,
                fnn.optim.adam(0.01),
                p,
                x,
                t,
                key=fnn.random.key(k),
                epochs=4,
                batch_size=16,
                eval_data=(x, t),
                progress=False,
            )
            for k in (7, 7, 8)
        ]
        a, b, c = runs
        assert a.history == b.history
        assert all(
            host(u).tobytes() == host(v).tobytes()
            for u, v in zip(fnn.tree.leaves(a.params), fnn.tree.leaves(b.params))
        )
        assert a.history.loss != c.history.loss


def test_fit_returns_params_opt_state_history_and_never_mutates() -> None:
    model, params, x, t = small_problem()
    before = [leaf.copy() for leaf in fnn.tree.leaves(params)]
    x_before, t_before = x.copy(), t.copy()
    opt = fnn.optim.momentum(0.5)
    result = fnn.fit(
        model,
        SCE,
        opt,
        params,
        x,
        t,
        key=fnn.random.key(0),
        epochs=3,
        batch_size=7,
        eval_data=(x, t),
        train_accuracy=True,
        progress=False,
    )
    assert isinstance(result, FitResult) and result.state is None
    new_params, opt_state, history = result
    assert new_params is result.params and opt_state is result.opt_state and history is result.history
    assert leaves_equal(params, before)
    assert leaves_equal((x, t), (x_before, t_before))
    assert history.epochs == 3 and len(history.eval_loss) == len(history.eval_accuracy) == 3
    assert len(history.train_accuracy) == 3
    assert history.train_accuracy[-1] == fnn.accuracy(model, new_params, x, t)
    assert history.eval_loss[-1] == pytest.approx(float(SCE(model.apply(new_params, x), t)), rel=1e-5)
    assert isinstance(opt_state[0], fnn.optim.TraceState)
    d = history.to_dict()
    assert set(d) == {
        "loss", "eval_loss", "eval_accuracy", "train_accuracy", "step_loss", "epoch_end", "eval_step"
    }
    assert d["loss"] == list(history.loss)


def test_fit_resumes_from_opt_state() -> None:
    model, params, x, t = small_problem()
    opt = fnn.optim.adam(0.01)
    kwargs: dict[str, Any] = dict(batch_size=60, shuffle=False, progress=False)
    whole = fnn.fit(model, SCE, opt, params, x, t, key=fnn.random.key(0), epochs=2, **kwargs)
    half = fnn.fit(model, SCE, opt, params, x, t, key=fnn.random.key(0), epochs=1, **kwargs)
    rest = fnn.fit(
        model,
        SCE,
        opt,
        half.params,
        x,
        t,
        key=fnn.random.key(0),
        epochs=1,
        opt_state=half.opt_state,
        **kwargs,
    )
    assert rest.opt_state[0].count == 2
    assert leaves_equal(whole.params, rest.params)


def test_fit_threads_model_state() -> None:
    x, t = fnn.datasets.spiral(fnn.random.key(0), n_per_class=20, one_hot=False)
    model = fnn.sequential(fnn.Dense(8), fnn.BatchNorm(), fnn.relu, fnn.Dense(3))
    params, state = model.init(fnn.random.key(1), (2,)), model.init_state((2,))
    result = fnn.fit(
        model,
        SCE,
        fnn.optim.sgd(0.1),
        params,
        x,
        t,
        key=fnn.random.key(2),
        epochs=2,
        batch_size=20,
        state=state,
        eval_data=(x, t),
        progress=False,
    )
    assert result.state is not None
    assert not leaves_equal(state, result.state)
    acc = fnn.accuracy(model, result.params, x, t, state=result.state)
    assert result.history.eval_accuracy[-1] == acc


def test_progress_bar_ticks_per_step_on_a_terminal_only(capsys: pytest.CaptureFixture[str]) -> None:
    model, params, x, t = small_problem()
    run: dict[str, Any] = dict(key=fnn.random.key(0), epochs=2, batch_size=30)
    fnn.fit(model, SCE, fnn.optim.sgd(1.0), params, x, t, progress=True, **run)
    err = capsys.readouterr().err
    assert "4/4" in err and "step" in err and "loss=" in err  # 2 epochs of 2 steps, the running loss
    assert "epoch 2/2" in err and "eval_acc" not in err
    fnn.fit(model, SCE, fnn.optim.sgd(1.0), params, x, t, progress=True, eval_data=(x, t), **run)
    assert "eval_loss=" in capsys.readouterr().err  # the last evaluation stays in the bar
    for progress in (None, False):  # None: only on a terminal (pytest's capture is not one)
        fnn.fit(model, SCE, fnn.optim.sgd(1.0), params, x, t, progress=progress, **run)
        assert capsys.readouterr() == ("", "")


def test_nan_loss_stops_with_epoch_step_and_the_epochs_start_params() -> None:
    model, params, x, t = small_problem()
    x = x.copy()
    x[25] = float("nan")  # in the third batch of 10 (no shuffle) of the first epoch
    opt = fnn.optim.sgd(0.5)
    with pytest.raises(fnn.TrainingError, match=r"loss became nan at epoch 1/2, step 3/6") as info:
        fnn.fit(
            model,
            SCE,
            opt,
            params,
            x,
            t,
            key=fnn.random.key(0),
            epochs=2,
            batch_size=10,
            shuffle=False,
            progress=False,
        )
    error = info.value
    assert isinstance(error, DivergenceError) and (error.epoch, error.step) == (1, 3)
    # fit checks the losses once per epoch: the error carries the params the failing epoch
    # started from (every loss before them was finite), here the initial params
    assert leaves_equal(error.params, params)
    assert error.history.epochs == 0


def test_divergence_from_a_huge_learning_rate() -> None:
    x = fnn.backend(dtype="float32").asarray(np.linspace(-1, 1, 32).reshape(-1, 1))
    t = 1e3 * x
    model = fnn.sequential(fnn.Dense(1))
    params = model.init(fnn.random.key(0), (1,))
    diverging = pytest.raises(DivergenceError, match=r"loss became (nan|inf) at epoch \d+/50, step \d/4")
    with diverging as info, np.errstate(over="ignore", invalid="ignore"):  # NumPy warns as it overflows
        fnn.fit(
            model,
            fnn.losses.mse,
            fnn.optim.sgd(1e3),
            params,
            x,
            t,
            key=fnn.random.key(0),
            epochs=50,
            batch_size=8,
            progress=False,
        )
    assert all(np.isfinite(host(leaf)).all() for leaf in fnn.tree.leaves(info.value.params))


def test_fit_bad_input() -> None:
    model, params, x, t = small_problem()
    opt = fnn.optim.sgd(0.1)
    key = fnn.random.key(0)

    def fit(**kwargs: Any) -> Any:
        args: dict[str, Any] = dict(x=x, t=t, key=key, epochs=1, batch_size=10, progress=False)
        args.update(kwargs)
        return fnn.fit(model, SCE, opt, params, **args)

    for lr in (0.0, -1.0):
        with pytest.raises(ValueError, match="`learning_rate` must be a positive finite number"):
            fnn.optim.sgd(lr)
    with pytest.raises(ValueError, match="`batch_size` must be a positive integer, got 0"):
        fit(batch_size=0)
    with pytest.raises(ValueError, match="`epochs` must be a positive integer, got -1"):
        fit(epochs=-1)
    with pytest.raises(fnn.ShapeError, match=r"fit\(x, t\): the data is empty"):
        fit(x=x[:0], t=t[:0])
    with pytest.raises(fnn.ShapeError, match=r"fit\(x, t\): arrays of different lengths \[60, 59\]"):
        fit(t=t[:-1])
    labels = t.argmax(axis=1)
    labels[17] = 3
    with pytest.raises(
        fnn.DataError, match=r"label 3 at index 17 is out of range .* 3 outputs \(labels must be 0..2\)"
    ):
        fit(t=labels)
    labels[17] = -1
    with pytest.raises(fnn.DataError, match="label -1 at index 17"):
        fit(eval_data=(x, labels))
    with pytest.raises(ValueError, match="`eval_data` must be a pair"):
        fit(eval_data=(x,))
    with pytest.raises(ValueError, match="`eval_batch_size` must be a positive integer, got 0"):
        fit(eval_batch_size=0)
    with pytest.raises(ValueError, match="`epochs` must be a positive integer, got 2.0"):
        fit(epochs=2.0)
    with pytest.raises(ValueError, match="fit: batch_size=61 with drop_last=True leaves no batch of 60"):
        fit(batch_size=61, drop_last=True)
    with pytest.raises(ValueError, match="`batch_size` must be a positive integer, got 0"):
        fnn.accuracy(model, params, x, t, batch_size=0)
    with pytest.raises(ValueError, match="`batch_size` must be a positive integer, got -1"):
        fnn.evaluate(model, params, x, t, loss=SCE, batch_size=-1)


def test_numpy_integers_are_accepted_as_sizes() -> None:
    model, params, x, t = small_problem()
    n = cast(int, np.int64(x.shape[0] // 2))  # sizes computed from arrays are NumPy integers
    assert [len(xb) for xb, _ in fnn.batches(None, x, t, batch_size=n, shuffle=False)] == [30, 30]
    args: tuple[Any, ...] = (model, SCE, fnn.optim.sgd(0.1), params, x, t)
    a = fnn.fit(*args, key=fnn.random.key(0), epochs=cast(int, np.int32(2)), batch_size=n, progress=False)
    b = fnn.fit(*args, key=fnn.random.key(0), epochs=2, batch_size=30, progress=False)
    assert a.history == b.history


# --- accuracy, evaluate, history ----------------------------------------------------------------


def test_accuracy_and_evaluate_in_batches_equal_one_pass() -> None:
    model, params, x, t = small_problem()
    params = fnn.fit(
        model,
        SCE,
        fnn.optim.sgd(1.0),
        params,
        x,
        t,
        key=fnn.random.key(0),
        epochs=20,
        batch_size=10,
        progress=False,
    ).params
    labels = t.argmax(axis=1)
    y = model.apply(params, x)
    full = float(np.mean(host(y).argmax(axis=1) == host(labels)))
    for bs in (1, 7, 1000):
        assert fnn.accuracy(model, params, x, t, batch_size=bs) == full
        assert fnn.accuracy(model, params, x, labels, batch_size=bs) == full
        e = fnn.evaluate(model, params, x, labels, loss=SCE, batch_size=bs)
        assert e.accuracy == full and e.loss == pytest.approx(float(SCE(y, t)), rel=1e-5)
    assert fnn.evaluate(model, params, x, t, loss=fnn.losses.mse).accuracy is None
    with pytest.raises(fnn.DataError, match="label 5 at index 0"):
        fnn.accuracy(model, params, x, fnn.array_module(x).full(len(x), 5))
    with pytest.raises(fnn.ShapeError, match="different lengths"):
        fnn.accuracy(model, params, x, labels[:3])


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the IHDR chunk of a PNG file, after checking the signature."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", data[:16]
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_history_plot_writes_a_png(tmp_path: Path) -> None:
    history = fnn.History(loss=(1.0, 0.5, 0.2), eval_loss=(1.1, 0.6, 0.3), eval_accuracy=(0.3, 0.6, 0.9))
    path = history.plot(tmp_path / "history.png", title="spiral")
    assert path == tmp_path / "history.png"
    data = path.read_bytes()
    assert png_size(data) == (1000, 400)  # two panels (loss, accuracy) of 5 x 4 inches at 100 dpi
    assert len(data) > 10_000  # curves, axes and labels, not an empty canvas
    loss_only = fnn.History(loss=(1.0, 0.5)).plot(tmp_path / "loss.png").read_bytes()
    assert png_size(loss_only) == (500, 400) and len(loss_only) > 5_000
    assert sorted(os.listdir(tmp_path)) == ["history.png", "loss.png"]  # no temporary file left
    with pytest.raises(ValueError, match="the history is empty"):
        fnn.History().plot(tmp_path / "empty.png")


def test_history_plot_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.figure import Figure

    path = fnn.History(loss=(1.0, 0.5)).plot(tmp_path / "h.png")
    original = path.read_bytes()

    def half_write(self: Any, file: Any, **kwargs: Any) -> None:
        file.write(b"\x89PNG half an image")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", half_write)
    with pytest.raises(OSError, match="disk full"):
        fnn.History(loss=(1.0, 0.2, 0.1)).plot(path)
    assert path.read_bytes() == original and os.listdir(tmp_path) == ["h.png"]


def test_history_plot_without_matplotlib(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(ImportError, match=r"History.plot needs matplotlib.*pip install 'fnn\[plot\]'"):
        fnn.History(loss=(1.0,)).plot(tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
