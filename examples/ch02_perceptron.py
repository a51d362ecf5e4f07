"""Perceptrons (DLfS 1, ch. 2): AND, NAND and OR gates, and XOR built from them.

A perceptron is ``y = step(x · w + b)``: in fnn, a ``Dense(1)`` layer followed by
``fnn.step``, with the course's weights written into its params. XOR is not
linearly separable, so one perceptron cannot compute it, but two layers can:
``XOR(a, b) = AND(NAND(a, b), OR(a, b))``.

Run: ``python examples/ch02_perceptron.py``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn

GATES = {
    # name: (weights, bias), the course's choices
    "AND": ([0.5, 0.5], -0.7),
    "NAND": ([-0.5, -0.5], 0.7),
    "OR": ([0.5, 0.5], -0.2),
}
INPUTS = [[0, 0], [1, 0], [0, 1], [1, 1]]


def perceptron(name: str) -> tuple[fnn.Sequential, tuple[fnn.DenseParams, None]]:
    """The gate ``name`` as a model ``step(x w + b)`` and its params."""
    w, b = GATES[name]
    be = fnn.backend(dtype="float64")
    params = (fnn.DenseParams(be.asarray(w).reshape(2, 1), be.asarray([b])), None)
    return fnn.sequential(fnn.Dense(1), fnn.step), params


def xor_network() -> tuple[fnn.Sequential, tuple[fnn.DenseParams, None, fnn.DenseParams, None]]:
    """XOR as two layers of perceptrons: (NAND, OR) side by side, then AND."""
    be = fnn.backend(dtype="float64")
    (w_nand, b_nand), (w_or, b_or), (w_and, b_and) = GATES["NAND"], GATES["OR"], GATES["AND"]
    hidden = fnn.DenseParams(be.asarray([w_nand, w_or]).T, be.asarray([b_nand, b_or]))
    output = fnn.DenseParams(be.asarray(w_and).reshape(2, 1), be.asarray([b_and]))
    model = fnn.sequential(fnn.Dense(2), fnn.step, fnn.Dense(1), fnn.step)
    return model, (hidden, None, output, None)


def truth_table(model: fnn.Sequential, params: tuple[object, ...]) -> list[int]:
    """The model's outputs for the four inputs (0,0), (1,0), (0,1), (1,1)."""
    x = fnn.backend(dtype="float64").asarray(INPUTS)
    return [int(v) for v in fnn.to_numpy(model.apply(params, x)).ravel()]


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Print the truth tables of AND, NAND, OR and XOR; return them by gate name."""
    argparse.ArgumentParser(description="Perceptron truth tables (DLfS 1, ch. 2).").parse_args(argv)
    tables: dict[str, list[int]] = {}
    for name in GATES:
        tables[name] = truth_table(*perceptron(name))
    tables["XOR"] = truth_table(*xor_network())
    print("x1 x2 | " + " ".join(f"{name:>4}" for name in tables))
    for row, x in enumerate(INPUTS):
        outputs = " ".join(f"{table[row]:>4}" for table in tables.values())
        print(f" {x[0]}  {x[1]} | {outputs}")
    return dict(tables)


if __name__ == "__main__":
    main()
