"""fnn's benchmark suite: every workload, every implementation, side by side in one process.

Run from the project root: ``python benchmarks/suite.py`` (``--quick`` for a smoke run,
``--rounds R``, ``--only W1,W4,adam,rnnlm``, ``--threads N``; ``--help``). It prints the
machine, the versions and the threads each library uses, checks that all implementations
compute the same thing, times them, prints one markdown table of medians and ratios, and
then times every PyTorch and JAX column again alone in fresh processes (the cross-check).

**Agreement.** Before timing, each training workload runs one step from the same
parameters in every implementation: the losses must agree to ``1e-5`` (relative) and
every updated parameter's change to ``1e-3`` of its largest entry (float32 rounding
of different summation orders). Inference compares the logits; Adam the updated
parameters; ``fit`` must give exactly the parameters of the bare loop. The GEMM floor
computes only products, so it is not part of the check.

**Fairness** (:mod:`benchmarks.fairness`). Every library computes on ``--threads`` threads
(default: every CPU the process may use), set before NumPy, PyTorch or JAX is imported and
read back from each library before timing; a library that uses another count stops the
suite. At every switch from one library's turn to another's (NumPy-based columns, PyTorch,
JAX), the suite waits, untimed, until no other thread of the process is running: the
previous library's workers spin for up to about 0.1 s after its last call and would
otherwise take the next library's cores. ``--no-pause`` turns the wait off, to show what
it changes.

**Timing.** Implementations run interleaved, ``A B C A B C …``, for ``--rounds`` rounds,
each turn repeating its call for about ``--min-time`` seconds (with the garbage
collector off, as ``timeit`` does), so that drift of the machine hits all alike. The
table gives each column's median time per call and the median over rounds of its
ratio to the row's fastest library (fnn, PyTorch or JAX) in the same round, and each
row's targets (issue 22's against PyTorch and JAX, and the earlier ones against the
GEMM floor or the textbook code). Each turn starts with ``--warmup`` seconds of untimed
calls: after a pause a library takes some 50–100 ms of calls to return to its speed.

**Limits.** The ``numpy-min`` column is the least any NumPy code was found to need for the
row (MLP steps: :class:`benchmarks.numpy_limit.FastestStep`, every buffer preallocated and
the update folded into the products; MLP inference: :class:`benchmarks.numpy_limit.FastestInference`,
the products into preallocated buffers, bias and activation in place; Adam:
:class:`benchmarks.numpy_limit.InPlaceAdam`, moments and parameters updated in place).
Where fnn misses a target against PyTorch and JAX, the target's verdict says whether that
column misses it too (``bounded``: no NumPy code meets it on this machine) or not. The MLP
steps also have a ``pure-min`` column (:class:`benchmarks.numpy_limit.PureFastestStep`: the
same code with every buffer made in the call, as a pure function must, fnn's design): where
``numpy-min`` meets a target that ``pure-min`` misses, the verdict says ``bounded for a pure
step``.

**Cross-check** (:mod:`benchmarks.alone`). Each PyTorch and JAX time of the table must
agree within 15% with the same call timed alone in fresh processes with the same threads,
right after its row (over the minutes a whole run takes, this machine's speed drifts by
more than that). The alone time is the median of :data:`ALONE_PROCESSES` processes: one
fresh process's time can differ from the next's by 15% or more. The suite prints one line
per row and library with both times and ``agree`` or ``DISAGREE`` (``--no-crosscheck``
skips it).

Workloads (float32, see :mod:`benchmarks.workloads`): W1–W3 MLP training steps, W4
the SimpleConvNet step, W5 inference over 10,000 samples in batches of 1,000 (W1
and W4 networks), the Adam update alone over W3's parameters (PyTorch's
``torch.optim.Adam``; JAX's ``optax.adam`` when optax is installed, else the same update
written out, jitted), and ``fnn.fit``'s overhead per step on W1. ``rnnlm`` (see
:mod:`benchmarks.rnnlm`) is the second book's chapter 6 LSTM language model: its
truncated-BPTT training step (clip + SGD) and its perplexity over the PTB test set, against
the book-style NumPy code of :mod:`benchmarks.textbook_rnnlm` and PyTorch. ``seq2seq`` and
``attention`` (see :mod:`benchmarks.seq2seq_steps`) are the second book's chapter 7-8
training steps (addition, H = 128; dates with attention, H = 256; batch 128; SGD), against
the book-style NumPy layers of :mod:`benchmarks.bench_seq2seq` and PyTorch.
"""

from __future__ import annotations

import argparse
import functools
import gc
import itertools
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable from the project root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":  # before NumPy, PyTorch or XLA size their thread pools
    from benchmarks.fairness import limit_threads, threads_argument

    try:
        limit_threads(threads_argument(sys.argv[1:]))
    except ValueError as error:
        raise SystemExit(f"suite: {error}") from None

import numpy as np  # noqa: E402

import fnn  # noqa: E402
from benchmarks import alone, bench_word2vec, fairness, others, rnnlm, seq2seq_steps, textbook  # noqa: E402
from benchmarks.floor import Floor, InferenceFloor  # noqa: E402
from benchmarks.numpy_limit import FastestInference, FastestStep, InPlaceAdam, PureFastestStep  # noqa: E402
from benchmarks.workloads import (  # noqa: E402
    ADAM_LR,
    INFER_BATCH,
    INFER_SAMPLES,
    LR,
    MLP_WORKLOADS,
    W1,
    W3,
    W4,
    Workload,
    adam_inputs,
    fnn_model,
    fnn_params,
    init_params,
    make_data,
    to_canonical,
)
from fnn.text import UnigramSampler  # noqa: E402

NDArray = np.ndarray[Any, Any]
Params = list[NDArray]

FIT_SAMPLES, FIT_EPOCHS = 1_000, 3
SEQ2SEQ_WORKLOADS = (seq2seq_steps.ADDITION, seq2seq_steps.DATES)


# ----------------------------------------------------------------------------- implementations


class Stepper(Protocol):
    name: str

    def step(self) -> None: ...

    def result(self) -> tuple[float, Params]: ...


