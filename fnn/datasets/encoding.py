"""Label encodings: integer class labels to one-hot rows (the course's ``to_categorical``).

>>> one_hot([2, 0, 1], 3)
array([[0., 0., 1.],
       [1., 0., 0.],
       [0., 1., 0.]], dtype=float32)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from fnn.backend import Backend, resolve, to_numpy
from fnn.typing import Array

__all__ = ["one_hot"]


def one_hot(labels: ArrayLike, num_classes: int, backend: Backend | None = None) -> Array:
    """Integer class labels as one-hot rows in the backend's float dtype.

    ``one_hot(t, C)[..., k] == 1`` exactly where ``t == k``, and 0 elsewhere.

    Shapes:
        ``labels`` of any shape ``S`` gives an array of shape ``S + (num_classes,)``.

    Args:
        labels: Integer labels in ``0 .. num_classes - 1`` (a list, a NumPy or a CuPy
            array of an integer dtype).
        num_classes: The number of classes ``C`` (at least 1).
        backend: Where the result lives and its float dtype (default: the default backend).

    Returns:
        The one-hot array, ``float32`` on the default backend.

    Raises:
        ValueError: ``labels`` is not integer-valued, a label is outside
            ``0 .. num_classes - 1``, or ``num_classes`` is not a positive integer.

    >>> one_hot([[1], [0]], 2).shape
    (2, 1, 2)
    >>> one_hot([3], 3)
    Traceback (most recent call last):
    ...
    ValueError: one_hot: label 3 is out of range for `num_classes`=3 (labels must lie in 0..2)
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"one_hot: `num_classes` must be a positive integer, got {num_classes!r}")
    host = np.asarray(to_numpy(labels))
    if host.dtype.kind not in "iu":
        raise ValueError(
            f"one_hot: `labels` must be integers, got an array of dtype {host.dtype.name}; "
            "convert class labels with `labels.astype(int)` first"
        )
    if host.size:
        low, high = int(host.min()), int(host.max())
        bad = low if low < 0 else high if high >= num_classes else None
        if bad is not None:
            raise ValueError(
                f"one_hot: label {bad} is out of range for `num_classes`={num_classes} "
                f"(labels must lie in 0..{num_classes - 1})"
            )
    result = (host[..., None] == np.arange(num_classes)).astype(np.float64)
    return resolve(backend).asarray(result)
