"""Exploding and vanishing gradients through time (DLfS 2, ch. 6, the book's ``rnn_gradient_graph``).

Backprop through an RNN multiplies the gradient by ``Whᵀ`` (and by ``tanh'``) once per
step back in time: ``dh_{t−1} = (dh_t ⊙ tanh'(a_t)) Whᵀ``. Repeated, its norm grows
like ``σ_max(Wh)^k`` or shrinks like it, depending on whether the largest singular
value is above or below 1. The book shows this with the bare matrix products, 2
streams, H = 3, 20 steps, ``Wh = randn(3, 3)`` from seed 3 (which explodes) and half of
it (which vanishes).

Here the gradients come from fnn's own :class:`fnn.RNN` backward pass: an RNN with
``Wx = I``, zero bias, zero inputs and zero initial state keeps ``h = 0``, so
``tanh' = 1`` and the gradient reaching step ``T − k`` from a gradient of ones at the
last step is exactly the book's ``dh Whᵀᵏ`` (the gradient of the inputs, ``dx_t = dz_t
Wxᵀ = dz_t``, shows it per step). The script prints the norms ``‖dh‖ / N`` and plots them
(``out/dlfs2_ch06_gradient_flow.png``).

Run: ``python examples/dlfs2_ch06_gradient_flow.py``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn

N, H, T = 2, 3, 20


def gradient_norms(wh: Any) -> list[float]:
    """``‖dh‖ / N`` after ``k = 1 … T`` steps back through an :class:`fnn.RNN` whose ``Wh`` is ``wh``."""
    b = fnn.backend(dtype="float64")
    rnn = fnn.RNN(H)
    params = fnn.RNNParams(wx=b.asarray(np.eye(H)), wh=b.asarray(wh), b=b.zeros((H,)))
    xs = b.zeros((N, T + 1, H))
    _, residuals = rnn.forward(params, xs)
    dhs = b.zeros((N, T + 1, H))
    dhs[:, -1] = 1.0  # the book's dh = ones((N, H)) at the last step
    _, dxs = rnn.grad(params, residuals, dhs)
    return [float(np.sqrt((fnn.to_numpy(dxs[:, T - k]) ** 2).sum()) / N) for k in range(1, T + 1)]


def plot(path: Path, curves: dict[str, list[float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(10, 4))
    for ax, (label, norms) in zip(axes, curves.items()):
        ax.plot(range(1, T + 1), norms, marker="o", markersize=3)
        ax.set_xlabel("time steps back")
        ax.set_ylabel("norm of dh")
        ax.set_title(label)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Exploding and vanishing gradients through an RNN.")
    parser.add_argument("--out", type=Path, default=Path("out"), help="directory for the plot")
    args = parser.parse_args(argv)
    wh = np.random.RandomState(3).randn(H, H)  # the book's np.random.seed(3); np.random.randn(H, H)
    exploding, vanishing = gradient_norms(wh), gradient_norms(0.5 * wh)
    curves = {"Wh = randn (exploding)": exploding, "Wh = 0.5 randn (vanishing)": vanishing}
    for label, norms in curves.items():
        print(f"{label}: " + " ".join(f"{n:.3g}" for n in norms))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "dlfs2_ch06_gradient_flow.png"
    plot(path, curves)
    return {"wh": wh, "exploding": exploding, "vanishing": vanishing, "plot": path}


if __name__ == "__main__":
    main()
