"""Logistic regression (DLfS 1, ch. 4 exercise): pass or fail from the hours studied.

The study-hours table (``fnn.datasets.study_hours()``: 2 to 20 hours, pass from
14) is fitted with one ``fnn.Dense(1)`` unit whose output is a logit ``z``; the
probability of passing is ``σ(z)``. The loss is the binary cross entropy on
logits, ``fnn.losses.sigmoid_binary_cross_entropy``, whose hand-derived gradient
is ``∂L/∂z = (σ(z) − t)/N``. Gradient descent then predicts the course's query
hours 13.0, 11.0, 31.0, 3.0 and 3.5 and draws the fitted curve
(``logistic_regression.png``).

Run: ``python examples/ch04_logistic_regression.py``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn

QUERIES = [13.0, 11.0, 31.0, 3.0, 3.5]


def plot(path: Path, x: NDArray[Any], t: NDArray[Any], hours: NDArray[Any], p: NDArray[Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, t, p = fnn.to_numpy(x), fnn.to_numpy(t), fnn.to_numpy(p)  # matplotlib draws host (NumPy) arrays
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(x, t, label="study-hours table", color="tab:blue")
    ax.plot(hours, p, label="P(pass) = σ(w·hours + b)", color="tab:orange")
    ax.axhline(0.5, color="gray", linewidth=0.5, linestyle="--")
    ax.set_xlabel("hours studied")
    ax.set_ylabel("probability of passing")
    ax.legend()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Fit the table; print the loss as it falls, the parameters and the query predictions."""
    parser = argparse.ArgumentParser(description="Logistic regression on the study-hours table.")
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--out", type=Path, default=Path("out"), help="directory for the PNG")
    args = parser.parse_args(argv)

    backend = fnn.backend(dtype="float64")
    x, t = fnn.datasets.study_hours(backend=backend)
    model = fnn.Dense(1)
    params = model.init(fnn.random.key(0), (1,), backend)
    value_and_grad = fnn.value_and_grad(model, fnn.losses.sigmoid_binary_cross_entropy)
    for i in range(args.steps + 1):
        loss, grads = value_and_grad(params, x, t)
        if i % max(args.steps // 5, 1) == 0:
            print(f"step {i:>6}: loss {float(loss):.6f}")
        if i < args.steps:
            params = fnn.tree.map(lambda p, g: p - args.lr * g, params, grads)
    assert params.b is not None
    w, b = float(params.w[0, 0]), float(params.b[0])
    print(f"w = {w:.4f}, b = {b:.4f}: P(pass) = 0.5 at {-b / w:.2f} hours")

    def probability(hours: NDArray[Any]) -> NDArray[Any]:
        return fnn.sigmoid(model.apply(params, backend.asarray(hours).reshape(-1, 1)))[:, 0]

    predictions = probability(np.asarray(QUERIES))
    for hours, p in zip(QUERIES, predictions):
        print(f"{hours:>5} hours: P(pass) = {float(p):.4f} -> {'pass' if p > 0.5 else 'fail'}")
    accuracy = float(((probability(x[:, 0]) > 0.5) == (t[:, 0] == 1)).mean())
    print(f"training accuracy {accuracy:.2f}")

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "logistic_regression.png"
    grid = np.linspace(0.0, 32.0, 321)
    plot(path, x[:, 0], t[:, 0], grid, probability(grid))
    print(f"saved {path}")
    return {
        "w": w,
        "b": b,
        "boundary": -b / w,
        "loss": float(loss),
        "predictions": dict(zip(QUERIES, (float(p) for p in predictions))),
        "accuracy": accuracy,
        "plot": path,
    }


if __name__ == "__main__":
    main()
