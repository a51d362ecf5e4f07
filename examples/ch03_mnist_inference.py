"""MNIST inference with the book's trained weights (DLfS 1, ch. 3): accuracy 0.9352.

``sample_weight.pkl`` holds the book's 784-50-100-10 network (sigmoid hidden
layers, softmax output). It is a pickle, and unpickling can run code, so it is
read with ``fnn.io.load_pickle_arrays``, which admits only plain dicts and NumPy
arrays. Its six arrays become the params of an ``fnn.sequential`` model.

The script classifies the 10,000 test images one at a time, as the book's first
loop does, then in batches of 100: the accuracy is the same (0.9352), and the
batched loop is much faster (best of three runs each) because each matrix product does 100 images' work
for one call's overhead. It prints the measured speed-up.

Run: ``python examples/ch03_mnist_inference.py``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn
from fnn.typing import Array

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def network(weights: dict[str, Array], backend: fnn.Backend) -> tuple[fnn.Sequential, tuple[Any, ...]]:
    """The book's network as an fnn model, with the pickle's arrays as its params."""
    model = fnn.sequential(
        fnn.Dense(50), fnn.sigmoid,
        fnn.Dense(100), fnn.sigmoid,
        fnn.Dense(10), fnn.softmax,
    )  # fmt: skip
    dense = [
        fnn.DenseParams(backend.asarray(weights[f"W{i}"]), backend.asarray(weights[f"b{i}"]))
        for i in (1, 2, 3)
    ]
    return model, (dense[0], None, dense[1], None, dense[2], None)


def count_correct(model: fnn.Sequential, params: Any, x: Array, t: Array, batch_size: int) -> int:
    """The book's loop: predict ``batch_size`` images at a time and count the right answers."""
    correct = 0
    for i in range(0, len(x), batch_size):
        y = model.apply(params, x[i : i + batch_size])
        correct += int((y.argmax(axis=1) == t[i : i + batch_size]).sum())
    return correct


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Print the accuracy one image at a time and in batches, and the speed-up of batching."""
    parser = argparse.ArgumentParser(description="MNIST inference with the book's sample_weight.pkl.")
    parser.add_argument("--data", type=Path, default=DATA, help="directory holding mnist/ and dlfs/")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="time each loop this many times, keep the best")
    args = parser.parse_args(argv)

    weights_file = args.data / "dlfs" / "sample_weight.pkl"
    if not weights_file.is_file() or not (args.data / "mnist").is_dir():
        raise SystemExit(
            f"data not found: need {weights_file} and {args.data / 'mnist'}; "
            "pass --data DIR (default ../shared/data)"
        )
    weights = fnn.io.load_pickle_arrays(weights_file)
    print(
        "sample_weight.pkl:", ", ".join(f"{k} {tuple(v.shape)} {v.dtype}" for k, v in sorted(weights.items()))
    )
    backend = fnn.backend(dtype="float32")  # the book's weights are float32
    model, params = network(weights, backend)
    _, (x, t) = fnn.datasets.load_mnist(
        args.data / "mnist", download=False, cache=False, progress=False, backend=backend
    )
    print(f"test images {tuple(x.shape)} {x.dtype}, labels {tuple(t.shape)}")

    results: dict[str, object] = {"n": len(x)}
    for name, size in (("one at a time", 1), (f"batches of {args.batch_size}", args.batch_size)):
        timings = []
        for _ in range(args.repeat):  # the best of a few runs, less disturbed by other work
            start = time.perf_counter()
            correct = count_correct(model, params, x, t, size)
            timings.append(time.perf_counter() - start)
        seconds = min(timings)
        accuracy = correct / len(x)
        print(f"{name:>16}: Accuracy:{accuracy} ({correct}/{len(x)}) in {seconds:.3f} s")
        results["single" if size == 1 else "batched"] = {"accuracy": accuracy, "seconds": seconds}
    single, batched = results["single"], results["batched"]
    assert isinstance(single, dict) and isinstance(batched, dict)
    speedup = single["seconds"] / batched["seconds"]
    print(f"batching is {speedup:.1f}x faster (best of {args.repeat} runs each)")
    results["speedup"] = speedup
    results["params"] = params
    results["y_first"] = model.apply(params, x[:1])[0]
    return results


if __name__ == "__main__":
    main()