class FnnStep:
    """fnn's training step, ``fnn.train_step``: ``value_and_grad``, ``optim.sgd``'s update and
    ``θ + u`` written into the step's own update arrays (``fnn.optim.owned``)."""

    name = "fnn"

    def __init__(self, w: Workload, params: Params, x: NDArray, t: NDArray) -> None:
        self.w = w
        self.model = fnn_model(w)
        self.params = fnn_params(w, params)
        self.optimizer: fnn.optim.GradientTransformation[Any] = fnn.optim.sgd(LR)
        self.train_step: fnn.train.TrainStepFn[Any, Any]
        self.train_step = fnn.train_step(self.model, fnn.losses.softmax_cross_entropy, self.optimizer)
        self.value_and_grad = fnn.value_and_grad(self.model, fnn.losses.softmax_cross_entropy)
        self.opt_state: Any = self.optimizer.init(self.params)
        self.x, self.t = x, t
        self.loss: Any = None

    def step(self) -> None:
        self.params, self.opt_state, self.loss = self.train_step(self.params, self.opt_state, self.x, self.t)

    def result(self) -> tuple[float, Params]:
        return float(self.loss), to_canonical(self.w, self.params)


class FnnLoopStep(FnnStep):
    """The same step as the three lines of a hand-written loop: ``value_and_grad``, the
    optimizer's ``update``, ``apply_updates`` (which allocates every new parameter)."""

    name = "fnn-loop"

    def step(self) -> None:
        self.loss, grads = self.value_and_grad(self.params, self.x, self.t)
        updates, self.opt_state = self.optimizer.update(grads, self.opt_state, self.params)
        self.params = fnn.optim.apply_updates(self.params, updates)


class TextbookStep:
    """The textbook network's ``gradient`` and its SGD object's in-place update."""

    name = "textbook"

    def __init__(self, w: Workload, params: Params, x: NDArray, t: NDArray) -> None:
        self.net = textbook.TextbookNet(w, params)
        self.x, self.t = x, t
        self.loss: Any = None

    def step(self) -> None:
        self.loss = self.net.step(self.x, self.t)

    def result(self) -> tuple[float, Params]:
        return float(self.loss), [p.copy() for p in self.net.params]


class FloorStep:
    """The GEMM floor, as a stepper (it has no result: it is not part of the agreement check)."""

    name = "floor"

    def __init__(self, w: Workload, params: Params, x: NDArray, t: NDArray) -> None:
        self.floor = Floor(w, params, x, t)

    def step(self) -> None:
        self.floor.step()

    def result(self) -> tuple[float, Params]:  # pragma: no cover - never called
        raise NotImplementedError


class FnnInference:
    name = "fnn"

    def __init__(self, w: Workload, params: Params, x_all: NDArray, batch: int) -> None:
        self.model, self.params = fnn_model(w), fnn_params(w, params)
        self.batches = [x_all[k : k + batch] for k in range(0, x_all.shape[0], batch)]

    def run(self) -> list[NDArray]:
        return [self.model.apply(self.params, xb) for xb in self.batches]


class TextbookInference:
    name = "textbook"

    def __init__(self, w: Workload, params: Params, x_all: NDArray, batch: int) -> None:
        self.net = textbook.TextbookNet(w, params)
        self.batches = [x_all[k : k + batch] for k in range(0, x_all.shape[0], batch)]

    def run(self) -> list[NDArray]:
        return [self.net.predict(xb) for xb in self.batches]


class FnnAdam:
    name = "fnn"

    def __init__(self, params: Params, grads: Params, lr: float) -> None:
        self.optimizer = fnn.optim.adam(lr)
        self.params, self.grads = [p.copy() for p in params], grads
        self.state = self.optimizer.init(self.params)

    def step(self) -> None:
        updates, self.state = self.optimizer.update(self.grads, self.state, self.params)
        self.params = fnn.optim.apply_updates(self.params, updates)

    def result(self) -> Params:
        return list(self.params)


class TextbookAdam:
    name = "textbook"

    def __init__(self, params: Params, grads: Params, lr: float) -> None:
        self.optimizer = textbook.Adam(lr)
        self.params, self.grads = [p.copy() for p in params], grads

    def step(self) -> None:
        self.optimizer.update(self.params, self.grads)

    def result(self) -> Params:
        return self.params


TRAIN_OTHERS: list[tuple[str, Callable[..., Stepper]]] = [
    ("torch", others.TorchStep),
    ("jax", others.JaxStep),
]


def available(name: str) -> str:
    """``""`` when the optional library ``name`` imports, otherwise the reason it does not."""
    return others.load(name)[1]


# ----------------------------------------------------------------------------- agreement


def _relative(a: NDArray, b: NDArray) -> float:
    scale = float(np.max(np.abs(b))) or 1.0
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)))) / scale


def check_training(w: Workload, names: list[str] | None = None) -> dict[str, tuple[float, float]]:
    """One step from the same params in every implementation; ``{name: (loss error, update error)}``.

    Errors are relative: ``|Δloss| / |loss|`` and, over the parameters,
    ``max |Δθ − Δθ_fnn| / max |Δθ_fnn|``. Raises ``AssertionError`` beyond the tolerances.
    """
    params = init_params(w)
    x, t = make_data(w)
    factories: list[tuple[str, Callable[..., Stepper]]] = [("textbook", TextbookStep)] + [
        (n, f) for n, f in TRAIN_OTHERS if not available(n)
    ]
    impls = [factory(w, params, x, t) for name, factory in factories if names is None or name in names]
    return _compare_steps(w.name, params, FnnStep(w, params, x, t), impls)


def _compare_steps(
    label: str, params: Params, reference: Stepper, impls: list[Stepper]
) -> dict[str, tuple[float, float]]:
    """One step of ``reference`` and of each of ``impls``; ``{name: (loss error, update error)}``."""
    reference.step()
    ref_loss, ref_params = reference.result()
    errors: dict[str, tuple[float, float]] = {}
    for impl in impls:
        impl.step()
        loss, new = impl.result()
        loss_error = abs(loss - ref_loss) / abs(ref_loss)
        update_error = max(_relative(n - p, r - p) for n, r, p in zip(new, ref_params, params))
        errors[impl.name] = (loss_error, update_error)
        assert loss_error < 1e-5, f"{label} {impl.name}: loss {loss} vs fnn {ref_loss}"
        assert update_error < 1e-3, (
            f"{label} {impl.name}: updates differ from fnn's by {update_error:.2e} (relative)"
        )
    return errors


def _rnnlm_steppers(
    w: rnnlm.RnnlmWorkload, params: Params, xs: NDArray, ts: NDArray, names: list[str] | None = None
) -> list[Stepper]:
    factories: list[Callable[..., Stepper]] = [rnnlm.TextbookRnnlmStep]
    factories += [others.TorchRnnlmStep] if not available("torch") else []
    impls = [f(w, params, xs, ts) for f in factories]
    return [i for i in impls if names is None or i.name in names]


