"""How close can any NumPy code get to PyTorch on the SimpleConvNet step (W4)? A bound for issue 22.

Issue 22 asks for fnn's W4 training step within 1.3× of the fastest of PyTorch and JAX.
This script measures what NumPy itself allows, two ways:

- **The bare products.** Every matrix product of the step, in the shapes fnn runs them
  (the convolution as ``[W | b] colₙ`` per image with ``col`` of shape ``(N, 26, 576)``,
  its ``dW`` as ``Σₙ dYₙ colₙᵀ``, the dense layers), timed in NumPy/OpenBLAS and in
  PyTorch (``torch.matmul``, MKL or its own BLAS) side by side, plus PyTorch's own
  convolution (oneDNN) forward and backward.
- **The fastest NumPy step.** :class:`FastestConvStep` is the SGD step written with the
  fewest NumPy calls found, into buffers allocated once, without checks or layers: the
  bias folded into the convolution's product (a ones row in ``col``), ReLU in place,
  the pooling's first winner tracked on the pooled grid, ReLU's derivative applied
  on the pooled grid (a winner passes its gradient exactly when the pooled value is
  positive), the pooling's backward written straight into the gradient of the
  convolution's output, learning rate and ``1/N`` folded into the softmax's gradient.
  It computes fnn's loss and update (checked before timing, and by
  ``tests/test_benchmarks.py``). No NumPy implementation that keeps separate passes for
  the elementwise steps can be faster than it by much; PyTorch's step over it is the
  best ratio a NumPy library can reach.

fnn's step, the fastest NumPy step and PyTorch's step are timed interleaved round by
round in one process, with a pause before each turn so that the previous library's
spinning worker threads do not take a core from the next one.

Run from the project root, with the thread count every library gets:
``OPENBLAS_NUM_THREADS=2 python benchmarks/conv_limit.py`` (PyTorch gets as many threads,
see :func:`benchmarks.others.load`; ``--rounds R``, ``--quick`` for a smoke run).

Recorded (2026-11-29, the 2-core development box while other jobs kept its load at 6-15,
so wall-clock times are inflated and only the in-round ratios mean much; fnn at 8a27f0b):
with one thread the fastest NumPy step took 0.79× fnn's step (0.71-0.87 over four runs)
and PyTorch's step 1.5× fnn's; with two threads every library's time was dominated by
threads waiting for a core (a 2-thread OpenBLAS product of the step took 0.6 ms in one
run and 28 ms in the next), so no 2-thread ratio from that day is worth recording.
What two threads change is known from the products' table: NumPy runs every pass but
the products on one core, so the fastest step's elementwise work (about half of it on
one thread) does not shrink, while PyTorch spreads its whole step over both cores.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable from the project root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from numpy.lib.stride_tricks import as_strided  # noqa: E402

from benchmarks import others  # noqa: E402
from benchmarks.numpy_limit import softmax_loss_into_dz  # noqa: E402
from benchmarks.workloads import (  # noqa: E402
    CONV_FILTERS,
    CONV_KERNEL,
    CONV_OUT,
    LR,
    POOL,
    POOLED,
    W4,
    init_params,
    make_data,
)

NDArray = np.ndarray[Any, Any]
PAUSE = 0.15
"""Seconds to wait before each library's turn (the idle BLAS/OpenMP workers spin about 0.1 s)."""


