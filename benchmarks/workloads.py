"""The workloads of the benchmark suite: shapes, fixed random float32 data and shared parameters.

Every implementation in the suite (fnn, the GEMM floor, the textbook NumPy code,
PyTorch, JAX) starts from the same parameters, given here as one flat list of
float32 NumPy arrays in a canonical layout:

- an MLP (``W1``, ``W2``, ``W3``): ``[w₁, b₁, w₂, b₂, …]`` with ``wᵢ`` of shape
  ``(inᵢ, outᵢ)`` (``y = x w + b``);
- the SimpleConvNet (``W4``): ``[wc, bc, w₁, b₁, w₂, b₂]`` with ``wc`` of shape
  ``(30, 1, 5, 5)`` (OIHW, no kernel flip), ``w₁`` of shape ``(30·12·12, 100)``
  applied to the pooled maps flattened in C order ``(C, H, W)``, ``w₂`` ``(100, 10)``.

A training step is one SGD step (learning rate :data:`LR`) on softmax cross
entropy with integer labels, averaged over the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import fnn
from fnn.backend import to_numpy

__all__ = [
    "LR",
    "Workload",
    "W1",
    "W2",
    "W3",
    "W4",
    "MLP_WORKLOADS",
    "make_data",
    "init_params",
    "fnn_model",
    "fnn_params",
    "to_canonical",
    "INFER_SAMPLES",
    "INFER_BATCH",
    "ADAM_LR",
    "adam_inputs",
]

LR = 0.01
"""The SGD learning rate of every training step."""

INFER_SAMPLES, INFER_BATCH = 10_000, 1_000
"""W5: inference over this many samples, in batches of this size."""

ADAM_LR = 1e-3
"""The Adam row's learning rate."""

Params = list[np.ndarray[Any, Any]]


@dataclass(frozen=True)
class Workload:
    """A training (or inference) workload.

    Attributes:
        name: ``W1`` … ``W4``.
        kind: ``"mlp"`` or ``"cnn"``.
        sizes: Layer widths ``(in, hidden…, out)`` (for the CNN: ``(1·28·28, 100, 10)``, informative).
        activations: The hidden layers' activations, ``"relu"``, ``"sigmoid"`` or ``"tanh"``.
        batch: Samples per step.
    """

    name: str
    kind: str
    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    batch: int

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (1, 28, 28) if self.kind == "cnn" else (self.sizes[0],)

    @property
    def classes(self) -> int:
        return self.sizes[-1]

    def describe(self) -> str:
        if self.kind == "cnn":
            return f"SimpleConvNet conv30x5x5-relu-pool2-100-relu-10, batch {self.batch}"
        widths = "-".join(str(s) for s in self.sizes)
        acts = (
            "/".join(dict.fromkeys(self.activations))
            if len(set(self.activations)) == 1
            else "/".join(self.activations)
        )
        return f"MLP {widths} {acts}, batch {self.batch}"

    def scaled(self, batch: int, hidden: int | None = None) -> Workload:
        """A smaller copy (for the fast agreement test): another batch, hidden widths capped."""
        if hidden is None or self.kind == "cnn":
            return Workload(self.name, self.kind, self.sizes, self.activations, batch)
        sizes = (self.sizes[0], *(min(s, hidden) for s in self.sizes[1:-1]), self.sizes[-1])
        return Workload(self.name, self.kind, sizes, self.activations, batch)


W1 = Workload("W1", "mlp", (784, 50, 10), ("relu",), 100)
W2 = Workload("W2", "mlp", (784, 100, 100, 100, 10), ("sigmoid", "tanh", "sigmoid"), 100)
W3 = Workload("W3", "mlp", (784, 1024, 1024, 10), ("relu", "relu"), 256)
W4 = Workload("W4", "cnn", (784, 100, 10), ("relu", "relu"), 100)
MLP_WORKLOADS = (W1, W2, W3)

