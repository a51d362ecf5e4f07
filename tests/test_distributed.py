"""fnn.distributed without MPI: collectives, sharding and data-parallel ``fit`` on 1–4 simulated ranks.

The ranks are threads of this process (:func:`fnn.distributed.run_in_threads`),
which run the same code as MPI ranks do: only the three primitives of the
communicator differ. ``tests/test_distributed_mpi.py`` runs ``tests/distributed``
on two real MPI processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import attrs
import numpy as np
import pytest
from numpy.testing import assert_allclose

import fnn
import fnn.distributed.threads as threads
from fnn.distributed import SINGLE_PROCESS, Communicator, run_in_threads, shard_rows
from fnn.errors import ArgumentError, BackendError, DistributedError, DTypeError
from fnn.train import Checkpoints, EpochLog, Event, Stop
from fnn.typing import Array

ROOT = Path(__file__).resolve().parents[1]
SCE = fnn.losses.softmax_cross_entropy
RANKS = [1, 2, 3, 4]


def problem(n: int = 50) -> tuple[fnn.Sequential, Any, Array, Array]:
    x, t = fnn.datasets.spiral(fnn.random.key(0), n_per_class=n // 3 + 1)
    x, t = x[:n], t[:n].argmax(axis=1) if t.ndim == 2 else t[:n]
    model = fnn.sequential(fnn.Dense(10), fnn.tanh, fnn.Dense(3))
    return model, model.init(fnn.random.key(1), (2,)), x, t


def train(comm: Communicator | None, **kwargs: Any) -> fnn.train.FitResult[Any]:
    """2 epochs of the spiral problem in batches of 12 (the last of 2 rows: empty on some of 4 ranks)."""
    model, params, x, t = problem()
    settings: dict[str, Any] = dict(key=fnn.random.key(2), epochs=2, batch_size=12, progress=False)
    settings.update(kwargs)
    return fnn.fit(model, SCE, fnn.optim.adam(0.05), params, x, t, comm=comm, **settings)


def leaves(value: Any) -> list[Any]:
    return [np.asarray(leaf) for leaf in fnn.tree.leaves(value)]


def same_bits(a: Any, b: Any) -> bool:
    return all(x.dtype == y.dtype and x.tobytes() == y.tobytes() for x, y in zip(leaves(a), leaves(b)))


def messages(program: Callable[[Communicator], Any], size: int) -> list[str]:
    """What each rank's ``program`` raised (it must raise on every rank)."""

    def caught(comm: Communicator) -> str:
        try:
            program(comm)
        except DistributedError as error:
            return str(error)
        raise AssertionError(f"rank {comm.rank} raised nothing")

    return run_in_threads(size, caught)


@attrs.frozen(eq=False)
class Counting(Communicator):
    """A communicator that counts the allreduces it forwards."""

    inner: Communicator
    calls: list[int]

    @property
    def rank(self) -> int:  # type: ignore[override]
        return self.inner.rank

    @property
    def size(self) -> int:  # type: ignore[override]
        return self.inner.size

    def allreduce(self, buffer: Array) -> Array:
        self.calls.append(int(buffer.size))
        return self.inner.allreduce(buffer)

    def broadcast_object(self, value: Any, root: int = 0) -> Any:
        return self.inner.broadcast_object(value, root)

    def allgather_object(self, value: Any) -> list[Any]:
        return self.inner.allgather_object(value)


# --- the single-process communicator ---------------------------------------------------------------


def test_single_process_collectives_return_their_input() -> None:
    grads = {"w": np.ones((2, 2), "float32")}
    assert fnn.distributed.mean(SINGLE_PROCESS, grads, weight=0) is grads
    assert fnn.distributed.broadcast(SINGLE_PROCESS, grads) is grads
    batch = (np.arange(3), np.arange(3))
    assert fnn.distributed.shard(SINGLE_PROCESS, batch) is batch
    assert (SINGLE_PROCESS.rank, SINGLE_PROCESS.size) == (0, 1)


