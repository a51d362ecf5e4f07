"""The communicator value: which rank this process is, how many there are, and three primitives.

Every collective of fnn (gradient means, broadcasts, agreement checks, metric sums)
is built from the three primitives a :class:`Communicator` provides:
``allreduce`` (an elementwise sum of one 1-D buffer over the ranks),
``broadcast_object`` and ``allgather_object`` (small Python values, pickled).

:func:`communicator` gives the MPI one when the program runs under ``mpiexec``
(:mod:`fnn.distributed.mpi`) and :data:`SINGLE_PROCESS` otherwise, so the same
script runs with and without MPI; the single-process communicator never imports
mpi4py and all its collectives return their input.

>>> comm = communicator()   # not under mpiexec here
>>> comm.rank, comm.size
(0, 1)
"""

from __future__ import annotations

import abc
import os
from typing import Any, TypeVar

import attrs

from fnn.errors import ArgumentError
from fnn.typing import Array

__all__ = ["SINGLE_PROCESS", "Communicator", "SingleProcess", "communicator"]

T = TypeVar("T")

# Variables an MPI launcher sets in every rank's environment: MPICH's Hydra and Slurm (PMI),
# Open MPI, PMIx launchers and Intel MPI.
_LAUNCHER_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS")


class Communicator(abc.ABC):
    """A group of ``size`` processes (ranks ``0 … size − 1``) that take part in the same collectives.

    Every rank must call the same collectives in the same order with buffers of the
    same length and dtype; a collective returns when every rank has reached it.
    """

    rank: int
    """This process's rank, ``0 … size − 1``; rank 0 prints, writes checkpoints and broadcasts."""
    size: int
    """The number of ranks."""

    @abc.abstractmethod
    def allreduce(self, buffer: Array) -> Array:
        """The elementwise sum over the ranks of a 1-D ``buffer`` (a new array, on ``buffer``'s device)."""

    @abc.abstractmethod
    def broadcast_object(self, value: T, root: int = 0) -> T:
        """Rank ``root``'s ``value`` on every rank (a copy; the others' ``value`` is ignored)."""

    @abc.abstractmethod
    def allgather_object(self, value: T) -> list[T]:
        """Every rank's ``value``, in rank order, on every rank."""


@attrs.frozen
class SingleProcess(Communicator):
    """The communicator of a program that runs alone: rank 0 of 1, every collective returns its input."""

    rank: int = attrs.field(default=0, init=False)
    size: int = attrs.field(default=1, init=False)

    def allreduce(self, buffer: Array) -> Array:
        return buffer

    def broadcast_object(self, value: T, root: int = 0) -> T:
        return value

    def allgather_object(self, value: T) -> list[T]:
        return [value]


SINGLE_PROCESS = SingleProcess()
"""The single-process communicator (what ``fit`` and ``evaluate`` use when given none)."""


def communicator() -> Communicator:
    """The communicator of this program: MPI's world under ``mpiexec``, else :data:`SINGLE_PROCESS`.

    A program counts as launched by MPI when its environment holds a variable the
    launchers set (``PMI_SIZE``, ``OMPI_COMM_WORLD_SIZE``, ``PMIX_RANK`` or
    ``MPI_LOCALNRANKS``); only then is mpi4py imported.

    Returns:
        An :class:`~fnn.distributed.mpi.MPICommunicator` of ``MPI.COMM_WORLD``, or :data:`SINGLE_PROCESS`.

    Raises:
        BackendError: the program runs under an MPI launcher but mpi4py cannot be
            imported (install the extra: ``pip install 'fnn[mpi]'``).
    """
    if not any(name in os.environ for name in _LAUNCHER_VARIABLES):
        return SINGLE_PROCESS
    from fnn.distributed.mpi import mpi_communicator

    return mpi_communicator()


def check_communicator(owner: str, comm: Any) -> Communicator:
    """``comm`` if it is a :class:`Communicator`, :data:`SINGLE_PROCESS` for ``None``.

    Raises:
        ArgumentError: ``comm`` is something else (the message names ``owner``).
    """
    if comm is None:
        return SINGLE_PROCESS
    if not isinstance(comm, Communicator):
        raise ArgumentError(
            f"{owner}: `comm` must be an fnn.distributed.Communicator, got {type(comm).__name__}; "
            "pass fnn.distributed.communicator() (an mpi4py communicator goes through "
            "fnn.distributed.mpi_communicator(comm))"
        )
    return comm
