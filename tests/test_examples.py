"""Every example of the course runs with quick settings and prints the numbers the course shows.

Each example exposes ``main(argv) -> dict`` of its key results. The assertions
here recompute what they can independently (with NumPy, from the course's
numbers or from the returned parameters) rather than trusting the example.

The examples compute on the backend under test (``FNN_BACKEND``), so the arrays
they return may be CuPy arrays: every recomputation starts from host copies
(``host``) and every comparison goes through ``tests.helpers``.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

import fnn
from tests.helpers import assert_allclose, assert_array_equal, host

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DATA = ROOT.parent / "shared" / "data"
MNIST = DATA / "mnist"
WEIGHTS = DATA / "dlfs" / "sample_weight.pkl"


def test_offline_data_is_beside_the_project() -> None:
    """The data tests read ``../shared/data``; without it they fail (never skip), and this says why."""
    assert MNIST.is_dir() and WEIGHTS.is_file(), (
        f"offline data not found at {DATA}: check out the project with shared/ beside it"
    )


Main = Callable[[list[str]], dict[str, Any]]


def example(name: str) -> Main:
    """The ``main`` of ``examples/<name>.py``, imported by path."""
    spec = importlib.util.spec_from_file_location(f"examples.{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return cast(Main, module.main)


def run(name: str, *argv: str) -> dict[str, Any]:
    return example(name)(list(argv))


def sigmoid(x: Any) -> Any:
    """The logistic function in float64 on the host (of host copies of ``x``)."""
    return 1 / (1 + np.exp(-host(x).astype(np.float64)))


def assert_png(path: object) -> None:
    assert isinstance(path, Path) and path.is_file()
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5_000  # something was drawn


def test_every_example_is_tested() -> None:
    tests = sorted(Path(__file__).parent.glob("test_examples*.py"))
    source = "".join(path.read_text() for path in tests)
    for path in sorted(EXAMPLES.glob("*.py")):
        if path.name != "__init__.py":
            assert f'"{path.stem}"' in source, f"{path.name} has no test in {', '.join(p.name for p in tests)}"


def test_perceptron_truth_tables(capsys: pytest.CaptureFixture[str]) -> None:
    tables = run("ch02_perceptron")
    # inputs (0,0), (1,0), (0,1), (1,1)
    assert tables == {
        "AND": [0, 0, 0, 1],
        "NAND": [1, 1, 1, 0],
        "OR": [0, 1, 1, 1],
        "XOR": [0, 1, 1, 0],
    }
    assert " 1  1 |    1    0    1    0" in capsys.readouterr().out


def test_activations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = run("ch03_activations", "--out", str(tmp_path))
    x = np.array([-1.0, 1.0, 2.0])
    assert_array_equal(r["step"], [0, 1, 1])
    assert_allclose(r["sigmoid"], [0.26894142, 0.73105858, 0.88079708], atol=1e-8)
    assert_allclose(r["tanh"], np.tanh(x), rtol=1e-12)
    assert_array_equal(r["relu"], [0, 1, 2])
    assert_allclose(r["leaky_relu"], [-0.1, 1, 2])
    assert_allclose(r["elu"], [np.exp(-1) - 1, 1, 2], rtol=1e-12)
    assert_allclose(r["softmax"], [0.01821127, 0.24519181, 0.73659691], atol=1e-8)
    assert "sigmoid(x) = [0.26894142 0.73105858 0.88079708]" in capsys.readouterr().out
    assert_png(r["plot"])


def test_three_layer_network(capsys: pytest.CaptureFixture[str]) -> None:
    r = run("ch03_three_layer_network")
    assert_allclose(r["y"], [0.31682708, 0.69627909], atol=1e-8)
    assert "[0.31682708 0.69627909]" in capsys.readouterr().out
    assert "total              input (N, 2)      23" in r["summary"]  # 9 + 8 + 6 parameters
    r32 = run("ch03_three_layer_network", "--dtype", "float32")
    assert r32["y"].dtype == np.float32
    assert_allclose(r32["y"], [0.31682708, 0.69627909], atol=1e-6)


def test_numerical_diff(tmp_path: Path) -> None:
    r = run("ch04_numerical_diff", "--out", str(tmp_path))
    assert r["f1"]["numerical"]["x"] == pytest.approx(6.0, abs=1e-6)
    assert r["f2"]["numerical"]["x"] == pytest.approx(8.0, abs=1e-6)
    assert r["f2"]["numerical"]["y"] == pytest.approx(15.0, abs=1e-6)
    w, x, y, z = 2.0, 3.0, 4.0, 5.0  # the point of f3
    expected = {"w": x + 3, "x": w + y * z, "y": x * z + 2 * y * z, "z": x * y + y**2}
    for name in ("f1", "f2", "f3"):
        for var, value in r[name]["numerical"].items():
            assert value == pytest.approx(r[name]["analytic"][var], abs=1e-6)
    assert r["f3"]["numerical"] == pytest.approx(expected, abs=1e-6)
    assert_png(r["plot"])


def test_linear_regression(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = run("ch04_linear_regression", "--out", str(tmp_path))
    x, t = host(r["x"]), host(r["t"])
    design = np.hstack([x, np.ones((len(x), 1))])
    solution = np.linalg.lstsq(design, t[:, 0], rcond=None)[0]  # the exact minimizer of the MSE
    for method in ("numerical", "hand-derived"):
        assert_allclose(r[method]["w"], solution[:4], atol=1e-6)
        assert r[method]["b"] == pytest.approx(solution[4], abs=1e-6)
    assert_allclose(r["numerical"]["w"], [2.0, -3.0, 1.0, 0.5], atol=0.02)  # the pattern
    assert r["numerical"]["b"] == pytest.approx(4.0, abs=0.05)
    queries = np.array(
        [
            (4, 4, 4, 4),
            (-3, 0, 9, -1),
            (-7, -9, -2, 8),
            (1, -2, 3, -2),
            (19, -12, 0, -76),
            (2001, -1, 109, 31),
            (-1, 102, -200, 1000),
        ],
        dtype=np.float64,
    )
    assert_allclose(r["predictions"], queries @ solution[:4] + solution[4], rtol=1e-6, atol=1e-5)
    assert_allclose(r["predictions"][:4], [6.0, 6.5, 19.0, 14.0], atol=0.1)
    assert "(2001, -1, 109, 31)" in capsys.readouterr().out
    assert_png(r["plot"])


def test_logistic_regression(tmp_path: Path) -> None:
    r = run("ch04_logistic_regression", "--out", str(tmp_path))
    hours = np.arange(2.0, 21.0)
    t = (hours >= 14).astype(np.float64)
    p = sigmoid(r["w"] * hours + r["b"])
    loss = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    assert r["loss"] == pytest.approx(loss, rel=1e-3)  # the loss of the returned parameters
    assert r["accuracy"] == 1.0 and np.all((p > 0.5) == (t == 1))
    assert 13.0 < r["boundary"] < 14.0  # between the last fail (13 h) and the first pass (14 h)
    predictions = r["predictions"]
    assert list(predictions) == [13.0, 11.0, 31.0, 3.0, 3.5]
    for h, value in predictions.items():
        assert value == pytest.approx(float(sigmoid(r["w"] * h + r["b"])), rel=1e-9)
    assert predictions[31.0] > 0.999 and predictions[3.0] < 1e-3 and predictions[3.5] < 1e-3
    assert predictions[11.0] < predictions[13.0] < 0.5
    assert_png(r["plot"])


def test_feed_forward_exercise() -> None:
    r = run("ch05_feed_forward")
    p = r["params"]
    x, t = np.array([[1.0, 2.0]]), np.array([[1.0]])
    z1 = x @ host(p[0].w) + host(p[0].b)
    a1 = sigmoid(z1)
    z2 = a1 @ host(p[2].w) + host(p[2].b)
    a2 = sigmoid(z2)
    for name, expected in (("Z1", z1), ("A1", a1), ("Z2", z2), ("A2", a2)):
        assert_allclose(r[name], expected, rtol=1e-12)
    assert r["A1"].shape == (1, 3) and r["A2"].shape == (1, 1)
    assert r["loss"] == pytest.approx(float((a2[0, 0] - 1.0) ** 2), rel=1e-12)
    assert r["fnn_loss"] == pytest.approx(r["loss"], rel=1e-12)
    for hand, fnn_grad in zip(
        r["hand_grads"], (r["grads"][0].w, r["grads"][0].b, r["grads"][2].w, r["grads"][2].b)
    ):
        assert_allclose(fnn_grad, hand, rtol=1e-10, atol=1e-14)
    # one step with learning rate 0.1 lowers the loss
    new = r["new_params"]
    assert_allclose(new[0].w, host(p[0].w) - 0.1 * host(r["hand_grads"][0]), rtol=1e-12)
    a2_new = sigmoid(sigmoid(x @ host(new[0].w) + host(new[0].b)) @ host(new[2].w) + host(new[2].b))
    assert r["new_loss"] == pytest.approx(float((a2_new[0, 0] - t[0, 0]) ** 2), rel=1e-12)
    assert r["new_loss"] < r["loss"]


def test_xor(tmp_path: Path) -> None:
    r = run("ch05_xor", "--steps", "1500", "--out", str(tmp_path))
    ls = r["least_squares"]
    for fit in (ls["closed_form"], ls["gradient_descent"]):
        assert_allclose(fit["w"], [0.0, 0.0], atol=1e-6)
        assert fit["b"] == pytest.approx(0.5, abs=1e-6)
    assert_allclose(ls["outputs"], 0.5, atol=1e-6)
    assert_array_equal(r["relu_outputs"], [0.0, 1.0, 1.0, 0.0])
    probabilities = host(r["mlp_probabilities"])
    assert_array_equal(probabilities > 0.5, [False, True, True, False])
    assert np.all(np.abs(probabilities - [0, 1, 1, 0]) < 0.1)
    losses = r["mlp_losses"]
    assert losses[-1] < 0.1 < losses[0]
    assert_png(r["plot"])


def test_backprop_check() -> None:
    r = run("ch05_backprop_check", "--data", str(DATA), "--hidden", "10")
    assert set(r["differences"]) == {"W1", "b1", "W2", "b2"}
    for name, (layer, field) in {"W1": (0, "w"), "b1": (0, "b"), "W2": (2, "w"), "b2": (2, "b")}.items():
        backprop = host(getattr(r["backprop"][layer], field))
        numerical = host(getattr(r["numerical"][layer], field))
        assert r["differences"][name] == pytest.approx(np.mean(np.abs(backprop - numerical)))
        assert r["differences"][name] < 1e-8
        assert np.abs(numerical).max() > 1e-6  # the gradients are not trivially zero
    assert r["numerical_seconds"] > r["backprop_seconds"]


def test_backprop_check_reports_missing_data(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="MNIST not found"):
        run("ch05_backprop_check", "--data", str(tmp_path / "nowhere"))


def test_mnist_inference(capsys: pytest.CaptureFixture[str]) -> None:
    r = run("ch03_mnist_inference", "--data", str(DATA), "--repeat", "1")
    assert r["n"] == 10_000
    assert r["single"]["accuracy"] == 0.9352  # the book's number, one image at a time
    assert r["batched"]["accuracy"] == 0.9352  # and in batches of 100
    assert r["speedup"] == pytest.approx(r["single"]["seconds"] / r["batched"]["seconds"])
    # the model is the book's predict(): sigmoid, sigmoid, softmax over the pickle's weights
    (p1, _, p2, _, p3, _) = r["params"]
    assert "Accuracy:0.9352 (9352/10000)" in capsys.readouterr().out
    y = host(r["y_first"]).astype(np.float64)
    assert y.sum() == pytest.approx(1.0, abs=1e-5) and int(y.argmax()) == 7  # the first test image is a 7
    assert p1.w.shape == (784, 50) and p2.w.shape == (50, 100) and p3.w.shape == (100, 10)


def test_mlp_mnist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = run("mlp_mnist", "--data", str(DATA), "--epochs", "4", "--lr", "3e-3", "--out", str(tmp_path))
    assert r["n_train"] == 5_000  # the offline subset
    assert len(r["accuracies"]) == 4 and len(r["losses"]) == 4
    assert r["test_accuracy"] >= 0.90  # on the full 10,000-image test set
    assert r["losses"][-1] < r["losses"][0]
    shapes = [p.w.shape for p in r["params"] if p is not None]
    assert shapes == [(784, 100), (100, 100), (100, 100), (100, 10)]
    assert_allclose(r["probabilities"].sum(axis=1), 1.0, rtol=1e-5)
    history = r["history"]  # both curves from one fit call: train/test loss, train/test accuracy
    assert len(history.eval_loss) == len(history.train_accuracy) == 4 and history.epoch_end[-1] == 200
    assert r["train_accuracy"] == history.train_accuracy[-1]
    out = capsys.readouterr().out
    assert "test accuracy" in out
    line = f"| loss {history.loss[3]:.4f} | train_accuracy {history.train_accuracy[3]:.4f} | eval_loss"
    assert re.search(r"^epoch 4 \| time \d+\.\d\[s\] " + re.escape(line), out, re.M)
    assert_png(r["plot"])


def test_spiral(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = run("dlfs2_ch01_spiral", "--out", str(tmp_path))
    history = r["history"]
    assert history.epochs == 300
    assert history.loss[-1] < 0.25 < history.loss[0]  # the book: about 1.1 down to about 0.1
    x, t, params = host(r["x"]), host(r["t"]), r["params"]
    assert x.shape == (300, 2) and t.shape == (300, 3)
    w1, b1, w2, b2 = (host(v) for v in (params[0].w, params[0].b, params[2].w, params[2].b))
    logits = sigmoid(x @ w1 + b1) @ w2 + b2  # the 2-10-3 network, recomputed
    assert r["accuracy"] == pytest.approx(float(np.mean(logits.argmax(axis=1) == t.argmax(axis=1))))
    assert r["accuracy"] >= 0.9
    out = capsys.readouterr().out
    assert re.search(r"^\| epoch 291 \|  iter 1 / 10 \| time \d+\[s\] \| loss \d\.\d\d$", out, re.M)
    assert out.count("|  iter ") == 300  # the book's Trainer with eval_interval=10: one line per epoch
    for path in r["plots"].values():
        assert_png(path)


def test_precision(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "--data",
        str(DATA),
        "--epochs",
        "2",
        "--train-limit",
        "1000",
        "--f16-train-limit",
        "200",
        "--no-gpu",
    ]
    r = run("precision", *argv)
    rows = {row["dtype"]: row for row in r["rows"] if row["backend"] == "numpy"}
    assert list(rows) == ["float64", "float32", "float16", "float16 (inference)"]
    params_bytes = 784 * 50 + 50 + 50 * 10 + 10  # parameters of the 784-50-10 network
    assert rows["float64"]["params bytes"] == 8 * params_bytes
    assert rows["float32"]["params bytes"] == 4 * params_bytes
    assert rows["float16"]["params bytes"] == 2 * params_bytes
    for dtype, params in r["params"].items():
        assert {leaf.dtype.name for leaf in (params[0].w, params[0].b, params[2].w)} == {dtype}
    assert rows["float64"]["peak bytes"] > rows["float32"]["peak bytes"] > 0
    assert rows["float64"]["train images"] == rows["float32"]["train images"] == 1000
    assert rows["float16"]["train images"] == 200
    assert {row["test images"] for row in rows.values()} == {10_000}  # every row is tested on the full test set
    # float32 learns what float64 learns; float16 inference of the float32 weights keeps the accuracy
    assert rows["float32"]["test accuracy"] > 0.6
    assert abs(rows["float32"]["test accuracy"] - rows["float64"]["test accuracy"]) < 0.03
    assert abs(rows["float16 (inference)"]["test accuracy"] - rows["float32"]["test accuracy"]) < 0.01
    assert rows["float16"]["test accuracy"] > 0.3  # float16 training works, on fewer images
    gpu_rows = [row for row in r["rows"] if row["backend"] == "cupy"]
    out = capsys.readouterr().out
    assert "trained on 1000 of the 5000 training images (200 for float16 on the CPU), tested on all 10000" in out
    assert re.search(r"^numpy +float16 \(inference\) +- +10000 ", out, re.M)  # the table's train and test columns
    if r["gpu"]:
        assert [row["dtype"] for row in gpu_rows] == ["float32", "float16"]
    else:  # no GPU here: the example says why and skips the rows, without failing
        assert not gpu_rows and r["gpu_reason"]
        assert f"GPU rows skipped: {r['gpu_reason']}" in out


def test_weight_init_histograms(tmp_path: Path) -> None:
    r = run("ch06_weight_init", "--samples", "200", "--out", str(tmp_path))
    x = host(r["x"])
    acts = {name: [host(a) for a in outputs] for name, outputs in r["activations"].items()}
    for name, outputs in acts.items():  # recomputed layer by layer from the returned weights
        a = x
        for layer, p in zip(outputs, [p for p in r["params"][name] if p is not None]):
            z = a @ host(p.w)
            a = sigmoid(z) if "sigmoid" in name else np.maximum(z, 0)
            assert_allclose(layer, a, rtol=1e-10, atol=1e-12)
            if "Xavier" in name:
                assert host(p.w).std() == pytest.approx(0.1, rel=0.05)  # 1/sqrt(100)
            if "He" in name:
                assert host(p.w).std() == pytest.approx(np.sqrt(0.02), rel=0.05)  # sqrt(2/100)
    saturated = np.mean(np.abs(acts["sigmoid, std 1"][-1] - 0.5) > 0.4)
    assert saturated > 0.5  # std 1: most sigmoids sit near 0 or 1
    assert acts["sigmoid, std 0.01"][-1].std() < 0.02  # std 0.01: all near 0.5
    assert 0.05 < acts["sigmoid, Xavier (1/sqrt(n))"][-1].std() < 0.3  # Xavier: spread kept
    assert acts["ReLU, std 0.01"][-1].std() < 1e-3 < acts["ReLU, He (sqrt(2/n))"][-1].std()
    he = [a.std() for a in acts["ReLU, He (sqrt(2/n))"]]
    assert max(he) / min(he) < 2  # He keeps the spread from layer to layer
    assert_png(r["plot"])


def test_optimizer_comparison(tmp_path: Path) -> None:
    r = run("ch06_optimizers", "--data", str(DATA), "--steps", "300", "--out", str(tmp_path))
    losses = r["losses"]
    assert list(losses) == ["SGD", "Momentum", "AdaGrad", "Adam"]
    first = {name: curve[0] for name, curve in losses.items()}
    assert len(set(first.values())) == 1  # the same start and the same first batch for every optimizer
    assert 2.0 < first["SGD"] < 3.0  # about ln 10 for an untrained 10-class network
    late = {name: float(np.mean(curve[-50:])) for name, curve in losses.items()}
    for name in ("Momentum", "AdaGrad", "Adam"):  # the book's finding: SGD is the slowest
        assert late[name] < late["SGD"] < first["SGD"]
    start, sgd = r["start_params"], r["params"]["SGD"]
    assert not np.allclose(host(start[0].w), host(sgd[0].w))  # training returned new params
    assert host(start[0].w).std() == pytest.approx(np.sqrt(2 / 784), rel=0.05)  # He initialisation
    assert r["test_accuracy"]["Adam"] > 0.85
    assert_png(r["plot"])


def test_batch_norm_comparison(tmp_path: Path) -> None:
    r = run("ch06_batch_norm", "--data", str(DATA), "--stds", "0.01", "--epochs", "8", "--out", str(tmp_path))
    runs = r["runs"][0.01]
    bn, plain = runs["batch norm"].train_accuracy, runs["no batch norm"].train_accuracy
    assert len(bn) == len(plain) == 8
    assert plain[-1] < 0.2  # tiny weights without batch norm: the signal vanishes, nothing is learned
    assert bn[-1] > 0.8  # with batch norm the same start learns
    params, state = r["trained"][0.01]
    model = r["model"](0.01, True)
    x, t = r["x"], r["t"]
    assert fnn.accuracy(model, params, x, t, state=state) == pytest.approx(bn[-1])
    bn_states = [s for s in state if s is not None]
    assert len(bn_states) == 5
    for s in bn_states:  # the running statistics were threaded through training and moved
        assert isinstance(s, fnn.BatchNormState)
        assert np.abs(host(s.mean)).max() > 1e-3 and not np.allclose(host(s.var), 1.0)
    assert_png(r["plot"])


def test_overfitting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = run(
        "ch06_overfitting",
        "--data",
        str(DATA),
        "--epochs",
        "120",
        "--test-size",
        "1000",
        "--out",
        str(tmp_path),
    )
    h = r["histories"]
    assert list(h) == ["none", "weight decay λ=0.1", "dropout rate=0.2"]
    gap = {name: hist.train_accuracy[-1] - hist.eval_accuracy[-1] for name, hist in h.items()}
    assert h["none"].train_accuracy[-1] > 0.97  # 300 images are memorised
    assert gap["none"] > 0.1
    assert gap["weight decay λ=0.1"] < gap["none"] and gap["dropout rate=0.2"] < gap["none"]
    test = {name: hist.eval_accuracy[-1] for name, hist in h.items()}
    assert max(test["weight decay λ=0.1"], test["dropout rate=0.2"]) < test["none"]  # closed from the training side
    assert f"the test accuracy did not rise above {test['none']:.3f}: too few images" in capsys.readouterr().out
    none, decayed = r["params"]["none"], r["params"]["weight decay λ=0.1"]
    norm = {
        k: sum(float(np.sum(host(p.w) ** 2)) for p in v if p is not None)
        for k, v in (("none", none), ("decay", decayed))
    }
    assert norm["decay"] < norm["none"]  # weight decay keeps the weights small
    x_test, t_test = host(r["x_test"]), host(r["t_test"])
    a = x_test
    for p in none[:-1:2]:  # the plain network, recomputed: (Dense, ReLU) x 6, Dense
        a = np.maximum(a @ host(p.w).astype(np.float64) + host(p.b), 0)
    logits = a @ host(none[-1].w).astype(np.float64) + host(none[-1].b)
    assert h["none"].eval_accuracy[-1] == pytest.approx(
        float(np.mean(logits.argmax(axis=1) == t_test)), abs=2e-3
    )
    assert_png(r["plot"])
