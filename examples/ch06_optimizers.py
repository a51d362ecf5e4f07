"""DLfS 1, ch. 6.1: SGD, Momentum, AdaGrad and Adam compared on MNIST.

The book's experiment (``optimizer_compare_mnist.py``): a 784-100-100-100-100-10
ReLU network (He initialisation) trained from the same initial weights with each
optimizer for 2,000 steps of 128 random training images, plotting the training
loss against the step. The update rules, as :mod:`fnn.optim` writes them
(``g`` the gradient, ``η`` the learning rate):

- ``sgd(η)``: ``θ ← θ − η g``;
- ``momentum(η, 0.9)``: ``v ← 0.9 v + g``, ``θ ← θ − η v``;
- ``adagrad(η)``: ``h ← h + g²``, ``θ ← θ − η g / (√h + ε)``;
- ``adam(η)``: bias-corrected running means of ``g`` and ``g²``.

Every optimizer is a pure ``(init, update)`` pair; the loop below is the one
``fnn.fit`` runs, written out: ``value_and_grad`` → ``update`` → ``apply_updates``.
The book's finding holds: SGD is the slowest, the other three learn faster.
The curves (smoothed over 20 steps) go to ``ch06_optimizers.png``.

Run: ``python examples/ch06_optimizers.py`` (``--steps 200`` for a quick run)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn
from fnn.typing import Array

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

OPTIMIZERS = {
    "SGD": fnn.optim.sgd(0.01),
    "Momentum": fnn.optim.momentum(0.01),
    "AdaGrad": fnn.optim.adagrad(0.01),
    "Adam": fnn.optim.adam(0.001),
}


def network() -> fnn.Sequential:
    """784 → 100 → 100 → 100 → 100 → 10, ReLU, He-initialised weights."""
    he = fnn.initializers.he_normal()
    hidden = [layer for _ in range(4) for layer in (fnn.Dense(100, w_init=he), fnn.relu)]
    return fnn.sequential(*hidden, fnn.Dense(10, w_init=he))


def train(
    optimizer: fnn.optim.GradientTransformation,
    params: tuple[Any, ...],
    x: Array,
    t: Array,
    *,
    steps: int,
    batch_size: int,
    key: fnn.random.Key,
) -> tuple[tuple[Any, ...], list[float]]:
    """``steps`` steps on random minibatches (the book's ``np.random.choice``); the losses."""
    step = fnn.value_and_grad(network(), fnn.losses.softmax_cross_entropy)
    opt_state = optimizer.init(params)
    losses = []
    for i in range(steps):
        index = fnn.random.permutation(fnn.random.fold_in(key, i), len(t))[:batch_size]
        loss, grads = step(params, x[index], t[index])
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = fnn.optim.apply_updates(params, updates)
        losses.append(float(loss))
    return params, losses


def plot(path: Path, curves: dict[str, list[float]], smooth: int = 20) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, losses in curves.items():
        kernel = np.ones(min(smooth, len(losses))) / min(smooth, len(losses))
        ax.plot(np.convolve(losses, kernel, mode="valid"), label=name)
    ax.set_xlabel("step")
    ax.set_ylabel(f"training loss (mean of {smooth} steps)")
    ax.set_ylim(0, 1.0)
    ax.set_title("Optimizers on MNIST, 784-100x4-10 ReLU network (DLfS 6.1)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Train one network per optimizer from the same start, print and plot the losses."""
    parser = argparse.ArgumentParser(description="SGD, Momentum, AdaGrad and Adam on MNIST (DLfS 6.1).")
    parser.add_argument("--data", type=Path, default=DATA, help="directory holding mnist/")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out"), help="directory for the PNG")
    args = parser.parse_args(argv)

    root = args.data / "mnist"
    if not root.is_dir():
        raise SystemExit(f"MNIST not found: {root} does not exist; pass --data DIR (a directory with mnist/)")
    backend = fnn.backend(dtype="float32")  # NumPy, or CuPy under FNN_BACKEND=cupy
    (x, t), (x_test, t_test) = fnn.datasets.load_mnist(
        root, download=False, cache=False, progress=False, backend=backend
    )
    init_key, batch_key = fnn.random.split(fnn.random.key(args.seed))
    model = network()
    start_params = model.init(init_key, (784,), backend)  # the same start for every optimizer
    curves: dict[str, list[float]] = {}
    params_of: dict[str, object] = {}
    accuracies: dict[str, float] = {}
    for name, optimizer in OPTIMIZERS.items():
        start = time.perf_counter()
        params, curves[name] = train(
            optimizer, start_params, x, t, steps=args.steps, batch_size=args.batch_size, key=batch_key
        )
        params_of[name] = params
        accuracies[name] = fnn.accuracy(model, params, x_test, t_test)
        marks = "  ".join(f"{curves[name][i]:.3f}" for i in range(0, args.steps, max(args.steps // 5, 1)))
        print(
            f"{name:<8} loss at steps 0, {args.steps // 5}, ...: {marks}  last 100 steps "
            f"{np.mean(curves[name][-100:]):.4f}  test accuracy {accuracies[name]:.4f} "
            f"({time.perf_counter() - start:.1f} s)"
        )

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "ch06_optimizers.png"
    plot(path, curves)
    print(f"saved {path}")
    return {
        "losses": curves,
        "params": params_of,
        "start_params": start_params,
        "test_accuracy": accuracies,
        "plot": path,
    }


if __name__ == "__main__":
    main()
