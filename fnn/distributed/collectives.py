"""Collectives over pytrees: the weighted mean in one allreduce per dtype, broadcast, agreement checks.

>>> import numpy as np
>>> from fnn.distributed import run_in_threads
>>> def program(comm):
...     grads = {"w": np.full(2, float(comm.rank), "float32")}   # rank r's mean gradient
...     return mean(comm, grads, weight=1 + 2 * comm.rank)["w"].tolist()  # over 1 + 2r samples
>>> run_in_threads(2, program)[0]     # (1·0 + 3·1) / 4
[0.75, 0.75]
"""

from __future__ import annotations

import hashlib
import math
from typing import Any, Sequence, TypeVar

import numpy as np

from fnn import tree
from fnn.backend import accumulation_dtype, array_module, is_cupy_array, to_numpy
from fnn.distributed.communicator import Communicator
from fnn.errors import DistributedError, DTypeError
from fnn.typing import Array

__all__ = ["agree", "broadcast", "check_identical", "mean", "sum_over_ranks"]

T = TypeVar("T")


def mean(comm: Communicator, values: T, weight: float = 1.0) -> T:
    """The weighted mean over the ranks of a pytree of float arrays, in one allreduce per dtype.

    ``m = Σ_r w_r x_r / Σ_r w_r``. For gradients, ``x_r`` is rank ``r``'s mean
    gradient over its ``n_r`` samples and ``w_r = n_r``: the result is the mean
    gradient over all ``Σ_r n_r`` samples, what one process computes from the
    whole batch (to rounding). A rank with ``w_r = 0`` (no samples) adds nothing,
    whatever its ``x_r`` holds (NaN included).

    The leaves of each dtype are packed into one contiguous buffer (summed in
    float32 for float16 leaves), with ``w_r`` as its last element, so a model
    of any depth costs one collective per dtype, not one per leaf.

    Args:
        comm: The communicator.
        values: A pytree of float arrays with the same structure, shapes and dtypes
            on every rank (``fit`` checks that with :func:`agree` before it starts).
        weight: This rank's weight ``w_r`` (a count of samples, ``>= 0``).

    Returns:
        A pytree like ``values`` with the mean, the same on every rank.

    Raises:
        DTypeError: a leaf is not a float array.
        DistributedError: every rank's weight is 0.
        ValueError: ``weight`` is negative or not finite.
    """
    if not 0.0 <= weight < math.inf:
        raise ValueError(
            f"distributed.mean: `weight` must be a finite count of samples >= 0, got {weight!r}"
        )
    if comm.size == 1:
        return values
    leaves, structure = tree.flatten(values)
    out: list[Any] = list(leaves)
    for dtype, indices in _by_dtype(leaves).items():
        parts = [leaves[i] for i in indices]
        xp = array_module(parts[0])
        wide = accumulation_dtype(dtype)
        buffer = xp.zeros(sum(int(p.size) for p in parts) + 1, dtype=wide)
        if weight:
            buffer[:-1] = xp.concatenate([p.reshape(-1) for p in parts])
            buffer[:-1] *= weight
        buffer[-1] = weight
        total = comm.allreduce(buffer)
        if float(total[-1]) == 0.0:
            raise DistributedError("distributed.mean: every rank's weight is 0 (no samples on any rank)")
        averaged = (total[:-1] / total[-1]).astype(dtype, copy=False)
        start = 0
        for i, part in zip(indices, parts):
            out[i] = averaged[start : start + part.size].reshape(part.shape)
            start += int(part.size)
    result: T = tree.unflatten(structure, out)
    return result


def _by_dtype(leaves: list[Any]) -> dict[Any, list[int]]:
    """The indices of ``leaves`` grouped by dtype, in order of first appearance."""
    groups: dict[Any, list[int]] = {}
    for i, leaf in enumerate(leaves):
        dtype = getattr(leaf, "dtype", None)
        if dtype is None or dtype.kind != "f":
            raise DTypeError(
                f"distributed.mean: every leaf must be a float array, got {type(leaf).__name__} "
                f"of dtype {dtype} at leaf {i}"
            )
        groups.setdefault(dtype, []).append(i)
    return groups


def sum_over_ranks(comm: Communicator, numbers: Sequence[float]) -> Array:
    """The sums over the ranks of a few host numbers, as a float64 NumPy vector (one allreduce).

    >>> from fnn.distributed import SINGLE_PROCESS
    >>> sum_over_ranks(SINGLE_PROCESS, [1.5, 2.0]).tolist()
    [1.5, 2.0]
    """
    return comm.allreduce(np.asarray(numbers, dtype=np.float64))


