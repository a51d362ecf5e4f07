"""Linear regression (DLfS 1, ch. 4): gradient descent with numerical, then hand-derived, gradients.

The data follow a known linear pattern in four inputs,
``y = 2x₁ − 3x₂ + x₃ + 0.5x₄ + 4`` plus a little noise. The model is one
``fnn.Dense(1)`` layer (``y = x W + b``) and the loss the mean squared error.

1. Numerical gradients: ``fnn.numerical_grad`` perturbs each of the 5 parameters
   (two loss evaluations each), exactly the book's ``numerical_gradient``.
2. Hand-derived gradients: ``fnn.value_and_grad(model, fnn.losses.mse)`` uses
   ``∂L/∂y = 2(y − t)/N`` and the Dense layer's ``dW = xᵀ dy``, ``db = Σₙ dyₙ``.

Both recover the pattern's weights and predict the course's seven query points.
The loss curves go to ``linear_regression.png``.

Run: ``python examples/ch04_linear_regression.py``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn
from fnn.typing import Array

TRUE_W = (2.0, -3.0, 1.0, 0.5)
TRUE_B = 4.0
QUERIES = [
    (4, 4, 4, 4),
    (-3, 0, 9, -1),
    (-7, -9, -2, 8),
    (1, -2, 3, -2),
    (19, -12, 0, -76),
    (2001, -1, 109, 31),
    (-1, 102, -200, 1000),
]

Params = fnn.DenseParams
GradFn = Callable[[Params, Array, Array], tuple[float, Params]]


def make_data(key: fnn.random.Key, n: int, noise: float, backend: fnn.Backend) -> tuple[Array, Array]:
    """``n`` points ``x ~ U(-5, 5)⁴`` with ``t = x · TRUE_W + TRUE_B + noise · ε``."""
    kx, ke = fnn.random.split(key)
    x = fnn.random.uniform(kx, (n, 4), backend, low=-5.0, high=5.0)
    t = x @ backend.asarray(TRUE_W)[:, None] + TRUE_B + noise * fnn.random.normal(ke, (n, 1), backend)
    return x, t


def train(
    grad_fn: GradFn, params: Params, x: Array, t: Array, steps: int, lr: float
) -> tuple[Params, list[float], float]:
    """Plain gradient descent ``θ ← θ − lr ∂L/∂θ``; returns params, losses and seconds taken."""
    losses = []
    start = time.perf_counter()
    for _ in range(steps):
        loss, grads = grad_fn(params, x, t)
        losses.append(loss)
        params = fnn.tree.map(lambda p, g: p - lr * g, params, grads)
    return params, losses, time.perf_counter() - start


def plot(path: Path, curves: dict[str, list[float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, losses in curves.items():
        ax.semilogy(losses, label=name, linestyle="--" if name.startswith("hand") else "-")
    ax.set_xlabel("step")
    ax.set_ylabel("MSE")
    ax.set_title("Linear regression by gradient descent")
    ax.legend()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Fit the pattern both ways; print weights, timings and the query predictions."""
    parser = argparse.ArgumentParser(description="Linear regression by gradient descent (DLfS 1, ch. 4).")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--n", type=int, default=100, help="number of training points")
    parser.add_argument("--noise", type=float, default=0.1, help="std of the noise added to the targets")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out"), help="directory for the PNG")
    args = parser.parse_args(argv)

    backend = fnn.backend(dtype="float64")
    x, t = make_data(fnn.random.key(args.seed), args.n, args.noise, backend)
    model = fnn.Dense(1)
    start = model.init(fnn.random.key(args.seed + 1), (4,), backend)

    def numerical(params: Params, x: Array, t: Array) -> tuple[float, Params]:
        def loss(p: Params) -> float:
            return float(fnn.losses.mse(model.apply(p, x), t))

        return loss(params), fnn.numerical_grad(loss, params)

    value_and_grad = fnn.value_and_grad(model, fnn.losses.mse)

    def hand_derived(params: Params, x: Array, t: Array) -> tuple[float, Params]:
        loss, grads = value_and_grad(params, x, t)
        return float(loss), grads

    terms = " ".join(f"{'-' if w < 0 else '+'} {abs(w):g}·x{i + 1}" for i, w in enumerate(TRUE_W))
    print(f"pattern: y = {terms.removeprefix('+ ')} + {TRUE_B:g}, noise std {args.noise:g}")
    results: dict[str, object] = {"x": fnn.to_numpy(x), "t": fnn.to_numpy(t)}  # host copies
    curves = {}
    for name, grad_fn in (("numerical", numerical), ("hand-derived", hand_derived)):
        params, losses, seconds = train(grad_fn, start, x, t, args.steps, args.lr)
        w, b = fnn.to_numpy(params.w[:, 0]), params.b  # w copied to the host, to print and return
        assert b is not None
        print(f"\n{name} gradients: {args.steps} steps in {seconds:.3f} s, final loss {losses[-1]:.6f}")
        print(f"  w = {np.array2string(w, precision=4)}, b = {float(b[0]):.4f}")
        curves[name] = losses
        results[name] = {"w": w, "b": float(b[0]), "loss": losses[-1], "seconds": seconds, "params": params}

    queries = backend.asarray(QUERIES)
    predictions = model.apply(params, queries)[:, 0]
    truth = queries @ backend.asarray(TRUE_W) + TRUE_B
    print("\nquery                    prediction       pattern")
    for q, p, y in zip(QUERIES, predictions, truth):
        print(f"{str(q):<24} {float(p):>10.3f}  {float(y):>12.3f}")
    results["predictions"] = fnn.to_numpy(predictions)

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "linear_regression.png"
    plot(path, curves)
    print(f"saved {path}")
    results["plot"] = path
    return results


if __name__ == "__main__":
    main()
