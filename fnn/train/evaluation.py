"""Evaluation in batches: the mean loss and the accuracy of a model over a data set.

>>> import numpy as np, fnn
>>> model = fnn.sequential(fnn.Dense(2, w_init=fnn.initializers.zeros()))
>>> params = model.init(fnn.random.key(0), (1,))
>>> accuracy(model, params, np.ones((4, 1), "float32"), np.array([1, 0, 1, 1]))
0.25
"""

from __future__ import annotations

import math
from typing import Any, Callable

import attrs
import numpy as np

from fnn.backend import array_module
from fnn.distributed.collectives import sum_over_ranks
from fnn.distributed.communicator import Communicator, check_communicator
from fnn.distributed.sharding import shard_rows
from fnn.errors import DataError, DTypeError, ShapeError
from fnn.layers.core import Layer
from fnn.losses import RMSE, Loss
from fnn.train._common import check_kinds as _check_kinds
from fnn.train._common import positive_int as _positive_int
from fnn.train._common import to_host as _to_host
from fnn.train.batching import length as _length
from fnn.train.batching import slices as _slices
from fnn.typing import Array

__all__ = ["Evaluation", "accuracy", "evaluate"]


@attrs.frozen
class Evaluation:
    """The result of :func:`evaluate`: mean ``loss`` and ``accuracy`` (``None`` unless categorical)."""

    loss: float
    accuracy: float | None


def _class_labels(name: str, t: Array, y: Array) -> Array:
    """The class of each row of ``y: (N, K)`` as ``t`` gives it: integer labels ``(N,)``, or one-hot rows.

    One-hot (or probability) rows ``(N, K)`` of any dtype give their argmax. Anything
    else is refused, since an argmax over a 1-D array or a broadcast of ``(N, 1)``
    against ``(N,)`` would give a number that is not the accuracy.
    """
    if y.ndim != 2:
        raise ShapeError(f"{name}: expected model outputs of shape (N, K), got {tuple(y.shape)}")
    classes = y.shape[1]
    if t.ndim == 1:
        if t.dtype.kind in "iu":
            return t
        raise DTypeError(
            f"{name}: class labels of shape (N,) must have an integer dtype, got {t.dtype}; "
            "convert them with t.astype(numpy.int64)"
        )
    if t.ndim == 2 and t.shape[1] == classes:
        result: Array = t.argmax(axis=1)
        return result
    hint = "; for class labels pass t.reshape(-1)" if t.ndim == 2 and t.shape[1] == 1 else ""
    raise ShapeError(
        f"{name}: targets of shape {tuple(t.shape)} are neither integer labels (N,) nor one-hot "
        f"rows (N, {classes}) for a model with {classes} outputs{hint}"
    )


def check_labels(model: Layer[Any], x: Array, t: Array, name: str) -> None:
    if getattr(t, "dtype", None) is None or t.dtype.kind not in "iu" or t.ndim != 1:
        return  # not class labels (one-hot or regression targets): the loss checks their shape
    out = model.out_shape(tuple(x.shape[1:]))
    if len(out) != 1:
        raise ShapeError(f"{name}: integer labels need a model with outputs (N, K), got (N, {out})")
    classes = out[0]
    xp = array_module(t)
    bad = xp.flatnonzero((t < 0) | (t >= classes))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{name}: label {int(t[i])} at index {i} is out of range for a model with "
            f"{classes} outputs (labels must be 0..{classes - 1})"
        )


def sample_mean_maps(loss: Loss) -> tuple[Callable[[Any], Any], Callable[[float], float]]:
    """``(to_mean, from_mean)``: batch values to the sample means they average as, and back to the loss.

    Every fnn loss but one is a mean over samples (``mse``, ``mae``, ``huber`` and the
    binary cross entropies over elements, ``N·D`` of them in a batch of ``N``; the
    categorical ones over rows), so batch values average to the loss of the whole
    data with weights ``N_b``. ``rmse = √mse`` is not: its batch values are squared
    back to MSEs, averaged, and the root is taken of the mean.
    """
    if isinstance(loss, RMSE):
        return np.square, math.sqrt
    return _same, _same


def _same(value: Any) -> Any:
    return value


def mean_loss(loss: Loss, values: Array, sizes: list[int]) -> float:
    """The loss over all samples from host ``values`` of batches of ``sizes`` samples."""
    to_mean, from_mean = sample_mean_maps(loss)
    return from_mean(float(to_mean(values) @ np.asarray(sizes, dtype=np.float64)) / sum(sizes))


def _predict(model: Layer[Any], params: Any, state: Any, x: Array) -> Array:
    return model.apply(params, x) if state is None else model.apply_stateful(params, state, x)


