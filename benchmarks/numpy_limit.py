"""How close can any NumPy code get to the GEMM floor on W1 and W2? A bound for issue 7's 1.3× target.

``FastestStep`` writes an MLP workload's SGD step (``workloads.W1``, ``workloads.W2``)
with the fewest and cheapest NumPy calls found, into buffers allocated once, without
checks, pytrees or layers, and with every trick measured to help on these shapes:

- each layer's bias added and its activation computed in place in the product's output
  (ReLU as ``maximum`` against rows of zeros, ``fnn.functional.relu_into``; sigmoid as
  ``1/(1 + e⁻ˣ)`` in four in-place calls; ``tanh``);
- the softmax's row maximum by ``maximum.reduce`` (over the transposed rows when they are
  short, as fnn takes it) and its row totals as a product with
  a vector of ones (BLAS), the loss from the gathered logits of the labels;
- the learning rate and ``1/N`` folded into the softmax's gradient, so every product
  of the backward pass yields ``η·∂ℓ/∂θ`` directly and the update is one subtraction
  per parameter (into another buffer, so every call starts from the same weights);
- bias gradients as products with a vector of ones; the ReLU mask into a preallocated
  boolean buffer; the sigmoid and tanh derivatives in three in-place calls.

Run: ``python benchmarks/numpy_limit.py``. It times that step against the floor's
products (``floor.Floor``), interleaved round by round in one process, and prints
what 1.3× the floor leaves for everything but the products against what the fastest
step spends there. On the 2-core development machine the fastest step takes about
1.4× the floor on W1 and 1.5× on W2, so no NumPy implementation, fnn or hand-written,
meets 1.3× there (see ``RESULTS.md``). ``tests/test_benchmarks.py`` checks that it
computes fnn's loss and update.
"""

from __future__ import annotations

import statistics
import sys
import timeit
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable from the project root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from benchmarks.floor import Floor  # noqa: E402
from benchmarks.workloads import LR, W1, W2, Workload, init_params, make_data  # noqa: E402
from fnn.functional import relu_into  # noqa: E402

NDArray = np.ndarray[Any, Any]
TARGET = 1.3


def softmax_loss_into_dz(
    z: NDArray, flat: NDArray, lr: float, ones_k: NDArray, m: NDArray, s: NDArray
) -> float:
    """The mean softmax cross entropy of logits ``z`` ``(N, K)`` at the flat indices ``flat`` of the
    labels, with ``z`` overwritten by ``η (softmax(z) − onehot(t)) / N`` (the update's ``dz``).

    ``m`` ``(N, 1)`` and ``s`` ``(N,)`` are scratch arrays; ``ones_k`` is ``(K,)`` ones.
    """
    n: int = z.shape[0]
    if z.shape[1] <= 32:  # a short row: its maximum elementwise across the transposed rows, as fnn does
        np.maximum.reduce(np.ascontiguousarray(z.T), axis=0, out=m.reshape(n))
    else:
        np.maximum.reduce(z, axis=1, keepdims=True, out=m)
    np.subtract(z, m, out=z)
    picked = z.reshape(-1)[flat]
    np.exp(z, out=z)
    np.matmul(z, ones_k, out=s)
    loss = float(np.log(s).sum() - picked.sum()) / n
    np.multiply(s, n / lr, out=s)
    np.divide(z, s.reshape(n, 1), out=z)
    z.reshape(-1)[flat] -= lr / n
    return loss