def test_fit_with_the_single_process_communicator_is_bit_identical_to_fit_without() -> None:
    model, params, x, t = problem()
    bn = fnn.sequential(fnn.Dense(8), fnn.BatchNorm(), fnn.relu, fnn.Dense(3))
    bn_params, bn_state = bn.init(fnn.random.key(4), (2,)), bn.init_state((2,))
    for kwargs in ({}, {"eval_data": (x, t), "train_accuracy": True}):
        plain, with_comm = train(None, **kwargs), train(SINGLE_PROCESS, **kwargs)
        assert same_bits(plain.params, with_comm.params) and same_bits(plain.opt_state, with_comm.opt_state)
        assert plain.history == with_comm.history
    runs = [
        fnn.fit(bn, SCE, fnn.optim.sgd(0.1), bn_params, x, t, state=bn_state, key=fnn.random.key(5), epochs=2,
                batch_size=12, progress=False, comm=comm)
        for comm in (None, SINGLE_PROCESS)
    ]  # fmt: skip
    assert same_bits(runs[0].params, runs[1].params) and same_bits(runs[0].state, runs[1].state)


def test_the_communicator_of_a_plain_run_is_single_and_never_imports_mpi4py() -> None:
    code = (
        "import sys, fnn\n"
        "comm = fnn.distributed.communicator()\n"
        "x, t = fnn.datasets.spiral(fnn.random.key(0), n_per_class=10)\n"
        "model = fnn.sequential(fnn.Dense(4), fnn.relu, fnn.Dense(3))\n"
        "fnn.fit(model, fnn.losses.softmax_cross_entropy, fnn.optim.sgd(0.1), model.init(fnn.random.key(1), (2,)),"
        " x, t, key=fnn.random.key(2), epochs=1, batch_size=10, progress=False, comm=comm)\n"
        "print(comm is fnn.distributed.SINGLE_PROCESS, 'mpi4py' in sys.modules)\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS")
    }
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert out.split() == ["True", "False"]


def test_asking_for_mpi_without_mpi4py_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # an import of mpi4py now fails
    with pytest.raises(
        BackendError, match=r"MPI was asked for, but mpi4py cannot be imported .*pip install 'fnn\[mpi\]'"
    ):
        fnn.distributed.mpi_communicator()
    monkeypatch.setenv("PMI_SIZE", "2")  # as under mpiexec
    with pytest.raises(BackendError, match=r"mpi4py cannot be imported"):
        fnn.distributed.communicator()


def test_a_comm_that_is_not_a_communicator_is_refused() -> None:
    with pytest.raises(
        ArgumentError,
        match=r"fit: `comm` must be an fnn.distributed.Communicator, got str; pass fnn.distributed.communicator\(\)",
    ):
        train("mpi")  # type: ignore[arg-type]
    model, params, x, t = problem()
    with pytest.raises(
        ArgumentError, match=r"evaluate: `comm` must be an fnn.distributed.Communicator, got int"
    ):
        fnn.train.evaluate(model, params, x, t, loss=SCE, comm=2)  # type: ignore[arg-type]


# --- collectives -----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", RANKS)
def test_weighted_mean_of_shard_gradients_is_the_whole_batch_gradient(size: int) -> None:
    model, params, x, t = problem(7)  # 7 rows: shards of 1 to 7 rows, uneven on 2 to 4 ranks
    step = fnn.value_and_grad(model, SCE)
    _, whole = step(params, x, t)

    def program(comm: Communicator) -> Any:
        rows = shard_rows(7, comm.rank, comm.size)
        _, grads = step(params, x[rows], t[rows])
        return fnn.distributed.mean(comm, grads, weight=rows.stop - rows.start)

    results = run_in_threads(size, program)
    for result in results:
        assert same_bits(result, results[0])
        for a, b in zip(leaves(result), leaves(whole)):
            assert a.dtype == np.float32
            assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_a_rank_with_no_samples_adds_nothing_even_nan() -> None:
    def program(comm: Communicator) -> Any:
        grads = (np.full(3, np.nan if comm.rank == 1 else comm.rank + 1.0, "float32"),)
        return fnn.distributed.mean(comm, grads, weight=0 if comm.rank == 1 else 2)

    assert [r[0].tolist() for r in run_in_threads(3, program)] == [[2.0] * 3] * 3  # (2·1 + 2·3) / 4


