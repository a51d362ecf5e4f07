"""The feed-forward exercise: one forward pass, the loss, the gradients by hand and one step.

Input ``x = [1, 2]``, target ``t = [1]``; a hidden layer of 3 sigmoid units and one
sigmoid output unit; mean squared error. With the weights below the script
prints every pre-activation ``Z`` and activation ``A``:

    Z1 = x W1 + b1,   A1 = σ(Z1),   Z2 = A1 W2 + b2,   A2 = σ(Z2),   L = (A2 − t)²

then the chain rule worked backwards by hand,

    dA2 = 2(A2 − t),  dZ2 = dA2 · A2(1 − A2),  dW2 = A1ᵀ dZ2,  db2 = dZ2,
    dA1 = dZ2 W2ᵀ,    dZ1 = dA1 · A1(1 − A1),  dW1 = xᵀ dZ1,   db1 = dZ1,

checks it against ``fnn.grad`` (the layers' own hand-derived ``grad``), and takes
one gradient-descent step with learning rate 0.1, which lowers the loss.

Run: ``python examples/ch05_feed_forward.py``
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

W1 = [[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]]
B1 = [0.1, 0.2, 0.3]
W2 = [[0.4], [0.5], [0.6]]
B2 = [0.1]


def show(name: str, value: NDArray[Any]) -> None:
    text = np.array2string(fnn.to_numpy(value), precision=6, separator=", ", prefix=" " * 7)
    print(f"{name:>4} = {text}")


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the exercise; return the Z, A, loss, gradients and the loss after one step."""
    parser = argparse.ArgumentParser(description="The feed-forward exercise: forward, backward, one step.")
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args(argv)

    be = fnn.backend(dtype="float64")
    model = fnn.sequential(fnn.Dense(3), fnn.sigmoid, fnn.Dense(1), fnn.sigmoid)
    params: tuple[Any, ...] = (
        fnn.DenseParams(be.asarray(W1), be.asarray(B1)),
        None,
        fnn.DenseParams(be.asarray(W2), be.asarray(B2)),
        None,
    )
    x, t = be.asarray([[1.0, 2.0]]), be.asarray([[1.0]])

    # Forward, layer by layer.
    z1 = model.layers[0].apply(params[0], x)
    a1 = fnn.sigmoid(z1)
    z2 = model.layers[2].apply(params[2], a1)
    a2 = fnn.sigmoid(z2)
    loss = float(fnn.losses.mse(a2, t))
    print("forward")
    for name, value in (("Z1", z1), ("A1", a1), ("Z2", z2), ("A2", a2)):
        show(name, value)
    print(f"   L = (A2 - t)^2 = {loss:.6f}")

    # Backward by hand, the chain rule from the loss to W1.
    d_a2 = 2 * (a2 - t)
    d_z2 = d_a2 * a2 * (1 - a2)
    d_w2, d_b2 = a1.T @ d_z2, d_z2.sum(axis=0)
    d_a1 = d_z2 @ params[2].w.T
    d_z1 = d_a1 * a1 * (1 - a1)
    d_w1, d_b1 = x.T @ d_z1, d_z1.sum(axis=0)
    print("backward (by hand)")
    for name, value in (("dW2", d_w2), ("db2", d_b2), ("dW1", d_w1), ("db1", d_b1)):
        show(name, value)

    value, grads = fnn.value_and_grad(model, fnn.losses.mse)(params, x, t)
    by_hand = (d_w1, d_b1, d_w2, d_b2)
    by_fnn = (grads[0].w, grads[0].b, grads[2].w, grads[2].b)
    largest = max(float(abs(h - g).max()) for h, g in zip(by_hand, by_fnn))
    print(f"fnn.value_and_grad agrees with the hand calculation: largest difference {largest:.1e}")

    new_params = fnn.tree.map(lambda p, g: p - args.lr * g, params, grads)
    new_loss = float(fnn.losses.mse(model.apply(new_params, x), t))
    print(f"one step with learning rate {args.lr}: loss {loss:.6f} -> {new_loss:.6f}")
    return {
        "Z1": fnn.to_numpy(z1),  # host copies of the activations
        "A1": fnn.to_numpy(a1),
        "Z2": fnn.to_numpy(z2),
        "A2": fnn.to_numpy(a2),
        "loss": loss,
        "fnn_loss": float(value),
        "grads": grads,
        "hand_grads": by_hand,
        "params": params,
        "new_params": new_params,
        "new_loss": new_loss,
    }


if __name__ == "__main__":
    main()
