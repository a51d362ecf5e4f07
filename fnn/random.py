"""Pure, splittable random keys.

A key is an immutable value. The same key always gives the same numbers on the same
backend, bit for bit, and nothing global is consumed: to draw twice, split the key.

>>> k = key(0)
>>> a, b = split(k)
>>> bool((normal(a, (3,)) == normal(a, (3,))).all())
True
>>> bool((normal(a, (3,)) == normal(b, (3,))).all())
False
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any, Callable

import numpy as np

from fnn.backend import Backend, random_generator, random_permutation, resolve
from fnn.errors import ShapeError, StateError
from fnn.typing import Array, Shape

__all__ = [
    "Key",
    "key",
    "key_data",
    "wrap_key_data",
    "split",
    "fold_in",
    "normal",
    "uniform",
    "bernoulli",
    "permutation",
]


@dataclasses.dataclass(frozen=True)
class Key:
    """A random key: a seed and the path of splits that led to it.

    Keys are leaves for :mod:`fnn.tree` (a dataclass, not an attrs class).
    Make one with :func:`key`; derive others with :func:`split` or :func:`fold_in`.
    """

    seed: int
    path: tuple[int, ...] = ()

    def __repr__(self) -> str:
        return f"Key(seed={self.seed}, path={self.path})"


def _is_int(value: object, low: int) -> bool:
    """Whether ``value`` is an integer (Python or NumPy, not a bool) ``>= low``."""
    return not isinstance(value, bool) and isinstance(value, (int, np.integer)) and bool(value >= low)


def key(seed: int) -> Key:
    """A fresh key from a non-negative integer seed.

    Raises:
        StateError: ``seed`` is not an integer ``>= 0``.
    """
    if not _is_int(seed, 0):
        raise StateError(f"key: `seed` must be a non-negative integer, got {seed!r}")
    return Key(int(seed))


_UINT64_MAX = (1 << 64) - 1


def key_data(k: Key) -> np.ndarray[Any, np.dtype[np.uint64]]:
    """The key as a ``uint64`` vector ``[seed, *path]``, an array that :func:`fnn.io.save` can store.

    :func:`wrap_key_data` turns it back into the same key, so a saved key draws the
    same numbers after loading (checkpoints of :func:`fnn.fit` keep their key so).

    Raises:
        StateError: ``k`` is not a :class:`Key`, or its seed does not fit in 64 bits.

    >>> k = fold_in(split(key(7))[1], 3)
    >>> key_data(k).tolist()
    [7, 1, 4294967299]
    >>> wrap_key_data(key_data(k)) == k
    True
    """
    k = _check_key(k)
    if k.seed > _UINT64_MAX:
        raise StateError(f"key_data: the seed {k.seed} does not fit in 64 bits; use a seed below 2**64")
    return np.array((k.seed, *k.path), dtype=np.uint64)


def wrap_key_data(data: Any) -> Key:
    """The :class:`Key` whose :func:`key_data` is ``data`` (a vector of non-negative integers).

    Raises:
        StateError: ``data`` is not a non-empty 1-D array of non-negative integers.
    """
    a = np.asarray(data)
    if a.ndim != 1 or a.size == 0 or a.dtype.kind not in "iu" or (a.dtype.kind == "i" and (a < 0).any()):
        raise StateError(
            f"wrap_key_data: expected a non-empty vector of non-negative integers [seed, *path] "
            f"(from key_data), got {a.dtype} of shape {a.shape}"
        )
    values = [int(v) for v in a]
    return Key(values[0], tuple(values[1:]))


def _check_key(k: object) -> Key:
    if not isinstance(k, Key):
        raise StateError(f"expected an fnn.random.Key (make one with fnn.random.key(seed)), got {k!r}")
    return k


def split(k: Key, num: int = 2) -> tuple[Key, ...]:
    """``num`` new keys, independent of each other and of ``k``.

    Raises:
        StateError: ``k`` is not a :class:`Key`.
        ShapeError: ``num``, the number of keys, is not an integer ``>= 1``.
    """
    k = _check_key(k)
    if not _is_int(num, 1):
        raise ShapeError(f"split: `num` (how many keys) must be an integer >= 1, got {num!r}")
    return tuple(Key(k.seed, k.path + (i,)) for i in range(num))


def fold_in(k: Key, data: int) -> Key:
    """A new key that mixes the non-negative integer ``data`` (a step number, say) into ``k``.

    The path grows by ``2³² + data``, which no :func:`split` index reaches, so
    ``fold_in(k, d)`` differs from every ``split(k, n)[i]`` and from ``fold_in(k, d')``, ``d' ≠ d``.

    Raises:
        StateError: ``k`` is not a :class:`Key`, or ``data`` is not an integer ``>= 0``.
    """
    k = _check_key(k)
    if not _is_int(data, 0):
        raise StateError(f"fold_in: `data` must be a non-negative integer, got {data!r}")
    return Key(k.seed, k.path + ((1 << 32) + int(data),))


def _generator(k: Key, b: Backend) -> Any:
    return random_generator(b, np.random.SeedSequence(entropy=k.seed, spawn_key=k.path))


def _draw(owner: str, shape: object, draw: Callable[[], Any]) -> Any:
    """``draw()``, with an error that names ``owner`` when NumPy or CuPy refuses ``shape``."""
    try:
        return draw()
    except (TypeError, ValueError):
        if _is_int(shape, 0) or (isinstance(shape, tuple) and all(_is_int(n, 0) for n in shape)):
            raise  # the shape is fine: something else failed
        raise ShapeError(f"{owner}: `shape` must be a tuple of integers >= 0, got {shape!r}") from None


def normal(k: Key, shape: Shape, backend: Backend | None = None, std: float = 1.0) -> Array:
    """Samples of ``N(0, std**2)`` of ``shape`` in the backend's dtype.

    Raises:
        StateError: ``k`` is not a :class:`Key`.
        ShapeError: ``shape`` is not a tuple of integers ``>= 0``.
    """
    b = resolve(backend)
    sample_dtype = b.dtype if b.dtype.name != "float16" else np.dtype("float32")
    generator = _generator(_check_key(k), b)
    z = _draw("normal", shape, lambda: generator.standard_normal(shape, dtype=sample_dtype))
    result: Array = (z * std).astype(b.dtype, copy=False)
    return result


def uniform(
    k: Key, shape: Shape, backend: Backend | None = None, low: float = 0.0, high: float = 1.0
) -> Array:
    """Samples of ``U[low, high)`` of ``shape`` in the backend's dtype.

    Raises:
        StateError: ``k`` is not a :class:`Key`.
        ShapeError: ``shape`` is not a tuple of integers ``>= 0``.
    """
    b = resolve(backend)
    sample_dtype = b.dtype if b.dtype.name != "float16" else np.dtype("float32")
    generator = _generator(_check_key(k), b)
    u = _draw("uniform", shape, lambda: generator.random(shape, dtype=sample_dtype))
    result: Array = (low + (high - low) * u).astype(b.dtype, copy=False)
    return result


def bernoulli(k: Key, p: float, shape: Shape, backend: Backend | None = None) -> Array:
    """Boolean samples that are ``True`` with probability ``p`` (``0 ≤ p ≤ 1``).

    Raises:
        StateError: ``k`` is not a :class:`Key`.
        ShapeError: ``shape`` is not a tuple of integers ``>= 0``.
        ValueError: ``p`` is not a number in ``[0, 1]``.
    """
    if not (isinstance(p, numbers.Real) and 0 <= p <= 1):
        raise ValueError(f"`p` must be a probability in [0, 1], got {p!r}")
    b = resolve(backend)
    generator = _generator(_check_key(k), b)
    u = _draw("bernoulli", shape, lambda: generator.random(shape, dtype=np.float32))
    result: Array = u < p
    return result


def permutation(k: Key, n: int, backend: Backend | None = None) -> Array:
    """A random permutation of ``0 .. n-1`` as an integer array (``n ≥ 0``).

    Raises:
        StateError: ``k`` is not a :class:`Key`.
        ShapeError: ``n``, the length, is not an integer ``>= 0``.
    """
    if not _is_int(n, 0):
        raise ShapeError(f"permutation: `n` (the length) must be an integer >= 0, got {n!r}")
    b = resolve(backend)
    return random_permutation(b, _generator(_check_key(k), b), n)