def check_rnnlm_training(
    w: rnnlm.RnnlmWorkload, corpus: NDArray, names: list[str] | None = None, steps: int = 2
) -> dict[str, tuple[float, float]]:
    """The LSTM language model's steps as :func:`check_training`, ``steps`` of them on the same
    window: each step's loss and update (from each implementation's own parameters before it)
    must agree with fnn's, so the carried state and, once the gradient norm exceeds
    :data:`~benchmarks.rnnlm.MAX_NORM` (from the second step at the suite's sizes), the
    clipping are checked too. Two steps by default: at lr 20 on one repeated window the third
    step is sensitive enough (gradient norm 1.1 there) that float32 rounding of
    different summation orders reaches the tolerance. Returns the largest errors over the steps."""
    params = rnnlm.init_params(w)
    xs, ts = rnnlm.make_window(w, corpus)
    reference = rnnlm.FnnRnnlmStep(w, params, xs, ts)
    impls = _rnnlm_steppers(w, params, xs, ts, names)
    errors = _compare_steps("rnnlm step 1", params, reference, impls)
    for k in range(2, steps + 1):
        before = {i.name: i.result()[1] for i in [reference, *impls]}
        ref_before = before.pop("fnn")
        reference.step()
        ref_loss, ref_after = reference.result()
        for impl in impls:
            impl.step()
            loss, after = impl.result()
            loss_error = abs(loss - ref_loss) / abs(ref_loss)
            pairs = zip(after, before[impl.name], ref_after, ref_before)
            update_error = max(_relative(a - b, r - rb) for a, b, r, rb in pairs)
            assert loss_error < 1e-5, f"rnnlm step {k} {impl.name}: loss {loss} vs fnn {ref_loss}"
            assert update_error < 1e-3, (
                f"rnnlm step {k} {impl.name}: updates differ from fnn's by {update_error:.2e} (relative)"
            )
            old = errors[impl.name]
            errors[impl.name] = (max(old[0], loss_error), max(old[1], update_error))
    return errors


def check_seq2seq_training(
    w: seq2seq_steps.Seq2seqWorkload, names: list[str] | None = None
) -> dict[str, tuple[float, float]]:
    """The seq2seq (or attention) step of every implementation against fnn's, as :func:`check_training`,
    at the learning rate :data:`~benchmarks.seq2seq_steps.CHECK_LR`."""
    book, (reference, *impls) = seq2seq_steps.steppers(w, names, seq2seq_steps.CHECK_LR)
    return _compare_steps(w.name, book, reference, impls)


def _rnnlm_evaluators(w: rnnlm.RnnlmWorkload, params: Params, corpus: NDArray) -> list[Any]:
    impls: list[Any] = [rnnlm.FnnPerplexity(w, params, corpus), rnnlm.TextbookPerplexity(w, params, corpus)]
    return impls + ([others.TorchPerplexity(w, params, corpus)] if not available("torch") else [])


def check_rnnlm_inference(w: rnnlm.RnnlmWorkload, corpus: NDArray) -> dict[str, float]:
    """The perplexity over ``corpus`` of every implementation against fnn's: relative errors (``< 1e-5``)."""
    values = {impl.name: impl.run() for impl in _rnnlm_evaluators(w, rnnlm.init_params(w), corpus)}
    fnn_ppl = values.pop("fnn")
    errors = {name: abs(ppl - fnn_ppl) / fnn_ppl for name, ppl in values.items()}
    for name, error in errors.items():
        assert error < 1e-5, f"rnnlm perplexity {name}: differs from fnn's by {error:.2e} (relative)"
    return errors


def check_inference(w: Workload, x_all: NDArray, batch: int) -> dict[str, float]:
    params = init_params(w)
    ref = np.concatenate(FnnInference(w, params, x_all, batch).run())
    errors: dict[str, float] = {}
    impls: list[Any] = [TextbookInference(w, params, x_all, batch)]
    impls += [f(w, params, x_all, batch) for n, f in _infer_others() if not available(n)]
    for impl in impls:
        errors[impl.name] = _relative(np.concatenate(impl.run()), ref)
        assert errors[impl.name] < 1e-4, (
            f"{w.name} inference {impl.name}: logits differ by {errors[impl.name]:.2e}"
        )
    return errors


def _infer_others() -> list[tuple[str, Callable[..., Any]]]:
    return [("torch", others.TorchInference), ("jax", others.JaxInference)]


def _adam_others() -> list[tuple[str, Callable[..., Any]]]:
    return [("torch", others.TorchAdam), ("jax", others.JaxAdam)]


def check_adam(w: Workload, steps: int = 3) -> dict[str, float]:
    params, grads = adam_inputs(w)
    ref = FnnAdam(params, grads, ADAM_LR)
    for _ in range(steps):
        ref.step()
    impls: list[Any] = [TextbookAdam(params, grads, ADAM_LR)]
    impls += [f(params, grads, ADAM_LR) for n, f in _adam_others() if not available(n)]
    errors: dict[str, float] = {}
    for impl in impls:
        for _ in range(steps):
            impl.step()
        errors[impl.name] = max(
            _relative(n - p, r - p) for n, r, p in zip(impl.result(), ref.result(), params)
        )
        assert errors[impl.name] < 1e-3, (
            f"Adam {impl.name}: updates differ from fnn's by {errors[impl.name]:.2e}"
        )
    return errors


# ----------------------------------------------------------------------------- fit overhead


@dataclass
class FitRun:
    """``fnn.fit`` on W1-sized data, and the bare loop of the very same steps (same batches)."""

    w: Workload
    model: Any = None
    params: Any = None
    x: Any = None
    t: Any = None
    epoch_batches: list[list[tuple[NDArray, NDArray]]] = field(default_factory=list)
    key: Any = None
    result: Any = None

    def __post_init__(self) -> None:
        self.model = fnn_model(self.w)
        self.params = fnn_params(self.w, init_params(self.w))
        self.x, self.t = make_data(self.w, FIT_SAMPLES)
        self.key = fnn.random.key(5)
        for epoch in range(FIT_EPOCHS):  # the batches fit draws (see fnn.train's docstring)
            shuffle_key, _ = fnn.random.split(fnn.random.fold_in(self.key, epoch))
            self.epoch_batches.append(
                [(xb, tb) for xb, tb in fnn.batches(shuffle_key, self.x, self.t, batch_size=self.w.batch)]
            )

    @property
    def steps(self) -> int:
        return sum(len(b) for b in self.epoch_batches)

    def fit(self) -> None:
        self.result = fnn.fit(
            self.model,
            fnn.losses.softmax_cross_entropy,
            fnn.optim.sgd(LR),
            self.params,
            self.x,
            self.t,
            key=self.key,
            epochs=FIT_EPOCHS,
            batch_size=self.w.batch,
            progress=False,
        ).params

    def bare(self) -> None:
        value_and_grad = fnn.value_and_grad(self.model, fnn.losses.softmax_cross_entropy)
        optimizer = fnn.optim.sgd(LR)
        params, state = self.params, optimizer.init(self.params)
        for batches in self.epoch_batches:
            for xb, tb in batches:
                _, grads = value_and_grad(params, xb, tb)
                updates, state = optimizer.update(grads, state, params)
                params = fnn.optim.apply_updates(params, updates)
        self.result = params


