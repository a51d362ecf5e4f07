"""Gradient check (DLfS 1, ch. 5): backpropagation against numerical differentiation.

The book's two-layer network ``784 → 50 (ReLU) → 10`` with softmax-with-loss,
weights drawn as ``0.01 · N(0, 1)`` (``fnn.initializers.normal(0.01)``), in float64.
On the first three training images it compares

- ``fnn.grad(model, fnn.losses.softmax_cross_entropy)``: the layers' hand-derived
  gradients, one backward pass; and
- ``fnn.numerical_grad``: central differences, two forward passes per parameter
  (about 80,000 for this network),

and prints the mean absolute difference per parameter as the book does
(``W1:…, b1:…, W2:…, b2:…``); all are tiny (around 1e-10 or less).

Run: ``python examples/ch05_backprop_check.py``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn
from fnn.typing import Array

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def load_images(data: Path, n: int, backend: fnn.Backend) -> tuple[Array, Array]:
    """The first ``n`` MNIST training images and labels, from ``data/mnist``."""
    root = data / "mnist"
    if not root.is_dir():
        raise SystemExit(f"MNIST not found: {root} does not exist; pass --data DIR (a directory with mnist/)")
    (x, t), _ = fnn.datasets.load_mnist(root, download=False, cache=False, progress=False, backend=backend)
    return x[:n], t[:n]


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Print the mean absolute difference of the two gradients per parameter; return them."""
    parser = argparse.ArgumentParser(description="Backpropagation against numerical gradients.")
    parser.add_argument(
        "--data", type=Path, default=DATA, help="directory holding mnist/ (default ../shared/data)"
    )
    parser.add_argument("--batch", type=int, default=3, help="number of images")
    parser.add_argument("--hidden", type=int, default=50, help="hidden units")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    backend = fnn.backend(dtype="float64")
    x, t = load_images(args.data, args.batch, backend)
    w_init = fnn.initializers.normal(0.01)
    model = fnn.sequential(fnn.Dense(args.hidden, w_init=w_init), fnn.relu, fnn.Dense(10, w_init=w_init))
    params = model.init(fnn.random.key(args.seed), (784,), backend)
    loss = fnn.losses.softmax_cross_entropy

    start = time.perf_counter()
    backprop = fnn.grad(model, loss)(params, x, t)
    backprop_seconds = time.perf_counter() - start
    start = time.perf_counter()
    numerical = fnn.numerical_grad(lambda p: float(loss(model.apply(p, x), t)), params)
    numerical_seconds = time.perf_counter() - start

    names = {"W1": (0, "w"), "b1": (0, "b"), "W2": (2, "w"), "b2": (2, "b")}
    differences = {}
    for name, (layer, field) in names.items():
        diff = float(abs(getattr(backprop[layer], field) - getattr(numerical[layer], field)).mean())
        differences[name] = diff
        print(f"{name}:{diff}")
    print(
        f"backprop {backprop_seconds * 1e3:.2f} ms, numerical {numerical_seconds:.1f} s "
        f"({fnn.param_count(params)} parameters): {numerical_seconds / backprop_seconds:,.0f}x slower"
    )
    return {
        "differences": differences,
        "backprop": backprop,
        "numerical": numerical,
        "backprop_seconds": backprop_seconds,
        "numerical_seconds": numerical_seconds,
    }


if __name__ == "__main__":
    main()
