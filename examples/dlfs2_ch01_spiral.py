"""The spiral (DLfS 2, ch. 1): a 2-10-3 network trained with ``fnn.fit``.

Three interleaved spiral arms of 100 points each (``fnn.datasets.spiral``) cannot
be separated by straight lines. The book's two-layer network
``Dense(10) → sigmoid → Dense(3)`` with softmax-with-loss, trained by SGD
(learning rate 1.0, batches of 30, 300 epochs), separates them. The script
prints the book's Trainer lines (``| epoch 1 |  iter 1 / 10 | time 0[s] | loss
1.10``, every 10 iterations, from :class:`fnn.train.BookLog`) and saves three
plots: the data (``spiral_data.png``), the loss per iteration averaged over 10
(``spiral_loss.png``, from ``History.plot(per="step", smooth=10)``, the book's
``trainer.plot()``) and the decision regions (``spiral_regions.png``).

Run: ``python examples/dlfs2_ch01_spiral.py``
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

COLORS = ("tab:blue", "tab:orange", "tab:green")


def plot_data(path: Path, x: Array, labels: Array) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, labels = fnn.to_numpy(x), fnn.to_numpy(labels)  # matplotlib draws host (NumPy) arrays
    fig, ax = plt.subplots(figsize=(5, 5))
    for c in range(int(labels.max()) + 1):
        ax.scatter(x[labels == c, 0], x[labels == c, 1], s=20, color=COLORS[c % 3], label=f"class {c}")
    ax.set_aspect("equal")
    ax.legend()
    ax.set_title("The spiral data set")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_regions(
    path: Path, model: fnn.Sequential, params: Any, x: Array, labels: Array, backend: fnn.Backend
) -> None:
    """Colour each point of the plane by the class the network (on ``backend``) predicts there."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    grid = np.linspace(-1.1, 1.1, 300)
    gx, gy = np.meshgrid(grid, grid)
    points = backend.asarray(np.stack([gx.ravel(), gy.ravel()], axis=1))
    regions = fnn.to_numpy(model.apply(params, points).argmax(axis=1)).reshape(gx.shape)
    x, labels = fnn.to_numpy(x), fnn.to_numpy(labels)  # matplotlib draws host (NumPy) arrays
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.contourf(gx, gy, regions, levels=[-0.5, 0.5, 1.5, 2.5], cmap=ListedColormap(COLORS), alpha=0.3)
    for c in range(int(labels.max()) + 1):
        ax.scatter(x[labels == c, 0], x[labels == c, 1], s=20, color=COLORS[c % 3])
    ax.set_aspect("equal")
    ax.set_title("Decision regions of the trained 2-10-3 network")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Train on the spiral; print the loss as it falls and the accuracy; save the plots."""
    parser = argparse.ArgumentParser(description="The spiral of DLfS 2, ch. 1, trained with fnn.fit.")
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=30)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--hidden", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out"), help="directory for the PNGs")
    args = parser.parse_args(argv)

    backend = fnn.default_backend()  # NumPy, or CuPy under FNN_BACKEND=cupy
    data_key, init_key, fit_key = fnn.random.split(fnn.random.key(args.seed), 3)
    x, t = fnn.datasets.spiral(data_key, backend=backend)  # x: (300, 2), t: (300, 3) one-hot
    labels = t.argmax(axis=1)
    model = fnn.sequential(fnn.Dense(args.hidden), fnn.sigmoid, fnn.Dense(3))
    print(model.summary((2,)))
    params = model.init(init_key, (2,), backend)

    start = time.perf_counter()
    params, _, history = fnn.fit(
        model,
        fnn.losses.softmax_cross_entropy,
        fnn.optim.sgd(args.lr),
        params,
        x,
        t,
        key=fit_key,
        epochs=args.epochs,
        batch_size=args.batch_size,
        train_accuracy=True,
        callbacks=[fnn.train.BookLog(every=10)],  # the book's Trainer lines, eval_interval=10
    )
    seconds = time.perf_counter() - start
    accuracy = fnn.accuracy(model, params, x, t)
    print(
        f"trained {history.epochs} epochs in {seconds:.1f} s: "
        f"loss {history.loss[-1]:.4f}, accuracy {accuracy:.3f}"
    )

    args.out.mkdir(parents=True, exist_ok=True)
    paths = {
        "data": args.out / "spiral_data.png",
        "loss": args.out / "spiral_loss.png",
        "regions": args.out / "spiral_regions.png",
    }
    plot_data(paths["data"], x, labels)
    history.plot(paths["loss"], per="step", smooth=10, title="Spiral: SGD, lr 1.0, batch 30")
    plot_regions(paths["regions"], model, params, x, labels, backend)
    for path in paths.values():
        print(f"saved {path}")
    x, t = fnn.to_numpy(x), fnn.to_numpy(t)  # host copies, to return
    return {"x": x, "t": t, "params": params, "history": history, "accuracy": accuracy, "plots": paths}


if __name__ == "__main__":
    main()