def test_mean_packs_each_dtype_into_one_allreduce() -> None:
    def program(comm: Communicator) -> int:
        calls: list[int] = []
        grads = {"a": np.ones((3, 4), "float32"), "b": np.ones(5, "float64"), "c": (np.ones(2, "float32"), None),
                 "d": np.ones(6, "float16")}  # fmt: skip
        averaged = fnn.distributed.mean(Counting(comm, calls), grads, weight=3)
        assert [leaf.dtype for leaf in leaves(averaged)] == [leaf.dtype for leaf in leaves(grads)]
        assert sorted(calls) == [5 + 1, 6 + 1, 12 + 2 + 1]  # one per dtype, each with its weight
        return len(calls)

    assert run_in_threads(2, program) == [3, 3]


def test_mean_of_integer_leaves_is_refused() -> None:
    def program(comm: Communicator) -> Any:
        return fnn.distributed.mean(comm, {"count": np.arange(3)}, weight=1)

    with pytest.raises(
        DTypeError,
        match=r"distributed.mean: every leaf must be a float array, got ndarray of dtype int64 at leaf 0",
    ):
        run_in_threads(2, program)


def test_a_mean_over_no_samples_at_all_is_an_error() -> None:
    def program(comm: Communicator) -> Any:
        return fnn.distributed.mean(comm, np.ones(2, "float32"), weight=0)

    assert messages(program, 2) == ["distributed.mean: every rank's weight is 0 (no samples on any rank)"] * 2


def test_broadcast_gives_every_rank_rank_0s_values() -> None:
    model = fnn.sequential(fnn.Dense(4), fnn.relu, fnn.Dense(2))

    def program(comm: Communicator) -> Any:
        params = model.init(fnn.random.key(comm.rank), (3,))  # each rank its own
        opt_state = fnn.optim.adam(0.1).init(params)
        return fnn.distributed.broadcast(comm, (params, opt_state))

    results = run_in_threads(3, program)
    expected = model.init(fnn.random.key(0), (3,))
    for params, opt_state in results:
        assert same_bits(params, expected)
        assert fnn.tree.structure(opt_state) == fnn.tree.structure(results[0][1])


def test_check_identical_names_the_leaf_and_the_rank_that_drifted() -> None:
    def program(comm: Communicator) -> None:
        params = {"w": np.zeros(3, "float32"), "b": np.full(2, 1.0 if comm.rank == 2 else 0.0, "float32")}
        fnn.distributed.check_identical(comm, params)

    assert (
        messages(program, 3)
        == [
            "distributed.check_identical: params['b'] on rank 2 differs from rank 0's; the ranks have drifted apart "
            "(were they broadcast from rank 0 at the start, and do all updates use the averaged gradients?)"
        ]
        * 3
    )
    run_in_threads(3, lambda comm: fnn.distributed.check_identical(comm, {"w": np.zeros(3)}))  # no error


# --- sharding ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", RANKS)
def test_shards_cover_every_row_of_a_batch_exactly_once(size: int) -> None:
    for n in range(0, 13):
        rows = [list(range(n))[shard_rows(n, rank, size)] for rank in range(size)]
        assert sum(rows, []) == list(range(n))
        assert max(map(len, rows)) - min(map(len, rows)) <= 1


