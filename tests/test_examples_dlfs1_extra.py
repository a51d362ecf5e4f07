"""The first book's remaining exercises: the apple graph, the random search, filters, mistakes, float16.

Each example runs in a short mode. What can be recomputed independently is (with
NumPy, on host copies: central differences for the apple graph, the MLP's forward
pass for the search, the book's DeepConvNet forward pass from ``test_examples_conv``
for the misclassified digits); the rest is checked against the book's numbers.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import fnn
from tests.helpers import assert_array_equal, host
from tests.test_examples_conv import book_deep_convnet_test_forward

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def test_offline_data_is_beside_the_project() -> None:
    """The tests below read ``../shared/data``; without it they fail (never skip), and this says why."""
    assert (DATA / "mnist").is_dir() and (DATA / "dlfs").is_dir(), (
        f"offline data not found at {DATA}: check out the project with shared/ beside it"
    )


def module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"examples.{name}", ROOT / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = loaded
    spec.loader.exec_module(loaded)
    return loaded


def run(name: str, *argv: str) -> dict[str, Any]:
    result: dict[str, Any] = module(name).main(list(argv))
    return result


def assert_png(path: object) -> None:
    assert isinstance(path, Path) and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5_000


def saved_figures(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every matplotlib figure saved from now on (after it is drawn), for checks of what it shows."""
    from matplotlib.figure import Figure

    saved: list[Any] = []
    savefig = Figure.savefig

    def keep(self: Any, *args: Any, **kwargs: Any) -> None:
        savefig(self, *args, **kwargs)
        saved.append(self)

    monkeypatch.setattr(Figure, "savefig", keep)
    return saved


def test_apple_graph_gives_the_books_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    r = run("ch05_apple_graph")
    apple, both = r["apple"], r["apple_orange"]
    assert apple["price"] == pytest.approx(220)
    assert (apple["apple"], apple["apple_num"], apple["tax"]) == pytest.approx((2.2, 110, 200))
    assert both["price"] == pytest.approx(715)
    book = {"apple": 2.2, "apple_num": 110, "orange": 3.3, "orange_num": 165, "tax": 650}
    assert {k: both[k] for k in book} == pytest.approx(book)

    def price(apple: float, apple_num: float, orange: float, orange_num: float, tax: float) -> float:
        return (apple * apple_num + orange * orange_num) * tax

    point = {"apple": 100.0, "apple_num": 2.0, "orange": 150.0, "orange_num": 3.0, "tax": 1.1}
    for name in point:  # central differences of the price, independent of the nodes
        up, down = dict(point), dict(point)
        up[name] += 1e-4
        down[name] -= 1e-4
        assert both[name] == pytest.approx((price(**up) - price(**down)) / 2e-4, rel=1e-6)
    out = capsys.readouterr().out
    assert "price 715" in out and "dApple 2.2, dApple_num 110, dOrange 3.3, dOrange_num 165, dTax 650" in out


def mlp_accuracy(params: Any, x: Any, t: Any) -> float:
    """The search's 784-100x6-10 ReLU network, recomputed in float64 on the host."""
    a = host(x).astype(np.float64)
    dense = [p for p in params if p is not None]
    for p in dense[:-1]:
        a = np.maximum(a @ host(p.w) + host(p.b), 0)
    logits = a @ host(dense[-1].w) + host(dense[-1].b)
    return float(np.mean(logits.argmax(axis=1) == host(t)))


