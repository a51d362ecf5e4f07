"""How close can any NumPy code get to the GEMM floor on W1? A bound for issue 7's 1.3× target.

W1 is the 784-50-10 ReLU MLP at batch 100 with one SGD step (``workloads.W1``). This
script times, interleaved round by round in one process:

- ``minimal``: the step written with every NumPy call it needs exactly once, into
  preallocated buffers (``out=``), without checks, pytrees or Python layers: forward
  products and biases, ReLU, the softmax cross entropy with a flat-index gather, the
  backward products, bias sums, the ReLU mask and the four SGD updates (written into
  other buffers, so every round starts from the same weights);
- ``floor``: the five matrix products alone, as in ``floor.py``.

Run: ``python benchmarks/numpy_limit.py``. On the 2-core development machine the
minimal step takes about 1.6× the floor: the ≈ 25 small NumPy calls cost ≈ 80 µs,
more than the 0.3 × floor ≈ 41 µs that 1.3× leaves. So no NumPy implementation, fnn
or hand-written, meets 1.3× there; what fnn can still remove is its own overhead
above ``minimal`` (see ``RESULTS.md``).
"""

from __future__ import annotations

import statistics
import timeit
from typing import Any, Callable

import numpy as np

N, D, H, K, LR = 100, 784, 50, 10, 0.01


def buffers(seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    f32 = np.float32
    arrays: dict[str, Any] = {
        "x": rng.standard_normal((N, D)).astype(f32),
        "w1": (rng.standard_normal((D, H)) * np.sqrt(2 / D)).astype(f32),
        "w2": (rng.standard_normal((H, K)) * np.sqrt(2 / H)).astype(f32),
        "b1": np.zeros(H, f32),
        "b2": np.zeros(K, f32),
        "flat": np.arange(N) * K + rng.integers(0, K, N),
    }
    shapes = {"a1": (N, H), "z": (N, K), "m": (N, 1), "s": (N, 1), "dw2": (H, K), "dh": (N, H), "dw1": (D, H)}
    arrays.update({name: np.empty(shape, f32) for name, shape in shapes.items()})
    arrays.update({f"new_{p}": np.empty_like(arrays[p]) for p in ("w1", "w2", "b1", "b2")})
    return arrays


def minimal_step(a: dict[str, Any]) -> Callable[[], float]:
    x, w1, w2, b1, b2, flat = a["x"], a["w1"], a["w2"], a["b1"], a["b2"], a["flat"]
    a1, z, m, s, dw2, dh, dw1 = a["a1"], a["z"], a["m"], a["s"], a["dw2"], a["dh"], a["dw1"]

    def step() -> float:
        np.matmul(x, w1, out=a1)
        np.add(a1, b1, out=a1)
        np.maximum(a1, 0, out=a1)
        np.matmul(a1, w2, out=z)
        np.add(z, b2, out=z)
        np.max(z, axis=1, keepdims=True, out=m)
        np.subtract(z, m, out=z)
        np.exp(z, out=z)
        np.sum(z, axis=1, keepdims=True, out=s)
        np.divide(z, s, out=z)
        zf = z.reshape(-1)
        loss = -float(np.log(zf[flat]).mean())
        zf[flat] -= 1
        np.multiply(z, 1 / N, out=z)
        np.matmul(a1.T, z, out=dw2)
        db2 = z.sum(axis=0)
        np.matmul(z, w2.T, out=dh)
        np.multiply(dh, a1 > 0, out=dh)
        np.matmul(x.T, dh, out=dw1)
        db1 = dh.sum(axis=0)
        for p, g in (("w1", dw1), ("w2", dw2), ("b1", db1), ("b2", db2)):
            np.multiply(g, LR, out=g)
            np.subtract(a[p], g, out=a[f"new_{p}"])
        return loss

    return step


def floor_step(a: dict[str, Any]) -> Callable[[], None]:
    x, w1, w2, a1, z, dw2, dh, dw1 = a["x"], a["w1"], a["w2"], a["a1"], a["z"], a["dw2"], a["dh"], a["dw1"]

    def step() -> None:
        np.matmul(x, w1, out=a1)
        np.matmul(a1, w2, out=z)
        np.matmul(a1.T, z, out=dw2)
        np.matmul(z, w2.T, out=dh)
        np.matmul(x.T, dh, out=dw1)

    return step


def main(rounds: int = 9, calls: int = 200) -> float:
    minimal, floor = minimal_step(buffers()), floor_step(buffers())
    ratios, times = [], []
    for _ in range(rounds):
        t_min = timeit.timeit(minimal, number=calls) / calls
        t_floor = timeit.timeit(floor, number=calls) / calls
        ratios.append(t_min / t_floor)
        times.append((t_min, t_floor))
    ratio = statistics.median(ratios)
    t_min, t_floor = (statistics.median(t) for t in zip(*times))
    print(f"W1 minimal NumPy step {t_min * 1e6:.0f} µs, GEMM floor {t_floor * 1e6:.0f} µs:", end=" ")
    print(f"{ratio:.2f}× the floor")
    return ratio


if __name__ == "__main__":
    main()
