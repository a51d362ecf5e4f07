"""The MLP chapter's MNIST network: 784-100-100-100-10 with sigmoid, tanh, sigmoid and softmax.

Trained with fnn's minibatch training (``fnn.fit``, Adam) on the MNIST training
files in ``../shared/data/mnist`` (offline: a 5,000-image subset of the training
set; the full 60,000 where ``--data`` points at the canonical files) and tested
on the full 10,000-image test set after every epoch, all in one ``fit`` call: its
progress bar (on a terminal) ticks per step, :class:`fnn.train.EpochLog` prints a
line per epoch, and the history holds both curves (train and test loss, train and
test accuracy), which ``History.plot`` draws to ``mlp_mnist.png``. The network
outputs logits and the loss is ``softmax_cross_entropy`` (softmax fused into the
loss, as in the book's SoftmaxWithLoss); ``fnn.softmax`` turns logits into
probabilities for prediction.

Run: ``python examples/mlp_mnist.py`` (``--epochs``, ``--lr``, ``--batch-size`` to vary)
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


def load(data: Path, backend: fnn.Backend) -> tuple[tuple[Array, Array], tuple[Array, Array]]:
    root = data / "mnist"
    if not root.is_dir():
        raise SystemExit(f"MNIST not found: {root} does not exist; pass --data DIR (a directory with mnist/)")
    return fnn.datasets.load_mnist(root, download=False, cache=False, progress=False, backend=backend)


def network() -> fnn.Sequential:
    """784 → 100 (sigmoid) → 100 (tanh) → 100 (sigmoid) → 10 logits (softmax in the loss)."""
    return fnn.sequential(
        fnn.Dense(100), fnn.sigmoid,
        fnn.Dense(100), fnn.tanh,
        fnn.Dense(100), fnn.sigmoid,
        fnn.Dense(10),
    )  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Train with one ``fit`` call that reports every epoch, and plot the curves."""
    parser = argparse.ArgumentParser(description="The MLP chapter's 784-100-100-100-10 network on MNIST.")
    parser.add_argument(
        "--data", type=Path, default=DATA, help="directory holding mnist/ (default ../shared/data)"
    )
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lr", type=float, default=2e-3, help="Adam's learning rate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out"), help="directory for the PNG")
    args = parser.parse_args(argv)

    backend = fnn.backend(dtype="float32")  # NumPy, or CuPy under FNN_BACKEND=cupy
    (x_train, t_train), (x_test, t_test) = load(args.data, backend)
    print(f"training images {x_train.shape}, test images {x_test.shape}")
    model = network()
    print(model.summary((784,)))
    init_key, fit_key = fnn.random.split(fnn.random.key(args.seed))
    params = model.init(init_key, (784,), backend)
    start = time.perf_counter()
    params, _, history = fnn.fit(
        model, fnn.losses.softmax_cross_entropy, fnn.optim.adam(args.lr), params, x_train, t_train,
        key=fit_key, epochs=args.epochs, batch_size=args.batch_size,
        eval_data=(x_test, t_test), train_accuracy=True, callbacks=[fnn.train.EpochLog()],
    )  # fmt: skip
    losses, accuracies = list(history.loss), list(history.eval_accuracy)
    train_accuracy, test_accuracy = history.train_accuracy[-1], accuracies[-1]
    print(f"final: train accuracy {train_accuracy:.4f}, test accuracy {test_accuracy:.4f}")

    probabilities = fnn.softmax(model.apply(params, x_test[:5]))
    print(
        f"first test images: predicted {probabilities.argmax(axis=1).tolist()}, labels {t_test[:5].tolist()}"
    )

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "mlp_mnist.png"
    history.plot(path, title="784-100-100-100-10 MLP on MNIST (Adam)")
    print(f"saved {path}")
    return {
        "params": params,
        "test_accuracy": test_accuracy,
        "train_accuracy": train_accuracy,
        "accuracies": accuracies,
        "losses": losses,
        "history": history,
        "seconds": time.perf_counter() - start,
        "n_train": int(x_train.shape[0]),
        "plot": path,
        "probabilities": fnn.to_numpy(probabilities),  # a host copy
    }


if __name__ == "__main__":
    main()
