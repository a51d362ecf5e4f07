"""Under ``mpiexec``: the first failing test aborts every rank, so that no rank waits forever at a collective.

``tests/test_distributed_mpi.py`` launches ``mpiexec -n 2 python -m mpi4py -m pytest tests/distributed``;
in a plain run the tests here skip (one process).
"""

from __future__ import annotations

import sys
from typing import Any, Generator

import pytest

import fnn

COMM = fnn.distributed.communicator()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and COMM.size > 1:
        sys.stdout.write(
            f"\nrank {COMM.rank}: {item.nodeid} failed; aborting every rank\n{report.longreprtext}\n"
        )
        sys.stdout.flush()
        from mpi4py import MPI

        MPI.COMM_WORLD.Abort(1)
