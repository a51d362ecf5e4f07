"""DLfS 1, ch. 7.6: SimpleConvNet's first-layer filters before and after training.

The book's ``visualize_filter.py`` draws the 30 filters of the first convolution
(30 × 1 × 5 × 5) as small greyscale images: after random initialisation they are
noise; after training (the book's published weights) they are smooth patterns,
edges and blobs, that respond to strokes of one orientation. Each filter is scaled
to its own range and drawn with the book's reversed grey map (large weights dark).

How smooth a filter is can be put in a number: the correlation between horizontally
and vertically neighbouring weights, over all filters. Independent random weights
give about 0; the trained filters give clearly positive values.

- "before": the book's initialisation, every weight drawn from ``N(0, 0.01²)``
  (:func:`book_initialised_convnet`, the layers of :func:`fnn.dlfs.simple_convnet`
  with ``normal(0.01)`` initialisers; fnn's default He initialisation also looks
  like noise, but its large start changes little in a short run);
- "after": the book's weights, ``../shared/data/dlfs/simple_convnet_params.pkl``;
- with ``--epochs N`` also the filters fnn learns from the same start in ``N``
  epochs of Adam on the offline training images.

The grids go to ``ch07_filters.png``.

Run: ``python examples/ch07_filters.py`` (``--epochs 2`` adds fnn's own training, about a minute)
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


def neighbour_correlation(filters: Any) -> float:
    """The correlation of horizontally and vertically adjacent weights, over all ``(F, C, H, W)`` filters.

    Each filter is centred on its own mean first, so the number measures smoothness
    within filters, not differences between them.
    """
    w = fnn.to_numpy(filters).astype(np.float64)
    w = w - w.mean(axis=(2, 3), keepdims=True)
    pairs = [(w[..., :, :-1], w[..., :, 1:]), (w[..., :-1, :], w[..., 1:, :])]
    a = np.concatenate([p.ravel() for p, _ in pairs])
    b = np.concatenate([q.ravel() for _, q in pairs])
    return float(np.corrcoef(a, b)[0, 1])


def book_initialised_convnet() -> fnn.Sequential:
    """SimpleConvNet with the book's ``weight_init_std=0.01``: the same layers and params layout."""
    book = fnn.initializers.normal(0.01)
    return fnn.sequential(
        fnn.Conv2D(30, 5, w_init=book), fnn.relu, fnn.MaxPool2D(2), fnn.Flatten(),
        fnn.Dense(100, w_init=book), fnn.relu, fnn.Dense(10, w_init=book),
    )  # fmt: skip


def train(params: Any, args: argparse.Namespace) -> Any:
    """``params`` trained for ``args.epochs`` epochs of Adam on the first ``args.train_size`` images."""
    b = fnn.backend()
    (x, t), _ = fnn.datasets.load_mnist(
        args.data / "mnist", flatten=False, download=False, cache=False, progress=False, backend=b
    )
    x, t = x[: args.train_size], t[: args.train_size]
    params, _, history = fnn.fit(
        dlfs.simple_convnet(), fnn.losses.softmax_cross_entropy, fnn.optim.adam(1e-3), params, x, t,
        key=fnn.random.key(args.seed + 1), epochs=args.epochs, batch_size=100,
        callbacks=[fnn.train.EpochLog()],
    )  # fmt: skip
    return params


def plot(path: Path, grids: dict[str, Array], columns: int = 10) -> None:
    """The book's ``filter_show`` for each set of filters, one block of rows per set, titled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(columns * 0.8, len(grids) * 3.0))
    blocks = fig.subfigures(len(grids), 1, squeeze=False)[:, 0]
    for block, (title, filters) in zip(blocks, grids.items()):
        w = fnn.to_numpy(filters)
        rows = -(-w.shape[0] // columns)
        axes = block.subplots(rows, columns, squeeze=False)
        for i, ax in enumerate(axes.ravel()):
            ax.set_xticks([])
            ax.set_yticks([])
            if i < w.shape[0]:
                ax.imshow(w[i, 0], cmap="gray_r", interpolation="nearest")
            else:
                ax.set_visible(False)
        block.suptitle(title)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Draw the first-layer filters before and after training; return them and their smoothness."""
    parser = argparse.ArgumentParser(description="SimpleConvNet's first-layer filters (DLfS 7.6).")
    parser.add_argument("--data", type=Path, default=DATA, help="directory holding mnist/ and dlfs/")
    parser.add_argument("--epochs", type=int, default=0, help="also train fnn's own filters this many epochs")
    parser.add_argument("--train-size", type=int, default=None, help="use the first N training images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out"), help="directory for the PNG")
    args = parser.parse_args(argv)

    weights_file = args.data / "dlfs" / "simple_convnet_params.pkl"
    if not weights_file.is_file():
        raise SystemExit(f"the book's weights not found: {weights_file}; pass --data DIR")
    start = book_initialised_convnet().init(fnn.random.key(args.seed), (1, 28, 28), fnn.backend())
    book = dlfs.simple_convnet_params(fnn.io.load_pickle_arrays(weights_file))
    filters = {
        "before training (random initialisation)": start[0].w,
        "after training (the book's weights)": book[0].w,
    }
    if args.epochs:
        filters[f"after {args.epochs} epoch(s) of training in fnn"] = train(start, args)[0].w
    smoothness = {name: neighbour_correlation(w) for name, w in filters.items()}
    for name, value in smoothness.items():
        print(f"{name}: neighbouring weights correlate {value:+.2f}")

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "ch07_filters.png"
    plot(path, filters)
    print(f"saved {path}")
    return {"filters": filters, "smoothness": smoothness, "plot": path}


if __name__ == "__main__":
    main()
