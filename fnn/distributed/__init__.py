"""Data-parallel training: the same pure step on many processes, with gradients averaged over MPI.

Each rank (process) holds the same params, takes its own rows of every global
batch (:func:`shard`), computes its gradient and averages it with the others'
(:func:`mean`, weighted by sample counts, one collective per dtype), so every
rank applies the same update. :func:`fnn.fit`, :func:`fnn.train.evaluate` and
:func:`fnn.train.accuracy` take ``comm=`` and do all of this; see
``docs/distributed.md``.

- :func:`communicator`: MPI's world under ``mpiexec`` (mpi4py, the ``mpi`` extra),
  else :data:`SINGLE_PROCESS`, whose collectives return their input.
- :func:`run_in_threads`: ranks as threads of one process (tests, trying things out).
- :func:`broadcast`, :func:`check_identical`, :func:`agree`: rank 0's values on every
  rank; a debug check that the ranks hold the same bits; a check that they agree.

>>> import fnn
>>> fnn.distributed.communicator().size
1
"""

from fnn.distributed.collectives import agree as agree
from fnn.distributed.collectives import broadcast as broadcast
from fnn.distributed.collectives import check_identical as check_identical
from fnn.distributed.collectives import mean as mean
from fnn.distributed.collectives import sum_over_ranks as sum_over_ranks
from fnn.distributed.communicator import SINGLE_PROCESS as SINGLE_PROCESS
from fnn.distributed.communicator import Communicator as Communicator
from fnn.distributed.communicator import SingleProcess as SingleProcess
from fnn.distributed.communicator import communicator as communicator
from fnn.distributed.mpi import MPICommunicator as MPICommunicator
from fnn.distributed.mpi import mpi_communicator as mpi_communicator
from fnn.distributed.sharding import shard as shard
from fnn.distributed.sharding import shard_rows as shard_rows
from fnn.distributed.threads import ThreadCommunicator as ThreadCommunicator
from fnn.distributed.threads import run_in_threads as run_in_threads

__all__ = [
    "SINGLE_PROCESS",
    "Communicator",
    "MPICommunicator",
    "SingleProcess",
    "ThreadCommunicator",
    "agree",
    "broadcast",
    "check_identical",
    "communicator",
    "mean",
    "mpi_communicator",
    "run_in_threads",
    "shard",
    "shard_rows",
    "sum_over_ranks",
]
