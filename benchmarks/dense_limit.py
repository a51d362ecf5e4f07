"""What NumPy can do at best on W3, W5a and Adam over W3's params, against PyTorch and JAX (issue 22).

The targets (float32, 2 threads each): fnn's W3 training step and W5a inference within
1.05× of the fastest of PyTorch and JAX, and fnn's Adam over W3's parameters within 1.5×
of PyTorch's. Where fnn misses one, this script shows whether any NumPy code could meet
it, by timing side by side, interleaved round by round in one process:

- **W3** (MLP 784-1024-1024-10, batch 256, one SGD step): fnn's step
  (``suite.FnnStep``); the fastest NumPy step (``numpy_limit.FastestStep``: preallocated
  buffers, in-place activations, the learning rate folded into the loss gradient, one
  subtraction per parameter); NumPy's bare products (``floor.Floor``, OpenBLAS) and the
  very same products in PyTorch (``torch.mm(..., out=)``, MKL), then PyTorch's and JAX's
  steps.
- **W5a** (the W1 net 784-50-10, inference over 10,000 samples in batches of 1,000):
  fnn, NumPy's products (``floor.InferenceFloor``), PyTorch's products, PyTorch, JAX.
- **Adam** over W3's parameters (1.86 M floats, fixed gradients): fnn's
  ``adam().update`` + ``apply_updates``; the least NumPy needs for it
  (:class:`InPlaceAdam`: the moments and the params updated in place in preallocated
  arrays, twelve in-place ufunc calls per leaf, no allocation, so nothing a pure optimizer can
  beat); ``torch.optim.Adam.step()``; JAX's jitted update.

NumPy runs each ufunc on one core whatever ``OPENBLAS_NUM_THREADS`` says (only the
BLAS products use threads), while PyTorch splits its elementwise kernels over its
threads: with 2 threads, a memory-bound pass such as Adam's takes PyTorch about half
the time it takes NumPy. Each library's worker threads keep spinning for about 0.1 s
after their last call, so every turn starts after a 0.15 s pause.

Run: ``OPENBLAS_NUM_THREADS=2 python benchmarks/dense_limit.py`` (``--rounds``,
``--calls``; ``--no-jax`` to skip JAX). PyTorch gets the same thread count
(``others.load``; with ``1`` XLA is made single-threaded too). On a machine that other
jobs load, multi-threaded timings mean nothing (OpenBLAS's and PyTorch's threads wait for
each other at every product while a job holds one of the cores: 10–60× slower, and XLA
suffers far less); run with ``OPENBLAS_NUM_THREADS=1 … --cpu-time`` there, which times
each library on one core by the CPU time it got. It prints one table per workload: median
milliseconds per call and the median over rounds of each row's time over the fastest of
PyTorch and JAX in the same round.

Recorded (2026-11-29, the 2-core AMD EPYC (Zen 5, AVX-512) development box with a load
average of 9–13 from other jobs, so one thread and ``--cpu-time``; torch 2.13.0+cpu, jax
0.10.2; 7 rounds × 5 calls; time over the fastest of PyTorch and JAX (for Adam: over
PyTorch), medians of the per-round ratios). The environment of this box sets
``OPENBLAS_CORETYPE=Haswell``, which holds NumPy's OpenBLAS to its AVX2 kernels; unset, it
detects SkylakeX and uses its AVX-512 kernels, and the products take 0.6× the time::

                                   OPENBLAS_CORETYPE=Haswell    (unset: SkylakeX kernels)
    W3   fnn step                   24.3 ms   1.65×               14.6 ms   1.01×
         fastest NumPy step         23.5 ms   1.58×               14.3 ms   0.97×
         NumPy products             22.0 ms   1.51×               13.1 ms   0.89×
         PyTorch products (MKL)     28.0 ms   1.87×               26.8 ms   1.86×
         PyTorch step               29.5 ms   1.99×               28.0 ms   1.97×
         JAX step                   14.8 ms   1                   14.6 ms   1
    W5a  fnn inference              10.2 ms   1.12×                6.3 ms   0.70×
         NumPy products              9.5 ms   1.06×                6.1 ms   0.68×
         PyTorch inference          12.8 ms   1.41×               12.1 ms   1.38×
         JAX inference               9.1 ms   1                    8.7 ms   1
    Adam fnn update + apply          4.0 ms   1.15×                3.7 ms   1.18×
         in-place NumPy Adam         4.0 ms   1.20×                3.6 ms   1.15×
         torch.optim.Adam            3.3 ms   1                    3.2 ms   1
         JAX jitted Adam             2.8 ms   0.85×                2.6 ms   0.83×

So on one core: with OpenBLAS on its AVX2 kernels, NumPy's products alone take 1.5× JAX's
whole W3 step (XLA's own products run at about 190 GFLOP/s against OpenBLAS's 115 on these
shapes, measured product by product), and no NumPy code can meet 1.05× there; fnn spends
2.3 ms above the products, the fastest NumPy step 1.4 ms. With the AVX-512 kernels fnn is
at 1.01× JAX on W3 and 0.70× on W5a. fnn's Adam is within 1.2× of PyTorch's, as close as an
in-place NumPy Adam gets: what remains is NumPy's ufuncs, which make a pass per operation
where PyTorch fuses several. With two threads PyTorch also splits every elementwise pass
over both cores, which NumPy's ufuncs never do; that comparison needs a quiet machine (see
above) and was not possible here.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable from the project root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from benchmarks import others  # noqa: E402
from benchmarks.floor import Floor, InferenceFloor  # noqa: E402
from benchmarks.numpy_limit import FastestStep, InPlaceAdam  # noqa: E402
from benchmarks.suite import FnnAdam, FnnInference, FnnStep  # noqa: E402
from benchmarks.workloads import ADAM_LR, INFER_BATCH, INFER_SAMPLES, W1, W3, init_params, make_data  # noqa: E402

NDArray = np.ndarray[Any, Any]
PAUSE = 0.15
"""Seconds of rest before each turn: the previous library's spinning threads stop within 0.1 s."""


