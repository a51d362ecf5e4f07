"""Training-step cost of fnn against the same step written by hand in NumPy.

Measured as ratios within one run (never as timed assertions). Two regimes:

- ``spiral``: the book's 2-10-3 network with batch 30, where Python overhead per
  call dominates;
- ``mnist``: 784-100-100-10 with batch 100, where the matrix products dominate.

Run: ``python benchmarks/bench_mlp.py``
"""

from __future__ import annotations

import timeit
from typing import Any, Callable

import numpy as np

import fnn


def numpy_step(sizes: list[int]) -> Callable[[Any, Any, Any], Any]:
    """The book's two-layer-net step by hand: sigmoid hidden layers, softmax-with-loss."""

    def step(params: list[tuple[Any, Any]], x: Any, t: Any) -> Any:
        activations = [x]
        for w, b in params[:-1]:
            z = activations[-1] @ w + b
            activations.append(0.5 * (1 + np.tanh(0.5 * z)))
        w, b = params[-1]
        z = activations[-1] @ w + b
        e = np.exp(z - z.max(axis=1, keepdims=True))
        y = e / e.sum(axis=1, keepdims=True)
        n = x.shape[0]
        loss = -np.log(y[np.arange(n), t]).sum() / n
        dz = y.copy()
        dz[np.arange(n), t] -= 1
        dz /= n
        grads = []
        for i in range(len(params) - 1, -1, -1):
            w, b = params[i]
            a = activations[i]
            grads.append((a.T @ dz, dz.sum(axis=0)))
            if i:
                dz = (dz @ w.T) * a * (1 - a)
        return loss, grads[::-1]

    return step


def compare(name: str, sizes: list[int], batch: int, repeat: int) -> float:
    b = fnn.backend()
    layers: list[fnn.Layer[Any]] = []
    for width in sizes[1:-1]:
        layers += [fnn.Dense(width), fnn.sigmoid]
    model = fnn.sequential(*layers, fnn.Dense(sizes[-1]))
    params = model.init(fnn.random.key(0), (sizes[0],), b)
    x = fnn.random.normal(fnn.random.key(1), (batch, sizes[0]), b)
    t = np.random.default_rng(0).integers(0, sizes[-1], batch)
    fnn_step = fnn.value_and_grad(model, fnn.losses.softmax_cross_entropy)
    raw = [(p.w, p.b) for p in params if p is not None]
    by_hand = numpy_step(sizes)
    loss_fnn = float(fnn_step(params, x, t)[0])
    loss_hand = float(by_hand(raw, x, t)[0])
    assert abs(loss_fnn - loss_hand) < 1e-5, (loss_fnn, loss_hand)
    t_fnn = min(timeit.repeat(lambda: fnn_step(params, x, t), number=repeat, repeat=5)) / repeat
    t_hand = min(timeit.repeat(lambda: by_hand(raw, x, t), number=repeat, repeat=5)) / repeat
    ratio = t_fnn / t_hand
    print(
        f"{name:8s} fnn {t_fnn * 1e6:8.1f} µs/step   by hand {t_hand * 1e6:8.1f} µs/step   ratio {ratio:.2f}"
    )
    return ratio


def main() -> None:
    compare("spiral", [2, 10, 3], 30, 2000)
    compare("mnist", [784, 100, 100, 10], 100, 200)


if __name__ == "__main__":
    main()
