"""Allreduce times over MPI, and when data-parallel training pays off on a network.

Run under MPI (the ``mpi`` extra): ``mpiexec -n 2 python -m mpi4py benchmarks/allreduce.py``.
Rank 0 prints three Markdown tables (the ones in ``docs/distributed.md``):

1. the median time of one MPI allreduce (sum) of a float32 buffer, 4 KB to 40 MB;
2. the gradient of W3 (the 1.86 M-parameter MLP, six leaves) averaged by
   :func:`fnn.distributed.mean` (one collective) against one allreduce per leaf;
3. for W1, W3 and W4 (SimpleConvNet): the single-process step time measured here,
   the gradient's size, and the estimated speed-up on ``R`` ranks over 10 and
   100 Gb/s networks (:func:`estimate`).

The ranks of one machine talk through shared memory; the network estimate uses
the ring allreduce's traffic, ``2(R−1)/R`` times the gradient's bytes per rank.

``python benchmarks/allreduce.py --fit-overhead 100`` (one process, no MPI) instead
measures what the communicator argument costs a single process: W1's ``fit`` (the
suite's fit run) with ``comm`` left out and with ``comm=SINGLE_PROCESS``, in
interleaved rounds whose order alternates (:func:`fit_overhead`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fnn
from benchmarks.suite import FIT_EPOCHS, FitRun
from benchmarks.workloads import LR, W1, W3, W4, Workload, fnn_model, fnn_params, init_params, make_data

SIZES_BYTES = (4_000, 40_000, 400_000, 4_000_000, 40_000_000)
NETWORKS_GBPS = (10, 100)


def median_s(comm: fnn.distributed.Communicator, run: Callable[[], Any], repeats: int) -> float:
    """The median over ``repeats`` of ``run``'s time, every rank starting together (slowest rank's time)."""
    times = []
    for _ in range(repeats):
        comm.allreduce(np.zeros(1))  # a barrier
        start = time.perf_counter()
        run()
        times.append(float(comm.allreduce(np.array([time.perf_counter() - start]))[0]) / comm.size)
    return statistics.median(times)


def estimate(step_s: float, params: int, ranks: int, gbps: float) -> tuple[float, float]:
    """``(allreduce seconds, speed-up)`` of a step of ``step_s`` on one process split over ``ranks``.

    The allreduce of the float32 gradient (``4·params`` bytes) over a ring moves
    ``2(R−1)/R · 4·params`` bytes per rank at ``gbps``; fnn does not overlap it with
    the backward pass, so a step takes ``step_s/R + t_comm`` and the speed-up is
    ``step_s / (step_s/R + t_comm)`` (latency and the sharded batch's lower
    efficiency left out: an upper bound).

    >>> estimate(0.010, 1_000_000, 2, 10.0)   # 4 MB over 10 Gb/s: 3.2 ms
    (0.0032, 1.2195121951219512)
    """
    comm_s = 2 * (ranks - 1) / ranks * 4 * params / (gbps * 1e9 / 8)
    return comm_s, step_s / (step_s / ranks + comm_s)


def step_seconds(w: Workload, repeats: int) -> float:
    """The median time of one SGD step of ``w`` on one process (its whole batch)."""
    model, params = fnn_model(w), fnn_params(w, init_params(w))
    x, t = make_data(w)
    step = fnn.value_and_grad(model, fnn.losses.softmax_cross_entropy)

    def run() -> None:
        _, grads = step(params, x, t)
        fnn.tree.map(lambda p, g: p - 0.01 * g, params, grads)

    run()
    return median_s(fnn.distributed.SINGLE_PROCESS, run, repeats)


def fit_overhead(rounds: int) -> dict[str, float]:
    """Median µs per step of W1's ``fit`` without ``comm`` and with ``SINGLE_PROCESS``, and their ratio.

    Each round times both, the first of the pair alternating from round to round so
    that an order effect (the second call finding warmer caches) cancels out.
    """
    run = FitRun(W1)

    def per_step_us(comm: fnn.distributed.Communicator | None) -> float:
        start = time.perf_counter()
        fnn.fit(
            run.model, fnn.losses.softmax_cross_entropy, fnn.optim.sgd(LR), run.params, run.x, run.t,
            key=run.key, epochs=FIT_EPOCHS, batch_size=W1.batch, progress=False, comm=comm,
        )  # fmt: skip
        return (time.perf_counter() - start) / run.steps * 1e6

    without, single, ratios = [], [], []
    for i in range(rounds):
        if i % 2:
            b, a = per_step_us(fnn.distributed.SINGLE_PROCESS), per_step_us(None)
        else:
            a, b = per_step_us(None), per_step_us(fnn.distributed.SINGLE_PROCESS)
        without.append(a)
        single.append(b)
        ratios.append(b / a)
    return {
        "without_us": statistics.median(without),
        "single_us": statistics.median(single),
        "ratio": statistics.median(ratios),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="MPI allreduce times and the data-parallel estimate.")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--fit-overhead", type=int, default=0, metavar="ROUNDS", help="see the docstring")
    args = parser.parse_args(argv)
    if args.fit_overhead:
        r = fit_overhead(args.fit_overhead)
        print(
            f"W1 fit per step: {r['without_us']:.1f} µs without comm, {r['single_us']:.1f} µs with "
            f"SINGLE_PROCESS; median per-round ratio {r['ratio']:.4f} ({args.fit_overhead} rounds)"
        )
        return
    comm = fnn.distributed.communicator()
    say = print if comm.rank == 0 else (lambda *_: None)
    say(f"{comm.size} ranks; median of {args.repeats} repeats\n")

    say("| buffer (float32) | allreduce |\n|---:|---:|")
    for size in SIZES_BYTES:
        buffer = np.ones(size // 4, np.float32)
        seconds = median_s(comm, lambda: comm.allreduce(buffer), args.repeats)
        say(f"| {size / 1e6:g} MB | {seconds * 1e3:.3f} ms |")

    grads = fnn_params(W3, init_params(W3))
    one = median_s(comm, lambda: fnn.distributed.mean(comm, grads, weight=128), args.repeats)
    per_leaf = median_s(
        comm, lambda: [comm.allreduce(leaf.reshape(-1)) for leaf in fnn.tree.leaves(grads)], args.repeats
    )
    n = fnn.tree.param_count(grads)
    say(f"\n| W3 gradient ({n / 1e6:.2f} M params) | time |\n|---|---:|")
    say(f"| fnn.distributed.mean (one allreduce) | {one * 1e3:.2f} ms |")
    say(f"| one allreduce per leaf (6) | {per_leaf * 1e3:.2f} ms |")

    if comm.rank == 0:
        header = " | ".join(f"R={r}, {g} Gb/s" for g in NETWORKS_GBPS for r in (2, 8))
        say(f"\n| workload | step (1 process) | gradient | {header} |\n|---|---:|---:|" + "---:|" * 4)
        for w in (W1, W3, W4):
            step = step_seconds(w, args.repeats)
            params = fnn.tree.param_count(fnn_params(w, init_params(w)))
            cells = []
            for gbps in NETWORKS_GBPS:
                for ranks in (2, 8):
                    comm_s, speedup = estimate(step, params, ranks, gbps)
                    cells.append(f"{comm_s * 1e3:.2f} ms, ×{speedup:.2f}")
            say(f"| {w.describe()} | {step * 1e3:.2f} ms | {4 * params / 1e6:.2f} MB | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
