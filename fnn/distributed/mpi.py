"""The MPI communicator, over mpi4py (imported only when one is made).

Buffers travel through host memory: a CuPy buffer is copied to the host, summed by
MPI and copied back (fnn has no NCCL path; see ``docs/distributed.md``).
"""

from __future__ import annotations

from typing import Any, TypeVar

import attrs
import numpy as np

from fnn.backend import array_module, is_cupy_array, to_numpy
from fnn.distributed.communicator import Communicator
from fnn.errors import BackendError
from fnn.typing import Array

__all__ = ["MPICommunicator", "mpi_communicator"]

T = TypeVar("T")


@attrs.frozen(eq=False)
class MPICommunicator(Communicator):
    """A :class:`~fnn.distributed.Communicator` over an mpi4py communicator (``MPI.COMM_WORLD`` by default).

    Attributes:
        comm: The mpi4py communicator (an ``mpi4py.MPI.Comm``).
        rank: This process's rank in it.
        size: Its number of ranks.
    """

    comm: Any
    rank: int
    size: int

    def allreduce(self, buffer: Array) -> Array:
        from mpi4py import MPI

        host = np.ascontiguousarray(to_numpy(buffer))
        total = np.empty_like(host)
        self.comm.Allreduce(host, total, op=MPI.SUM)
        return array_module(buffer).asarray(total) if is_cupy_array(buffer) else total

    def broadcast_object(self, value: T, root: int = 0) -> T:
        result: T = self.comm.bcast(value, root=root)
        return result

    def allgather_object(self, value: T) -> list[T]:
        result: list[T] = self.comm.allgather(value)
        return result


def mpi_communicator(comm: Any = None) -> MPICommunicator:
    """An :class:`MPICommunicator` of the mpi4py communicator ``comm`` (default ``MPI.COMM_WORLD``).

    Raises:
        BackendError: mpi4py cannot be imported.
    """
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise BackendError(
            f"fnn.distributed: MPI was asked for, but mpi4py cannot be imported ({error}); "
            "install the extra with `pip install 'fnn[mpi]'` (mpi4py and MPICH), "
            "or run the program without mpiexec"
        ) from None
    world = MPI.COMM_WORLD if comm is None else comm
    return MPICommunicator(world, world.Get_rank(), world.Get_size())
