"""The benchmark suite's implementations compute the same thing (tiny sizes; no timing).

fnn, the textbook NumPy code and, where importable, PyTorch and JAX each take one SGD
step from the same parameters; losses and updates must agree to float32 precision.
"""

from __future__ import annotations

import dataclasses
import doctest
import os
import time
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from benchmarks import alone, fairness, rnnlm, seq2seq_steps, suite
from benchmarks.floor import Floor, InferenceFloor
from benchmarks.workloads import MLP_WORKLOADS, W1, W2, W3, W4, Workload, init_params, make_data

TINY = [w.scaled(batch=8, hidden=16) for w in MLP_WORKLOADS] + [W4.scaled(batch=4)]


@pytest.mark.parametrize("w", TINY, ids=lambda w: w.name)
def test_training_step_agrees(w: Workload) -> None:
    names = ["textbook"] + [n for n in ("torch", "jax") if not suite.available(n) and w.name == "W1"]
    errors = suite.check_training(w, names)
    assert set(errors) == set(names)


def test_inference_agrees() -> None:
    for w in (W1.scaled(batch=8, hidden=16), W4.scaled(batch=2)):
        x, _ = make_data(w, 6, seed=6)
        assert "textbook" in suite.check_inference(w, x, 3)


def test_adam_and_fit_agree() -> None:
    small = W1.scaled(batch=10, hidden=8)
    assert suite.check_adam(small, steps=2)["textbook"] < 1e-3
    assert suite.check_fit(small) == 0.0


def test_floor_runs() -> None:
    for w in TINY:
        x, t = make_data(w)
        floor = Floor(w, init_params(w), x, t)
        floor.step()
        assert all(np.isfinite(d).all() for d in floor.dw)
    x_all, _ = make_data(W1, 4)
    InferenceFloor(W1, init_params(W1), x_all, 2).run()


@pytest.mark.parametrize("w", [W1, W2, W3], ids=lambda w: w.name)
def test_the_fastest_numpy_step_is_fnns_step(w: Workload) -> None:
    """benchmarks/numpy_limit.py's hand-fused step computes fnn's loss and SGD update."""
    import fnn
    from benchmarks.numpy_limit import FastestStep
    from benchmarks.workloads import LR, fnn_model, fnn_params, to_canonical

    params, (x, t) = init_params(w, seed=3), make_data(w, seed=4)
    fastest = FastestStep(w, params, x, t)
    loss = fastest.step()
    tree = fnn_params(w, params)
    value, grads = fnn.value_and_grad(fnn_model(w), fnn.losses.softmax_cross_entropy)(tree, x, t)
    opt = fnn.optim.sgd(LR)
    new = to_canonical(w, fnn.optim.apply_updates(tree, opt.update(grads, opt.init(tree), tree)[0]))
    assert loss == pytest.approx(float(value), rel=1e-5)
    for mine, theirs, before in zip(fastest.new, new, params):
        assert not np.array_equal(theirs, before)  # every parameter moved
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-7)


def test_the_pure_fastest_step_is_the_fastest_step_with_new_buffers() -> None:
    from benchmarks.numpy_limit import FastestStep, PureFastestStep

    params, (x, t) = init_params(W1, seed=3), make_data(W1, seed=4)
    pure, fastest = PureFastestStep(W1, params, x, t), FastestStep(W1, params, x, t)
    first = pure.new
    assert pure.step() == fastest.step()
    assert pure.new[0] is not first[0]  # its buffers are made in the call
    for a, b in zip(pure.new, fastest.new):
        np.testing.assert_array_equal(a, b)


def test_bench_train_step_times_the_loop_train_step_and_the_limits() -> None:
    from benchmarks import bench_train_step

    calls = bench_train_step.calls_for(W1.scaled(batch=4), adam=False)
    assert list(calls) == ["loop", "train_step", "pure-min", "numpy-min"]
    for call in calls.values():
        call()
    assert list(bench_train_step.calls_for(W1.scaled(batch=4), adam=True)) == ["loop", "train_step"]


def test_the_fastest_numpy_inference_gives_fnns_logits() -> None:
    from benchmarks.numpy_limit import FastestInference
    from benchmarks.workloads import fnn_model, fnn_params

    params, (x, _) = init_params(W2, seed=3), make_data(W2, seed=4)
    logits = FastestInference(W2, params, x, 25).run()
    expected = fnn_model(W2).apply(fnn_params(W2, params), x[75:])
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)


