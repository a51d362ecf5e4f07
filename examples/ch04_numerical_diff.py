"""Numerical differentiation (DLfS 1, ch. 4): central differences against analytic derivatives.

``fnn.numerical_grad(f, params)`` computes ``(f(θ + h eᵢ) − f(θ − h eᵢ)) / 2h``
for every element of a pytree of arrays (``h = 1e-4``, as in the book). Three
functions of the course:

- ``f(x) = x²`` at ``x = 3``: ``f'(x) = 2x = 6``;
- ``f(x, y) = 2x + 3xy + y³`` at ``(1, 2)``: ``∂f/∂x = 2 + 3y = 8``, ``∂f/∂y = 3x + 3y² = 15``;
- ``f(w, x, y, z) = wx + xyz + 3w + zy²`` at ``(2, 3, 4, 5)``: ``∂f/∂w = x + 3``,
  ``∂f/∂x = w + yz``, ``∂f/∂y = xz + 2yz``, ``∂f/∂z = xy + y²``.

It also draws ``f(x) = x²`` with its tangent at ``x = 3`` (``tangent.png``).

Run: ``python examples/ch04_numerical_diff.py``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn
from fnn.typing import Array

Point = dict[str, Array]


def scalar(**values: float) -> Point:
    """A point as a pytree: one 0-d float64 array per variable, on the chosen backend."""
    backend = fnn.backend(dtype="float64")
    return {name: backend.asarray(v) for name, v in values.items()}


def f1(p: Point) -> Array:
    y: Array = p["x"] ** 2
    return y


def f2(p: Point) -> Array:
    x, y = p["x"], p["y"]
    result: Array = 2 * x + 3 * x * y + y**3
    return result


def f3(p: Point) -> Array:
    w, x, y, z = p["w"], p["x"], p["y"], p["z"]
    result: Array = w * x + x * y * z + 3 * w + z * y**2
    return result


def analytic(name: str, p: Point) -> dict[str, float]:
    """The derivatives worked out by hand."""
    v = {k: float(a) for k, a in p.items()}
    if name == "f1":
        return {"x": 2 * v["x"]}
    if name == "f2":
        return {"x": 2 + 3 * v["y"], "y": 3 * v["x"] + 3 * v["y"] ** 2}
    w, x, y, z = v["w"], v["x"], v["y"], v["z"]
    return {"w": x + 3, "x": w + y * z, "y": x * z + 2 * y * z, "z": x * y + y**2}


def plot_tangent(path: Path, slope: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.arange(0.0, 6.0, 0.05)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(x, x**2, label="f(x) = x²")
    ax.plot(x, slope * (x - 3.0) + 9.0, "--", label=f"tangent at x = 3 (slope {slope:.4f})")
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.legend()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Print numerical and analytic derivatives; return both per function."""
    parser = argparse.ArgumentParser(description="Numerical differentiation (DLfS 1, ch. 4).")
    parser.add_argument("--out", type=Path, default=Path("out"), help="directory for the PNG")
    parser.add_argument("--h", type=float, default=1e-4, help="the step of the central difference")
    args = parser.parse_args(argv)

    cases: list[tuple[str, str, Callable[[Point], Array], Point]] = [
        ("f1", "x**2", f1, scalar(x=3.0)),
        ("f2", "2x + 3xy + y**3", f2, scalar(x=1.0, y=2.0)),
        ("f3", "wx + xyz + 3w + zy**2", f3, scalar(w=2.0, x=3.0, y=4.0, z=5.0)),
    ]
    results: dict[str, object] = {}
    for name, formula, f, point in cases:
        numerical = fnn.numerical_grad(f, point, eps=args.h)
        exact = analytic(name, point)
        at = ", ".join(f"{k}={float(v):g}" for k, v in point.items())
        print(f"{name}({at}) = {formula} = {float(f(point)):g}")
        for var in point:
            print(f"  d{name}/d{var}: numerical {float(numerical[var]):.10f}  analytic {exact[var]:g}")
        results[name] = {"numerical": {k: float(v) for k, v in numerical.items()}, "analytic": exact}

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "tangent.png"
    slope = float(fnn.numerical_grad(f1, scalar(x=3.0), eps=args.h)["x"])
    plot_tangent(path, slope)
    print(f"saved {path}")
    results["plot"] = path
    return results


if __name__ == "__main__":
    main()