def check_fit(w: Workload) -> float:
    run = FitRun(w)
    run.fit()
    by_fit = fnn.tree.leaves(run.result)
    run.bare()
    by_loop = fnn.tree.leaves(run.result)
    error = max(_relative(a, b) for a, b in zip(by_fit, by_loop))
    assert error == 0.0, f"fit and the bare loop differ by {error:.2e}"
    return error


# ----------------------------------------------------------------------------- timing


LIBRARIES = ("fnn", "torch", "jax")
"""The libraries of the race: each row's ratios are taken against the fastest of these present."""

PEERS = ("torch", "jax")


def library_of(name: str) -> str:
    """Whose worker threads a column's calls run on: ``"torch"``, ``"jax"`` or ``"numpy"`` (the rest)."""
    return name if name in PEERS else "numpy"


@dataclass(frozen=True)
class Timing:
    """How :func:`interleaved` times.

    Attributes:
        rounds: Interleaved rounds.
        min_time: Seconds each turn repeats its call for, at least.
        warmup: Seconds each turn first runs its call untimed, at least: after a pause a
            library's workers have gone to sleep and its caches hold another library's data,
            and it takes some 50–100 ms of calls to return to the speed it keeps when it runs
            alone (JAX's W1 step: about 240 µs over its first 300 calls, 165 µs after).
        pause: Whether to wait, at each switch of library, until the previous library's
            workers stop spinning (:func:`benchmarks.fairness.wait_until_quiet`).
        cap: The longest such wait, in seconds.
    """

    rounds: int
    min_time: float
    warmup: float = 0.1
    pause: bool = True
    cap: float = 0.5


@dataclass
class Measured:
    """Seconds per call of each column, one entry per round, and the seconds waited at each switch."""

    times: dict[str, list[float]]
    waits: list[float]


def interleaved(calls: dict[str, Callable[[], Any]], timing: Timing) -> Measured:
    """Time ``calls`` in turns ``A B C A B C …`` for ``timing.rounds`` rounds.

    Each call runs three times first (jit compiles, the allocator settles), which also sizes
    its turn: as many calls as fill ``timing.min_time``, after as many untimed ones as fill
    ``timing.warmup``. The garbage collector is off while timing. With ``timing.pause``, a
    turn whose library differs from the previous turn's starts only when no other thread of
    the process is running (at most ``timing.cap`` seconds later); the wait is not timed.
    """
    repeats: dict[str, int] = {}
    warmups: dict[str, int] = {}
    for name, call in calls.items():
        call()
        call()
        start = time.perf_counter()
        call()
        once = time.perf_counter() - start
        repeats[name] = max(1, math.ceil(timing.min_time / max(once, 1e-9)))
        warmups[name] = math.ceil(timing.warmup / max(once, 1e-9))
    times: dict[str, list[float]] = {name: [] for name in calls}
    waits: list[float] = []
    previous = library_of(list(calls)[-1])
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(timing.rounds):
            for name, call in calls.items():
                if timing.pause and library_of(name) != previous:
                    waits.append(fairness.wait_until_quiet(timing.cap))
                previous = library_of(name)
                for _ in range(warmups[name]):
                    call()
                n = repeats[name]
                start = time.perf_counter()
                for _ in range(n):
                    call()
                times[name].append((time.perf_counter() - start) / n)
    finally:
        if enabled:
            gc.enable()
    return Measured(times, waits)


def ratio(times: dict[str, list[float]], name: str, reference: str | tuple[str, ...]) -> float:
    """The median over rounds of ``name``'s time over ``reference``'s in the same round.

    ``reference`` may name several columns: the fastest of them in each round.

    >>> ratio({"a": [2.0, 3.0, 9.0], "b": [1.0, 2.0, 3.0], "c": [4.0, 1.0, 1.0]}, "a", ("b", "c"))
    3.0
    """
    refs = (reference,) if isinstance(reference, str) else reference
    fastest_reference = [min(ts) for ts in zip(*(times[r] for r in refs))]
    return float(statistics.median(t / r for t, r in zip(times[name], fastest_reference)))


@dataclass
class Row:
    """One row of the table: per-round times of each column, the target's verdict and the pauses' lengths."""

    key: str
    workload: str
    what: str
    times: dict[str, list[float]]
    target: str = ""
    waits: list[float] = field(default_factory=list)

    @property
    def medians(self) -> dict[str, float]:
        return {name: statistics.median(ts) for name, ts in self.times.items()}

    @property
    def fastest(self) -> str | None:
        """The fastest of :data:`LIBRARIES` in this row, ``None`` with fewer than two.

        Chosen by the median per-round ratio to fnn, the statistic the table shows: under
        drifting load the fastest by median time can be slower in most rounds.
        """
        present = [n for n in LIBRARIES if n in self.times]
        return min(present, key=lambda n: ratio(self.times, n, "fnn")) if len(present) > 1 else None


COLUMNS = ["fnn", "floor", "numpy-min", "pure-min", "textbook", "torch", "jax"]
"""The table's columns. ``numpy-min`` is the least any NumPy code was found to need for the row
(MLP steps: :class:`benchmarks.numpy_limit.FastestStep`; MLP inference:
:class:`~benchmarks.numpy_limit.FastestInference`; Adam: :class:`~benchmarks.numpy_limit.InPlaceAdam`),
the measured limit a target that NumPy cannot reach is bounded by; ``pure-min`` (MLP steps:
:class:`~benchmarks.numpy_limit.PureFastestStep`) is the least a pure NumPy step was found to need."""

