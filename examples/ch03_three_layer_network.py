"""The three-layer network of DLfS 1, ch. 3, built from ``fnn.Dense`` layers with the course's weights.

``x (2) → Dense(3) → sigmoid → Dense(2) → sigmoid → Dense(2) → identity``.
The book's ``init_network`` becomes the params tuple that ``model.init`` would
create, filled with the course's numbers; ``forward`` becomes ``model.apply``.
For ``x = [1.0, 0.5]`` it prints ``[0.31682708 0.69627909]``.

Run: ``python examples/ch03_three_layer_network.py``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn

WEIGHTS: dict[str, list[float] | list[list[float]]] = {
    "W1": [[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]],
    "b1": [0.1, 0.2, 0.3],
    "W2": [[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]],
    "b2": [0.1, 0.2],
    "W3": [[0.1, 0.3], [0.2, 0.4]],
    "b3": [0.1, 0.2],
}


def network(backend: fnn.Backend) -> tuple[fnn.Sequential, tuple[Any, ...]]:
    """The model and its params with the course's weights, in ``backend``."""
    model = fnn.sequential(fnn.Dense(3), fnn.sigmoid, fnn.Dense(2), fnn.sigmoid, fnn.Dense(2), fnn.identity)
    dense = [
        fnn.DenseParams(backend.asarray(WEIGHTS[f"W{i}"]), backend.asarray(WEIGHTS[f"b{i}"]))
        for i in (1, 2, 3)
    ]
    # The params have the structure model.init returns: one entry per layer, None for activations.
    return model, (dense[0], None, dense[1], None, dense[2], None)


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Print the network's summary and its output for ``x = [1.0, 0.5]``."""
    parser = argparse.ArgumentParser(description="The three-layer network of DLfS 1, ch. 3.")
    parser.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    args = parser.parse_args(argv)

    backend = fnn.backend(dtype=args.dtype)
    model, params = network(backend)
    print(model.summary((2,)))
    x = backend.asarray([[1.0, 0.5]])  # a batch of one
    y = fnn.to_numpy(model.apply(params, x))  # a host copy, to print and return
    print(f"y = {np.array2string(y[0], precision=8)}")
    return {"y": y[0], "summary": model.summary((2,))}


if __name__ == "__main__":
    main()