class FastestStep:
    """One SGD step of an MLP workload in preallocated buffers; ``step()`` returns the loss.

    ``params`` is the canonical list ``[W₁, b₁, W₂, b₂, …]`` (``workloads.init_params``);
    after a step, ``new`` holds the updated parameters in the same order.
    """

    def __init__(self, w: Workload, params: list[NDArray], x: NDArray, t: NDArray, lr: float = LR) -> None:
        n, dtype = x.shape[0], x.dtype
        self.x, self.lr, self.activations = x, lr, w.activations
        self.ws, self.bs = params[0::2], params[1::2]
        self.flat = np.arange(n) * w.classes + t  # label tᵢ of row i as the flat index i·K + tᵢ
        self.h = [np.empty((n, wi.shape[1]), dtype) for wi in self.ws]  # each layer's output, in place
        self.dh = [np.empty((n, wi.shape[0]), dtype) for wi in self.ws[1:]]  # ∂ℓ/∂(layer input)
        self.tmp = [np.empty_like(d) for d in self.dh]  # activation derivative, one per hidden layer
        self.mask = [np.empty(d.shape, bool) for d in self.dh]
        self.dw = [np.empty_like(wi) for wi in self.ws]
        self.db = [np.empty_like(bi) for bi in self.bs]
        self.ones_n, self.ones_k = np.ones(n, dtype), np.ones(w.classes, dtype)
        self.row_max, self.row_sum = np.empty((n, 1), dtype), np.empty(n, dtype)
        self.new = [np.empty_like(p) for p in params]

    def step(self) -> float:
        x, h = self.x, self.h
        a = x
        for i, (wi, bi, hi) in enumerate(zip(self.ws, self.bs, h)):
            np.matmul(a, wi, out=hi)
            np.add(hi, bi, out=hi)
            if i < len(self.activations):
                _activate(self.activations[i], hi)
            a = hi
        dz = z = h[-1]
        loss = softmax_loss_into_dz(z, self.flat, self.lr, self.ones_k, self.row_max, self.row_sum)
        for i in range(len(self.ws) - 1, -1, -1):
            inputs = x if i == 0 else h[i - 1]
            np.matmul(inputs.T, dz, out=self.dw[i])
            np.matmul(self.ones_n, dz, out=self.db[i])
            if i > 0:
                d = self.dh[i - 1]
                np.matmul(dz, self.ws[i].T, out=d)
                self._activation_grad(i - 1, h[i - 1], d)
                dz = d
        for p, g, out in zip(self.ws + self.bs, self.dw + self.db, self.new[0::2] + self.new[1::2]):
            np.subtract(p, g, out=out)
        return loss

    def _activation_grad(self, i: int, y: NDArray, d: NDArray) -> None:
        """``d ← d · f′`` from the activation's output ``y``, in place."""
        kind, t = self.activations[i], self.tmp[i]
        if kind == "relu":
            np.greater(y, 0, out=self.mask[i])
            np.multiply(d, self.mask[i], out=d)
        elif kind == "sigmoid":  # σ′ = y (1 − y)
            np.subtract(1, y, out=t)
            np.multiply(t, y, out=t)
            np.multiply(d, t, out=d)
        else:  # tanh′ = 1 − y²
            np.multiply(y, y, out=t)
            np.subtract(1, t, out=t)
            np.multiply(d, t, out=d)


class PureFastestStep(FastestStep):
    """:class:`FastestStep` with every buffer allocated anew in each call, as a pure function
    must (it may write in place only into arrays it made itself): the price of purity alone."""

    def __init__(self, w: Workload, params: list[NDArray], x: NDArray, t: NDArray, lr: float = LR) -> None:
        super().__init__(w, params, x, t, lr)
        self.args = (w, params, x, t, lr)

    def step(self) -> float:
        FastestStep.__init__(self, *self.args)
        return super().step()


