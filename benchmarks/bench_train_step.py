"""``fnn.train_step`` against the hand-written loop's three lines, on the suite's training workloads.

Both compute the same step bit for bit (``tests/test_train_step.py``); ``train_step``
writes ``θ + u`` into the update arrays it made itself (``fnn.optim.owned``), where
``apply_updates`` must allocate every new parameter because its caller may still
read the updates. Timed interleaved round by round in one process (2 threads, the
garbage collector off), against the fastest NumPy step of the MLP rows
(``numpy_limit.FastestStep``) and the same step with every buffer allocated in each
call, as a pure function must (``numpy_limit.PureFastestStep``), where there is one:

- ``W1``–``W4`` with ``optim.sgd`` (``suite.FnnLoopStep`` against ``suite.FnnStep``);
- ``W3`` with ``optim.adam``.

Run: ``python benchmarks/bench_train_step.py`` (``--rounds``, ``--threads``); the record used
``--rounds 21``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any, Callable, TypeVar

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable from the project root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":  # before NumPy sizes its thread pool
    from benchmarks.fairness import limit_threads, threads_argument

    limit_threads(threads_argument(sys.argv[1:]))

import fnn  # noqa: E402
from benchmarks import fairness  # noqa: E402
from benchmarks.numpy_limit import FastestStep, PureFastestStep  # noqa: E402
from benchmarks.suite import FnnLoopStep, FnnStep, Timing, interleaved  # noqa: E402
from benchmarks.workloads import ADAM_LR, W1, W2, W3, W4, Workload, init_params, make_data  # noqa: E402

Step = TypeVar("Step", bound=FnnStep)


def with_adam(step: Step) -> Step:
    """``step`` with ``optim.adam`` in place of SGD."""
    step.optimizer = fnn.optim.adam(ADAM_LR)
    step.train_step = fnn.train_step(step.model, fnn.losses.softmax_cross_entropy, step.optimizer)
    step.opt_state = step.optimizer.init(step.params)
    return step


def calls_for(w: Workload, adam: bool) -> dict[str, Callable[[], Any]]:
    params, (x, t) = init_params(w), make_data(w)
    loop, step = FnnLoopStep(w, params, x, t), FnnStep(w, params, x, t)
    if adam:
        loop, step = with_adam(loop), with_adam(step)
    calls: dict[str, Callable[[], Any]] = {"loop": loop.step, "train_step": step.step}
    if w.kind == "mlp" and not adam:
        calls["pure-min"] = PureFastestStep(w, params, x, t).step
        calls["numpy-min"] = FastestStep(w, params, x, t).step
    return calls


COLUMNS = ("loop", "train_step", "pure-min", "numpy-min")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--threads", type=int, help="threads for OpenBLAS (default: every CPU)")
    args = parser.parse_args()
    timing = Timing(rounds=args.rounds, min_time=0.05, warmup=0.05, pause=False, cap=0.5)
    kernels = fairness.openblas_kernels()
    print(
        f"OpenBLAS threads {fairness.openblas_threads()}, kernels: {kernels}; medians of {args.rounds} "
        "interleaved rounds; (×loop) = the median per-round ratio to the loop\n"
    )
    print("| workload | optimizer | " + " | ".join(COLUMNS) + " | train_step/pure-min |")
    print("|---|---|" + "---|" * (len(COLUMNS) + 1))
    for w, adam in [(W1, False), (W2, False), (W3, False), (W4, False), (W3, True)]:
        times = interleaved(calls_for(w, adam), timing).times
        cells = [_cell(times, name, "loop") for name in COLUMNS]
        over_pure = f"{_ratio(times, 'train_step', 'pure-min'):.3f}" if "pure-min" in times else "–"
        print(f"| {w.name} | {'adam' if adam else 'sgd'} | " + " | ".join(cells) + f" | {over_pure} |")


def _ratio(times: dict[str, list[float]], a: str, b: str) -> float:
    return statistics.median(x / y for x, y in zip(times[a], times[b]))


def _cell(times: dict[str, list[float]], name: str, base: str) -> str:
    if name not in times:
        return "–"
    return f"{statistics.median(times[name]) * 1e6:.0f} µs ({_ratio(times, name, base):.3f})"


if __name__ == "__main__":
    main()
