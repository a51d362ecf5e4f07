"""DLfS 1, ch. 6.2: how the initial weights shape the activations of a deep network.

The book's experiment: 1,000 random inputs ``x ~ N(0, 1)`` of 100 features go
through five ``Dense(100, use_bias=False)`` layers, each followed by the same
activation, and the histogram of every layer's activations is drawn. With
``a⁽ˡ⁾ = h(a⁽ˡ⁻¹⁾ W⁽ˡ⁾)`` and ``W⁽ˡ⁾ ~ N(0, σ²)``, the pre-activation of a unit has
variance ``n σ² E[a²]`` (``n = 100`` inputs), so:

- sigmoid with ``σ = 1``: pre-activations are large, the sigmoids saturate at 0 and 1
  (where ``h' ≈ 0``: vanishing gradients);
- sigmoid with ``σ = 0.01``: every unit outputs about 0.5 (the units are redundant);
- sigmoid with Xavier, ``σ = 1/√n`` (``fnn.initializers.lecun_normal()``, the book's
  "Xavier"): the activations stay spread over (0, 1);
- ReLU with ``σ = 0.01`` shrinks layer by layer, ReLU with He, ``σ = √(2/n)``
  (``fnn.initializers.he_normal()``), keeps the same spread in every layer.

Initializers are values (:mod:`fnn.initializers`) passed to ``Dense(w_init=...)``.
The histograms go to ``ch06_weight_init.png``.

Run: ``python examples/ch06_weight_init.py``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn
from fnn.typing import Array

LAYERS = 5
NODES = 100

#: (name, activation, initializer) of each experiment, as in the book's figures 6-10 to 6-14.
EXPERIMENTS: tuple[tuple[str, fnn.Layer[None], fnn.initializers.Initializer], ...] = (
    ("sigmoid, std 1", fnn.sigmoid, fnn.initializers.normal(1.0)),
    ("sigmoid, std 0.01", fnn.sigmoid, fnn.initializers.normal(0.01)),
    ("sigmoid, Xavier (1/sqrt(n))", fnn.sigmoid, fnn.initializers.lecun_normal()),
    ("ReLU, std 0.01", fnn.relu, fnn.initializers.normal(0.01)),
    ("ReLU, He (sqrt(2/n))", fnn.relu, fnn.initializers.he_normal()),
)


def network(activation: fnn.Layer[None], w_init: fnn.initializers.Initializer) -> fnn.Sequential:
    """Five ``Dense(100, use_bias=False)`` layers, each followed by ``activation``."""
    layers: list[fnn.Layer[Any]] = []
    for _ in range(LAYERS):
        layers += [fnn.Dense(NODES, use_bias=False, w_init=w_init), activation]
    return fnn.sequential(*layers)


def activations(model: fnn.Sequential, params: tuple[Any, ...], x: Array) -> list[NDArray[Any]]:
    """The output of every activation layer (inference, one layer at a time), copied to the host."""
    outputs = []
    for i, layer in enumerate(model.layers):
        x = layer.apply(params[i], x)
        if i % 2 == 1:
            outputs.append(fnn.to_numpy(x))
    return outputs


def plot(path: Path, results: dict[str, list[NDArray[Any]]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(results), LAYERS, figsize=(13, 2.3 * len(results)), squeeze=False)
    for row, (name, outputs) in zip(axes, results.items()):
        upper = 1.0 if "sigmoid" in name else max(float(max(a.max() for a in outputs)), 1e-6)
        for layer, (ax, a) in enumerate(zip(row, outputs), start=1):
            ax.hist(a.ravel(), bins=30, range=(0.0, upper))
            ax.set_title(f"layer {layer}", fontsize=9)
            ax.set_yticks([])
            if layer == 1:
                ax.set_ylabel(name, fontsize=9)
        row[LAYERS // 2].set_xlabel("activation value")
    fig.suptitle("Activation histograms of a 5-layer network by weight initialisation (DLfS 6.2)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run every experiment, print the spread of each layer's activations, plot the histograms."""
    parser = argparse.ArgumentParser(description="Activation histograms by weight initialisation (DLfS 6.2).")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out"), help="directory for the PNG")
    args = parser.parse_args(argv)

    backend = fnn.backend(dtype="float64")  # NumPy, or CuPy under FNN_BACKEND=cupy
    data_key, init_key = fnn.random.split(fnn.random.key(args.seed))
    x = fnn.random.normal(data_key, (args.samples, NODES), backend)
    results: dict[str, list[NDArray[Any]]] = {}
    params_of: dict[str, object] = {}
    print("mean / std of each layer's activations")
    for name, activation, w_init in EXPERIMENTS:
        model = network(activation, w_init)
        params = model.init(init_key, (NODES,), backend)
        results[name] = activations(model, params, x)
        params_of[name] = params
        spread = "  ".join(f"{a.mean():.3f}/{a.std():.3f}" for a in results[name])
        print(f"{name:<28} {spread}")

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "ch06_weight_init.png"
    plot(path, results)
    print(f"saved {path}")
    return {"x": fnn.to_numpy(x), "activations": results, "params": params_of, "plot": path}


if __name__ == "__main__":
    main()
