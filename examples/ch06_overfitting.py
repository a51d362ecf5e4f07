"""DLfS 1, ch. 6.4: overfitting, and weight decay and dropout against it.

The book's experiments (``overfit_weight_decay.py``, ``overfit_dropout.py``): a
784-100x6-10 ReLU network trained with SGD (learning rate 0.01, batches of 100) on
only 300 MNIST training images reaches 100% training accuracy while the test
accuracy stays far below: it overfits. Three runs from the same initial weights:

- **none**: plain SGD;
- **weight decay** ``λ = 0.1``: the loss gets ``(λ/2) Σ ‖W‖²`` over the weight
  matrices (not the biases), whose gradient ``λ W`` is added by
  ``fnn.optim.chain(fnn.optim.add_decayed_weights(λ, mask), fnn.optim.sgd(η))``;
- **dropout** ``rate = 0.2`` after every hidden ReLU: ``fnn.Dropout(0.2)`` zeroes each
  activation with probability 0.2 in training (mask from the key ``fit`` passes each
  step, kept activations scaled by ``1/0.8``) and is the identity at test time.

Both shrink the gap between training and test accuracy. The curves go to
``ch06_overfitting.png``.

**Why the test accuracy falls with regularisation here.** The remedies narrow the
gap from the training side; they do not raise the test accuracy, neither here nor
in the book's figures (whose regularised test curves end no higher than the plain
one). fnn's default run (the first 300 of the offline 5,000-image training subset,
200 epochs, the first 2,000 test images) gives train / test accuracy of 1.000 /
0.782 without regularisation, 0.907 / 0.738 with weight decay and 0.890 / 0.695 with
dropout. Three reasons:

- 300 images hold too little of the variety of handwriting: the plain network
  already learns what they can teach (0.78–0.79 test accuracy, the same after 600
  epochs), so its test accuracy is limited by the data, not by memorising it, and
  there is little for a regulariser to win back;
- ``λ = 0.1`` is a strong penalty for seven 100-wide weight matrices: it keeps the
  weights too small to fit even the training images (0.90 after 200 or 600
  epochs), and the test accuracy sinks with them (0.71 after 600 epochs);
- dropout slows learning (each step trains a thinned network): at 200 epochs it is
  still behind, and with ``--epochs 600`` it reaches the plain network's 0.78.

Milder settings do not hurt but barely help: with ``--epochs 600 --weight-decay
0.03 --dropout 0.1`` both regularised runs fit the training set and end at 0.79
test accuracy, the plain network's (the best epoch is within a point of it, about
the noise of 2,000 test images). The line printed after the runs says this with
the run's own numbers.

The test accuracy is measured on the first 2,000 test images by default (``--test-size 0``
for all 10,000, as the book; about three times slower).

Run: ``python examples/ch06_overfitting.py`` (``--epochs 300`` as the book's dropout run)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def network(dropout: float = 0.0) -> fnn.Sequential:
    """Six hidden blocks ``Dense(100, He) → ReLU [→ Dropout]``, then ``Dense(10)``."""
    he = fnn.initializers.he_normal()
    layers: list[fnn.Layer[Any]] = []
    for _ in range(6):
        layers += [fnn.Dense(100, w_init=he), fnn.relu]
        if dropout:
            layers.append(fnn.Dropout(dropout))
    return fnn.sequential(*layers, fnn.Dense(10, w_init=he))


def weights_only(params: Any) -> Any:
    """The mask of :func:`fnn.optim.add_decayed_weights`: decay the matrices, spare the biases."""
    return fnn.tree.map(lambda p: p.ndim > 1, params)


def with_dropout(params: tuple[Any, ...]) -> tuple[Any, ...]:
    """The params of ``network()`` laid out for ``network(rate)``: ``None`` for each Dropout."""
    out: list[Any] = []
    for i, p in enumerate(params):
        out.append(p)
        if i % 2 == 1 and i < len(params) - 1:  # after each hidden ReLU
            out.append(None)
    return tuple(out)


def explain(histories: dict[str, fnn.History]) -> str:
    """One line on what regularisation did to the gap and to the test accuracy (the first run is plain)."""
    test = {name: h.eval_accuracy[-1] for name, h in histories.items()}
    gap = {name: h.train_accuracy[-1] - h.eval_accuracy[-1] for name, h in histories.items()}
    plain, *regularised = histories
    gaps = ", ".join(f"{gap[name]:.3f} with {name}" for name in regularised)
    line = f"regularisation changed the train-test gap from {gap[plain]:.3f} to {gaps}; "
    better = [name for name in regularised if test[name] > test[plain]]
    if better:
        return line + f"the test accuracy rose above {test[plain]:.3f} with {', '.join(better)}"
    return line + (
        f"the test accuracy did not rise above {test[plain]:.3f}: too few images limit it, "
        "a strong penalty underfits and dropout learns slower (see the module docstring)"
    )


def plot(path: Path, histories: dict[str, fnn.History]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, len(histories), figsize=(4 * len(histories), 3.6), sharey=True)
    for ax, (name, history) in zip(axes, histories.items()):
        epochs = range(1, history.epochs + 1)
        ax.plot(epochs, history.train_accuracy, label="train")
        ax.plot(epochs, history.eval_accuracy, label="test")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # whole epochs
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    axes[0].set_ylabel("accuracy")
    fig.suptitle("Overfitting 300 MNIST images, 784-100x6-10 ReLU, SGD 0.01 (DLfS 6.4)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Train without regularization, with weight decay and with dropout; print and plot the gaps."""
    parser = argparse.ArgumentParser(description="Overfitting, weight decay and dropout (DLfS 6.4).")
    parser.add_argument("--data", type=Path, default=DATA, help="directory holding mnist/")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--train-size", type=int, default=300)
    parser.add_argument(
        "--test-size", type=int, default=2000, help="evaluate on the first N test images (0: all 10,000)"
    )
    parser.add_argument("--weight-decay", type=float, default=0.1, help="λ")
    parser.add_argument("--dropout", type=float, default=0.2, help="the probability of dropping")
    parser.add_argument("--lr", type=float, default=0.01, help="SGD's learning rate")
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
    x, t = x[: args.train_size], t[: args.train_size]
    x_test, t_test = x_test[: args.test_size or None], t_test[: args.test_size or None]
    init_key, fit_key = fnn.random.split(fnn.random.key(args.seed))
    params = network().init(init_key, (784,), backend)  # the same start for all three runs
    sgd = fnn.optim.sgd(args.lr)
    runs = {
        "none": (network(), sgd),
        f"weight decay λ={args.weight_decay}": (
            network(),
            fnn.optim.chain(fnn.optim.add_decayed_weights(args.weight_decay, weights_only), sgd),
        ),
        f"dropout rate={args.dropout}": (network(args.dropout), sgd),
    }
    start_params = {name: params for name in runs}
    start_params[f"dropout rate={args.dropout}"] = with_dropout(params)
    histories: dict[str, fnn.History] = {}
    trained: dict[str, Any] = {}
    for name, (model, optimizer) in runs.items():
        start = time.perf_counter()
        trained[name], _, histories[name] = fnn.fit(
            model, fnn.losses.softmax_cross_entropy, optimizer, start_params[name], x, t,
            key=fit_key, epochs=args.epochs, batch_size=100, eval_data=(x_test, t_test),
            eval_batch_size=len(t_test), train_accuracy=True,
        )  # fmt: skip
        train, test = histories[name].train_accuracy[-1], histories[name].eval_accuracy[-1]
        print(
            f"{name:<20} after {args.epochs} epochs: train accuracy {train:.3f}, test accuracy "
            f"{test:.3f}, gap {train - test:.3f} ({time.perf_counter() - start:.1f} s)"
        )

    print(explain(histories))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "ch06_overfitting.png"
    plot(path, histories)
    print(f"saved {path}")
    return {
        "histories": histories,
        "params": trained,
        "start_params": start_params,
        "x": x,
        "t": t,
        "x_test": x_test,
        "t_test": t_test,
        "plot": path,
    }


if __name__ == "__main__":
    main()