class FastestConvStep:
    """One SGD step of the SimpleConvNet in preallocated buffers; ``step()`` returns the loss.

    ``params`` is the canonical list ``[Wc, bc, W₁, b₁, W₂, b₂]`` (``workloads.init_params``);
    after a step, ``new`` holds the updated parameters in the same order.
    """

    def __init__(self, params: list[NDArray], x: NDArray, t: NDArray, lr: float = LR) -> None:
        n, dtype = x.shape[0], x.dtype
        f, k, o, p = CONV_FILTERS, CONV_KERNEL, CONV_OUT, POOLED
        self.x, self.lr, self.n = x, lr, n
        self.params = params
        self.wc = np.concatenate([params[0].reshape(f, k * k), params[1][:, None]], axis=1)  # [W | b]
        self.col = np.empty((n, k * k + 1, o * o), dtype)
        self.col[:, k * k] = 1
        s0, s1, s2, s3 = x.strides
        self.windows = as_strided(x, (n, 1, k, k, o, o), (s0, s1, s2, s3, s2, s3))
        self.y = np.empty((n, f, o * o), dtype)
        pooled_shape = (n, f, p, p)
        self.pooled, self.winner = np.empty(pooled_shape, dtype), np.empty(pooled_shape, np.int8)
        self.better, self.mask = np.empty(pooled_shape, bool), np.empty(pooled_shape, bool)
        self.code = np.empty(pooled_shape, np.int8)
        self.h1, self.z = np.empty((n, params[2].shape[1]), dtype), np.empty((n, params[4].shape[1]), dtype)
        self.mask1 = np.empty(self.h1.shape, bool)
        self.flat = np.arange(n) * self.z.shape[1] + t
        self.ones_n, self.ones_k = np.ones(n, dtype), np.ones(self.z.shape[1], dtype)
        self.row_max, self.row_sum = np.empty((n, 1), dtype), np.empty(n, dtype)
        self.dh1, self.dpooled = np.empty_like(self.h1), np.empty((n, f * p * p), dtype)
        self.dy = np.empty_like(self.y)
        self.dwc = np.empty_like(self.wc)
        self.grads = [np.empty_like(q) for q in params[2:]]
        self.new = [np.empty_like(q) for q in params]

    def _offsets(self, a: NDArray) -> list[NDArray]:
        """The four 2x2-window offsets of ``a`` ``(N, F, 576)`` as ``(N, F, 12, 12)`` views, row-major."""
        grid = a.reshape(self.n, CONV_FILTERS, POOLED, POOL, POOLED, POOL)
        return [grid[:, :, :, i, :, j] for i in range(POOL) for j in range(POOL)]

    def step(self) -> float:
        n, k = self.n, CONV_KERNEL
        w1, b1, w2, b2 = self.params[2:]
        col, y, pooled, winner = self.col, self.y, self.pooled, self.winner
        col[:, : k * k].reshape(self.windows.shape)[...] = self.windows
        np.matmul(self.wc, col, out=y)  # conv + bias
        np.maximum(y, 0, out=y)  # ReLU in place
        v = self._offsets(y)
        np.greater(v[1], v[0], out=self.better)
        np.copyto(winner, self.better, casting="unsafe")
        np.maximum(v[0], v[1], out=pooled)
        for idx in (2, 3):
            np.greater(v[idx], pooled, out=self.better)
            np.multiply(self.better, np.int8(idx), out=self.code)
            np.maximum(winner, self.code, out=winner)
            np.maximum(pooled, v[idx], out=pooled)
        flat_pooled = pooled.reshape(n, -1)
        np.matmul(flat_pooled, w1, out=self.h1)
        np.add(self.h1, b1, out=self.h1)
        np.maximum(self.h1, 0, out=self.h1)
        z = self.z
        np.matmul(self.h1, w2, out=z)
        np.add(z, b2, out=z)
        loss = softmax_loss_into_dz(z, self.flat, self.lr, self.ones_k, self.row_max, self.row_sum)
        dw1, db1, dw2, db2 = self.grads
        np.matmul(self.h1.T, z, out=dw2)
        np.matmul(self.ones_n, z, out=db2)
        np.matmul(z, w2.T, out=self.dh1)
        np.greater(self.h1, 0, out=self.mask1)
        np.multiply(self.dh1, self.mask1, out=self.dh1)
        np.matmul(flat_pooled.T, self.dh1, out=dw1)
        np.matmul(self.ones_n, self.dh1, out=db1)
        np.matmul(self.dh1, w1.T, out=self.dpooled)
        dpooled = self.dpooled.reshape(pooled.shape)
        np.greater(pooled, 0, out=self.better)  # ReLU's derivative at the winner, on the pooled grid
        for idx, slab in enumerate(self._offsets(self.dy)):  # the windows tile the output: all written
            np.equal(winner, idx, out=self.mask)
            np.logical_and(self.mask, self.better, out=self.mask)
            np.multiply(dpooled, self.mask, out=slab)
        np.matmul(self.dy, col.transpose(0, 2, 1)).sum(axis=0, out=self.dwc)
        dwc, dbc = self.dwc[:, : k * k].reshape(self.params[0].shape), self.dwc[:, k * k]
        for q, g, out in zip(self.params, [dwc, dbc, *self.grads], self.new):
            np.subtract(q, g, out=out)
        return loss


def fnn_step(params: list[NDArray], x: NDArray, t: NDArray) -> Any:
    """fnn's W4 step, as the suite runs it."""
    from benchmarks.suite import FnnStep

    return FnnStep(W4, params, x, t)


def agreement(params: list[NDArray], x: NDArray, t: NDArray) -> tuple[float, float]:
    """``(loss error, update error)`` of :class:`FastestConvStep` against fnn's step, relative."""
    fast, reference = FastestConvStep(params, x, t), fnn_step(params, x, t)
    loss = fast.step()
    reference.step()
    ref_loss, ref_params = reference.result()
    update_error = max(
        float(np.abs((new - old) - (ref - old)).max() / np.abs(ref - old).max())
        for new, ref, old in zip(fast.new, ref_params, params)
    )
    return float(abs(loss - ref_loss) / abs(ref_loss)), update_error


def _median_ms(fn: Callable[[], Any], seconds: float) -> float:
    times = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def interleaved(calls: dict[str, Callable[[], Any]], rounds: int, seconds: float) -> dict[str, list[float]]:
    """Median ms per call of each entry, round by round, with :data:`PAUSE` before every turn."""
    for fn in calls.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, fn in calls.items():
            time.sleep(PAUSE)
            times[name].append(_median_ms(fn, seconds))
    return times


Call = Callable[[], Any]


def _numpy_product(a: NDArray, b: NDArray, batch_sum: bool) -> Call:
    return (lambda: (a @ b).sum(axis=0)) if batch_sum else (lambda: a @ b)