def accuracy(
    model: Layer[Any],
    params: Any,
    x: Array,
    t: Array,
    *,
    state: Any = None,
    batch_size: int = 1000,
    comm: Communicator | None = None,
) -> float:
    """The fraction of samples whose highest output is the target class, computed in batches.

    ``acc = (1/N) Σₙ [argmaxₖ yₙₖ = cₙ]`` with ``y = model.apply(params, x)`` (inference
    mode, with ``state`` for stateful models). Only ``batch_size`` samples are in
    flight at a time. With a communicator of ``R`` ranks (every rank passing the
    same ``x, t``), each rank evaluates its ``N/R`` rows and the counts are summed
    over the ranks: every rank gets the accuracy of all ``N`` samples.

    Args:
        model: A model with outputs of shape ``(N, K)``.
        params: Its parameters.
        x: Inputs ``(N, …)``.
        t: Integer labels ``(N,)`` (any integer dtype), or one-hot (or probability)
            rows ``(N, K)`` of any dtype, whose argmax is the class. Float labels
            ``(N,)`` and targets ``(N, 1)`` are refused (they would be misread).
        state: The model state (batch norm), ``None`` for models without.
        batch_size: Samples per forward pass.
        comm: The :class:`~fnn.distributed.Communicator` to share the work with
            (default: this process alone).

    Returns:
        The accuracy as a float in ``[0, 1]``.

    Raises:
        ShapeError: mismatched lengths, empty data, outputs that are not ``(N, K)``, or
            targets that are neither ``(N,)`` nor ``(N, K)``.
        DTypeError: labels ``(N,)`` that are not integers.
        DataError: a label is out of range.

    >>> import numpy as np, fnn
    >>> model = fnn.sequential(fnn.Dense(2, w_init=fnn.initializers.zeros()))
    >>> params = model.init(fnn.random.key(0), (1,))
    >>> accuracy(model, params, np.ones((4, 1), "float32"), np.array([0, 0, 1, 0]))
    0.75
    """
    _check_kinds("accuracy", model=model)
    comm = check_communicator("accuracy", comm)
    n = _length((x, t), "accuracy(x, t)")
    check_labels(model, x, t, "accuracy")
    size = _positive_int("batch_size", batch_size)
    rows = shard_rows(n, comm.rank, comm.size)
    counts = []  # on the device until the end
    for xb, tb in _slices((x, t), size, rows.stop, rows.start):
        y = _predict(model, params, state, xb)
        counts.append((y.argmax(axis=1) == _class_labels("accuracy", tb, y)).sum())
    (correct,) = sum_over_ranks(comm, [float(_to_host(counts).sum())])
    return float(correct) / n


def evaluate(
    model: Layer[Any],
    params: Any,
    x: Array,
    t: Array,
    *,
    loss: Loss,
    state: Any = None,
    batch_size: int = 1000,
    comm: Communicator | None = None,
) -> Evaluation:
    """The loss (and, for categorical losses, the accuracy) over all of ``x``, computed in batches.

    ``loss = (1/N) Σ_batches N_b · ℓ(model(x_b), t_b)``: every fnn loss but ``rmse``
    averages over samples, so this equals the loss of the whole data set at once.
    ``rmse`` is ``√mse`` and is combined as ``√((1/N) Σ_batches N_b · ℓ_b²)``, which
    equals it too. A loss of your own gets the weighted mean of its batch values.
    With a communicator of ``R`` ranks (every rank passing the same ``x, t``), each
    rank evaluates its ``N/R`` rows and the sums are added over the ranks: every
    rank gets the loss and accuracy of all ``N`` samples (to float64 rounding).

    Args:
        model: The model (inference mode: ``apply``, or ``apply_stateful`` with ``state``).
        params: Its parameters.
        x: Inputs ``(N, …)``.
        t: Targets: as the loss takes them (integer labels ``(N,)`` or one-hot rows of
            any dtype for categorical losses).
        loss: The loss.
        state: The model state, ``None`` for models without.
        batch_size: Samples per forward pass.
        comm: The :class:`~fnn.distributed.Communicator` to share the work with
            (default: this process alone).

    Returns:
        An :class:`Evaluation` with ``loss`` and ``accuracy`` (``None`` unless
        ``loss.accepts_labels``, i.e. a categorical loss).

    Raises:
        ArgumentError: ``model`` is not a layer or ``loss`` not a :class:`~fnn.losses.Loss`.
        ShapeError: mismatched lengths, empty data or targets that do not fit the outputs.
        DTypeError: float labels ``(N,)`` for a categorical loss.
        DataError: a label is out of range.

    >>> import numpy as np, fnn
    >>> model = fnn.sequential(fnn.Dense(2, w_init=fnn.initializers.zeros()))
    >>> params = model.init(fnn.random.key(0), (1,))
    >>> e = evaluate(model, params, np.ones((4, 1), "float32"), np.array([0, 0, 1, 0]),
    ...              loss=fnn.losses.softmax_cross_entropy)
    >>> round(e.loss, 4), e.accuracy
    (0.6931, 0.75)
    """
    _check_kinds("evaluate", model=model, loss=loss)
    comm = check_communicator("evaluate", comm)
    n = _length((x, t), "evaluate(x, t)")
    if loss.accepts_labels:
        check_labels(model, x, t, "evaluate")
    size = _positive_int("batch_size", batch_size)
    rows = shard_rows(n, comm.rank, comm.size)
    values, sizes, counts = [], [], []  # on the device until the end
    for xb, tb in _slices((x, t), size, rows.stop, rows.start):
        y = _predict(model, params, state, xb)
        if loss.accepts_labels:
            labels = _class_labels("evaluate", tb, y)  # before the loss: its message would be less clear
        values.append(loss(y, tb))
        sizes.append(int(xb.shape[0]))
        if loss.accepts_labels:
            counts.append((y.argmax(axis=1) == labels).sum())
    to_mean, from_mean = sample_mean_maps(loss)
    local = [
        float(to_mean(_to_host(values)) @ np.asarray(sizes, dtype=np.float64)),
        float(_to_host(counts).sum()),
    ]
    total, correct = sum_over_ranks(comm, local)
    return Evaluation(from_mean(float(total) / n), float(correct) / n if loss.accepts_labels else None)
