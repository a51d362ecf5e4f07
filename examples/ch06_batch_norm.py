"""DLfS 1, ch. 6.3: training with and without batch normalization.

The book's experiment (``batch_norm_test.py``): a 784-100x5-10 ReLU network trained
with SGD (learning rate 0.01, batches of 100) on 1,000 MNIST training images, once as
``Dense → ReLU`` blocks and once as ``Dense → BatchNorm → ReLU`` blocks, from weights
drawn with several standard deviations; the training accuracy is plotted per epoch.
Batch normalization makes learning fast and nearly independent of the weight scale;
without it, too small or too large weights stall learning.

**Forward** of :class:`fnn.BatchNorm` in training: ``x̂ = (x − μ_B)/√(σ²_B + ε)``,
``y = γ x̂ + β`` with the batch's mean and variance; **backward**:
``dβ = Σ dy``, ``dγ = Σ dy ⊙ x̂``, ``dx = (g − mean(g) − x̂ mean(g ⊙ x̂))/σ`` with
``g = γ dy``. Its running mean and variance are *state*: ``fit(..., state=...)``
threads them through every step (``new_state`` returned, the old one untouched), the
optimizer never sees them, and ``fnn.accuracy(..., state=...)`` uses them for
inference. The curves go to ``ch06_batch_norm.png``.

Run: ``python examples/ch06_batch_norm.py`` (``--stds 1 0.3 0.1 0.03 0.01`` for more scales)
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

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def network(std: float, batch_norm: bool) -> fnn.Sequential:
    """Five hidden blocks ``Dense(100) [→ BatchNorm] → ReLU``, then ``Dense(10)``; ``W ~ N(0, std²)``."""
    w_init = fnn.initializers.normal(std)
    layers: list[fnn.Layer[Any]] = []
    for _ in range(5):
        layers.append(fnn.Dense(100, w_init=w_init))
        if batch_norm:
            layers.append(fnn.BatchNorm())
        layers.append(fnn.relu)
    return fnn.sequential(*layers, fnn.Dense(10, w_init=w_init))


def plot(path: Path, runs: dict[float, dict[str, fnn.History]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs), figsize=(3.2 * len(runs), 3.4), sharey=True, squeeze=False)
    for ax, (std, histories) in zip(axes[0], runs.items()):
        for name, style in (("batch norm", "-"), ("no batch norm", "--")):
            history = histories[name]
            diverged = " (diverged)" if history.epochs < max(h.epochs for h in histories.values()) else ""
            ax.plot(range(1, history.epochs + 1), history.train_accuracy, style, label=name + diverged)
        ax.set_title(f"W ~ N(0, {std}²)", fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("training accuracy")
    for ax in axes[0]:
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle("Batch normalization vs none, 784-100x5-10 ReLU, SGD 0.01 (DLfS 6.3)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Train with and without batch norm for every weight scale; print and plot the accuracies."""
    parser = argparse.ArgumentParser(description="Batch normalization vs none (DLfS 6.3).")
    parser.add_argument("--data", type=Path, default=DATA, help="directory holding mnist/")
    parser.add_argument("--stds", type=float, nargs="+", default=[1.0, 0.1, 0.01])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--train-size", type=int, default=1000)
    parser.add_argument("--lr", type=float, default=0.01, help="SGD's learning rate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out"), help="directory for the PNG")
    args = parser.parse_args(argv)

    root = args.data / "mnist"
    if not root.is_dir():
        raise SystemExit(f"MNIST not found: {root} does not exist; pass --data DIR (a directory with mnist/)")
    backend = fnn.backend(dtype="float32")  # NumPy, or CuPy under FNN_BACKEND=cupy
    (x, t), _ = fnn.datasets.load_mnist(root, download=False, cache=False, progress=False, backend=backend)
    x, t = x[: args.train_size], t[: args.train_size]
    init_key, fit_key = fnn.random.split(fnn.random.key(args.seed))
    runs: dict[float, dict[str, fnn.History]] = {}
    trained: dict[float, tuple[Any, Any]] = {}  # (params, state) of the batch-norm runs
    start = time.perf_counter()
    for std in args.stds:
        runs[std] = {}
        for name, batch_norm in (("batch norm", True), ("no batch norm", False)):
            model = network(std, batch_norm)
            params = model.init(init_key, (784,), backend)
            state = model.init_state((784,), backend)
            try:
                with np.errstate(over="ignore", invalid="ignore"):  # NaN is caught below, by fit
                    result = fnn.fit(
                        model, fnn.losses.softmax_cross_entropy, fnn.optim.sgd(args.lr), params, x, t,
                        key=fit_key, epochs=args.epochs, batch_size=100, state=state,
                        train_accuracy=True,
                    )  # fmt: skip
            except fnn.train.DivergenceError as error:  # large weights without batch norm
                runs[std][name] = error.history  # the epochs completed before the loss became NaN
                print(f"W ~ N(0, {std}²), {name}: diverged at epoch {error.epoch} (the loss became NaN)")
                continue
            runs[std][name] = result.history
            if batch_norm:
                trained[std] = (result.params, result.state)
        for name, history in runs[std].items():
            if history.epochs:
                print(
                    f"W ~ N(0, {std}²), {name}: training accuracy {history.train_accuracy[0]:.3f} "
                    f"after epoch 1, {history.train_accuracy[-1]:.3f} after epoch {history.epochs}"
                )
    print(f"{2 * len(args.stds)} runs in {time.perf_counter() - start:.1f} s")

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "ch06_batch_norm.png"
    plot(path, runs)
    print(f"saved {path}")
    return {"runs": runs, "trained": trained, "model": network, "x": x, "t": t, "plot": path}


if __name__ == "__main__":
    main()