def test_hyperparameter_search(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--data", str(DATA), "--trials", "3", "--epochs", "3", "--out", str(tmp_path)]
    r = run("ch06_hyperparameter_search", *argv)
    (x_train, t_train), (x_val, t_val) = r["train"], r["val"]
    assert len(t_train) == 400 and len(t_val) == 100  # the book's 20% of 500 images
    (x, t), _ = fnn.datasets.load_mnist(DATA / "mnist", download=False, cache=False, progress=False)
    rows = {host(row).tobytes() for row in host(x[:500])}
    assert all(host(row).tobytes() in rows for row in host(np.concatenate([host(x_train), host(x_val)])))
    assert len({host(row).tobytes() for row in np.concatenate([host(x_train), host(x_val)])}) == 500

    trials = r["trials"]
    finals = [trial.val_accuracy[-1] for trial in trials]
    assert finals == sorted(finals, reverse=True) and len(trials) == 3
    # each trial's (lr, λ) is 10^U(-6, -2) and 10^U(-8, -4), drawn from the documented keys
    host64 = fnn.backend("numpy", "float64")
    expected = set()
    for i in range(3):
        lr_key, decay_key = fnn.random.split(fnn.random.fold_in(r["key"], i), 4)[:2]
        u = float(fnn.random.uniform(lr_key, (), host64, -6.0, -2.0))
        v = float(fnn.random.uniform(decay_key, (), host64, -8.0, -4.0))
        expected.add((10.0**u, 10.0**v))
    assert {(trial.lr, trial.weight_decay) for trial in trials} == expected
    for trial in trials:
        assert 1e-6 <= trial.lr < 1e-2 and 1e-8 <= trial.weight_decay < 1e-4
        assert len(trial.val_accuracy) == len(trial.train_accuracy) == 3
        assert trial.val_accuracy[-1] == pytest.approx(mlp_accuracy(trial.params, x_val, t_val))
        assert trial.train_accuracy[-1] == pytest.approx(mlp_accuracy(trial.params, x_train, t_train))
    again = run("ch06_hyperparameter_search", *argv)["trials"]  # the same keys, the same search
    assert [(a.lr, a.val_accuracy) for a in again] == [(b.lr, b.val_accuracy) for b in trials]
    out = capsys.readouterr().out
    assert "400 training and 100 validation images; 3 trials of 3 epochs" in out
    assert f"Best-1  (val acc: {finals[0]:.2f}) | lr: {trials[0].lr:.3e}" in out
    assert_png(r["plot"])


def neighbour_correlation(filters: Any) -> float:
    """Pearson correlation of adjacent weights (right and down neighbours), each filter centred."""
    w = host(filters).astype(np.float64)
    w = w - w.mean(axis=(2, 3), keepdims=True)
    a = np.concatenate([w[..., :, :-1].ravel(), w[..., :-1, :].ravel()])
    b = np.concatenate([w[..., :, 1:].ravel(), w[..., 1:, :].ravel()])
    a, b = a - a.mean(), b - b.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def test_filters_before_and_after_training(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--data", str(DATA), "--epochs", "2", "--train-size", "1000", "--out", str(tmp_path)]
    r = run("ch07_filters", *argv)
    before, book, trained = r["filters"].values()
    assert host(before).shape == host(book).shape == host(trained).shape == (30, 1, 5, 5)
    assert host(before).std() == pytest.approx(0.01, rel=0.15)  # the book's N(0, 0.01²)
    weights = fnn.io.load_pickle_arrays(DATA / "dlfs" / "simple_convnet_params.pkl")
    np.testing.assert_allclose(host(book), weights["W1"], rtol=1e-6)  # float32 copies of the book's
    assert not np.allclose(host(trained), host(before))
    smoothness = list(r["smoothness"].values())
    for w, value in zip((before, book, trained), smoothness):
        assert value == pytest.approx(neighbour_correlation(w), abs=1e-9)
    assert abs(smoothness[0]) < 0.1 < 0.5 < smoothness[1]  # noise, then smooth strokes
    assert smoothness[2] > smoothness[0] + 0.1  # two short epochs already smooth fnn's own filters
    assert (
        "after training (the book's weights): neighbouring weights correlate +0.61" in capsys.readouterr().out
    )
    assert_png(r["plot"])


def test_misclassified_digits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = run("ch08_misclassified", "--data", str(DATA), "--out", str(tmp_path))
    assert r["accuracy"] == 0.9935 and len(r["wrong"]) == 65  # the book's accuracy on 10,000 images
    _, (x, t) = fnn.datasets.load_mnist(
        DATA / "mnist", flatten=False, download=False, cache=False, progress=False,
        backend=fnn.backend("numpy", "float64"),
    )  # fmt: skip
    shown = r["wrong"][:20]
    weights = fnn.io.load_pickle_arrays(DATA / "dlfs" / "deep_convnet_params.pkl")
    book = book_deep_convnet_test_forward(weights, x[shown]).argmax(axis=1)  # the book's own forward pass
    assert_array_equal(book, r["predicted"][shown])
    assert np.all(book != t[shown])
    assert r["pairs"] == {view: (int(t[i]), int(book[view - 1])) for view, i in enumerate(shown, start=1)}
    assert list(r["pairs"].items())[:2] == [(1, (6, 0)), (2, (3, 5))]
    assert f"{r['pairs']}" in capsys.readouterr().out
    assert_png(r["plot"])


def test_half_float_table(capsys: pytest.CaptureFixture[str]) -> None:
    r = run("ch08_half_float", "--data", str(DATA), "--test-size", "200", "--f16-test-size", "40")
    rows = r["rows"]
    assert list(rows) == ["float64", "float32", "float16 values, float64 arithmetic", "float16"]
    assert [row["images"] for row in rows.values()] == [200, 200, 200, 40]
    kb = {name: row["params bytes"] for name, row in rows.items()}
    n_params = kb["float16"] // 2
    assert kb == {"float64": 8 * n_params, "float32": 4 * n_params, "float16": 2 * n_params,
                  "float16 values, float64 arithmetic": 8 * n_params}  # fmt: skip
    for row in rows.values():
        assert row["accuracy"] == row["float64 accuracy"] == 1.0 and row["differ from float64"] == 0
    assert "float16                                40 images | accuracy 1.0000" in capsys.readouterr().out


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_half_float_keeps_the_books_mistakes(dtype: str) -> None:
    """Test images 440..459 hold three the book's network gets wrong: every precision gets the same."""
    half = module("ch08_half_float")
    weights = fnn.io.load_pickle_arrays(DATA / "dlfs" / "deep_convnet_params.pkl")
    _, (x, t) = fnn.datasets.load_mnist(
        DATA / "mnist", flatten=False, download=False, cache=False, progress=False,
        backend=fnn.backend("numpy", "float64"),
    )  # fmt: skip
    x, t = x[440:460], host(t[440:460])
    book = book_deep_convnet_test_forward(weights, x).argmax(axis=1)
    assert np.flatnonzero(book != t).tolist() == [5, 9, 10]  # images 445, 449, 450
    row, predicted = half.evaluate(dtype, dtype, weights, x, t)
    assert_array_equal(predicted, book)
    assert row["accuracy"] == pytest.approx(17 / 20) and row["images"] == 20
    rounded = {name: half.rounded_to_float16(w) for name, w in weights.items()}
    assert all(w.dtype == np.float64 for w in rounded.values())  # the book's cast keeps float64 arrays
    assert np.all(rounded["W1"].astype(np.float16).astype(np.float64) == rounded["W1"])
    assert not np.array_equal(rounded["W1"], weights["W1"])


def test_xor_colour_bars_span_zero_to_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    figures = saved_figures(monkeypatch)
    run("ch05_xor", "--steps", "200", "--out", str(tmp_path))
    (figure,) = figures
    bars = [ax for ax in figure.axes if hasattr(ax, "_colorbar")]
    assert len(bars) == 2
    for bar in bars:
        assert bar.get_ylim() == pytest.approx((0.0, 1.0))
    extends = [bar._colorbar.extend for bar in bars]
    assert extends == ["both", "neither"]  # the exact network's output leaves [0, 1]; a probability cannot