TINY_LM = rnnlm.RnnlmWorkload(vocab=30, dim=8, hidden=8, batch=3, time=4, eval_batch=2)


def _lm_names() -> list[str]:
    return ["textbook"] + (["torch"] if not suite.available("torch") else [])


def test_rnnlm_steps_agree_with_the_clip_acting() -> None:
    """The chapter 6 LSTM LM: two steps (state carried) of fnn, the book-style code and PyTorch agree."""
    import fnn

    corpus = rnnlm.make_corpus(TINY_LM, 200)
    params, (xs, ts) = rnnlm.init_params(TINY_LM), rnnlm.make_window(TINY_LM, corpus)
    step = rnnlm.FnnRnnlmStep(TINY_LM, params, xs, ts)
    _, grads, _ = step.step_fn(step.params, step.state, xs, ts)
    norm = np.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in fnn.tree.leaves(grads)))
    assert norm > rnnlm.MAX_NORM * 1.1  # the first step is clipped, so the check covers the clip
    errors = suite.check_rnnlm_training(TINY_LM, corpus, _lm_names())
    assert set(errors) == set(_lm_names())


def test_rnnlm_perplexity_agrees() -> None:
    corpus = rnnlm.make_corpus(TINY_LM, 100, seed=3)
    errors = suite.check_rnnlm_inference(TINY_LM, corpus)
    assert set(errors) == set(_lm_names())
    assert rnnlm.FnnPerplexity(TINY_LM, rnnlm.init_params(TINY_LM), corpus).run() > 1.0


def test_rnnlm_floors_run() -> None:
    params, corpus = rnnlm.init_params(TINY_LM), rnnlm.make_corpus(TINY_LM, 100)
    floor = rnnlm.RnnlmFloor(TINY_LM, params, *rnnlm.make_window(TINY_LM, corpus))
    floor.step()
    assert np.isfinite(floor.buffers["dwx"]).all() and np.isfinite(floor.buffers["logits"]).all()
    rnnlm.PerplexityFloor(TINY_LM, params, corpus).run()


TINY_SEQ2SEQ = [
    dataclasses.replace(w, vocab=9, question=6, answer=4, wordvec=3, hidden=5, batch=4)
    for w in suite.SEQ2SEQ_WORKLOADS
]


@pytest.mark.parametrize("w", TINY_SEQ2SEQ, ids=lambda w: w.name)
def test_seq2seq_steps_agree(w: seq2seq_steps.Seq2seqWorkload) -> None:
    """fnn, the book-style layers and (where importable) PyTorch: one step's loss and updates."""
    names = _lm_names()
    errors = suite.check_seq2seq_training(w, names)
    assert sorted(errors) == sorted(names)
    assert all(loss < 1e-5 and update < 1e-3 for loss, update in errors.values())


# ----------------------------------------------------------------------------- fairness of the timing


def test_limit_threads_sets_every_librarys_variable() -> None:
    env: dict[str, str] = {}
    fairness.limit_threads(fairness.available_cpus(), env)
    assert env == {v: str(fairness.available_cpus()) for v in fairness.THREAD_VARIABLES}
    with pytest.raises(ValueError, match=r"--threads: expected 1 to \d+ .*got 0"):
        fairness.limit_threads(0, env)


def test_threads_argument_reads_only_threads() -> None:
    assert fairness.threads_argument(["--only", "W1", "--threads", "1", "--quick"]) == 1
    assert fairness.threads_argument(["--rounds", "3"]) == fairness.available_cpus()


def test_openblas_reports_its_thread_count() -> None:
    """NumPy's OpenBLAS answers through its own entry point (found with ctypes), as the variable says."""
    count = fairness.openblas_threads()
    assert count is not None and count >= 1
    if "OPENBLAS_NUM_THREADS" in os.environ:
        assert count == int(os.environ["OPENBLAS_NUM_THREADS"])


def test_openblas_reports_its_kernels_as_the_core_type_sets_them() -> None:
    kernels = fairness.openblas_kernels()
    assert kernels  # NumPy's OpenBLAS is loaded
    if "OPENBLAS_CORETYPE" in os.environ:
        assert kernels.lower() == os.environ["OPENBLAS_CORETYPE"].lower()


