"""DLfS 1, ch. 8.1: the test digits DeepConvNet gets wrong, with the book's weights.

The book's ``misclassified_mnist.py`` classifies the 10,000 test images with the
published DeepConvNet weights (test accuracy 0.9935: 65 mistakes), then shows the
first 20 misclassified images in a 4 × 5 grid and prints ``{view: (label,
inference)}``. Many of them are digits a person would hesitate over too.

Here the weights are converted with :func:`fnn.dlfs.deep_convnet_params` (the book's
test-time dropout folded into the last layer), the predictions are the argmax of
``model.apply`` over batches of 100, and each panel is titled with the true label
and the prediction. The gallery goes to ``ch08_misclassified.png``.

Run: ``python examples/ch08_misclassified.py`` (about 10 s; ``--test-size 1000`` for a quick look)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn
from fnn import dlfs
from fnn.typing import Array

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def predict(model: fnn.Sequential, params: Any, x: Array, desc: str, batch_size: int = 100) -> Any:
    """The predicted class of every image, as a NumPy array (inference batch by batch).

    A progress bar named ``desc`` ticks per batch on a terminal (none when the output is not one).
    """
    from tqdm.auto import tqdm

    starts = tqdm(range(0, len(x), batch_size), desc=desc, unit="batch", leave=False, disable=None)
    batches = [model.apply(params, x[i : i + batch_size]).argmax(axis=1) for i in starts]
    return np.concatenate([fnn.to_numpy(b) for b in batches])


def plot(path: Path, images: Any, labels: Any, predicted: Any, columns: int = 5) -> None:
    """The book's gallery: each misclassified image, titled "true label → prediction"."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = max(1, -(-len(images) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.8 * columns, 2.0 * rows), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.set_xticks([])
        ax.set_yticks([])
        if i < len(images):
            ax.imshow(images[i].reshape(28, 28), cmap="gray_r", interpolation="nearest")
            ax.set_title(f"{labels[i]} → {predicted[i]}", fontsize=10)
        else:
            ax.set_visible(False)
    fig.suptitle("misclassified: true label → DeepConvNet's prediction")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Classify the test set with the book's weights; show and print the first misclassified digits."""
    parser = argparse.ArgumentParser(description="DeepConvNet's misclassified test digits (DLfS 8.1).")
    parser.add_argument("--data", type=Path, default=DATA, help="directory holding mnist/ and dlfs/")
    parser.add_argument("--test-size", type=int, default=None, help="classify the first N test images")
    parser.add_argument("--show", type=int, default=20, help="how many misclassified images to draw")
    parser.add_argument("--out", type=Path, default=Path("out"), help="directory for the PNG")
    args = parser.parse_args(argv)

    weights_file = args.data / "dlfs" / "deep_convnet_params.pkl"
    if not weights_file.is_file():
        raise SystemExit(f"the book's weights not found: {weights_file}; pass --data DIR")
    b = fnn.backend()
    _, (x, t) = fnn.datasets.load_mnist(
        args.data / "mnist", flatten=False, download=False, cache=False, progress=False, backend=b
    )
    x, t = x[: args.test_size], fnn.to_numpy(t[: args.test_size])
    model = dlfs.deep_convnet()
    params = dlfs.deep_convnet_params(fnn.io.load_pickle_arrays(weights_file), b)
    print("calculating test accuracy ...")
    predicted = predict(model, params, x, "DeepConvNet")
    wrong = np.flatnonzero(predicted != t)
    accuracy = 1 - len(wrong) / len(t)
    print(f"test accuracy {accuracy:.4f}: {len(wrong)} of {len(t)} images misclassified")
    shown = wrong[: args.show]
    pairs = {view: (int(t[i]), int(predicted[i])) for view, i in enumerate(shown, start=1)}
    print("======= misclassified result =======")
    print("{view index: (label, inference), ...}")
    print(pairs)

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "ch08_misclassified.png"
    plot(path, fnn.to_numpy(x)[shown], t[shown], predicted[shown])  # drawn from host copies
    print(f"saved {path}")
    return {"accuracy": accuracy, "wrong": wrong, "predicted": predicted, "pairs": pairs, "plot": path}


if __name__ == "__main__":
    main()