def _torch_product(torch: Any, a: NDArray, b: NDArray, batch_sum: bool) -> Call:
    # The same operands in the same memory layout (b's transposed view stays a transposed view).
    ta = torch.from_numpy(np.ascontiguousarray(a))
    tb = torch.from_numpy(np.ascontiguousarray(np.swapaxes(b, -1, -2))).transpose(-1, -2)
    return (lambda: torch.matmul(ta, tb).sum(0)) if batch_sum else (lambda: torch.matmul(ta, tb))


def gemm_calls(params: list[NDArray], x: NDArray) -> dict[str, tuple[Call | None, Call | None]]:
    """The step's products, ``{label: (NumPy call, PyTorch call)}`` on random operands (``None``: none)."""
    torch, _ = others.load("torch")
    rng = np.random.default_rng(3)
    n, f, kk, o, hidden = x.shape[0], CONV_FILTERS, CONV_KERNEL**2 + 1, CONV_OUT**2, params[2].shape[1]
    pooled = params[2].shape[0]

    def rand(*shape: int) -> NDArray:
        return rng.standard_normal(shape, dtype=np.float32)

    operands = {
        "conv [W|b] col": (rand(f, kk), rand(n, kk, o), False),
        "conv dW = Σ dY colᵀ": (rand(n, f, o), rand(n, kk, o).transpose(0, 2, 1), True),
        "dense1 p W₁": (rand(n, pooled), params[2], False),
        "dense1 dW₁ = pᵀ dh": (rand(n, pooled).T, rand(n, hidden), False),
        "dense1 dp = dh W₁ᵀ": (rand(n, hidden), params[2].T, False),
    }
    calls: dict[str, tuple[Call | None, Call | None]] = {
        label: (_numpy_product(a, b, s), None if torch is None else _torch_product(torch, a, b, s))
        for label, (a, b, s) in operands.items()
    }
    if torch is not None:
        tx = torch.from_numpy(x)
        tw = torch.tensor(params[0], requires_grad=True)
        tb = torch.tensor(params[1], requires_grad=True)
        conv = torch.nn.functional.conv2d

        def torch_conv_forward() -> Any:
            with torch.no_grad():
                return conv(tx, tw, tb)

        def torch_conv_train() -> Any:
            out = conv(tx, tw, tb)
            return torch.autograd.grad(out, (tw, tb), torch.ones_like(out))

        calls["torch conv2d forward (oneDNN)"] = (None, torch_conv_forward)
        calls["torch conv2d forward + dW, db"] = (None, torch_conv_train)
    return calls


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--seconds", type=float, default=0.3, help="time per turn")
    parser.add_argument("--quick", action="store_true", help="3 short rounds (smoke run)")
    args = parser.parse_args(argv)
    rounds, seconds = (3, 0.05) if args.quick else (args.rounds, args.seconds)
    params, (x, t) = init_params(W4), make_data(W4)
    loss_error, update_error = agreement(params, x, t)
    print(f"fastest NumPy step against fnn: loss {loss_error:.1e}, update {update_error:.1e} (relative)")
    assert loss_error < 1e-5 and update_error < 1e-3

    steps: dict[str, Callable[[], Any]] = {
        "fnn": fnn_step(params, x, t).step,
        "fastest NumPy": FastestConvStep(params, x, t).step,
    }
    torch, reason = others.load("torch")
    if torch is not None:
        steps["torch"] = others.TorchStep(W4, params, x, t).step
    else:
        print(reason)
    times = interleaved(steps, rounds, seconds)
    print(f"\nW4 step (SimpleConvNet, batch {W4.batch}, float32), median of {rounds} interleaved rounds:")
    print("| step | ms | × fnn | × torch |\n|---|---|---|---|")
    for name, ms in times.items():
        vs_fnn = statistics.median(a / b for a, b in zip(ms, times["fnn"]))
        vs_torch = (
            f"{statistics.median(a / b for a, b in zip(ms, times['torch'])):.2f}" if "torch" in times else "-"
        )
        print(f"| {name} | {statistics.median(ms):.2f} | {vs_fnn:.2f} | {vs_torch} |")

    gemms = gemm_calls(params, x)
    numpy_side = {label: pair[0] for label, pair in gemms.items() if pair[0] is not None}
    torch_side = {label: pair[1] for label, pair in gemms.items() if pair[1] is not None}
    numpy_times = interleaved(numpy_side, rounds, seconds / 3)
    torch_times = interleaved(torch_side, rounds, seconds / 3) if torch_side else {}
    print("\nThe step's products, same shapes (median ms):")
    print("| product | NumPy | torch |\n|---|---|---|")
    for label in gemms:
        np_ms = f"{statistics.median(numpy_times[label]):.3f}" if label in numpy_times else "-"
        torch_ms = f"{statistics.median(torch_times[label]):.3f}" if label in torch_times else "-"
        print(f"| {label} | {np_ms} | {torch_ms} |")


if __name__ == "__main__":
    main()