def test_thread_mismatches_names_the_odd_library() -> None:
    assert fairness.thread_mismatches(2, {"OpenBLAS": 2, "torch": 2, "XLA": None}) == []
    assert fairness.thread_mismatches(2, {"OpenBLAS": 1, "torch": 2, "XLA": 16}) == [
        "OpenBLAS uses 1",
        "XLA uses 16",
    ]


def _fake_tasks(root: Path, threads: dict[int, tuple[str, str]]) -> Path:
    """A stand-in for /proc/self/task: ``{tid: (command name, state)}``."""
    for tid, (comm, state) in threads.items():
        (root / str(tid)).mkdir(parents=True)
        (root / str(tid) / "stat").write_text(f"{tid} ({comm}) {state} 1 {tid} {tid} 0 -1 4194560 0 0\n")
        (root / str(tid) / "comm").write_text(comm + "\n")
    return root


def test_busy_threads_reads_the_state_after_the_command_name(tmp_path: Path) -> None:
    tasks = _fake_tasks(
        tmp_path,
        {101: ("python", "R"), 102: ("odd ) R name", "S"), 103: ("python", "R"), 104: ("tf_XLAEigen", "S")},
    )
    stats = {int(t.name): (t / "stat").read_text() for t in tasks.iterdir()}
    assert fairness.busy_threads(stats, caller=101) == [103]
    assert fairness.busy_threads(stats, caller=103) == [101]
    assert fairness.xla_threads(tasks) == 1


def test_wait_until_quiet_waits_for_a_spinning_thread_up_to_the_cap(tmp_path: Path) -> None:
    busy = _fake_tasks(tmp_path / "busy", {1: ("python", "S"), 2: ("python", "R")})
    quiet = _fake_tasks(tmp_path / "quiet", {1: ("python", "S"), 2: ("python", "S")})
    assert fairness.wait_until_quiet(0.05, busy, poll=0.001) >= 0.05  # gave up at the cap
    assert fairness.wait_until_quiet(30.0, quiet, poll=0.001) < 30.0  # three quiet polls suffice


def test_interleaved_pauses_at_each_switch_of_library_only() -> None:
    calls = {"fnn": lambda: None, "floor": lambda: None, "torch": lambda: None, "jax": lambda: None}
    paused = suite.interleaved(calls, suite.Timing(rounds=2, min_time=0.0, warmup=0.0, cap=0.01))
    # numpy → torch → jax → numpy per round (fnn and floor share OpenBLAS): three switches a round
    assert len(paused.waits) == 6
    assert {name: len(ts) for name, ts in paused.times.items()} == dict.fromkeys(calls, 2)
    assert suite.interleaved(calls, suite.Timing(rounds=2, min_time=0.0, warmup=0.0, pause=False)).waits == []


def test_each_turn_warms_up_untimed_before_its_timed_calls() -> None:
    """A call that takes 10 ms: 0.05 s of warm-up is 5 calls, 0.02 s of timing 2, on top of 3 sizing calls."""
    made = []

    def call() -> None:
        made.append(1)
        time.sleep(0.01)

    timing = suite.Timing(rounds=2, min_time=0.02, warmup=0.05, pause=False)
    measured = suite.interleaved({"fnn": call}, timing)
    assert 3 + 2 * (4 + 2) <= len(made) <= 3 + 2 * (5 + 2)  # sleep may overshoot: 4 fills 0.05 s then
    assert len(measured.times["fnn"]) == 2


def test_ratios_and_the_fastest_library_are_per_round() -> None:
    """By median time torch (3 ms) beats fnn (4 ms), but fnn is faster in two rounds of three."""
    ms = {"fnn": [1.0, 4.0, 5.0], "floor": [0.5, 2.0, 2.5], "torch": [2.0, 5.0, 3.0]}
    times = {name: [t * 1e-3 for t in ts] for name, ts in ms.items()}
    row = suite.Row("W3", "W3", "an MLP", times, suite.peer_target("W3", times))
    assert row.fastest == "fnn"
    assert row.target == "fnn/torch 0.80 ≤ 1.05: met"
    assert suite.render([row]).splitlines()[2] == (
        "| W3 | an MLP | 4.00 ms (1.00) | 2.00 ms (0.50) | – | – | – | 3.00 ms (1.25) | – | fnn "
        "| fnn/torch 0.80 ≤ 1.05: met |"
    )


