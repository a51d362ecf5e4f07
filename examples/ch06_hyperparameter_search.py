"""DLfS 1, ch. 6.5: random search for the learning rate and the weight decay, on a validation split.

The book's ``hyperparameter_optimization.py``: 500 MNIST training images, 20% of
them (100) held out as validation data, the rest (400) for training; each trial
draws

- the learning rate ``lr = 10^u``, ``u ~ U(-6, -2)``, and
- the weight decay ``λ = 10^v``, ``v ~ U(-8, -4)``,

and trains the book's 784-100x6-10 ReLU network (He initialisation) with SGD for
50 epochs in batches of 100, the loss plus ``(λ/2) Σ ‖W‖²`` over the weight matrices
(``fnn.optim.add_decayed_weights(λ, mask)`` adds ``λ W`` to their gradients). The
test set is never looked at: the search compares validation accuracy only. The
book runs 100 trials and plots the validation curves (solid) and training curves
(dashed) of the best 20: the good ones have a learning rate around 10^-3..10^-2,
and the weight decay matters much less over its range. fnn's default run (seed 0)
finds the same: its best four trials have learning rates of 0.005 to 0.009 and reach
0.61 to 0.75 validation accuracy, whatever their weight decay (10^-7 to 10^-4), and
every trial below 10^-3 stays under 0.3.

Every random number comes from an explicit fnn key, so a run is reproducible: the
split from ``split(key)[0]``, trial ``i`` from ``fold_in(split(key)[1], i)`` (its two
exponents, its initial weights and its batches from four keys split from it). The
default run (100 trials of 50 epochs) takes about a minute on one core;
``--trials 4 --epochs 5`` is a quick look.

Run: ``python examples/ch06_hyperparameter_search.py``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn
from fnn.typing import Array

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LR_EXPONENTS = (-6.0, -2.0)
DECAY_EXPONENTS = (-8.0, -4.0)


@attrs.frozen
class Trial:
    """One trial's hyperparameters, its curves (one entry per epoch) and its trained params."""

    lr: float
    weight_decay: float
    val_accuracy: tuple[float, ...]
    train_accuracy: tuple[float, ...]
    params: Any


def network() -> fnn.Sequential:
    """The book's ``MultiLayerNet(784, [100] * 6, 10)``: He-initialised ReLU layers."""
    he = fnn.initializers.he_normal()
    layers: list[fnn.Layer[Any]] = []
    for _ in range(6):
        layers += [fnn.Dense(100, w_init=he), fnn.relu]
    return fnn.sequential(*layers, fnn.Dense(10, w_init=he))


def weights_only(params: Any) -> Any:
    """The weight decay's mask: the matrices, not the biases (as the book)."""
    return fnn.tree.map(lambda p: p.ndim > 1, params)


def sample_hyperparameters(key: fnn.random.Key) -> tuple[float, float]:
    """``(lr, λ)``: ``10^U(-6, -2)`` and ``10^U(-8, -4)`` from the first two keys split from ``key``."""
    lr_key, decay_key = fnn.random.split(key, 4)[:2]
    host64 = fnn.backend("numpy", "float64")
    u = float(fnn.random.uniform(lr_key, (), host64, *LR_EXPONENTS))
    v = float(fnn.random.uniform(decay_key, (), host64, *DECAY_EXPONENTS))
    return 10.0**u, 10.0**v


def run_trial(
    key: fnn.random.Key, train: tuple[Array, Array], val: tuple[Array, Array], epochs: int
) -> Trial:
    """Draw ``(lr, λ)`` from ``key``, train for ``epochs`` epochs, record both accuracies per epoch."""
    lr, weight_decay = sample_hyperparameters(key)
    init_key, fit_key = fnn.random.split(key, 4)[2:]
    model = network()
    x, t = train
    params = model.init(init_key, (784,), fnn.backend(dtype=x.dtype.name))
    optimizer = fnn.optim.chain(fnn.optim.add_decayed_weights(weight_decay, weights_only), fnn.optim.sgd(lr))
    params, _, history = fnn.fit(
        model, fnn.losses.softmax_cross_entropy, optimizer, params, x, t,
        key=fit_key, epochs=epochs, batch_size=100, eval_data=val, train_accuracy=True, progress=False,
    )  # fmt: skip
    return Trial(lr, weight_decay, history.eval_accuracy, history.train_accuracy, params)


