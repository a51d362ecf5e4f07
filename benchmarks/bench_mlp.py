"""Training-step cost of fnn against the same step written by hand in NumPy.

Measured as ratios within one run (never as timed assertions). Two regimes:

- ``spiral``: the book's 2-10-3 network with batch 30, where Python overhead per
  call dominates;
- ``mnist``: 784-100-100-10 with batch 100, where the matrix products dominate.

A third column times the same step in PyTorch (CPU autograd) when it is installed
(``pip install torch==2.13.0``), as the ratio torch / fnn.

Run: ``python benchmarks/bench_mlp.py``

Recorded on the 2-core development machine (idle), NumPy 2.4, float32:

=======  =========  ==========  ===========  ===============
case     fnn µs     by hand µs  fnn / hand   torch / fnn
=======  =========  ==========  ===========  ===============
spiral   74         47          1.57         2.75
mnist    497        455         1.09         1.17
=======  =========  ==========  ===========  ===============
"""

from __future__ import annotations

import importlib
import timeit
from typing import Any, Callable

import numpy as np

import fnn
from fnn.backend import to_numpy


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
    line = f"{name:8s} fnn {t_fnn * 1e6:7.1f} µs/step   by hand {t_hand * 1e6:7.1f} µs   fnn/hand {ratio:.2f}"
    t_torch = torch_step_time([(to_numpy(w), to_numpy(b)) for w, b in raw], x, t, repeat)
    if t_torch is not None:
        line += f"   torch {t_torch * 1e6:7.1f} µs   torch/fnn {t_torch / t_fnn:.2f}"
    print(line)
    return ratio


def torch_step_time(raw: list[tuple[Any, Any]], x: Any, t: Any, repeat: int) -> float | None:
    """Seconds per forward+backward of the same network in PyTorch, or ``None`` without torch."""
    try:
        torch: Any = importlib.import_module("torch")  # optional; typed loosely with or without it
    except ImportError:
        return None
    params = [(torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)) for w, b in raw]
    xt, tt = torch.tensor(np.asarray(x)), torch.tensor(np.asarray(t))

    def step() -> None:
        h = xt
        for w, b in params[:-1]:
            h = torch.sigmoid(h @ w + b)
        w, b = params[-1]
        loss = torch.nn.functional.cross_entropy(h @ w + b, tt)
        for p in (q for pair in params for q in pair):
            p.grad = None
        loss.backward()

    return min(timeit.repeat(step, number=repeat, repeat=5)) / repeat


def main() -> None:
    compare("spiral", [2, 10, 3], 30, 2000)
    compare("mnist", [784, 100, 100, 10], 100, 200)


if __name__ == "__main__":
    main()
