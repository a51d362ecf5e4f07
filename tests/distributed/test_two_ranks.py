"""Data-parallel training on two MPI processes (run by ``mpiexec -n 2 python -m mpi4py -m pytest tests/distributed``).

Each rank also runs the single-process computation itself, so every comparison
with "one process" is local; the ranks compare their own bits with the digests
of :func:`fnn.distributed.check_identical`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

import fnn
from fnn.errors import DistributedError
from fnn.typing import Array
from tests.distributed.conftest import COMM

pytestmark = pytest.mark.skipif(
    COMM.size != 2,
    reason="needs 2 MPI ranks: tests/test_distributed_mpi.py runs `mpiexec -n 2 python -m mpi4py -m pytest tests/distributed`",
)

SCE = fnn.losses.softmax_cross_entropy


def data(n: int = 230) -> tuple[Array, Array]:
    """An MNIST-shaped toy problem: 784 features, 10 classes, the same on every rank (one key)."""
    x = fnn.random.normal(fnn.random.key(0), (n, 784))
    t = fnn.to_numpy(fnn.random.permutation(fnn.random.key(1), n)) % 10
    return x, t


def mlp() -> fnn.Sequential:
    return fnn.sequential(fnn.Dense(64), fnn.relu, fnn.Dense(64), fnn.relu, fnn.Dense(10))


def gathered(value: Any) -> list[Any]:
    return COMM.allgather_object([np.asarray(leaf) for leaf in fnn.tree.leaves(value)])


def test_two_ranks_train_as_one_process_on_the_same_global_batches() -> None:
    x, t = data()
    model = mlp()
    params = model.init(fnn.random.key(2 + COMM.rank), (784,))  # rank 0's are broadcast
    run: dict[str, Any] = dict(
        key=fnn.random.key(3), epochs=2, batch_size=40, progress=False, eval_data=(x, t)
    )
    result = fnn.fit(model, SCE, fnn.optim.adam(1e-3), params, x, t, comm=COMM, **run)  # 230 = 5·40 + 30
    single = fnn.fit(model, SCE, fnn.optim.adam(1e-3), model.init(fnn.random.key(2), (784,)), x, t, **run)

    fnn.distributed.check_identical(COMM, result.params)
    ours, theirs = gathered(result.params)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(ours, theirs))  # bit-identical across ranks
    for a, b in zip(fnn.tree.leaves(result.params), fnn.tree.leaves(single.params)):
        assert a.dtype == np.float32
        assert_allclose(a, b, rtol=2e-5, atol=2e-6)  # float32 rounding: another summation order
    assert result.history.epoch_end == single.history.epoch_end == (6, 12)
    assert_allclose(result.history.step_loss, single.history.step_loss, rtol=1e-5)
    assert_allclose(result.history.eval_loss, single.history.eval_loss, rtol=1e-5)
    assert result.history == COMM.broadcast_object(result.history)  # the same history on both ranks


def test_batch_norm_running_statistics_are_averaged_over_the_ranks() -> None:
    x, t = data(64)
    model = fnn.sequential(fnn.Dense(16), fnn.BatchNorm(), fnn.relu, fnn.Dense(10))
    params, state = model.init(fnn.random.key(4), (784,)), model.init_state((784,))
    result = fnn.fit(model, SCE, fnn.optim.sgd(0.1), params, x, t, state=state, key=fnn.random.key(5), epochs=2,
                     batch_size=16, progress=False, comm=COMM)  # fmt: skip
    fnn.distributed.check_identical(COMM, (result.params, result.state))


def test_ranks_with_different_models_fail_together_instead_of_hanging() -> None:
    x, t = data(40)
    model = fnn.sequential(fnn.Dense(8 + COMM.rank), fnn.relu, fnn.Dense(10))
    with pytest.raises(
        DistributedError,
        match=r"rank 1's `value` differs from rank 0's: \[0\]\.w \(784, 8\) float32 against \[0\]\.w \(784, 9\) float32",
    ):
        fnn.fit(model, SCE, fnn.optim.sgd(0.1), model.init(fnn.random.key(6), (784,)), x, t, key=fnn.random.key(7),
                epochs=1, batch_size=10, progress=False, comm=COMM)  # fmt: skip