@pytest.mark.parametrize("size", RANKS)
def test_ranks_take_disjoint_rows_of_the_same_global_batches_in_equal_steps(size: int) -> None:
    x = np.arange(50, dtype="float32")[:, None]

    def program(comm: Communicator) -> list[list[float]]:
        batches: list[list[float]] = []

        def stream(key: fnn.random.Key) -> Any:
            for xb, tb in fnn.batches(key, x, np.zeros(50, "int64"), batch_size=12):
                batches.append(fnn.distributed.shard(comm, (xb, tb))[0][:, 0].tolist())
                yield xb, tb

        model = fnn.sequential(fnn.Dense(3))
        fnn.fit(model, SCE, fnn.optim.sgd(0.1), model.init(fnn.random.key(1), (1,)), data=stream,
                key=fnn.random.key(2), epochs=1, progress=False, comm=comm)  # fmt: skip
        return batches

    seen = run_in_threads(size, program)
    whole = [
        b
        for b in fnn.batches(fnn.random.split(fnn.random.fold_in(fnn.random.key(2), 0))[0], x, batch_size=12)
    ]
    assert all(len(batches) == len(whole) == 5 for batches in seen)  # equal step counts on every rank
    for i, (xb,) in enumerate(whole):
        assert sorted(sum((batches[i] for batches in seen), [])) == sorted(xb[:, 0].tolist())


# --- fit, evaluate, accuracy on many ranks ------------------------------------------------------------


@pytest.mark.parametrize("size", RANKS)
def test_fit_on_ranks_follows_one_process_on_the_same_global_batches(size: int) -> None:
    model, params, x, t = problem()
    single = train(None, eval_data=(x, t), train_accuracy=True)
    results = run_in_threads(size, lambda comm: train(comm, eval_data=(x, t), train_accuracy=True))
    for result in results:
        assert same_bits(result.params, results[0].params)  # every rank holds the same bits
        assert result.history == results[0].history
        for a, b in zip(leaves(result.params), leaves(single.params)):
            assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    history, expected = results[0].history, single.history
    assert history.epoch_end == expected.epoch_end == (5, 10)
    assert_allclose(history.step_loss, expected.step_loss, rtol=1e-5)
    assert_allclose(history.loss, expected.loss, rtol=1e-5)
    assert_allclose(history.eval_loss, expected.eval_loss, rtol=1e-5)
    assert (
        history.eval_accuracy == expected.eval_accuracy and history.train_accuracy == expected.train_accuracy
    )


