"""An in-process communicator: ``size`` threads play the ranks, for tests and for trying things out.

:func:`run_in_threads` calls a function once per rank, each on its own thread
with its own :class:`ThreadCommunicator`, and returns the results in rank order.
Collectives meet at a barrier; an error on one rank breaks the barrier, so the
others stop instead of waiting forever, and the first error (by rank) is raised.

>>> import numpy as np
>>> run_in_threads(3, lambda comm: comm.allreduce(np.array([comm.rank + 1.0])).tolist())
[[6.0], [6.0], [6.0]]
"""

from __future__ import annotations

import copy
import threading
from typing import Any, Callable, TypeVar

import attrs

from fnn.distributed.communicator import Communicator
from fnn.errors import DistributedError
from fnn.typing import Array

__all__ = ["ThreadCommunicator", "run_in_threads"]

T = TypeVar("T")

TIMEOUT_S = 60.0
"""How long a rank waits at a collective for the others before the group is declared hung."""


class _Group:
    """What the ranks of one :func:`run_in_threads` share: a barrier and one slot per rank."""

    def __init__(self, size: int) -> None:
        self.barrier = threading.Barrier(size, timeout=TIMEOUT_S)
        self.slots: list[Any] = [None] * size


@attrs.frozen(eq=False)
class ThreadCommunicator(Communicator):
    """Rank ``rank`` of ``size`` threads of one process (made by :func:`run_in_threads`).

    Sums are taken in rank order on every rank, so every rank gets the same bits;
    broadcast and gathered values are deep copies, as they would be across processes.
    """

    rank: int
    size: int
    group: _Group = attrs.field(repr=False)

    def _exchange(self, value: Any) -> list[Any]:
        """Every rank's ``value`` (not copied); returns when all ranks have read them."""
        self.group.slots[self.rank] = value
        self.group.barrier.wait()
        values = list(self.group.slots)
        self.group.barrier.wait()  # no rank overwrites its slot before every rank has read it
        return values

    def allreduce(self, buffer: Array) -> Array:
        values = self._exchange(buffer)
        total: Array = values[0].copy()
        for value in values[1:]:
            total += value
        return total

    def broadcast_object(self, value: T, root: int = 0) -> T:
        result: T = copy.deepcopy(self._exchange(value)[root])
        return result

    def allgather_object(self, value: T) -> list[T]:
        return copy.deepcopy(self._exchange(value))


def run_in_threads(size: int, program: Callable[[ThreadCommunicator], T]) -> list[T]:
    """``[program(comm_0), …, program(comm_{size−1})]``, each call on its own thread as one rank.

    Args:
        size: The number of ranks (a positive integer).
        program: The function each rank runs with its communicator.

    Returns:
        The ranks' results, in rank order.

    Raises:
        DistributedError: the ranks waited at a collective for more than
            :data:`TIMEOUT_S` seconds (not every rank called it).
        Exception: the first error a rank raised (by rank), as it was raised.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"run_in_threads: `size` must be a positive integer, got {size!r}")
    group = _Group(size)
    results: list[Any] = [None] * size
    errors: list[BaseException | None] = [None] * size

    def rank_main(rank: int) -> None:
        try:
            results[rank] = program(ThreadCommunicator(rank, size, group))
        except BaseException as error:  # handed to the caller below
            errors[rank] = error
            group.barrier.abort()  # the other ranks stop waiting for this one

    threads = [threading.Thread(target=rank_main, args=(rank,), daemon=True) for rank in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first = next(
        (e for e in errors if e is not None and not isinstance(e, threading.BrokenBarrierError)), None
    )
    if first is not None:
        raise first
    if any(errors):
        raise DistributedError(
            f"run_in_threads: the ranks waited more than {TIMEOUT_S:.0f} s at a collective; every rank "
            "must call the same collectives in the same order"
        )
    return results
