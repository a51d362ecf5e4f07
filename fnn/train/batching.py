"""Minibatches: one epoch of shuffled (or ordered) batches of arrays, and the batches ``fit`` draws.

>>> import numpy as np
>>> [tb.tolist() for _, tb in batches(None, np.arange(5.0), np.arange(5), batch_size=2, shuffle=False)]
[[0, 1], [2, 3], [4]]
"""

from __future__ import annotations

from typing import Iterator

from fnn import random
from fnn.backend import backend, is_cupy_array
from fnn.distributed.sharding import shard_rows
from fnn.errors import ShapeError, StateError
from fnn.train._common import brief as _brief
from fnn.train._common import positive_int as _positive_int
from fnn.typing import Array

__all__ = ["batches"]


def length(arrays: tuple[Array, ...], names: str) -> int:
    """The common length ``N`` of ``arrays`` on axis 0; a :class:`ShapeError` naming ``names`` otherwise."""
    if not arrays:
        raise ValueError(f"{names}: give at least one array")
    lengths = []
    for a in arrays:
        if isinstance(a, tuple) and a and all(hasattr(leaf, "shape") for leaf in a):
            raise ShapeError(
                f"{names}: got a tuple of {len(a)} arrays (the inputs of a model with several "
                "inputs); pass the batches as `data=`, an iterable of (x, t) pairs or a function "
                "of the epoch key, which takes an x of any structure"
            )
        if not hasattr(a, "shape"):
            raise ShapeError(
                f"{names}: expected arrays with a batch axis, got a {type(a).__name__} {_brief(a)}; "
                "convert it with numpy.asarray(...) (or backend.asarray(...))"
            )
        if a.ndim < 1:
            raise ShapeError(f"{names}: every array needs a batch axis, got shape {tuple(a.shape)}")
        lengths.append(int(a.shape[0]))
    if len(set(lengths)) > 1:
        raise ShapeError(
            f"{names}: arrays of different lengths {lengths}; all need the same number of samples"
        )
    if lengths[0] == 0:
        raise ShapeError(f"{names}: the data is empty (0 samples)")
    return lengths[0]


def batches(
    key: random.Key | None,
    *arrays: Array,
    batch_size: int,
    shuffle: bool = True,
    drop_last: bool = False,
) -> Iterator[tuple[Array, ...]]:
    """One epoch of minibatches of ``arrays``, split along their first axis.

    With ``shuffle`` the samples are visited in the order of one
    :func:`fnn.random.permutation` from ``key``, and each batch is gathered (copied)
    from the inputs when it is reached, so it is still in cache when the step reads it
    (gathering whole arrays up front costs a fresh copy of the data per epoch); without
    it every batch is a view of the input. To reshuffle per epoch, pass
    ``fnn.random.fold_in(key, epoch)``.

    Args:
        key: The key of the shuffle (may be ``None`` when ``shuffle=False``).
        arrays: Arrays with the same length ``N`` on axis 0 (inputs, targets, …).
        batch_size: ``B``, samples per batch (a positive integer).
        shuffle: Whether to visit the samples in a random order.
        drop_last: Whether to drop a last batch smaller than ``B``.

    Returns:
        An iterator of tuples ``(a₁[batch], a₂[batch], …)``, ``ceil(N / B)`` of them
        (``floor(N / B)`` with ``drop_last``). Validation happens at the call.

    Raises:
        ValueError: ``batch_size`` is not a positive integer, or ``drop_last`` leaves no batch.
        ShapeError: the arrays differ in length, are empty or have no batch axis.
        StateError: ``shuffle`` without a key.

    >>> import numpy as np, fnn
    >>> x, t = np.arange(5.0), np.arange(5)
    >>> [tb.tolist() for _, tb in batches(None, x, t, batch_size=2, shuffle=False)]
    [[0, 1], [2, 3], [4]]
    >>> sorted(int(v) for (xb,) in batches(fnn.random.key(0), x, batch_size=2) for v in xb)
    [0, 1, 2, 3, 4]
    """
    size = _positive_int("batch_size", batch_size)
    n = length(arrays, "batches")
    if drop_last and size > n:
        raise ValueError(f"batches: batch_size={size} with drop_last=True leaves no batch of {n} samples")
    if shuffle:
        if key is None:
            raise StateError("batches: shuffle=True needs a key; pass fnn.random.key(seed) or shuffle=False")
        where = backend("cupy") if is_cupy_array(arrays[0]) else backend("numpy")
        order = random.permutation(key, n, where)
        stop = n - n % size if drop_last else n
        return gathers(arrays, order, size, stop)
    stop = n - n % size if drop_last else n
    return slices(arrays, size, stop)


def slices(arrays: tuple[Array, ...], size: int, stop: int, start: int = 0) -> Iterator[tuple[Array, ...]]:
    """Views of ``arrays`` in order, ``size`` samples each, from sample ``start`` to ``stop``."""
    for first in range(start, stop, size):
        yield tuple(a[first : min(first + size, stop)] for a in arrays)


def gathers(
    arrays: tuple[Array, ...], order: Array, size: int, stop: int, start: int = 0
) -> Iterator[tuple[Array, ...]]:
    """The batches of ``arrays`` in ``order``, from sample ``start`` (a multiple of ``size``) to ``stop``."""
    for first in range(start, stop, size):
        rows = order[first : first + size]
        yield tuple(a[rows] for a in arrays)


def epoch_batches(
    key: random.Key,
    arrays: tuple[Array, ...],
    size: int,
    *,
    shuffle: bool,
    drop_last: bool,
    skip: int,
    part: tuple[int, int] = (0, 1),
) -> Iterator[tuple[Array, ...]]:
    """:func:`batches` of one epoch from its ``skip``-th batch on (a resumed epoch skips the done ones).

    The order is the one ``batches(key, *arrays, ...)`` gives, so a resumed epoch
    continues exactly where the interrupted one stopped; skipped batches are never gathered.
    With ``part=(rank, ranks)`` each batch is only that rank's rows of it
    (:func:`fnn.distributed.shard_rows`); the other ranks' rows are never gathered.
    """
    n = int(arrays[0].shape[0])
    stop = n - n % size if drop_last else n
    order = None
    if shuffle:
        where = backend("cupy") if is_cupy_array(arrays[0]) else backend("numpy")
        order = random.permutation(key, n, where)
    if part[1] > 1:
        return _sharded(arrays, order, size, stop, skip * size, part)
    if order is None:
        return slices(arrays, size, stop, skip * size)
    return gathers(arrays, order, size, stop, skip * size)


def _sharded(
    arrays: tuple[Array, ...], order: Array | None, size: int, stop: int, start: int, part: tuple[int, int]
) -> Iterator[tuple[Array, ...]]:
    """Rank ``part[0]``'s rows of each batch of ``arrays`` (in ``order``, or as they are when ``None``)."""
    for first in range(start, stop, size):
        rows = shard_rows(min(size, stop - first), *part)
        where = slice(first + rows.start, first + rows.stop)
        index = where if order is None else order[where]
        yield tuple(a[index] for a in arrays)
