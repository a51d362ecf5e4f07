"""Splitting data into training and validation parts, and sampling a subset, with a key.

Both are deterministic per key: the same key and length give the same indices on
every run and every backend (they are drawn on the host with NumPy, then each
array is indexed on its own device). Rows keep their original order within each
part, so a split of sorted data stays sorted; :func:`fnn.fit` shuffles anyway.

>>> import numpy as np, fnn
>>> x, t = np.arange(10).reshape(10, 1), np.arange(10) % 2
>>> (x_train, t_train), (x_val, t_val) = train_val_split(fnn.random.key(0), x, t, val_fraction=0.2)
>>> x_train.shape, x_val.shape
((8, 1), (2, 1))
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from fnn import random
from fnn.backend import array_module, to_numpy
from fnn.backend import backend as make_backend
from fnn.errors import ArgumentError, DTypeError, ShapeError
from fnn.typing import Array

__all__ = ["random_subset", "split_indices", "train_val_split"]


def _length(owner: str, arrays: tuple[Any, ...]) -> int:
    if not arrays:
        raise ArgumentError(f"{owner}: pass at least one array, such as {owner}(key, x, t, ...)")
    for i, a in enumerate(arrays):
        if not hasattr(a, "shape") or len(a.shape) == 0:
            raise ArgumentError(
                f"{owner}: array {i} must be an array with a first (sample) axis, got {a!r:.60}"
            )
    lengths = [int(a.shape[0]) for a in arrays]
    if len(set(lengths)) > 1:
        raise ShapeError(
            f"{owner}: the arrays must have the same number of samples (first axis), got lengths {lengths}"
        )
    return lengths[0]


def _permutation(key: random.Key, n: int) -> np.ndarray[Any, Any]:
    """A permutation of ``0 .. n − 1`` on the host, the same whatever the default backend."""
    return np.asarray(random.permutation(key, n, make_backend("numpy")))


def _class_labels(labels: Any, n: int) -> np.ndarray[Any, Any]:
    host = np.asarray(to_numpy(labels))
    if host.ndim == 2:
        host = host.argmax(axis=1)  # one-hot rows
    if host.ndim != 1 or host.shape[0] != n:
        raise ShapeError(
            f"split_indices: `stratify` must be {n} class labels (N,) or one-hot rows (N, C), "
            f"got shape {host.shape}"
        )
    if host.dtype.kind not in "iu" or (host.size and host.min() < 0):
        raise DTypeError(
            f"split_indices: `stratify` must hold class labels (integers >= 0) or one-hot rows, "
            f"got dtype {host.dtype.name}" + (" with a negative label" if host.dtype.kind in "iu" else "")
        )
    return host


def _val_count(n: int, val_fraction: float) -> int:
    is_number = isinstance(val_fraction, numbers.Real) and not isinstance(val_fraction, bool)
    if not is_number or not 0 < val_fraction < 1:
        raise ValueError(f"`val_fraction` must be a number in (0, 1), got {val_fraction!r}")
    count = int(n * val_fraction)
    if not 0 < count < n:
        raise ValueError(
            f"`val_fraction`={val_fraction} of {n} samples gives {count} for validation; both parts need "
            "at least one sample: use more data or another fraction"
        )
    return count


def _stratified(perm: np.ndarray[Any, Any], labels: np.ndarray[Any, Any], count: int) -> np.ndarray[Any, Any]:
    """``count`` indices of ``perm`` with each class's share, in largest-remainder whole numbers."""
    in_order = labels[perm]
    sizes = np.bincount(in_order)
    quotas = sizes * (count / len(perm))
    take = np.floor(quotas).astype(np.int64)
    missing = count - int(take.sum())
    take[np.argsort(-(quotas - take), kind="stable")[:missing]] += 1
    by_class = np.argsort(in_order, kind="stable")  # class by class, each in the permutation's order
    grouped = in_order[by_class]
    rank = np.arange(len(perm)) - (np.cumsum(sizes) - sizes)[grouped]
    chosen: np.ndarray[Any, Any] = perm[by_class[rank < take[grouped]]]
    return chosen