class InPlaceAdam:
    """Adam over ``params`` updated in place, moments preallocated: the least work any NumPy Adam does.

    Per leaf, twelve in-place ufunc calls through one scratch array and no allocation:
    ``m ← β₁ m + (1 − β₁) g`` (three), ``v ← β₂ v + (1 − β₂) g²`` (four), then
    ``θ ← θ − m / (s √v + c)`` with ``s = c₁ / (η √c₂)`` and ``c = c₁ ε / η``, which is
    ``θ − η m̂ / (√v̂ + ε)`` with the bias corrections folded into two scalars (five).
    """

    def __init__(self, params: list[NDArray], grads: list[NDArray], lr: float) -> None:
        self.params, self.grads, self.lr = [p.copy() for p in params], grads, lr
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.tmp = [np.empty_like(p) for p in params]
        self.count = 0

    def step(self) -> None:
        b1, b2, eps = 0.9, 0.999, 1e-8
        self.count += 1
        c1, c2 = 1 - b1**self.count, 1 - b2**self.count
        scale, shift = c1 / (self.lr * np.sqrt(c2)), c1 * eps / self.lr
        for p, g, m, v, t in zip(self.params, self.grads, self.m, self.v, self.tmp):
            np.multiply(g, 1 - b1, out=t)
            m *= b1
            m += t
            np.multiply(g, g, out=t)
            t *= 1 - b2
            v *= b2
            v += t
            np.sqrt(v, out=t)
            t *= scale
            t += shift
            np.divide(m, t, out=t)
            p -= t


class FastestInference:
    """Inference of an MLP workload over ``x_all`` in batches, in buffers allocated once: per
    layer the product into its buffer, the bias added in place and the activation in place.

    The GEMM floor (``floor.InferenceFloor``) counts the products alone; this adds the two
    passes over each hidden output that no NumPy code avoids (one ufunc cannot both add the
    bias and take the maximum). ``run()`` returns the last batch's logits.
    """

    def __init__(self, w: Workload, params: list[NDArray], x_all: NDArray, batch: int) -> None:
        self.activations = w.activations
        self.ws, self.bs = params[0::2], params[1::2]
        self.batches = [x_all[k : k + batch] for k in range(0, x_all.shape[0], batch)]
        self.h = [np.empty((batch, wi.shape[1]), x_all.dtype) for wi in self.ws]

    def run(self) -> NDArray:
        for xb in self.batches:
            a = xb
            for i, (wi, bi, hi) in enumerate(zip(self.ws, self.bs, self.h)):
                np.matmul(a, wi, out=hi)
                np.add(hi, bi, out=hi)
                if i < len(self.activations):
                    _activate(self.activations[i], hi)
                a = hi
        return self.h[-1]


def _activate(kind: str, h: NDArray) -> None:
    if kind == "relu":  # against rows of zeros, as fnn does: NumPy's maximum with a scalar is 2–3× slower
        relu_into(h, h)
    elif kind == "sigmoid":
        np.negative(h, out=h)
        with np.errstate(over="ignore"):
            np.exp(h, out=h)
        np.add(h, 1, out=h)
        np.reciprocal(h, out=h)
    else:
        np.tanh(h, out=h)


def measure(w: Workload, rounds: int = 9, calls: int = 200) -> tuple[float, float, float]:
    """``(fastest µs, floor µs, median ratio)``, the two timed interleaved round by round."""
    params, (x, t) = init_params(w), make_data(w)
    fastest, floor = FastestStep(w, params, x, t), Floor(w, params, x, t)
    times: list[tuple[float, float]] = []
    for _ in range(rounds):
        t_fast = timeit.timeit(fastest.step, number=calls) / calls
        t_floor = timeit.timeit(floor.step, number=calls) / calls
        times.append((t_fast, t_floor))
    ratio = statistics.median(a / b for a, b in times)
    t_fast, t_floor = (statistics.median(col) * 1e6 for col in zip(*times))
    return t_fast, t_floor, ratio


def main() -> None:
    print(
        "| workload | fastest NumPy step | GEMM floor | ratio | 1.3× leaves for the rest "
        "| the fastest spends |"
    )
    print("|---|---|---|---|---|---|")
    for w in (W1, W2):
        fast, floor, ratio = measure(w)
        print(
            f"| {w.name} | {fast:.0f} µs | {floor:.0f} µs | {ratio:.2f}× | "
            f"{(TARGET - 1) * floor:.0f} µs | {fast - floor:.0f} µs |"
        )


if __name__ == "__main__":
    main()
