"""The small data sets of the course: the spiral, logic-gate truth tables and the study-hours table.

Every function returns host-computed data converted to the requested backend
(NumPy float32 by default): inputs ``x`` as float arrays and targets ``t``.

>>> x, t = xor()
>>> x.tolist(), t.tolist()
([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [[0.0], [1.0], [1.0], [0.0]])
"""

from __future__ import annotations

import numpy as np

from fnn import random as fnn_random
from fnn.backend import Backend, resolve
from fnn.backend import backend as make_backend
from fnn.datasets.encoding import one_hot as encode_one_hot
from fnn.typing import Array

__all__ = ["spiral", "logic_gate", "xor", "study_hours", "LOGIC_GATES"]

LOGIC_GATES: dict[str, tuple[int, int, int, int]] = {
    "and": (0, 0, 0, 1),
    "nand": (1, 1, 1, 0),
    "or": (0, 1, 1, 1),
    "xor": (0, 1, 1, 0),
}
"""Gate outputs for the inputs ``(0, 0), (1, 0), (0, 1), (1, 1)``, in that order."""


def spiral(
    key: fnn_random.Key,
    n_per_class: int = 100,
    classes: int = 3,
    noise: float = 0.2,
    *,
    one_hot: bool = True,
    backend: Backend | None = None,
) -> tuple[Array, Array]:
    """The spiral of "Deep Learning from Scratch 2" (ch. 1): ``classes`` arms of ``n_per_class`` points.

    For class ``j`` and point ``i`` (``0 <= i < N``), with ``r = i / N``::

        θ = 4.0 j + 4.0 r + noise · ε,   ε ~ N(0, 1)
        x[N j + i] = (r sin θ, r cos θ)

    The noise ``ε`` is drawn with :func:`fnn.random.normal` from ``key`` on the host
    in float64 (one value per point, class by class), so the same key gives the same
    points on every backend, up to rounding to the backend's dtype.

    Shapes:
        ``x``: ``(N * classes, 2)``; ``t``: ``(N * classes, classes)`` one-hot, or
        ``(N * classes,)`` integer labels.

    Args:
        key: The random key of the noise.
        n_per_class: Points per class ``N`` (at least 1).
        classes: Number of arms (at least 1).
        noise: Standard deviation of the angle noise (0 gives exact spirals).
        one_hot: One-hot targets in the backend's dtype (default) or ``int64`` labels.
        backend: Where the arrays live and their float dtype (default: the default backend).

    Returns:
        ``(x, t)``, points ordered class by class.

    Raises:
        ValueError: ``n_per_class`` or ``classes`` is not a positive integer, or ``noise < 0``.

    >>> x, t = spiral(fnn_random.key(0), n_per_class=4, classes=3)
    >>> x.shape, x.dtype.name, t.shape
    ((12, 2), 'float32', (12, 3))
    >>> t.argmax(axis=1).tolist()
    [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    >>> bool((spiral(fnn_random.key(0))[0] == spiral(fnn_random.key(0))[0]).all())
    True
    """
    for name, value in (("n_per_class", n_per_class), ("classes", classes)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"spiral: `{name}` must be a positive integer, got {value!r}")
    if not noise >= 0:
        raise ValueError(f"spiral: `noise` must be non-negative, got {noise!r}")
    b = resolve(backend)
    n, c = int(n_per_class), int(classes)
    eps = fnn_random.normal(key, (c, n), make_backend("numpy", "float64"))
    rate = np.arange(n, dtype=np.float64) / n
    theta = 4.0 * np.arange(c, dtype=np.float64)[:, None] + 4.0 * rate + noise * eps
    radius = np.broadcast_to(rate, (c, n))
    x = np.stack([radius * np.sin(theta), radius * np.cos(theta)], axis=-1).reshape(c * n, 2)
    labels = np.repeat(np.arange(c, dtype=np.int64), n)
    t = encode_one_hot(labels, c, b) if one_hot else b.asarray(labels, dtype=np.int64)
    return b.asarray(x), t


def logic_gate(name: str, *, backend: Backend | None = None) -> tuple[Array, Array]:
    """The truth table of the logic gate ``name``: ``"and"``, ``"nand"``, ``"or"`` or ``"xor"``.

    Rows are the inputs ``(0, 0), (1, 0), (0, 1), (1, 1)`` (the order of the book's
    perceptron chapter). The name is case-insensitive.

    Shapes:
        ``x``: ``(4, 2)``; ``t``: ``(4, 1)``, a column, so it matches the output of a
        network with one output unit (``t.ravel()`` gives the flat ``(4,)`` table).

    Args:
        name: The gate.
        backend: Where the arrays live and their float dtype (default: the default backend).

    Returns:
        ``(x, t)`` as float arrays of 0s and 1s.

    Raises:
        ValueError: ``name`` is not one of the four gates.

    >>> x, t = logic_gate("NAND")
    >>> t.ravel().tolist()
    [1.0, 1.0, 1.0, 0.0]
    >>> logic_gate("nor")
    Traceback (most recent call last):
    ...
    ValueError: logic_gate: unknown gate 'nor'; choose one of 'and', 'nand', 'or', 'xor'
    """
    key = name.lower() if isinstance(name, str) else None
    if key not in LOGIC_GATES:
        choices = ", ".join(repr(g) for g in LOGIC_GATES)
        raise ValueError(f"logic_gate: unknown gate {name!r}; choose one of {choices}")
    b = resolve(backend)
    x = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=np.float64)
    t = np.array(LOGIC_GATES[key], dtype=np.float64)[:, None]
    return b.asarray(x), b.asarray(t)


def xor(*, backend: Backend | None = None) -> tuple[Array, Array]:
    """The XOR truth table, ``logic_gate("xor")``: ``x`` of shape ``(4, 2)``, ``t`` of shape ``(4, 1)``.

    >>> xor()[1].ravel().tolist()
    [0.0, 1.0, 1.0, 0.0]
    """
    return logic_gate("xor", backend=backend)


def study_hours(*, backend: Backend | None = None) -> tuple[Array, Array]:
    """The pass/fail table of the logistic-regression exercise: 2 to 20 hours studied, pass from 14.

    ``t = 1`` (pass) when ``hours >= 14``, else ``0``.

    Shapes:
        ``x``: ``(19, 1)`` hours ``2, 3, ..., 20``; ``t``: ``(19, 1)``.

    Args:
        backend: Where the arrays live and their float dtype (default: the default backend).

    Returns:
        ``(x, t)`` as float arrays.

    >>> x, t = study_hours()
    >>> x.shape, t.shape
    ((19, 1), (19, 1))
    >>> x[t[:, 0] == 1, 0].tolist()
    [14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0]
    """
    b = resolve(backend)
    hours = np.arange(2, 21, dtype=np.float64)[:, None]
    return b.asarray(hours), b.asarray((hours >= 14).astype(np.float64))