PEER_LIMITS = {"W1": 1.0, "W2": 1.0, "W3": 1.05, "W4": 1.3, "W5-W1": 1.05, "W5-W4": 1.05, "adam": 1.5}
"""Issue 22's targets: fnn's time at most this many times the fastest of PyTorch and JAX (Adam: PyTorch)."""


def peer_target(key: str, times: dict[str, list[float]]) -> str:
    """Issue 22's target for the row ``key``, measured: ``"fnn/min(torch, jax) 0.93 ≤ 1.05: met"``.

    A missed target says whether the least NumPy code of the row (its ``numpy-min``
    column, else its GEMM floor) misses it too (``bounded``), else whether the least pure
    step (``pure-min``) does (``bounded for a pure step``), or neither (``not bounded``).
    ``""`` when the row has no such target or neither library ran.
    """
    peers = [n for n in (("torch",) if key == "adam" else PEERS) if n in times]
    if key not in PEER_LIMITS or not peers:
        return ""
    over, limit = ratio(times, "fnn", tuple(peers)), PEER_LIMITS[key]
    against = peers[0] if len(peers) == 1 else f"min({', '.join(peers)})"
    verdict = f"fnn/{against} {over:.2f} ≤ {limit:g}: {_verdict(over <= limit)}"
    least_column = next((c for c in ("numpy-min", "floor") if c in times), None)
    if over > limit and least_column is not None:
        least = ratio(times, least_column, tuple(peers))
        if least > limit:
            verdict += f" (bounded: {least_column}/{against} {least:.2f})"
        elif "pure-min" in times:
            pure = ratio(times, "pure-min", tuple(peers))
            bound = "bounded for a pure step" if pure > limit else "not bounded"
            verdict += f" ({bound}: pure-min/{against} {pure:.2f}, {least_column} {least:.2f})"
        else:
            verdict += f" (not bounded: {least_column}/{against} {least:.2f})"
    return verdict


def _fmt_time(seconds: float) -> str:
    if seconds >= 1e-2:
        return f"{seconds * 1e3:.1f} ms"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} µs"