def describe(value: Any) -> list[tuple[str, str]]:
    """``(path, kind)`` of every leaf of ``value``: its shape and dtype, or its Python type."""
    kinds = [
        f"{tuple(leaf.shape)} {leaf.dtype}" if hasattr(leaf, "shape") else type(leaf).__name__
        for leaf in tree.leaves(value)
    ]
    return [(repr(tree.structure(value)), "")] + list(zip(tree.paths(value), kinds))


def agree(comm: Communicator, owner: str, **values: Any) -> None:
    """Raise the same :class:`DistributedError` on every rank unless all ranks hold equal ``values``.

    Call it before a run of collectives: ranks that would send buffers of other
    shapes, or call a different number of collectives, are found here (all ranks
    see every rank's values) instead of hanging or summing mismatched buffers.
    Pytrees are compared by :func:`describe` (structure, shapes, dtypes), other
    values by ``==``.

    Args:
        comm: The communicator.
        owner: The name the message starts with (``"fit"``).
        values: The named values every rank must agree on.

    Raises:
        DistributedError: a rank's value differs from rank 0's; the message names it,
            the rank and both values.
    """
    if comm.size == 1:
        return
    mine = {name: _comparable(value) for name, value in values.items()}
    ranks = comm.allgather_object(mine)
    for rank, theirs in enumerate(ranks[1:], start=1):
        for name, value in ranks[0].items():
            if theirs[name] != value:
                difference = _difference(value, theirs[name])
                raise DistributedError(
                    f"{owner}: rank {rank}'s `{name}` differs from rank 0's: {difference}; "
                    "every rank must run the same model and optimizer on data of the same size "
                    "with the same settings"
                )


def _comparable(value: Any) -> Any:
    if isinstance(value, (int, float, str, bool, type(None), bytes)):
        return value
    return describe(value)


def _difference(ours: Any, theirs: Any) -> str:
    if isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            return f"{len(ours) - 1} leaves against {len(theirs) - 1}"
        for a, b in zip(ours, theirs):
            if a != b:
                return f"{a[0]} {a[1]} against {b[0]} {b[1]}".strip()
    return f"{ours!r} against {theirs!r}"


def broadcast(comm: Communicator, value: T, root: int = 0) -> T:
    """Rank ``root``'s pytree ``value`` on every rank, its arrays where this rank's ``value`` has them.

    Used at the start of a run for the params, the optimizer state and the model
    state, so that all ranks start from rank 0's. The structures are checked
    first (:func:`agree`), so a rank with another model fails at once on every rank.

    Raises:
        DistributedError: the ranks' ``value`` differ in structure, shapes or dtypes.
    """
    if comm.size == 1:
        return value
    agree(comm, "distributed.broadcast", value=value)
    sent: Any = comm.broadcast_object(tree.map(_on_host, value) if comm.rank == root else None, root)
    result: T = tree.map(_placed_like, sent, value)
    return result


def _on_host(leaf: Any) -> Any:
    return to_numpy(leaf) if is_cupy_array(leaf) else leaf


def _placed_like(received: Any, like: Any) -> Any:
    """``received`` on the device of ``like`` (a CuPy array's on the GPU), other leaves as they came."""
    return array_module(like).asarray(received) if hasattr(like, "shape") else received


def check_identical(comm: Communicator, values: Any, name: str = "params") -> None:
    """A debug check: raise on every rank unless every rank holds the same bits in ``values``.

    Each rank sends one SHA-256 digest per leaf (not the arrays), so this is cheap
    enough to call after every epoch while debugging.

    Raises:
        DistributedError: a rank's leaf differs from rank 0's; the message names
            the leaf and the rank.
    """
    if comm.size == 1:
        return
    agree(comm, "distributed.check_identical", **{name: values})
    digests = [
        hashlib.sha256(np.ascontiguousarray(to_numpy(leaf)).tobytes()).hexdigest()
        for leaf in tree.leaves(values)
    ]
    ranks = comm.allgather_object(digests)
    paths = tree.paths(values)
    for rank, theirs in enumerate(ranks[1:], start=1):
        for path, ours, other in zip(paths, ranks[0], theirs):
            if ours != other:
                raise DistributedError(
                    f"distributed.check_identical: {name}{path} on rank {rank} differs from rank 0's; "
                    "the ranks have drifted apart (were they broadcast from rank 0 at the start, and do "
                    "all updates use the averaged gradients?)"
                )
