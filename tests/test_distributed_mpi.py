"""Real MPI: ``mpiexec -n 2`` runs ``tests/distributed`` and the MNIST example on two processes.

Needs the ``mpi`` extra (``pip install -e '.[dev,mpi]'``, what CI installs): mpi4py
and MPICH, whose ``mpiexec`` lands beside the Python of the environment. Without
them these tests skip and say why. Every launch has a timeout, and a failing test
under ``mpiexec`` aborts every rank (``tests/distributed/conftest.py``).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

import fnn

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 300


def find_mpiexec() -> str | None:
    """The ``mpiexec`` of this environment (the mpich wheel puts it beside ``python``), else on ``PATH``."""
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


MPIEXEC = find_mpiexec()
needs_mpi = pytest.mark.skipif(
    importlib.util.find_spec("mpi4py") is None or MPIEXEC is None,
    reason="needs the mpi extra (mpi4py and an mpiexec): pip install -e '.[dev,mpi]'",
)


def launch(*args: str) -> subprocess.CompletedProcess[str]:
    """``mpiexec -n 2 python -m mpi4py ARGS`` from the project root; fails the test on a timeout or an error.

    ``python -m mpi4py`` aborts every rank when one ends with an uncaught exception
    (plain ``python`` would leave the others waiting at their next collective).
    """
    assert MPIEXEC is not None
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    command = [MPIEXEC, "-n", "2", sys.executable, "-m", "mpi4py", *args]
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as timeout:
        pytest.fail(f"{' '.join(command)} ran past {TIMEOUT_S} s:\n{timeout.stdout!r}\n{timeout.stderr!r}")
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    return done


@needs_mpi
def test_two_mpi_ranks_pass_the_distributed_tests() -> None:
    out = launch("-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "tests/distributed").stdout
    assert out.count("3 passed") == 2, out  # each rank reports its own run, no test skipped


@needs_mpi
def test_the_mnist_example_on_two_mpi_ranks_trains_as_one_process(tmp_path: Path) -> None:
    saved = tmp_path / "params.npz"
    out = launch("examples/mnist_mpi.py", "--epochs", "2", "--save", str(saved)).stdout
    assert out.count("epoch 2 | ") == 1 and "2 ranks" in out  # rank 0 alone prints
    from examples import mnist_mpi

    single = mnist_mpi.main(["--epochs", "2"])
    for a, b in zip(fnn.tree.leaves(fnn.io.load(saved)), fnn.tree.leaves(single["params"])):
        assert_allclose(np.asarray(a), b, rtol=1e-4, atol=1e-5)
