"""examples/mnist_mpi.py without MPI: on one process, and on two thread ranks (the same result)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

import fnn
from examples import mnist_mpi
from fnn.distributed import run_in_threads
from tests.test_examples import run

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_the_mnist_example_on_two_ranks_trains_as_on_one(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--data", str(DATA), "--epochs", "2"]
    single = run("mnist_mpi", *argv)
    assert single["test_accuracy"] > 0.85  # two epochs of the 5,000-image subset
    capsys.readouterr()
    ranks = run_in_threads(2, lambda comm: mnist_mpi.main(argv, comm=comm))
    out = capsys.readouterr().out
    assert (
        out.startswith("2 ranks, 5000 training images, global batch 100\n") and out.count("epoch 2 | ") == 1
    )
    for rank in ranks:
        for a, b in zip(fnn.tree.leaves(rank["params"]), fnn.tree.leaves(single["params"])):
            assert_allclose(np.asarray(a), b, rtol=1e-4, atol=1e-5)
        assert rank["history"].eval_accuracy == ranks[0]["history"].eval_accuracy
