"""Sharded batches: every rank sees the same global batch and takes its own disjoint rows of it.

Rank ``r`` of ``R`` takes rows ``⌊rB/R⌋ … ⌊(r+1)B/R⌋ − 1`` of a global batch of
``B`` rows: contiguous blocks whose sizes differ by at most one, which cover the
batch exactly once. Every rank walks the same global batches (the same shuffle
key gives the same order everywhere), so all ranks take the same number of
steps, and a rank whose block is empty (``B < R``) still takes part in the
step's collective with weight 0.

>>> [shard_rows(5, rank, 2) for rank in range(2)]
[slice(0, 2, None), slice(2, 5, None)]
"""

from __future__ import annotations

from typing import TypeVar

from fnn import tree
from fnn.distributed.communicator import Communicator
from fnn.errors import ShapeError

__all__ = ["shard", "shard_rows"]

T = TypeVar("T")


def shard_rows(n: int, rank: int, size: int) -> slice:
    """The rows of a global batch of ``n`` rows that rank ``rank`` of ``size`` takes:
    ``[⌊rank·n/size⌋, ⌊(rank+1)·n/size⌋)``, so the ranks' rows are disjoint and cover the batch.

    Raises:
        ValueError: ``n < 0``, ``size < 1`` or ``rank`` outside ``0 .. size − 1``.

    >>> [shard_rows(5, r, 2) for r in range(2)]
    [slice(0, 2, None), slice(2, 5, None)]
    """
    if n < 0 or size < 1 or not 0 <= rank < size:
        raise ValueError(
            f"shard_rows: need n >= 0, size >= 1 and 0 <= rank < size, got n={n}, rank={rank}, size={size}"
        )
    return slice(rank * n // size, (rank + 1) * n // size)


def shard(comm: Communicator, batch: T) -> T:
    """This rank's rows of a global ``batch`` (a pytree of arrays with the same length on axis 0).

    For a hand-written loop: ``for xb, tb in fnn.batches(key, x, t, batch_size=B)``
    gives the same global batches on every rank (same key), and
    ``shard(comm, (xb, tb))`` this rank's views of them. ``fit`` shards without
    gathering the other ranks' rows.

    >>> import numpy as np
    >>> from fnn.distributed import SINGLE_PROCESS
    >>> shard(SINGLE_PROCESS, (np.arange(3), np.arange(3)))[1].tolist()
    [0, 1, 2]
    """
    if comm.size == 1:
        return batch
    lengths = {int(leaf.shape[0]) for leaf in tree.leaves(batch)}
    if len(lengths) != 1:
        raise ShapeError(
            "distributed.shard: every array of the batch must have the same number of rows, "
            f"got {sorted(lengths)}"
        )
    n = lengths.pop()
    rows = shard_rows(n, comm.rank, comm.size)
    result: T = tree.map(lambda a: a[rows], batch)
    return result