def test_fit_starts_every_rank_from_rank_0s_params() -> None:
    model, _, x, t = problem()

    def program(comm: Communicator) -> Any:
        params = model.init(fnn.random.key(10 + comm.rank), (2,))
        return fnn.fit(model, SCE, fnn.optim.sgd(0.1), params, x, t, key=fnn.random.key(2), epochs=1,
                       batch_size=50, progress=False, comm=comm).params  # fmt: skip

    results = run_in_threads(2, program)
    expected = fnn.fit(model, SCE, fnn.optim.sgd(0.1), model.init(fnn.random.key(10), (2,)), x, t,
                       key=fnn.random.key(2), epochs=1, batch_size=50, progress=False).params  # fmt: skip
    assert same_bits(results[0], results[1])
    for a, b in zip(leaves(results[1]), leaves(expected)):
        assert_allclose(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("size", [2, 3])
def test_evaluate_and_accuracy_are_those_of_all_samples_on_every_rank(size: int) -> None:
    model, params, x, t = problem()
    expected = fnn.train.evaluate(model, params, x, t, loss=SCE, batch_size=7)
    expected_rmse = fnn.train.evaluate(model, params, x, np.eye(3, dtype="float32")[t], loss=fnn.losses.rmse)

    def program(comm: Communicator) -> tuple[Any, ...]:
        return (
            fnn.train.evaluate(model, params, x, t, loss=SCE, batch_size=7, comm=comm),
            fnn.train.accuracy(model, params, x, t, batch_size=7, comm=comm),
            fnn.train.evaluate(
                model, params, x, np.eye(3, dtype="float32")[t], loss=fnn.losses.rmse, comm=comm
            ),
        )

    for e, acc, rmse in run_in_threads(size, program):
        assert e.accuracy == acc == expected.accuracy
        assert_allclose(e.loss, expected.loss, rtol=1e-6)
        assert_allclose(rmse.loss, expected_rmse.loss, rtol=1e-6)


def test_ranks_with_different_param_structures_fail_on_every_rank_instead_of_hanging() -> None:
    _, _, x, t = problem()

    def program(comm: Communicator) -> Any:
        model = fnn.sequential(fnn.Dense(10 + comm.rank), fnn.tanh, fnn.Dense(3))
        return fnn.fit(model, SCE, fnn.optim.sgd(0.1), model.init(fnn.random.key(1), (2,)), x, t,
                       key=fnn.random.key(2), epochs=1, batch_size=12, progress=False, comm=comm)  # fmt: skip

    for message in messages(program, 2):
        assert message.startswith(
            "distributed.broadcast: rank 1's `value` differs from rank 0's: [0].w (2, 10) float32 against "
            "[0].w (2, 11) float32; every rank must run the same model"
        )


def test_ranks_with_different_settings_fail_on_every_rank() -> None:
    def program(comm: Communicator) -> Any:
        return train(comm, epochs=2 + comm.rank)

    assert (
        messages(program, 2)
        == [
            "fit: rank 1's `epochs` differs from rank 0's: 2 against 3; every rank must run the same model and "
            "optimizer on data of the same size with the same settings"
        ]
        * 2
    )


def test_a_divergence_is_raised_on_every_rank_at_the_same_step() -> None:
    model, params, x, t = problem()
    x = x.copy()
    order = fnn.random.permutation(fnn.random.split(fnn.random.fold_in(fnn.random.key(2), 0))[0], 50)
    x[int(order[15])] = np.inf  # in the second batch (rows 12–23), on one rank's shard only

    def program(comm: Communicator) -> tuple[int, int, bool]:
        with pytest.raises(fnn.train.DivergenceError) as caught, np.errstate(invalid="ignore"):
            fnn.fit(model, SCE, fnn.optim.sgd(0.1), params, x, t, key=fnn.random.key(2), epochs=2, batch_size=12,
                    progress=False, comm=comm)  # fmt: skip
        return caught.value.epoch, caught.value.step, same_bits(caught.value.params, params)

    assert run_in_threads(2, program) == [(1, 2, True)] * 2


def test_a_stop_on_one_rank_stops_every_rank() -> None:
    @attrs.frozen
    class StopOnRank(fnn.train.Callback[None]):
        rank: int

        def on_step(self, memo: None, event: Event) -> tuple[None, Stop | None]:
            return memo, Stop("rank 1 had enough") if event.step == 3 and self.rank == 1 else None

    results = run_in_threads(2, lambda comm: train(comm, callbacks=[StopOnRank(comm.rank)]))
    assert [r.stopped for r in results] == ["a callback on another rank stopped the run", "rank 1 had enough"]
    assert [r.history.steps for r in results] == [3, 3]


def test_only_rank_0_prints_log_lines() -> None:
    lines: list[list[str]] = [[], []]
    run_in_threads(2, lambda comm: train(comm, callbacks=[EpochLog(write=lines[comm.rank].append)]))
    assert len(lines[0]) == 2 and lines[0][1].startswith("epoch 2 | time ") and lines[1] == []


def test_only_rank_0_writes_checkpoints_and_a_resume_is_rank_0s(tmp_path: Path) -> None:
    def first_half(comm: Communicator) -> Any:
        return train(comm, epochs=1, checkpoints=Checkpoints(tmp_path / f"rank{comm.rank}"))

    run_in_threads(2, first_half)
    assert not (tmp_path / "rank1").exists()
    saved = fnn.train.latest_checkpoint(tmp_path / "rank0")
    assert saved is not None and saved.name == "checkpoint-epoch0001-step00000005.npz"

    def resumed(comm: Communicator) -> Any:  # only rank 0 reads the file
        checkpoint = fnn.train.load_checkpoint(saved) if comm.rank == 0 else None
        return train(comm, resume=checkpoint)

    whole, again = run_in_threads(2, lambda comm: train(comm)), run_in_threads(2, resumed)
    for a, b in zip(whole, again):
        assert same_bits(a.params, b.params) and a.history == b.history


def test_batch_norm_normalises_with_each_ranks_statistics_and_averages_the_running_ones() -> None:
    model = fnn.sequential(fnn.Dense(6), fnn.BatchNorm(), fnn.relu, fnn.Dense(3))
    _, _, x, t = problem(8)
    params, state = model.init(fnn.random.key(4), (2,)), model.init_state((2,))
    step = fnn.value_grad_and_state(model, SCE)
    halves = [step(params, state, x[rows], t[rows]) for rows in (slice(0, 4), slice(4, 8))]
    grads = fnn.tree.map(lambda a, b: (a + b) / 2, halves[0][1], halves[1][1])  # per-rank batch statistics
    expected_params = fnn.tree.map(lambda p, g: p - 0.1 * g, params, grads)
    expected_state = fnn.tree.map(lambda a, b: (a + b) / 2, halves[0][2], halves[1][2])
    whole = step(params, state, x, t)  # one process: the statistics of all 8 rows
    assert not np.allclose(leaves(whole[1])[0], leaves(grads)[0], rtol=1e-4)

    def program(comm: Communicator) -> Any:
        return fnn.fit(model, SCE, fnn.optim.sgd(0.1), params, x, t, state=state, key=fnn.random.key(5),
                       epochs=1, batch_size=8, shuffle=False, progress=False, comm=comm)  # fmt: skip

    for result in run_in_threads(2, program):
        for a, b in zip(leaves(result.params), leaves(expected_params)):
            assert_allclose(a, b, rtol=1e-5, atol=1e-7)
        for a, b in zip(leaves(result.state), leaves(expected_state)):
            assert_allclose(a, b, rtol=1e-6, atol=1e-7)


# --- the thread communicator itself ----------------------------------------------------------------


def test_an_error_on_one_thread_rank_is_raised_and_the_others_stop_waiting() -> None:
    def program(comm: Communicator) -> Any:
        if comm.rank == 1:
            raise KeyError("rank 1 failed")
        return comm.allreduce(np.zeros(1))

    with pytest.raises(KeyError, match="rank 1 failed"):
        run_in_threads(3, program)


def test_thread_ranks_that_skip_a_collective_are_reported_not_hung(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "TIMEOUT_S", 0.2)

    def program(comm: Communicator) -> Any:
        return comm.allreduce(np.zeros(1)) if comm.rank == 0 else None

    with pytest.raises(
        DistributedError,
        match=r"run_in_threads: the ranks waited more than 0 s at a collective; every rank must call the same collectives in the same order",
    ):
        run_in_threads(2, program)


def test_the_network_estimate_of_the_benchmark() -> None:
    from benchmarks.allreduce import estimate

    comm_s, speedup = estimate(0.010, 1_000_000, 2, 10.0)  # 4 MB over 1.25 GB/s, half each way and back
    assert comm_s == pytest.approx(3.2e-3) and speedup == pytest.approx(0.010 / (0.005 + 3.2e-3))
    assert estimate(0.010, 1_000_000, 8, 100.0)[0] == pytest.approx(2 * 7 / 8 * 4e6 / 12.5e9)


def test_the_fit_overhead_benchmark_runs() -> None:
    from benchmarks.allreduce import fit_overhead

    result = fit_overhead(2)
    assert set(result) == {"without_us", "single_us", "ratio"} and all(v > 0 for v in result.values())


def test_bad_weights_shards_and_batches_are_refused() -> None:
    values = {"a": np.ones(3, np.float32)}
    for weight in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"distributed.mean: `weight` must be a finite count of samples >= 0"):
            fnn.distributed.mean(SINGLE_PROCESS, values, weight=weight)
    for n, rank, size in ((10, 2, 2), (10, -1, 2), (-1, 0, 1), (3, 0, 0)):
        with pytest.raises(ValueError, match=rf"shard_rows: need .* got n={n}, rank={rank}, size={size}"):
            shard_rows(n, rank, size)

    def program(comm: threads.ThreadCommunicator) -> object:
        return fnn.distributed.shard(comm, (np.arange(5), np.arange(4)))

    with pytest.raises(fnn.ShapeError, match=r"distributed.shard: every array of the batch .* got \[4, 5\]"):
        run_in_threads(2, program)