def split_indices(
    key: random.Key, n: int, *, val_fraction: float, stratify: Any = None
) -> tuple[Array, Array]:
    """Random, disjoint training and validation indices that together cover ``0 .. n − 1``.

    ``⌊n · val_fraction⌋`` indices go to validation (the book's
    ``int(x.shape[0] * validation_rate)``), the rest to training; each part is sorted.
    With ``stratify`` (class labels), each class gets its share of the validation
    part: ``n_c · val_fraction`` rounded so that the shares add up (largest
    remainders first, ties to the lower class).

    Args:
        key: The random key.
        n: The number of samples.
        val_fraction: The fraction for validation, in ``(0, 1)``.
        stratify: ``None``, or class labels ``(n,)`` (integers) or one-hot rows ``(n, C)``.

    Returns:
        ``(train, val)``, NumPy integer arrays.

    Raises:
        ValueError: ``val_fraction`` is not in ``(0, 1)`` or leaves a part empty.
        ShapeError: ``stratify`` has another length or shape.
        DTypeError: ``stratify`` holds something else than class labels.

    >>> import fnn
    >>> train, val = split_indices(fnn.random.key(1), 6, val_fraction=0.5, stratify=[0, 0, 0, 1, 1, 1])
    >>> len(train), len(val), sorted(set(train) | set(val)) == list(range(6))
    (3, 3, True)
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"split_indices: `n` (the number of samples) must be an integer >= 0, got {n!r}")
    count = _val_count(int(n), val_fraction)
    perm = _permutation(key, int(n))
    chosen = perm[:count] if stratify is None else _stratified(perm, _class_labels(stratify, int(n)), count)
    in_val = np.zeros(int(n), dtype=bool)
    in_val[chosen] = True
    return np.flatnonzero(~in_val), np.flatnonzero(in_val)


def _take(a: Array, indices: np.ndarray[Any, Any]) -> Array:
    xp = array_module(a)
    taken: Array = a[indices if xp is np else xp.asarray(indices)]
    return taken


def train_val_split(
    key: random.Key, *arrays: Array, val_fraction: float, stratify: Any = None
) -> tuple[tuple[Array, ...], tuple[Array, ...]]:
    """The rows of ``arrays`` split at random into a training and a validation part.

    The same rows of every array go to the same part (so inputs keep their labels);
    see :func:`split_indices` for the counts and the stratification. Each array is
    indexed where it lives (NumPy or CuPy); the results are new arrays.

    Args:
        key: The random key.
        arrays: Arrays with the same first (sample) axis, such as ``x, t``.
        val_fraction: The fraction of rows for validation, in ``(0, 1)``.
        stratify: ``None``, or class labels ``(N,)`` or one-hot rows ``(N, C)`` (often ``t``).

    Returns:
        ``((train arrays…), (validation arrays…))``, in the order of ``arrays``.

    Raises:
        ArgumentError: no array, or an argument without a first axis.
        ShapeError: the arrays have different numbers of rows.
        ValueError: ``val_fraction`` is not in ``(0, 1)`` or leaves a part empty.

    >>> import numpy as np, fnn
    >>> x, t = np.arange(8), np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> (xt, tt), (xv, tv) = train_val_split(fnn.random.key(3), x, t, val_fraction=0.5, stratify=t)
    >>> sorted(tv.tolist()), sorted(np.concatenate([xt, xv]).tolist()) == list(range(8))
    ([0, 0, 1, 1], True)
    """
    n = _length("train_val_split", arrays)
    train, val = split_indices(key, n, val_fraction=val_fraction, stratify=stratify)
    return tuple(_take(a, train) for a in arrays), tuple(_take(a, val) for a in arrays)


def random_subset(key: random.Key, *arrays: Array, size: int) -> tuple[Array, ...]:
    """``size`` random rows of ``arrays`` (the same rows of each), in their original order.

    The DLFS1 trainer's ``evaluate_sample_num_per_epoch`` evaluates on the first
    ``size`` rows; a random subset with ``fold_in(key, epoch)`` gives every epoch a
    different, reproducible sample instead. When ``size >= N`` the arrays come back
    as they are.

    Args:
        key: The random key.
        arrays: Arrays with the same first (sample) axis.
        size: The number of rows, a positive integer.

    Returns:
        A tuple with one array per argument.

    Raises:
        ArgumentError: no array, or an argument without a first axis.
        ShapeError: the arrays have different numbers of rows.
        ValueError: ``size`` is not a positive integer.

    >>> import numpy as np, fnn
    >>> (x,) = random_subset(fnn.random.key(0), np.arange(100) * 10, size=3)
    >>> x.shape, bool((np.diff(x) > 0).all())
    ((3,), True)
    """
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
        raise ValueError(f"random_subset: `size` must be a positive integer, got {size!r}")
    n = _length("random_subset", arrays)
    if size >= n:
        return tuple(arrays)
    rows = np.sort(_permutation(key, n)[: int(size)])
    return tuple(_take(a, rows) for a in arrays)