CONV_FILTERS, CONV_KERNEL, POOL = 30, 5, 2
CONV_OUT = 28 - CONV_KERNEL + 1  # 24
POOLED = CONV_OUT // POOL  # 12


def make_data(
    w: Workload, n: int | None = None, seed: int = 0
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """``(x, t)``: ``n`` (default one batch) float32 standard-normal inputs and int64 labels."""
    rng = np.random.default_rng(seed)
    n = w.batch if n is None else n
    x = rng.standard_normal((n, *w.in_shape), dtype=np.float32)
    t = rng.integers(0, w.classes, n)
    return x, t


def init_params(w: Workload, seed: int = 1) -> Params:
    """The shared parameters: He-scaled normal weights and small random (non-zero) biases, float32."""
    rng = np.random.default_rng(seed)

    def weight(shape: tuple[int, ...], fan_in: int) -> np.ndarray[Any, Any]:
        w: np.ndarray[Any, Any] = (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        return w

    def bias(size: int) -> np.ndarray[Any, Any]:
        b: np.ndarray[Any, Any] = (rng.standard_normal(size) * 0.1).astype(np.float32)
        return b

    if w.kind == "cnn":
        fan = CONV_FILTERS * POOLED * POOLED
        return [
            weight((CONV_FILTERS, 1, CONV_KERNEL, CONV_KERNEL), CONV_KERNEL * CONV_KERNEL),
            bias(CONV_FILTERS),
            weight((fan, 100), fan),
            bias(100),
            weight((100, 10), 100),
            bias(10),
        ]
    params: Params = []
    for d_in, d_out in zip(w.sizes[:-1], w.sizes[1:]):
        params += [weight((d_in, d_out), d_in), bias(d_out)]
    return params


_ACTIVATIONS: dict[str, fnn.Layer[Any]] = {"relu": fnn.relu, "sigmoid": fnn.sigmoid, "tanh": fnn.tanh}


def fnn_model(w: Workload) -> fnn.Sequential:
    """The workload as an fnn model."""
    if w.kind == "cnn":
        return fnn.sequential(
            fnn.Conv2D(CONV_FILTERS, CONV_KERNEL),
            fnn.relu,
            fnn.MaxPool2D(POOL),
            fnn.Flatten(),
            fnn.Dense(100),
            fnn.relu,
            fnn.Dense(10),
        )
    layers: list[fnn.Layer[Any]] = []
    for width, act in zip(w.sizes[1:-1], w.activations):
        layers += [fnn.Dense(width), _ACTIVATIONS[act]]
    return fnn.sequential(*layers, fnn.Dense(w.sizes[-1]))


def fnn_params(w: Workload, params: Params) -> tuple[Any, ...]:
    """The canonical parameters as the params pytree of :func:`fnn_model` (copies, so nothing is shared)."""
    model = fnn_model(w)
    arrays = iter([p.copy() for p in params])
    tree: list[Any] = []
    for layer in model.layers:
        if isinstance(layer, fnn.Dense):
            tree.append(fnn.DenseParams(next(arrays), next(arrays)))
        elif isinstance(layer, fnn.Conv2D):
            tree.append(fnn.Conv2DParams(next(arrays), next(arrays)))
        else:
            tree.append(None)
    return tuple(tree)


def to_canonical(w: Workload, tree: Any) -> Params:
    """fnn params back to the canonical flat list (NumPy copies)."""
    return [np.array(to_numpy(leaf)) for leaf in fnn.tree.leaves(tree)]


def adam_inputs(w: Workload) -> tuple[Params, Params]:
    """The Adam row's inputs: ``w``'s shared parameters and fixed float32 gradients (normal, scale 0.01)."""
    params = init_params(w)
    rng = np.random.default_rng(4)
    grads = [rng.standard_normal(p.shape, dtype=np.float32) * np.float32(1e-2) for p in params]
    return params, grads
