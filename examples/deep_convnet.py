"""DeepConvNet (DLfS 1, ch. 8) on MNIST: the book's published weights, then training with ``fnn.fit``.

Six 3x3 convolutions (16, 16, 32, 32, 64, 64 filters) with ReLU and a 2x2 max pool
after every second one, then ``affine 50 → ReLU → dropout → affine 10 → dropout``
(:func:`fnn.dlfs.deep_convnet`).

1. The book's weights (``../shared/data/dlfs/deep_convnet_params.pkl``) are converted
   with :func:`fnn.dlfs.deep_convnet_params` and evaluated on the full 10,000-image
   test set: 0.9935 (in float32, the default, and in float64, ``--dtype float64``).
   The book's dropout is non-inverted (test time multiplies by 0.5); fnn's is
   inverted (test time is the identity), so the conversion folds the two test-time
   factors into the last affine layer, ``W8' = 0.25·W8`` and ``b8' = 0.5·b8``
   (see :mod:`fnn.dlfs`).
2. A fresh DeepConvNet is trained with Adam (inverted dropout, a new key every
   step, from ``fit``) on the offline training files, with test accuracy after
   every epoch; the curves go to ``deep_convnet.png``. The default, 3 epochs, takes
   about two minutes on one core (120 s measured) and reaches about 0.935;
   ``--epochs 8`` reaches about 0.97 (``--train-accuracy`` adds the training-accuracy
   curve, one more pass per epoch).

Run: ``python examples/deep_convnet.py`` (``--epochs 1 --train-size 200 --test-size 200`` for a quick run)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn  # noqa: E402
from examples.simple_convnet import load_and_train, parse, save_plot  # noqa: E402
from fnn import dlfs  # noqa: E402
from fnn.typing import Array  # noqa: E402

#: What longer runs reach (the 5,000 offline training images, seed 0, test accuracy on all 10,000).
MORE_EPOCHS = (
    "more epochs learn more: --epochs 5 reaches about 0.96 and --epochs 8 about 0.97 "
    "(about 20 s an epoch on one CPU core; --train-accuracy adds the training curve)"
)


def pretrained_accuracy(data: Path, x_test: Array, t_test: Array, dtype: str = "float32") -> float:
    """Test accuracy of the book's DeepConvNet weights (dropout folded in), computed in ``dtype``."""
    weights = fnn.io.load_pickle_arrays(data / "dlfs" / "deep_convnet_params.pkl")
    b64 = fnn.backend(dtype=dtype)
    params = dlfs.deep_convnet_params(weights, b64)
    return fnn.accuracy(dlfs.deep_convnet(), params, b64.asarray(x_test), t_test, batch_size=100)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Evaluate the book's weights, train a DeepConvNet, plot accuracy curves; return the numbers."""
    args = parse(argv, "DeepConvNet (DLfS ch. 8) on MNIST.", epochs=3, lr=1e-3, train_accuracy=False)
    results, _, history, _ = load_and_train(args, dlfs.deep_convnet(), pretrained_accuracy)
    results["test_accuracy"] = history.eval_accuracy[-1]
    print(f"test accuracy {results['test_accuracy']:.4f} on {results['eval_size']} images")
    if history.epochs < 8:
        print(MORE_EPOCHS)
    save_plot(args, results, "deep_convnet.png", "DeepConvNet")
    return results


if __name__ == "__main__":
    main()