def search(
    key: fnn.random.Key, train: tuple[Array, Array], val: tuple[Array, Array], trials: int, epochs: int
) -> list[Trial]:
    """``trials`` trials (trial ``i`` from ``fold_in(key, i)``), best final validation accuracy first."""
    results = []
    for i in range(trials):
        start = time.perf_counter()
        trial = run_trial(fnn.random.fold_in(key, i), train, val, epochs)
        results.append(trial)
        print(
            f"trial {i + 1:>3}/{trials}: val acc {trial.val_accuracy[-1]:.2f} | lr {trial.lr:.3e}, "
            f"weight decay {trial.weight_decay:.3e} ({time.perf_counter() - start:.1f} s)"
        )
    return sorted(results, key=lambda trial: trial.val_accuracy[-1], reverse=True)


def plot(path: Path, best: list[Trial]) -> None:
    """The book's figure: a small panel per trial, validation accuracy solid, training accuracy dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = 5
    rows = -(-len(best) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.4 * columns, 2.0 * rows), sharey=True, squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        if i >= len(best):
            ax.set_visible(False)
            continue
        trial = best[i]
        epochs = range(1, len(trial.val_accuracy) + 1)
        ax.plot(epochs, trial.val_accuracy, label="validation")
        ax.plot(epochs, trial.train_accuracy, "--", label="train")
        ax.set_title(f"Best-{i + 1}: {trial.val_accuracy[-1]:.2f}", fontsize=9)
        ax.text(
            0.03, 0.97, f"lr {trial.lr:.1e}\nλ {trial.weight_decay:.1e}",
            transform=ax.transAxes, va="top", fontsize=7,
        )  # fmt: skip
        ax.set_ylim(0, 1)
        ax.set_xticks([])
    axes[0, 0].legend(loc="lower right", fontsize=7)
    fig.suptitle("Random search: validation (solid) and training (dashed) accuracy per epoch")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Split the data, run the trials, print the best, plot their curves; return the sorted trials."""
    parser = argparse.ArgumentParser(description="Random search of lr and weight decay (DLfS 6.5).")
    parser.add_argument("--data", type=Path, default=DATA, help="directory holding mnist/")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--train-size", type=int, default=500, help="training images, before the split")
    parser.add_argument("--val-fraction", type=float, default=0.2)
    parser.add_argument("--show", type=int, default=20, help="how many of the best trials to plot")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out"), help="directory for the PNG")
    args = parser.parse_args(argv)

    root = args.data / "mnist"
    if not root.is_dir():
        raise SystemExit(f"MNIST not found: {root} does not exist; pass --data DIR (a directory with mnist/)")
    (x, t), _ = fnn.datasets.load_mnist(
        root, download=False, cache=False, progress=False, backend=fnn.backend(dtype="float32")
    )  # the test set stays unused: hyperparameters are chosen on validation data
    split_key, trials_key = fnn.random.split(fnn.random.key(args.seed))
    train, val = fnn.datasets.train_val_split(
        split_key, x[: args.train_size], t[: args.train_size], val_fraction=args.val_fraction
    )
    print(
        f"{len(train[1])} training and {len(val[1])} validation images; "
        f"{args.trials} trials of {args.epochs} epochs"
    )
    trials = search(trials_key, (train[0], train[1]), (val[0], val[1]), args.trials, args.epochs)

    print("=========== Hyper-Parameter Optimization Result ===========")
    best = trials[: args.show]
    for i, trial in enumerate(best):
        print(
            f"Best-{i + 1:<2} (val acc: {trial.val_accuracy[-1]:.2f}) | lr: {trial.lr:.3e}, "
            f"weight decay: {trial.weight_decay:.3e}"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "ch06_hyperparameter_search.png"
    plot(path, best)
    print(f"saved {path}")
    return {"trials": trials, "train": train, "val": val, "key": trials_key, "plot": path}


if __name__ == "__main__":
    main()