class TorchProducts:
    """The products of ``floor.Floor`` or ``floor.InferenceFloor`` in PyTorch (``torch.mm(out=)``)."""

    def __init__(self, floor: Floor | InferenceFloor) -> None:
        torch, reason = others.load("torch")
        assert torch is not None, reason
        self.torch = torch
        self.weights = [torch.from_numpy(w) for w in floor.weights]
        if isinstance(floor, Floor):
            self.inputs = [torch.from_numpy(floor.x)]
            self.h = [torch.from_numpy(h) for h in floor.h[1:]]
            self.dh = [torch.from_numpy(d) for d in floor.dh]
            self.dw = [torch.from_numpy(d) for d in floor.dw]
            self.backward = True
        else:
            self.inputs = [torch.from_numpy(x) for x in floor.inputs]
            self.h = [torch.from_numpy(h) for h in floor.h]
            self.backward = False

    def run(self) -> None:
        mm, layers = self.torch.mm, len(self.weights)
        for x in self.inputs:
            a = x
            for w, h in zip(self.weights, self.h):
                mm(a, w, out=h)
                a = h
        if self.backward:
            for i in range(layers - 1, -1, -1):
                mm((self.inputs[0] if i == 0 else self.h[i - 1]).T, self.dh[i + 1], out=self.dw[i])
                if i > 0:
                    mm(self.dh[i + 1], self.weights[i].T, out=self.dh[i])


Row = tuple[str, Callable[[], object], bool]
"""``(name, call, is_reference)``: a reference row is PyTorch or JAX, the fastest of which sets the ratios."""