def render(rows: list[Row]) -> str:
    """The markdown table: median times, each with its median per-round ratio to the row's fastest library."""
    head = ["workload", "what"] + [f"{c} (×fastest)" for c in COLUMNS] + ["fastest", "target"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        fastest, medians = row.fastest, row.medians
        cells = [row.workload, row.what]
        for c in COLUMNS:
            if c not in row.times:
                cells.append("–")
            elif fastest is None:
                cells.append(_fmt_time(medians[c]))
            else:
                cells.append(f"{_fmt_time(medians[c])} ({ratio(row.times, c, fastest):.2f})")
        cells += [fastest or "–", row.target]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _targets(*targets: str) -> str:
    return "; ".join(t for t in targets if t)


def bench_training(w: Workload, timing: Timing) -> Row:
    params = init_params(w)
    x, t = make_data(w)
    impls: list[Stepper] = [
        FnnStep(w, params, x, t),
        FloorStep(w, params, x, t),
        TextbookStep(w, params, x, t),
    ]
    impls += [f(w, params, x, t) for n, f in TRAIN_OTHERS if not available(n)]
    calls: dict[str, Callable[[], Any]] = {i.name: i.step for i in impls}
    if w.kind == "mlp":
        fastest, pure = FastestStep(w, params, x, t), PureFastestStep(w, params, x, t)
        calls = {"numpy-min": fastest.step, "pure-min": pure.step, **calls}
    measured = interleaved(calls, timing)
    times = measured.times
    if w.kind == "cnn":
        speedup = ratio(times, "textbook", "fnn")
        target = f"textbook/fnn {speedup:.2f} ≥ 3: {_verdict(speedup >= 3)}"
    else:
        over = ratio(times, "fnn", "floor")
        target = f"fnn/floor {over:.2f} ≤ 1.3: {_verdict(over <= 1.3)}"
    what = w.describe() + ", SGD step"
    return Row(w.name, w.name, what, times, _targets(peer_target(w.name, times), target), measured.waits)


def bench_inference(w: Workload, timing: Timing, x_all: NDArray) -> Row:
    params = init_params(w)
    impls: list[Any] = [
        FnnInference(w, params, x_all, INFER_BATCH),
        InferenceFloor(w, params, x_all, INFER_BATCH),
        TextbookInference(w, params, x_all, INFER_BATCH),
    ]
    impls += [f(w, params, x_all, INFER_BATCH) for n, f in _infer_others() if not available(n)]
    calls = {("floor" if isinstance(i, InferenceFloor) else i.name): i.run for i in impls}
    if w.kind == "mlp":
        calls = {"numpy-min": FastestInference(w, params, x_all, INFER_BATCH).run, **calls}
    measured = interleaved(calls, timing)
    times, key = measured.times, f"W5-{w.name}"
    if w.kind == "cnn":
        speedup = ratio(times, "textbook", "fnn")
        target = f"textbook/fnn {speedup:.2f} ≥ 3: {_verdict(speedup >= 3)}"
    else:
        over = ratio(times, "fnn", "floor")
        target = f"fnn/floor {over:.2f} ≤ 1.2: {_verdict(over <= 1.2)}"
    what = f"inference, {x_all.shape[0]:,} samples in batches of {INFER_BATCH:,} ({w.name} net)"
    return Row(key, "W5", what, times, _targets(peer_target(key, times), target), measured.waits)


def bench_rnnlm_training(w: rnnlm.RnnlmWorkload, corpus: NDArray, timing: Timing) -> Row:
    params = rnnlm.init_params(w)
    xs, ts = rnnlm.make_window(w, corpus)
    impls: list[Any] = [
        rnnlm.FnnRnnlmStep(w, params, xs, ts),
        rnnlm.RnnlmFloor(w, params, xs, ts),
        *_rnnlm_steppers(w, params, xs, ts),
    ]
    measured = interleaved({i.name: i.step for i in impls}, timing)
    what = (
        f"{w.describe()}, batch {w.batch} × time {w.time}, carried state, "
        f"clip {rnnlm.MAX_NORM} + SGD {rnnlm.LR:g} step"
    )
    return Row("rnnlm-step", "rnnlm", what, measured.times, _rnnlm_target(measured.times), measured.waits)


def bench_rnnlm_inference(w: rnnlm.RnnlmWorkload, corpus: NDArray, timing: Timing) -> Row:
    params = rnnlm.init_params(w)
    impls = [rnnlm.PerplexityFloor(w, params, corpus), *_rnnlm_evaluators(w, params, corpus)]
    measured = interleaved({i.name: i.run for i in impls}, timing)
    windows = (len(corpus) - 1) // (w.eval_batch * w.time)
    what = (
        f"perplexity over PTB test ({len(corpus):,} ids: {windows} windows of batch {w.eval_batch} × "
        f"time {w.time}, carried state)"
    )
    return Row("rnnlm-ppl", "rnnlm", what, measured.times, _rnnlm_target(measured.times), measured.waits)


def bench_seq2seq_training(w: seq2seq_steps.Seq2seqWorkload, timing: Timing) -> Row:
    impls = seq2seq_steps.steppers(w)[1]
    measured = interleaved({i.name: i.step for i in impls}, timing)
    speedup = ratio(measured.times, "textbook", "fnn")
    target = f"textbook/fnn {speedup:.2f} ≥ 2: {_verdict(speedup >= 2)}"
    return Row(w.name, w.name, w.describe(), measured.times, target, measured.waits)


def check_word2vec_training() -> dict[str, float]:
    """fnn's CBOW negative-sampling step against PyTorch's after one step from the same weights and
    negatives (:func:`benchmarks.bench_word2vec.agreement`): the loss's relative difference and each
    updated matrix's largest absolute difference. Empty without PyTorch."""
    if available("torch"):
        return {}
    corpus, contexts, target, w_in, w_out = bench_word2vec.workload()
    sampler = UnigramSampler.from_corpus(
        corpus, bench_word2vec.NEGATIVES, vocab=bench_word2vec.VOCAB
    )
    ids, labels = sampler.pairs(fnn.random.key(0), target)
    return bench_word2vec.agreement(w_in, w_out, contexts, ids, labels)


def _numbered(step: Callable[[int], float]) -> Callable[[], float]:
    """``step`` called with 1, 2, 3, …: each call draws its own negatives (key ``i``)."""
    counter = itertools.count(1)
    return lambda: step(next(counter))


def bench_word2vec_training(timing: Timing) -> Row:
    """The second book's CBOW negative-sampling step (PTB-sized, :mod:`benchmarks.bench_word2vec`):
    fnn, the book-style NumPy code and PyTorch, each drawing a new batch of negatives per call."""
    data = bench_word2vec.workload()
    makers = {"fnn": bench_word2vec.fnn_stepper, "textbook": bench_word2vec.book_stepper}
    if not available("torch"):
        makers["torch"] = bench_word2vec.torch_stepper
    calls = {name: _numbered(make(*data)) for name, make in makers.items()}
    measured = interleaved(calls, timing)
    speedup = ratio(measured.times, "textbook", "fnn")
    targets = [f"textbook/fnn {speedup:.2f} ≥ 2: {_verdict(speedup >= 2)}"]
    if "torch" in measured.times:
        behind = ratio(measured.times, "fnn", "torch")
        targets.append(f"fnn/torch {behind:.2f} ≤ 1.3: {_verdict(behind <= 1.3)}")
    what = (
        f"CBOW V={bench_word2vec.VOCAB:,}, window {bench_word2vec.WINDOW}, H={bench_word2vec.HIDDEN}, "
        f"batch {bench_word2vec.BATCH}, {bench_word2vec.NEGATIVES} negatives, Adam step"
    )
    return Row("word2vec", "word2vec", what, measured.times, _targets(*targets), measured.waits)


def _rnnlm_target(times: dict[str, list[float]]) -> str:
    speedup = ratio(times, "textbook", "fnn")
    target = f"textbook/fnn {speedup:.2f} ≥ 2: {_verdict(speedup >= 2)}"
    if "torch" in times:
        over = ratio(times, "fnn", "torch")
        target += f"; fnn/torch {over:.2f} ≤ 1.3: {_verdict(over <= 1.3)}"
    return target


def inference_memory(w: Workload, x_all: NDArray) -> str:
    """Peak memory (tracemalloc) of inference over ``x_all``: fnn's apply, its forward, the textbook."""
    params = init_params(w)
    model, fparams = fnn_model(w), fnn_params(w, params)
    net = textbook.TextbookNet(w, params)
    batches = [x_all[k : k + INFER_BATCH] for k in range(0, x_all.shape[0], INFER_BATCH)]

    def peak(fn: Callable[[], Any]) -> float:
        gc.collect()
        tracemalloc.start()
        try:
            fn()
            return tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()

    one_apply = peak(lambda: model.apply(fparams, batches[0]))
    all_apply = peak(lambda: [model.apply(fparams, xb) for xb in batches])
    one_forward = peak(lambda: model.forward(fparams, batches[0]))
    all_textbook = peak(lambda: [net.predict(xb) for xb in batches])
    residuals = model.forward(fparams, batches[0])[1]
    kept = (
        sum(
            leaf.nbytes
            for leaf in fnn.tree.leaves(residuals)
            if hasattr(leaf, "nbytes") and leaf is not batches[0]
        )
        / 2**20
    )  # what forward keeps beyond the input batch itself
    return (
        f"{w.name} net: fnn apply peak {one_apply:.1f} MiB for one batch, {all_apply:.1f} MiB over all "
        f"{len(batches)} batches (bounded: outputs {x_all.shape[0] * w.classes * 4 / 2**20:.2f} MiB kept); "
        f"forward (training, keeps residuals of {kept:.1f} MiB) peaks at {one_forward:.1f} MiB "
        "for one batch; "
        f"textbook predict over all batches {all_textbook:.1f} MiB (its layers keep the last batch's state)"
    )


def bench_adam(w: Workload, timing: Timing) -> Row:
    params, grads = adam_inputs(w)
    impls: list[Any] = [FnnAdam(params, grads, ADAM_LR), TextbookAdam(params, grads, ADAM_LR)]
    impls += [f(params, grads, ADAM_LR) for n, f in _adam_others() if not available(n)]
    least = InPlaceAdam(params, grads, ADAM_LR)
    measured = interleaved({"numpy-min": least.step, **{i.name: i.step for i in impls}}, timing)
    count = sum(p.size for p in params)
    how = "".join(f"; {i.name}: {i.how}" for i in impls if hasattr(i, "how"))
    what = f"update + apply over {w.name}'s {count:,} parameters (torch: torch.optim.Adam{how})"
    return Row("adam", "Adam", what, measured.times, peer_target("adam", measured.times), measured.waits)


def bench_fit(w: Workload, timing: Timing) -> Row:
    run = FitRun(w)
    measured = interleaved({"fnn": run.fit, "bare": run.bare}, timing)
    per_step = {k: [t / run.steps for t in ts] for k, ts in measured.times.items()}
    fit, bare = statistics.median(per_step["fnn"]), statistics.median(per_step["bare"])
    what = (
        f"fnn.fit per step ({FIT_SAMPLES} samples, batch {w.batch}, {FIT_EPOCHS} epochs) vs the bare loop "
        f"of the same steps: bare {_fmt_time(bare)}, overhead {_fmt_time(fit - bare)}/step "
        f"({(ratio(per_step, 'fnn', 'bare') - 1) * 100:.1f}%)"
    )
    return Row("fit", "fit", what, {"fnn": per_step["fnn"]})


# ----------------------------------------------------------------------------- machine


def machine() -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = "unknown"
    try:
        config: Any = np.show_config(mode="dicts")
        info = config["Build Dependencies"]["blas"]
        blas = f"{info.get('name')} {info.get('version')}"
    except Exception:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except OSError:
        commit = ""
    threads = ", ".join(f"{v}={os.environ.get(v, 'unset')}" for v in fairness.THREAD_VARIABLES)
    coretype = os.environ.get("OPENBLAS_CORETYPE", "unset")
    kernels = f"OpenBLAS kernels: {fairness.openblas_kernels()} (OPENBLAS_CORETYPE={coretype})"
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    lines = [
        f"load average (1, 5, 15 min) at the start: {load} (other processes skew multi-thread timings badly)",
        f"machine: {platform.machine()} {cpu}, {os.cpu_count()} logical CPUs "
        f"({fairness.available_cpus()} usable by this process), {platform.system()} {platform.release()}",
        f"python {platform.python_version()}, numpy {np.__version__} ({blas}), fnn {commit or '?'}",
        f"thread settings: {threads}",
        kernels,
    ]
    for name, version in others.versions().items():
        lines.append(f"{name} {version}")
    for name in ("torch", "jax"):
        if available(name):
            lines.append(f"skipped {name}: {available(name)}")
    return lines


# ----------------------------------------------------------------------------- main


def _ptb_corpora() -> tuple[NDArray, NDArray] | None:
    """PTB's training and test ids (offline copies only), or ``None`` with the reason printed."""
    train, test = rnnlm.ptb_ids("train"), rnnlm.ptb_ids("test")
    if train is None or test is None:
        print("skipped rnnlm: PTB not found in ../shared/data/ptb or FNN_DATA_DIR")
        return None
    return train, test


def check_threads(threads: int) -> str:
    """Each loaded library's thread count, read back after a first computation in each.

    Raises:
        SystemExit: a library uses another count than ``threads`` (it was loaded before
            :func:`benchmarks.fairness.limit_threads` ran, or ignores the settings).
    """
    torch, jax = others.load("torch")[0], others.load("jax")[0]
    if jax is not None:
        jax.numpy.ones(8).block_until_ready()  # XLA starts its pool with its first computation
    counts = fairness.thread_counts(torch, jax is not None)
    wrong = fairness.thread_mismatches(threads, counts)
    if wrong:
        raise SystemExit(
            f"suite: every library must use --threads {threads}, but " + ", ".join(wrong) + "; run the suite "
            "as a script (python benchmarks/suite.py), which sets the thread counts before the imports"
        )
    return "threads in use: " + ", ".join(f"{n} {c}" for n, c in counts.items() if c is not None)


ALONE_PROCESSES = 3
"""Fresh processes the cross-check times each call in; it compares with their median."""

CROSSCHECK_TOLERANCE = 0.15
"""How far (relative) the suite's time of a PyTorch or JAX column may be from the same call timed alone."""


def agreement_line(label: str, library: str, in_suite: float, alone_time: float) -> str:
    """One line of the cross-check (markdown list item): both times and whether they agree.

    >>> agreement_line("W1", "torch", 345e-6, 330e-6)
    '- W1 torch: suite 345 µs, alone 330 µs (suite/alone 1.05): agree'
    >>> agreement_line("W4", "jax", 0.050, 0.040)
    '- W4 jax: suite 50.0 ms, alone 40.0 ms (suite/alone 1.25): DISAGREE (beyond ±15%)'
    """
    over = in_suite / alone_time
    verdict = (
        "agree" if abs(over - 1) <= CROSSCHECK_TOLERANCE else f"DISAGREE (beyond ±{CROSSCHECK_TOLERANCE:.0%})"
    )
    return (
        f"- {label} {library}: suite {_fmt_time(in_suite)}, alone {_fmt_time(alone_time)} "
        f"(suite/alone {over:.2f}): {verdict}"
    )


def crosscheck(rows: list[Row], threads: int, timing: Timing) -> list[str]:
    """Every PyTorch and JAX time of ``rows`` against the same call timed alone (:mod:`benchmarks.alone`)."""
    lines = []
    for row in rows:
        for library in PEERS:
            if row.key not in alone.ROWS or library not in row.times:
                continue
            try:
                runs = [
                    alone.run_alone(row.key, library, threads, min(timing.rounds, 7), timing.min_time)
                    for _ in range(ALONE_PROCESSES)
                ]
            except RuntimeError as error:
                lines.append(f"- {row.key} {library}: {error}")
                continue
            seconds = statistics.median(runs)
            lines.append(agreement_line(row.key, library, row.medians[library], seconds))
    return lines


def pause_summary(waits: list[float], cap: float) -> str:
    """The pauses at switches of library: how many, how long, how many gave up at ``cap``.

    >>> pause_summary([0.1, 0.004, 0.5], 0.5)
    'pauses at switches of library: 3, median 100.0 ms, longest 500.0 ms, 1 at the 0.5 s cap'
    """
    if not waits:
        return "pauses at switches of library: none"
    capped = sum(w >= cap for w in waits)
    return (
        f"pauses at switches of library: {len(waits)}, median {_fmt_time(statistics.median(waits))}, "
        f"longest {_fmt_time(max(waits))}, {capped} at the {cap:g} s cap"
    )


def load_warning(load: float, cpus: int) -> str:
    """A warning when the 1-minute load average exceeds 1.5 × the CPUs (the suite's own threads
    count in it, so more means other processes competed), else ``""``.

    >>> load_warning(2.9, 2)
    ''
    >>> load_warning(3.5, 2)
    'WARNING: load average 3.50 on 2 CPUs: other processes competed for the cores; not a measurement'
    """
    if load <= cpus * 1.5:
        return ""
    return (
        f"WARNING: load average {load:.2f} on {cpus} CPUs: other processes competed for the cores; "
        "not a measurement"
    )


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    parser.add_argument("--min-time", type=float, default=0.05, help="seconds per turn (default 0.05)")
    parser.add_argument(
        "--warmup", type=float, default=0.1, help="untimed seconds at the start of each turn (default 0.1)"
    )
    parser.add_argument("--quick", action="store_true", help="3 rounds of 0.01 s, no warm-up: a smoke run")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated subset of W1,W2,W3,W4,W5,adam,fit,rnnlm,word2vec,seq2seq,attention",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=fairness.available_cpus(),
        help="threads for every library (default: all CPUs this process may use)",
    )
    parser.add_argument(
        "--no-pause",
        action="store_true",
        help="do not wait for the previous library's workers at switches (to show what the pause changes)",
    )
    parser.add_argument(
        "--pause-cap",
        type=float,
        default=0.5,
        help="longest wait at a switch of library, seconds (default 0.5)",
    )
    parser.add_argument(
        "--save", type=Path, default=None, help="also write every row's per-round times to this JSON file"
    )
    parser.add_argument("--no-check", action="store_true", help="skip the agreement check")
    parser.add_argument(
        "--no-crosscheck", action="store_true", help="skip timing PyTorch and JAX alone in fresh processes"
    )
    args = parser.parse_args(argv)
    rounds, min_time, warmup = (3, 0.01, 0.0) if args.quick else (args.rounds, args.min_time, args.warmup)
    timing = Timing(rounds, min_time, warmup, pause=not args.no_pause, cap=args.pause_cap)
    only = {s.strip() for s in args.only.split(",") if s.strip()}

    def wanted(name: str) -> bool:
        return not only or name in only

    start_load = os.getloadavg()[0]
    for line in machine():
        print(line)
    print(check_threads(args.threads))
    x_all = {w.name: make_data(w, INFER_SAMPLES, seed=6)[0] for w in (W1, W4)} if wanted("W5") else {}
    ptb = _ptb_corpora() if wanted("rnnlm") else None
    if not args.no_check:
        print("\nagreement (relative errors against fnn after one step: loss, parameter updates):")
        for w in (*MLP_WORKLOADS, W4):
            if wanted(w.name):
                errors = check_training(w)
                print(f"  {w.name}: " + ", ".join(f"{n} {a:.1e} / {b:.1e}" for n, (a, b) in errors.items()))
        for name, xs in x_all.items():
            w = W1 if name == "W1" else W4
            errors_inf = check_inference(w, xs, INFER_BATCH)
            print(f"  W5 ({name} net) logits: " + ", ".join(f"{n} {e:.1e}" for n, e in errors_inf.items()))
        if wanted("adam"):
            print("  Adam (3 steps) updates: " + ", ".join(f"{n} {e:.1e}" for n, e in check_adam(W3).items()))
        if wanted("fit"):
            print(f"  fit vs bare loop: params differ by {check_fit(W1):.1e} (must be 0)")
        if ptb is not None:
            errors = check_rnnlm_training(rnnlm.CH6, ptb[0])
            pairs = ", ".join(f"{n} {a:.1e} / {b:.1e}" for n, (a, b) in errors.items())
            print(f"  rnnlm (2 steps, state carried, the second clipped): {pairs}")
            errors_ppl = check_rnnlm_inference(rnnlm.CH6, ptb[1])
            print("  rnnlm PTB test perplexity: " + ", ".join(f"{n} {e:.1e}" for n, e in errors_ppl.items()))
        if wanted("word2vec"):
            w2v = check_word2vec_training()
            if w2v:
                line = "loss {loss:.1e} / W_in {w_in:.1e} / W_out {w_out:.1e}".format(**w2v)
                print(f"  word2vec (fnn vs torch): {line}")
        for sw in SEQ2SEQ_WORKLOADS:
            if wanted(sw.name):
                errors = check_seq2seq_training(sw)
                print(f"  {sw.name}: " + ", ".join(f"{n} {a:.1e} / {b:.1e}" for n, (a, b) in errors.items()))
    benches: list[Callable[[], Row]] = []
    for w in (*MLP_WORKLOADS, W4):
        if wanted(w.name):
            benches.append(functools.partial(bench_training, w, timing))
    for name, xs in x_all.items():
        benches.append(functools.partial(bench_inference, W1 if name == "W1" else W4, timing, xs))
    if wanted("adam"):
        benches.append(lambda: bench_adam(W3, timing))
    if wanted("fit"):
        benches.append(lambda: bench_fit(W1, timing))
    if ptb is not None:
        train_ids, test_ids = ptb
        benches.append(lambda: bench_rnnlm_training(rnnlm.CH6, train_ids, timing))
        benches.append(lambda: bench_rnnlm_inference(rnnlm.CH6, test_ids, timing))
    if wanted("word2vec"):
        benches.append(lambda: bench_word2vec_training(timing))
    for sw in SEQ2SEQ_WORKLOADS:
        if wanted(sw.name):
            benches.append(functools.partial(bench_seq2seq_training, sw, timing))
    rows: list[Row] = []
    checks: list[str] = []
    for bench in benches:
        rows.append(bench())
        if not args.no_crosscheck:  # right after the row, before the machine drifts
            checks += crosscheck(rows[-1:], args.threads, timing)
    pause = f"paused at each switch of library (cap {timing.cap:g} s)" if timing.pause else "no pauses"
    print(
        f"\n{args.threads} threads per library, {pause}; medians over {rounds} interleaved rounds; "
        "(×fastest) = median per-round ratio of the time to the fastest of fnn, torch and jax in that row:\n"
    )
    print(render(rows))
    if args.save is not None:
        args.save.write_text(json.dumps({row.key: row.times for row in rows}, indent=1) + "\n")
    print("\n" + pause_summary([w for row in rows for w in row.waits], timing.cap))
    print("load average (1, 5, 15 min) at the end: " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))
    warning = load_warning(max(start_load, os.getloadavg()[0]), os.cpu_count() or 1)  # the whole machine's
    if warning:
        print(warning)
    if not args.no_crosscheck:
        tolerance = f"±{CROSSCHECK_TOLERANCE:.0%}"
        print(
            f"\ncross-check: PyTorch and JAX in the suite against the same call alone, the median of "
            f"{ALONE_PROCESSES} fresh processes ({tolerance}):"
        )
        for line in checks:
            print(line)
    if x_all:
        print("\nW5 memory (tracemalloc peaks):")
        for name, xs in x_all.items():
            print("  " + inference_memory(W1 if name == "W1" else W4, xs))
    return rows


if __name__ == "__main__":
    main()
