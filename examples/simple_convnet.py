"""SimpleConvNet (DLfS 1, ch. 7) on MNIST: the book's published weights, then training with ``fnn.fit``.

``conv 30x5x5 → ReLU → maxpool 2x2 → flatten → affine 100 → ReLU → affine 10``
(:func:`fnn.dlfs.simple_convnet`).

1. The book's weights (``../shared/data/dlfs/simple_convnet_params.pkl``, read with
   the restricted unpickler :func:`fnn.io.load_pickle_arrays`) are converted with
   :func:`fnn.dlfs.simple_convnet_params` and evaluated on the full 10,000-image test
   set: 0.9890 (the same in float32, the default, and ``--dtype float64``, the
   book's own dtype).
2. A fresh SimpleConvNet is trained with Adam on the offline training files (a
   5,000-image subset of MNIST) and evaluated on the test set after every epoch, with
   a line per epoch (:class:`fnn.train.EpochLog`); the loss and accuracy curves go to
   ``simple_convnet.png`` (``History.plot``). Defaults reach about 0.97.

Run: ``python examples/simple_convnet.py`` (``--epochs 1 --train-size 500`` for a quick run)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn  # noqa: E402
from fnn import dlfs  # noqa: E402
from fnn.typing import Array  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def pretrained_accuracy(data: Path, x_test: Array, t_test: Array, dtype: str = "float32") -> float:
    """Test accuracy of the book's SimpleConvNet weights, computed in ``dtype``."""
    weights = fnn.io.load_pickle_arrays(data / "dlfs" / "simple_convnet_params.pkl")
    b64 = fnn.backend(dtype=dtype)
    params = dlfs.simple_convnet_params(weights, b64)
    return fnn.accuracy(dlfs.simple_convnet(), params, b64.asarray(x_test), t_test, batch_size=100)


def parse(
    argv: list[str] | None, description: str, epochs: int, lr: float, train_accuracy: bool = True
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--train-size", type=int, default=None, help="use the first N training images")
    parser.add_argument(
        "--test-size", type=int, default=None, help="evaluate training on the first N test images"
    )
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lr", type=float, default=lr, help="Adam's learning rate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-pretrained", action="store_true", help="skip the book's weights")
    parser.add_argument(
        "--dtype",
        default="float32",
        choices=["float32", "float64"],
        help="dtype of evaluating the book's (float64) weights; both give the same accuracy",
    )
    parser.add_argument(
        "--train-accuracy",
        action=argparse.BooleanOptionalAction,
        default=train_accuracy,
        help="also measure the training accuracy after every epoch (one more pass over the data)",
    )
    parser.add_argument("--data", type=Path, default=DATA, help="directory holding mnist/ and dlfs/")
    parser.add_argument("--out", type=Path, default=Path("out"), help="directory for the PNG")
    return parser.parse_args(argv)


def load_and_train(
    args: argparse.Namespace,
    model: fnn.Sequential,
    pretrained: Callable[[Path, Array, Array, str], float],
) -> tuple[dict[str, Any], Any, fnn.History, tuple[Array, Array]]:
    """The part both convnet examples share: evaluate the book's weights, then train ``model``.

    Returns the results so far, the trained params, the history and the full test set.
    """
    b = fnn.backend()
    (x_train, t_train), (x_test, t_test) = fnn.datasets.load_mnist(
        args.data / "mnist", flatten=False, download=False, cache=False, progress=False, backend=b
    )
    results: dict[str, Any] = {}
    if not args.no_pretrained:
        results["pretrained_accuracy"] = pretrained(args.data, x_test, t_test, args.dtype)
        print(
            f"book's weights: test accuracy {results['pretrained_accuracy']:.4f} on {len(t_test)} images "
            f"({args.dtype})"
        )
    x_train, t_train = x_train[: args.train_size], t_train[: args.train_size]
    x_eval, t_eval = x_test[: args.test_size], t_test[: args.test_size]
    print(model.summary((1, 28, 28)))
    params = model.init(fnn.random.key(args.seed), (1, 28, 28), b)
    start = time.perf_counter()
    params, _, history = fnn.fit(
        model,
        fnn.losses.softmax_cross_entropy,
        fnn.optim.adam(args.lr),
        params,
        x_train,
        t_train,
        key=fnn.random.key(args.seed + 1),
        epochs=args.epochs,
        batch_size=args.batch_size,
        eval_data=(x_eval, t_eval),
        train_accuracy=args.train_accuracy,
        callbacks=[fnn.train.EpochLog()],  # a line per epoch; the progress bar ticks per step on a terminal
    )
    seconds = time.perf_counter() - start
    print(f"trained on {len(t_train)} images for {history.epochs} epochs in {seconds:.1f} s")
    results.update(
        history=history, params=params, seconds=seconds, train_size=len(t_train), eval_size=len(t_eval)
    )
    return results, params, history, (x_test, t_test)


def save_plot(args: argparse.Namespace, results: dict[str, Any], name: str, title: str) -> None:
    """Plot the loss and accuracy curves to ``args.out / name`` and record the path in ``results``."""
    args.out.mkdir(parents=True, exist_ok=True)
    png = args.out / name
    results["history"].plot(png, title=f"{title}, {results['train_size']} training images")
    print(f"saved {png}")
    results["png"] = png


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Evaluate the book's weights, train a SimpleConvNet, plot accuracy curves; return the numbers."""
    args = parse(argv, "SimpleConvNet (DLfS ch. 7) on MNIST.", epochs=12, lr=1e-3)
    model = dlfs.simple_convnet()
    results, params, _, (x_test, t_test) = load_and_train(args, model, pretrained_accuracy)
    results["test_accuracy"] = fnn.accuracy(model, params, x_test, t_test)
    print(f"test accuracy {results['test_accuracy']:.4f} on {len(t_test)} images")
    save_plot(args, results, "simple_convnet.png", "SimpleConvNet")
    return results


if __name__ == "__main__":
    main()