def timed_rows(
    rows: list[Row], rounds: int, calls: int, clock: Callable[[], float] = time.perf_counter
) -> list[tuple[str, float, float]]:
    """``(name, median ms per call, median over rounds of time / fastest reference)`` for every row."""
    times: dict[str, list[float]] = {name: [] for name, _, _ in rows}
    for _ in range(rounds):
        for name, call, _ in rows:
            time.sleep(PAUSE)
            call()
            start = clock()
            for _ in range(calls):
                call()
            times[name].append((clock() - start) / calls)
    references = [name for name, _, ref in rows if ref]
    fastest = [min(times[r][i] for r in references) for i in range(rounds)] if references else None
    out = []
    for name, _, _ in rows:
        ratio = statistics.median(t / f for t, f in zip(times[name], fastest)) if fastest else float("nan")
        out.append((name, statistics.median(times[name]) * 1e3, ratio))
    return out


def w3_rows(jax: bool) -> list[Row]:
    params, (x, t) = init_params(W3), make_data(W3)
    floor = Floor(W3, params, x, t)
    rows: list[Row] = [
        ("fnn step", FnnStep(W3, params, x, t).step, False),
        ("fastest NumPy step", FastestStep(W3, params, x, t).step, False),
        ("NumPy products (OpenBLAS)", floor.step, False),
        ("PyTorch products (MKL)", TorchProducts(floor).run, False),
        ("PyTorch step", others.TorchStep(W3, params, x, t).step, True),
    ]
    if jax:
        rows.append(("JAX step", others.JaxStep(W3, params, x, t).step, True))
    return rows


def w5a_rows(jax: bool) -> list[Row]:
    params, (x_all, _) = init_params(W1), make_data(W1, INFER_SAMPLES)
    floor = InferenceFloor(W1, params, x_all, INFER_BATCH)
    rows: list[Row] = [
        ("fnn inference", FnnInference(W1, params, x_all, INFER_BATCH).run, False),
        ("NumPy products (OpenBLAS)", floor.run, False),
        ("PyTorch products (MKL)", TorchProducts(floor).run, False),
        ("PyTorch inference", others.TorchInference(W1, params, x_all, INFER_BATCH).run, True),
    ]
    if jax:
        rows.append(("JAX inference", others.JaxInference(W1, params, x_all, INFER_BATCH).run, True))
    return rows


def adam_rows(jax: bool) -> list[Row]:
    params = init_params(W3)
    rng = np.random.default_rng(3)
    grads: list[NDArray] = [rng.standard_normal(p.shape, dtype=np.float32) * np.float32(0.01) for p in params]
    rows: list[Row] = [
        ("fnn adam update + apply_updates", FnnAdam(params, grads, ADAM_LR).step, False),
        ("in-place NumPy Adam", InPlaceAdam(params, grads, ADAM_LR).step, False),
        ("torch.optim.Adam", others.TorchAdam(params, grads, ADAM_LR).step, True),
    ]
    if jax:
        rows.append(("JAX jitted Adam", others.JaxAdam(params, grads, ADAM_LR).step, False))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=10, help="calls per turn")
    parser.add_argument("--no-jax", action="store_true", help="time PyTorch only")
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="time with the process's CPU time (one thread: leaves out the time other jobs hold the core)",
    )
    args = parser.parse_args(argv)
    clock = time.process_time if args.cpu_time else time.perf_counter
    for name in ("torch",) + (() if args.no_jax else ("jax",)):
        reason = others.load(name)[1]
        if reason:
            raise SystemExit(reason)
    settings = ", ".join(f"{k}={os.environ.get(k)}" for k in ("OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE"))
    print(f"{settings}, {others.versions()}")
    tables = [
        ("W3 step (784-1024-1024-10, batch 256)", w3_rows),
        ("W5a inference (W1 net, 10,000 samples)", w5a_rows),
        ("Adam over W3's params (ratios against torch.optim.Adam)", adam_rows),
    ]
    for title, rows in tables:
        print(f"\n{title}\n\n| implementation | ms | × fastest of PyTorch/JAX |\n|---|---|---|")
        for name, ms, ratio in timed_rows(rows(not args.no_jax), args.rounds, args.calls, clock):
            print(f"| {name} | {ms:.2f} | {ratio:.2f} |")
    print(f"\nload average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
