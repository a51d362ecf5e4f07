"""Activation functions (DLfS 1, ch. 3): step, sigmoid, tanh, ReLU, leaky ReLU and ELU.

Each is both a layer for ``fnn.sequential`` and a plain function of arrays:
``fnn.sigmoid(x)``. The script prints the course's values and draws all six on
one figure (``activations.png``).

Run: ``python examples/ch03_activations.py``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn


def activations() -> dict[str, fnn.layers.Activation]:
    """The six activations of the course, by name."""
    return {
        "step": fnn.step,
        "sigmoid": fnn.sigmoid,
        "tanh": fnn.tanh,
        "relu": fnn.relu,
        "leaky_relu": fnn.LeakyReLU(alpha=0.1),
        "elu": fnn.ELU(alpha=1.0),
    }


def plot(path: Path) -> None:
    """Draw the six activations on ``x ∈ [-5, 5]`` into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.arange(-5.0, 5.0, 0.01)
    fig, ax = plt.subplots(figsize=(7, 5))
    for name, f in activations().items():
        ax.plot(x, f(x), label=name, linestyle="--" if name == "step" else "-")
    ax.set_ylim(-1.5, 2.5)
    ax.axhline(0, color="gray", linewidth=0.5)
    ax.axvline(0, color="gray", linewidth=0.5)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("Activation functions")
    ax.legend()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Print each activation at the course's points; return the values and the plot's path."""
    parser = argparse.ArgumentParser(description="Activation functions (DLfS 1, ch. 3).")
    parser.add_argument("--out", type=Path, default=Path("out"), help="directory for the PNG")
    args = parser.parse_args(argv)

    backend = fnn.backend(dtype="float64")  # NumPy, or CuPy under FNN_BACKEND=cupy
    x = backend.asarray([-1.0, 1.0, 2.0])
    print(f"x = {x}")
    results: dict[str, object] = {}
    for name, f in activations().items():
        y = fnn.to_numpy(f(x))  # a host copy, to print and return
        results[name] = y
        print(f"{name:>10}(x) = {np.array2string(y, precision=8)}")
    a = backend.asarray([0.3, 2.9, 4.0])
    y = fnn.to_numpy(fnn.softmax(a))
    results["softmax"] = y
    print(f"   softmax({a}) = {np.array2string(y, precision=8)}")

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "activations.png"
    plot(path)
    print(f"saved {path}")
    results["plot"] = path
    return results


if __name__ == "__main__":
    main()
