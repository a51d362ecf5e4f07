"""One library's implementation of one suite row, timed alone in a fresh process: the suite's cross-check.

``python -m benchmarks.alone ROW LIBRARY [--threads N] [--rounds R] [--min-time S]`` builds the
same call the suite times for row ``ROW`` (``W1`` … ``W4``, ``W5-W1``, ``W5-W4``, ``adam``,
``rnnlm-step``, ``rnnlm-ppl``, ``seq2seq``, ``attention``) and library ``torch`` or ``jax``,
from the same parameters and data, runs it three times, then ``R`` blocks of calls of at
least ``S`` seconds each, and prints the median seconds per call as the last line of its
output. Nothing else runs in the process, so no other library's threads compete with it;
the suite (:func:`benchmarks.suite.crosscheck`) compares its own time with this one.
"""

from __future__ import annotations

import argparse
import gc
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable from the project root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":  # before NumPy, PyTorch or XLA size their thread pools
    from benchmarks.fairness import limit_threads, threads_argument

    limit_threads(threads_argument(sys.argv[1:]))

from benchmarks import fairness, others, rnnlm, seq2seq_steps  # noqa: E402
from benchmarks.workloads import (  # noqa: E402
    ADAM_LR,
    INFER_BATCH,
    INFER_SAMPLES,
    W1,
    W2,
    W3,
    W4,
    adam_inputs,
    init_params,
    make_data,
)

__all__ = ["ROWS", "build", "time_alone", "run_alone"]

ROWS = ("W1", "W2", "W3", "W4", "W5-W1", "W5-W4", "adam", "rnnlm-step", "rnnlm-ppl", "seq2seq", "attention")
"""The suite's rows with PyTorch or JAX columns (``seq2seq``, ``attention`` and ``rnnlm-*``: PyTorch only)."""

_TRAINING = {w.name: w for w in (W1, W2, W3, W4)}
_SEQ2SEQ = {w.name: w for w in (seq2seq_steps.ADDITION, seq2seq_steps.DATES)}


def build(row: str, library: str) -> Callable[[], Any]:
    """The call the suite times for ``row`` and ``library``, built as the suite builds it.

    Raises:
        ValueError: ``row`` is not one of :data:`ROWS`, or ``library`` has no column in it.
        FileNotFoundError: an ``rnnlm`` row without the PTB corpus.
    """
    torch = library == "torch"
    if library not in ("torch", "jax") or (not torch and (row in _SEQ2SEQ or row.startswith("rnnlm"))):
        raise ValueError(
            f"alone: row {row!r} has no {library!r} column; libraries: torch, jax (rnnlm, "
            "seq2seq and attention: torch only)"
        )
    if row in _TRAINING:
        w = _TRAINING[row]
        step = (others.TorchStep if torch else others.JaxStep)(w, init_params(w), *make_data(w))
        return step.step
    if row in ("W5-W1", "W5-W4"):
        w = W1 if row == "W5-W1" else W4
        x_all = make_data(w, INFER_SAMPLES, seed=6)[0]
        infer = (others.TorchInference if torch else others.JaxInference)(
            w, init_params(w), x_all, INFER_BATCH
        )
        return infer.run
    if row == "adam":
        adam = (others.TorchAdam if torch else others.JaxAdam)(*adam_inputs(W3), ADAM_LR)
        return adam.step
    if row in _SEQ2SEQ:
        torch_step: Callable[[], Any] = seq2seq_steps.steppers(_SEQ2SEQ[row], ["torch"])[1][-1].step
        return torch_step
    if row in ("rnnlm-step", "rnnlm-ppl"):
        corpus = rnnlm.ptb_ids("train" if row == "rnnlm-step" else "test")
        if corpus is None:
            raise FileNotFoundError("alone: PTB not found in ../shared/data/ptb or FNN_DATA_DIR")
        params = rnnlm.init_params(rnnlm.CH6)
        if row == "rnnlm-step":
            return others.TorchRnnlmStep(rnnlm.CH6, params, *rnnlm.make_window(rnnlm.CH6, corpus)).step
        return others.TorchPerplexity(rnnlm.CH6, params, corpus).run
    raise ValueError(f"alone: unknown row {row!r}; rows: {', '.join(ROWS)}")


def time_alone(call: Callable[[], Any], rounds: int, min_time: float) -> float:
    """Median seconds per call over ``rounds`` blocks of ``min_time`` seconds or more, after 3 warm-ups,
    with the garbage collector off while timing, as the suite times."""
    call()
    call()
    start = time.perf_counter()
    call()
    repeats = max(1, math.ceil(min_time / max(time.perf_counter() - start, 1e-9)))
    blocks = []
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(repeats):
                call()
            blocks.append((time.perf_counter() - start) / repeats)
    finally:
        if enabled:
            gc.enable()
    return statistics.median(blocks)


def run_alone(row: str, library: str, threads: int, rounds: int, min_time: float) -> float:
    """Start ``python -m benchmarks.alone`` for ``row`` and ``library`` and return its seconds per call.

    Raises:
        RuntimeError: the process failed (its last output lines are in the message).
    """
    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, "-m", "benchmarks.alone", row, library, "--threads", str(threads)]
    command += ["--rounds", str(rounds), "--min-time", str(min_time)]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
        raise RuntimeError(f"alone {row} {library} failed (exit {done.returncode}): {tail}")
    return float(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("row", choices=ROWS)
    parser.add_argument("library", choices=("torch", "jax"))
    parser.add_argument("--threads", type=int, default=fairness.available_cpus())
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--min-time", type=float, default=0.05)
    args = parser.parse_args(argv)
    call = build(args.row, args.library)
    seconds = time_alone(call, args.rounds, args.min_time)
    torch = others.load("torch")[0] if args.library == "torch" else None
    wrong = fairness.thread_mismatches(args.threads, fairness.thread_counts(torch, args.library == "jax"))
    if wrong:
        raise SystemExit(f"alone: expected {args.threads} threads, but " + ", ".join(wrong))
    print(seconds)
    return seconds


if __name__ == "__main__":
    main()