def test_peer_targets() -> None:
    times = {"fnn": [3.0], "torch": [2.0], "jax": [4.0]}
    assert suite.peer_target("W4", times) == "fnn/min(torch, jax) 1.50 ≤ 1.3: NOT met"
    assert suite.peer_target("adam", times) == "fnn/torch 1.50 ≤ 1.5: met"
    assert suite.peer_target("fit", times) == ""
    limited = {**times, "numpy-min": [2.8]}
    assert suite.peer_target("W4", limited) == (
        "fnn/min(torch, jax) 1.50 ≤ 1.3: NOT met (bounded: numpy-min/min(torch, jax) 1.40)"
    )
    assert suite.peer_target("adam", {**times, "fnn": [3.2]}) == "fnn/torch 1.60 ≤ 1.5: NOT met"
    assert suite.peer_target("W3", {**limited, "numpy-min": [2.0]}) == (
        "fnn/min(torch, jax) 1.50 ≤ 1.05: NOT met (not bounded: numpy-min/min(torch, jax) 1.00)"
    )
    pure = {**limited, "numpy-min": [2.0], "pure-min": [2.2]}
    assert suite.peer_target("W3", pure) == (
        "fnn/min(torch, jax) 1.50 ≤ 1.05: NOT met (bounded for a pure step: pure-min/min(torch, jax) 1.10, "
        "numpy-min 1.00)"
    )
    assert suite.peer_target("W3", {**pure, "pure-min": [2.1]}) == (
        "fnn/min(torch, jax) 1.50 ≤ 1.05: NOT met (not bounded: pure-min/min(torch, jax) 1.05, numpy-min 1.00)"
    )
    assert suite.peer_target("W3", {**pure, "numpy-min": [2.2]}).endswith("(bounded: numpy-min/min(torch, jax) 1.10)")
    assert suite.peer_target("W1", {"fnn": [1.0]}) == ""
    floored = {"fnn": [3.3], "floor": [3.2], "torch": [4.0], "jax": [3.0]}  # W5: the floor is the least
    assert suite.peer_target("W5-W1", floored) == (
        "fnn/min(torch, jax) 1.10 ≤ 1.05: NOT met (bounded: floor/min(torch, jax) 1.07)"
    )


def test_agreement_line_gives_both_times_and_the_verdict() -> None:
    assert suite.agreement_line("W5-W1", "jax", 0.0115, 0.010) == (
        "- W5-W1 jax: suite 11.5 ms, alone 10.0 ms (suite/alone 1.15): agree"
    )
    assert suite.agreement_line("adam", "torch", 2.0e-3, 2.5e-3) == (
        "- adam torch: suite 2.00 ms, alone 2.50 ms (suite/alone 0.80): DISAGREE (beyond ±15%)"
    )


def test_pause_summary() -> None:
    assert suite.pause_summary([], 0.5) == "pauses at switches of library: none"
    assert suite.pause_summary([0.002, 0.12, 0.5, 0.6], 0.5) == (
        "pauses at switches of library: 4, median 310.0 ms, longest 600.0 ms, 2 at the 0.5 s cap"
    )


def test_alone_reports_a_failed_process() -> None:
    with pytest.raises(ValueError, match="row 'seq2seq' has no 'jax' column"):
        alone.build("seq2seq", "jax")
    with pytest.raises(RuntimeError, match=r"(?s)alone seq2seq jax failed \(exit 1\).*no 'jax' column"):
        alone.run_alone("seq2seq", "jax", threads=1, rounds=1, min_time=0.0)


def test_time_alone_counts_every_call() -> None:
    calls: list[int] = []
    seconds = alone.time_alone(lambda: calls.append(1), rounds=3, min_time=0.0)
    assert seconds >= 0.0 and len(calls) == 3 + 3  # three warm-ups, three blocks of one call


@pytest.mark.parametrize("module", [fairness, suite], ids=lambda m: m.__name__)
def test_docstring_examples_hold(module: ModuleType) -> None:
    failed, tried = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0 and failed == 0


def test_word2vec_row_numbers_each_call_so_each_draws_its_own_negatives() -> None:
    seen: list[int] = []

    def step(i: int) -> float:
        seen.append(i)
        return float(i)

    call = suite._numbered(step)
    assert [call(), call(), call()] == [1.0, 2.0, 3.0] and seen == [1, 2, 3]
