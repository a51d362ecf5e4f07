"""The SimpleConvNet and DeepConvNet examples, and the conversion of the book's weights.

The examples run with quick settings. The book's published weights must give the
book's accuracy on the full 10,000-image MNIST test set (computed in float64):
SimpleConvNet 0.9890, DeepConvNet 0.9935 (float32 and float64 agree; the examples'
``--dtype float64`` checks the latter). The conversion is also checked against
an independent NumPy re-implementation of the book's test-time forward pass, with
its non-inverted dropout (``× 0.5``), logit for logit.

fnn computes on the backend under test (``FNN_BACKEND``); the book's forward pass
is recomputed with NumPy on host copies, and comparisons go through ``tests.helpers``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any, Callable, cast

import numpy as np
import pytest

import fnn
from fnn import dlfs
from tests.helpers import assert_allclose, host

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def test_offline_data_is_beside_the_project() -> None:
    """The tests below read ``../shared/data``; without it they fail (never skip), and this says why."""
    assert (DATA / "mnist").is_dir() and (DATA / "dlfs").is_dir(), (
        f"offline data not found at {DATA}: check out the project with shared/ beside it"
    )


def run(name: str, *argv: str) -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location(f"examples.{name}", ROOT / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return cast(Callable[[list[str]], dict[str, Any]], module.main)(list(argv))


def assert_png(path: object) -> None:
    assert isinstance(path, Path) and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5_000


def test_simple_convnet_book_weights_and_training(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = run(
        "simple_convnet",
        "--epochs",
        "4",
        "--lr",
        "2e-3",
        "--test-size",
        "500",
        "--no-train-accuracy",
        "--out",
        str(tmp_path),
    )
    assert r["pretrained_accuracy"] == 0.989  # 9,890 of 10,000 test images, as the book's ~0.99
    assert r["test_accuracy"] >= 0.95  # trained on the 5,000-image subset, full test set
    assert r["history"].epochs == 4 and r["history"].eval_accuracy[-1] > r["history"].eval_accuracy[0]
    assert r["history"].train_accuracy == ()  # --no-train-accuracy skips that pass
    assert_png(r["png"])
    out = capsys.readouterr().out
    assert "book's weights: test accuracy 0.9890 on 10000 images (float32)" in out


def test_deep_convnet_book_weights_and_quick_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = run(
        "deep_convnet", "--epochs", "1", "--train-size", "200", "--test-size", "100", "--out", str(tmp_path)
    )
    assert r["pretrained_accuracy"] == 0.9935  # 9,935 of 10,000, as the book's ~0.993
    assert r["history"].epochs == 1 and np.isfinite(r["history"].loss[0])
    assert_png(r["png"])
    assert "book's weights: test accuracy 0.9935 on 10000 images (float32)" in capsys.readouterr().out


def book_conv(x: Any, w: Any, b: Any, pad: int) -> Any:
    """The book's Convolution (stride 1) written independently with sliding_window_view (NumPy, host)."""
    x = np.pad(host(x), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    window = (1, 1, int(w.shape[2]), int(w.shape[3]))
    windows = np.lib.stride_tricks.sliding_window_view(np.asarray(x), window)  # N, C, OH, OW, 1, 1, kh, kw
    return np.einsum("ncpqabij,fcij->nfpq", windows, w) + b[None, :, None, None]


def book_pool(x: Any) -> Any:
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def book_deep_convnet_test_forward(weights: dict[str, Any], x: Any) -> Any:
    """The book's DeepConvNet.predict(x, train_flg=False), dropout multiplying by 1 - 0.5 (NumPy, host)."""
    x = host(x)
    pads = [1, 1, 1, 2, 1, 1]
    for i, pad in enumerate(pads, start=1):
        x = np.maximum(book_conv(x, weights[f"W{i}"], weights[f"b{i}"], pad), 0)
        if i % 2 == 0:
            x = book_pool(x)
    x = np.maximum(x.reshape(len(x), -1) @ weights["W7"] + weights["b7"], 0) * 0.5
    return (x @ weights["W8"] + weights["b8"]) * 0.5


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_simple_convnet_conversion_reproduces_the_books_logits(dtype: str) -> None:
    weights = fnn.io.load_pickle_arrays(DATA / "dlfs" / "simple_convnet_params.pkl")
    b = fnn.backend(dtype=dtype)
    _, (x, _) = fnn.datasets.load_mnist(
        DATA / "mnist", flatten=False, download=False, cache=False, progress=False, backend=b
    )
    x = x[:16]
    logits = dlfs.simple_convnet().apply(dlfs.simple_convnet_params(weights, b), x)
    assert logits.dtype == np.dtype(dtype) and isinstance(logits, b.xp.ndarray)
    h = book_pool(np.maximum(book_conv(host(x).astype("float64"), weights["W1"], weights["b1"], 0), 0))
    h = np.maximum(h.reshape(len(h), -1) @ weights["W2"] + weights["b2"], 0)
    expected = h @ weights["W3"] + weights["b3"]
    assert_allclose(
        logits,
        expected,
        rtol=1e-4 if dtype == "float32" else 1e-10,
        atol=1e-4 if dtype == "float32" else 1e-12,
    )


def test_deep_convnet_conversion_reproduces_the_books_test_time_logits() -> None:
    weights = fnn.io.load_pickle_arrays(DATA / "dlfs" / "deep_convnet_params.pkl")
    b64 = fnn.backend(dtype="float64")
    _, (x, _) = fnn.datasets.load_mnist(
        DATA / "mnist", flatten=False, download=False, cache=False, progress=False, backend=b64
    )
    x = x[:16]
    logits = dlfs.deep_convnet().apply(dlfs.deep_convnet_params(weights, b64), x)
    assert isinstance(logits, b64.xp.ndarray)
    assert_allclose(logits, book_deep_convnet_test_forward(weights, x), rtol=1e-10, atol=1e-12)


def test_conversion_errors_name_the_weight() -> None:
    # Host weights, as fnn.io.load_pickle_arrays returns them from the book's pickles.
    with pytest.raises(fnn.ShapeError, match=r"book weights: `W3` is missing"):
        dlfs.deep_convnet_params(
            {
                "W1": np.zeros((16, 1, 3, 3)),
                "b1": np.zeros(16),
                "W2": np.zeros((16, 16, 3, 3)),
                "b2": np.zeros(16),
            }
        )
    with pytest.raises(
        fnn.ShapeError, match=r"book weights: `W1` has shape \(16, 3, 3, 3\), expected \(16, 1, 3, 3\)"
    ):
        dlfs.deep_convnet_params({"W1": np.zeros((16, 3, 3, 3))})
