"""XOR three ways (Goodfellow et al., ch. 6.1, as the course presents it).

1. Linear least squares, ``y = x w + b`` minimizing the MSE over the four points,
   gives ``w = 0, b = 0.5``: a linear model outputs 0.5 everywhere and cannot
   represent XOR. Solved in closed form (normal equations) and by gradient
   descent on ``fnn.Dense(1)``, which agree.
2. The ReLU network ``y = relu(x W + c) w + b`` with ``W = [[1, 1], [1, 1]]``,
   ``c = [0, −1]``, ``w = [1, −2]``, ``b = 0`` computes XOR exactly.
3. A small MLP ``2 → 4 (tanh) → 1`` trained from random weights with fnn learns it;
   its decision boundary is drawn beside the exact network's (``xor.png``).

Run: ``python examples/ch05_xor.py``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn
from fnn.typing import Array


def least_squares(x: Array, t: Array, steps: int, lr: float) -> dict[str, Any]:
    """The best linear fit: closed form, and gradient descent on ``Dense(1)`` with MSE."""
    x_host, t_host = fnn.to_numpy(x), fnn.to_numpy(t)  # the closed form is solved with NumPy
    design = np.hstack([x_host, np.ones((x_host.shape[0], 1))])
    theta = np.linalg.solve(design.T @ design, design.T @ t_host)[:, 0]
    model = fnn.Dense(1)
    params = model.init(fnn.random.key(0), (2,), fnn.backend(dtype="float64"))
    value_and_grad = fnn.value_and_grad(model, fnn.losses.mse)
    for _ in range(steps):
        loss, grads = value_and_grad(params, x, t)
        params = fnn.tree.map(lambda p, g: p - lr * g, params, grads)
    assert params.b is not None
    return {
        "closed_form": {"w": theta[:2], "b": float(theta[2])},
        "gradient_descent": {"w": fnn.to_numpy(params.w[:, 0]), "b": float(params.b[0]), "loss": float(loss)},
        "outputs": fnn.to_numpy(model.apply(params, x)[:, 0]),
    }


def relu_network() -> tuple[fnn.Sequential, tuple[Any, ...]]:
    """The exact XOR network with the textbook's weights."""
    be = fnn.backend(dtype="float64")
    model = fnn.sequential(fnn.Dense(2), fnn.relu, fnn.Dense(1))
    params = (
        fnn.DenseParams(be.asarray([[1.0, 1.0], [1.0, 1.0]]), be.asarray([0.0, -1.0])),
        None,
        fnn.DenseParams(be.asarray([[1.0], [-2.0]]), be.asarray([0.0])),
    )
    return model, params


def train_mlp(
    x: Array, t: Array, hidden: int, steps: int, lr: float, seed: int
) -> tuple[fnn.Sequential, tuple[Any, ...], list[float]]:
    """A ``2 → hidden (tanh) → 1`` MLP on logits with sigmoid cross entropy, by gradient descent."""
    model = fnn.sequential(fnn.Dense(hidden), fnn.tanh, fnn.Dense(1))
    params = model.init(fnn.random.key(seed), (2,), fnn.backend(dtype="float64"))
    value_and_grad = fnn.value_and_grad(model, fnn.losses.sigmoid_binary_cross_entropy)
    losses = []
    for _ in range(steps):
        loss, grads = value_and_grad(params, x, t)
        losses.append(float(loss))
        params = fnn.tree.map(lambda p, g: p - lr * g, params, grads)
    return model, params, losses


def plot(path: Path, x: Array, t: Array, panels: list[tuple[str, Any, bool]], backend: fnn.Backend) -> None:
    """Each panel: a model's output over the plane (computed on ``backend``), its 0.5 contour, the points.

    Panels are ``(title, f, bounded)``. Every colour bar spans ``[0, 1]``, the range of a
    probability and of XOR; an output that is not ``bounded`` to it (the exact ReLU
    network gives −1 to 1 over the plane) shows its values beyond in the end colours,
    marked by the colour bar's pointed ends.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.linspace(-0.5, 1.5, 201)
    gx, gy = np.meshgrid(grid, grid)
    points = backend.asarray(np.stack([gx.ravel(), gy.ravel()], axis=1))
    x, t = fnn.to_numpy(x), fnn.to_numpy(t)  # matplotlib draws host (NumPy) arrays
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.5))
    for ax, (title, f, bounded) in zip(np.atleast_1d(axes), panels):
        z = fnn.to_numpy(f(points)).reshape(gx.shape)
        extend = "neither" if bounded else "both"
        filled = ax.contourf(gx, gy, z, levels=np.linspace(0, 1, 11), cmap="coolwarm", extend=extend)
        ax.contour(gx, gy, z, levels=[0.5], colors="black")
        ax.scatter(x[:, 0], x[:, 1], c=t[:, 0], cmap="coolwarm", edgecolors="black", s=120, vmin=0, vmax=1)
        ax.set_title(title)
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
        fig.colorbar(filled, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the three parts; return their numbers."""
    parser = argparse.ArgumentParser(description="XOR: least squares, the exact ReLU network, a trained MLP.")
    parser.add_argument("--steps", type=int, default=2000, help="gradient-descent steps of the MLP")
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--hidden", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out"), help="directory for the PNG")
    args = parser.parse_args(argv)

    backend = fnn.backend(dtype="float64")
    x, t = fnn.datasets.xor(backend=backend)
    print("inputs:", x.tolist(), "targets:", t[:, 0].tolist())

    linear = least_squares(x, t, steps=500, lr=0.5)
    cf, gd = linear["closed_form"], linear["gradient_descent"]
    print("\n1. linear least squares")
    print(f"   closed form:      w = {np.round(cf['w'], 6) + 0}, b = {cf['b']:.6f}")
    print(f"   gradient descent: w = {np.round(gd['w'], 6) + 0}, b = {gd['b']:.6f}, MSE {gd['loss']:.4f}")
    print(f"   outputs {np.round(linear['outputs'], 6).tolist()}: 0.5 everywhere")

    relu_model, relu_params = relu_network()
    hidden = fnn.relu(relu_model.layers[0].apply(relu_params[0], x))
    exact = fnn.to_numpy(relu_model.apply(relu_params, x)[:, 0])
    print("\n2. ReLU network W=[[1,1],[1,1]], c=[0,-1], w=[1,-2], b=0")
    print(f"   hidden h = relu(x W + c): {hidden.tolist()}")
    print(f"   outputs {exact.tolist()}")

    model, params, losses = train_mlp(x, t, args.hidden, args.steps, args.lr, args.seed)
    probabilities = fnn.to_numpy(fnn.sigmoid(model.apply(params, x))[:, 0])  # a host copy, to print
    print(f"\n3. trained MLP 2-{args.hidden}-1 (tanh), {args.steps} steps of gradient descent, lr {args.lr}")
    print(f"   loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    print(f"   P(y=1) {np.round(probabilities, 4).tolist()} -> {(probabilities > 0.5).astype(int).tolist()}")

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "xor.png"
    plot(
        path,
        x,
        t,
        [
            ("exact ReLU network", lambda p: relu_model.apply(relu_params, p)[:, 0], False),
            (
                f"trained MLP 2-{args.hidden}-1: P(y=1)",
                lambda p: fnn.sigmoid(model.apply(params, p))[:, 0],
                True,
            ),
        ],
        backend,
    )
    print(f"saved {path}")
    return {
        "least_squares": linear,
        "relu_outputs": exact,
        "mlp_probabilities": probabilities,
        "mlp_losses": losses,
        "plot": path,
    }


if __name__ == "__main__":
    main()
