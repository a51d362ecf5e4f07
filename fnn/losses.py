"""Losses as callables with a hand-derived gradient: ``loss(y, t)`` and ``loss.grad(y, t)``.

``y`` is the model's output of shape ``(N, …)`` and ``t`` the target of the same
shape, or integer class labels of shape ``(N,)`` for the categorical losses. Every
loss returns a 0-d array in ``y``'s dtype and its ``grad`` returns ``∂loss/∂y``
with ``y``'s shape and dtype.

:data:`time_softmax_cross_entropy` is the sequence loss of the second book: logits
``(N, T, V)`` and integer targets ``(N, T)``, averaged over the positions not ignored.

Reductions: the regression losses (``mse``, ``mae``, ``rmse``, ``huber``) and the
binary cross entropies average over every element; the categorical ones sum over
classes and average over the batch, as the book does.

**1-D input is one sample** (the book's ``cross_entropy_error`` convention): the
categorical losses take a 1-D ``y`` of ``K`` class scores as shape ``(1, K)``, with
``t`` its target row ``(K,)`` or its label (a scalar); the value is that sample's
loss and the gradient has ``y``'s shape. The element-averaging losses need no
rule: their mean over all elements is the same whichever axis is the batch.
``t`` must have ``y``'s shape exactly (nothing broadcasts), except integer labels.

**No empty batches**: every loss refuses predictions with no elements
(:class:`~fnn.errors.ShapeError`), since a mean over nothing is undefined. A
``numpy.matrix`` or masked array as ``y`` or ``t`` is refused
(:class:`~fnn.errors.DTypeError`): fnn would compute matrix products or ignore the mask.

>>> import numpy as np
>>> y = np.array([[0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0]])
>>> t = np.array([2])
>>> round(float(categorical_cross_entropy(y, t)), 6)
0.510825
>>> round(float(categorical_cross_entropy(y[0], 2)), 6)  # one sample, 1-D
0.510825
>>> float(mse(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]])))
2.5
"""

from __future__ import annotations

import abc
from typing import Any

import attrs
import numpy as np

from fnn import functional as F
from fnn.backend import accumulation_dtype, array_module, check_plain_array, is_cupy_array, last_axis_max
from fnn.errors import DataError, DTypeError, ShapeError
from fnn.typing import Array

__all__ = [
    "Loss",
    "MSE",
    "MAE",
    "RMSE",
    "Huber",
    "BinaryCrossEntropy",
    "SigmoidBinaryCrossEntropy",
    "NegativeSamplingLoss",
    "CategoricalCrossEntropy",
    "SoftmaxCrossEntropy",
    "TimeSoftmaxCrossEntropy",
    "mse",
    "mae",
    "rmse",
    "huber",
    "binary_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "negative_sampling_loss",
    "categorical_cross_entropy",
    "softmax_cross_entropy",
    "time_softmax_cross_entropy",
]

EPS = 1e-7
"""The book's ``delta``: keeps ``log`` away from zero in the cross entropies on probabilities."""


class Loss(abc.ABC):
    """A scalar loss ``ℓ(y, t)`` with its gradient ``∂ℓ/∂y``.

    Subclasses implement :meth:`compute`; :meth:`value_and_grad`, :meth:`__call__`
    and :meth:`grad` follow from it. float16 predictions are computed in float32:
    the value is then float32 and the gradient float16 (see
    :func:`fnn.backend.accumulation_dtype`).
    """

    accepts_labels: bool = False
    """Whether ``t`` may be integer class labels of shape ``(N,)``."""

    def __call__(self, y: Array, t: Array) -> Array:
        return self.value_and_grad(y, t)[0]

    def grad(self, y: Array, t: Array) -> Array:
        """``∂ℓ/∂y``, of ``y``'s shape and dtype."""
        return self.value_and_grad(y, t)[1]

    def value_and_grad(self, y: Array, t: Array) -> tuple[Array, Array]:
        """``(ℓ(y, t), ∂ℓ/∂y)`` in one pass; ``∂ℓ/∂y`` has ``y``'s shape and dtype.

        Raises:
            DTypeError: ``y`` is not a float array, or ``y`` or ``t`` is a
                ``numpy.matrix`` or masked array.
            ShapeError: ``y`` is empty (no mean exists), or ``t`` does not fit ``y``.
        """
        self.check_predictions(y)
        check_plain_array(self, t, "t")
        if y.size == 0:
            raise ShapeError(
                f"{self!r}: predictions of shape {tuple(y.shape)} are empty, and a mean over no "
                "elements is undefined; skip empty batches"
            )
        if self.accepts_labels and y.ndim < 2:
            return self._one_sample(y, t)
        wide = accumulation_dtype(y.dtype)
        if wide == y.dtype:
            return self.compute(y, t)
        value, grad = self.compute(y.astype(wide), t)
        return value, grad.astype(y.dtype)

    @abc.abstractmethod
    def compute(self, y: Array, t: Array) -> tuple[Array, Array]:
        """``(ℓ(y, t), ∂ℓ/∂y)`` for float predictions ``y``, both in ``y``'s dtype."""

    def _one_sample(self, y: Array, t: Array) -> tuple[Array, Array]:
        """The book's convention for a categorical loss: a 1-D ``y`` of ``K`` classes is one sample.

        ``t`` is then its target row (shape ``(K,)``) or its label (a scalar or shape ``(1,)``).
        """
        if y.ndim == 0:
            raise ShapeError(
                f"{self!r}: expected predictions of shape (N, K), or (K,) for one sample, got ()"
            )
        t = array_module(y).asarray(t)
        one = t.reshape(1, -1) if t.shape == y.shape else t.reshape(-1)
        value, grad = self.value_and_grad(y.reshape(1, -1), one)
        return value, grad.reshape(y.shape)

    def check_predictions(self, y: Array) -> None:
        """Raise :class:`DTypeError` unless ``y`` is a plain array of a float dtype."""
        check_plain_array(self, y, "y")
        if getattr(y, "dtype", None) is None or y.dtype.kind != "f":
            raise DTypeError(f"{self!r}: expected float predictions, got {getattr(y, 'dtype', type(y))}")

    def targets(self, y: Array, t: Array) -> Array:
        """``t`` checked against ``y`` and cast to ``y``'s dtype (labels become one-hot)."""
        xp = array_module(y)
        t = xp.asarray(t)
        if t.dtype.kind not in "biuf":
            raise DTypeError(f"{self!r}: expected real-valued targets, got {t.dtype}")
        if self.accepts_labels and t.dtype.kind in "iu" and t.ndim == 1 and y.ndim == 2:
            return one_hot_like(self, y, t)
        if t.shape != y.shape:
            raise ShapeError(
                f"{self!r}: targets of shape {tuple(t.shape)} do not match "
                f"predictions of shape {tuple(y.shape)}{self._shape_hint(y, t)}"
            )
        result: Array = t.astype(y.dtype, copy=False)
        return result

    def _shape_hint(self, y: Array, t: Array) -> str:
        """The likely fix when ``t``'s shape does not match ``y``'s (nothing broadcasts)."""
        batch, rest = y.shape[:1], y.shape[1:]
        if t.ndim == 1 and y.ndim == 2 and y.shape[1] == 1:
            return "; reshape the targets with t.reshape(-1, 1)"
        if t.dtype.kind == "f" and t.shape == rest and y.ndim > 1:
            return "; that is one target row: give one per sample, since targets do not broadcast"
        if self.accepts_labels and t.ndim == 1:
            return "; integer labels must have an integer dtype"
        if self.accepts_labels and t.shape == batch + (1,):
            return "; labels go in a 1-D array: t.reshape(-1)"
        if t.dtype.kind in "iu" and t.shape == batch and y.ndim == 2:
            return f"; for class labels, one-hot encode them (fnn.datasets.one_hot(t, {y.shape[1]}))"
        return ""

    def __repr__(self) -> str:
        return type(self).__name__.lower()


_unsigned_dtypes: dict[np.dtype[Any], np.dtype[Any]] = {}


def _unsigned(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """The unsigned integer dtype of ``dtype``'s size (memoized: ``view`` parses a new dtype slowly)."""
    unsigned = _unsigned_dtypes.get(dtype)
    if unsigned is None:
        unsigned = _unsigned_dtypes[dtype] = np.dtype(dtype.str.replace("i", "u"))
    return unsigned


def check_labels(loss: object, y: Array, labels: Array) -> None:
    """Raise unless ``labels`` holds one class index in ``0..K-1`` per row of ``y: (N, K)``.

    The range is checked where that is free, on the host (NumPy). On a GPU the
    check would copy to the host in every training step; there an out-of-range
    label makes the loss NaN instead (:func:`poison_bad_labels`), and
    :func:`fnn.train.fit` checks all labels once before training.

    Raises:
        ShapeError: there are not ``N`` labels.
        DataError: a label is outside ``0..K-1`` (NumPy labels).
    """
    n, classes = y.shape
    if labels.shape[0] != n:
        raise ShapeError(f"{loss!r}: {labels.shape[0]} labels for {n} predictions")
    if labels.size and not is_cupy_array(labels):
        # One reduction: viewed as unsigned, a negative label is huge, so `max < classes` covers both ends.
        unsigned = labels.view(_unsigned(labels.dtype)) if labels.dtype.kind == "i" else labels
        if int(unsigned.max()) < classes:
            return
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or high >= classes:
            bad = low if low < 0 else high
            raise DataError(f"{loss!r}: label {bad} is out of range for {classes} classes (0..{classes - 1})")


def poison_bad_labels(labels: Array, classes: int, *arrays: Array) -> tuple[Array, ...]:
    """``arrays`` (loss, gradient, one-hot targets), all NaN if device ``labels`` leave ``0..classes-1``.

    Computed on the device without a host copy, the range tested once for all
    ``arrays``. NumPy labels were checked by :func:`check_labels`: ``arrays`` come back
    as given.
    """
    if not is_cupy_array(labels):
        return arrays
    xp = array_module(labels)
    bad = ((labels < 0) | (labels >= classes)).any()
    return tuple(xp.where(bad, xp.nan, a).astype(a.dtype, copy=False) for a in arrays)


def one_hot_like(loss: object, y: Array, labels: Array) -> Array:
    """Integer ``labels`` of shape ``(N,)`` as one-hot rows of ``y``'s shape and dtype."""
    check_labels(loss, y, labels)
    n = y.shape[0]
    xp = array_module(y)
    t: Array = xp.zeros_like(y)
    t[xp.arange(n), labels] = 1
    (t,) = poison_bad_labels(labels, y.shape[1], t)
    return t


def _check_delta(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"`{attribute.name}` must be positive, got {value!r}")


class MSE(Loss):
    """Mean squared error, ``ℓ = (1/M) Σᵢ (yᵢ − tᵢ)²`` over all ``M`` elements.

    **Gradient**: ``∂ℓ/∂y = 2(y − t)/M``.
    """

    def compute(self, y: Array, t: Array) -> tuple[Array, Array]:
        r = y - self.targets(y, t)
        return (r * r).mean(), r * (2 / r.size)


class MAE(Loss):
    """Mean absolute error, ``ℓ = (1/M) Σᵢ |yᵢ − tᵢ|``.

    **Gradient**: ``∂ℓ/∂y = sign(y − t)/M`` (0 where ``y = t``).
    """

    def compute(self, y: Array, t: Array) -> tuple[Array, Array]:
        r = y - self.targets(y, t)
        xp = array_module(y)
        return xp.abs(r).mean(), xp.sign(r) * (1 / r.size)


class RMSE(Loss):
    """Root mean squared error, ``ℓ = √((1/M) Σᵢ (yᵢ − tᵢ)²)``.

    **Gradient**: ``∂ℓ/∂y = (y − t)/(M ℓ)`` (0 when ``ℓ = 0``).
    """

    def compute(self, y: Array, t: Array) -> tuple[Array, Array]:
        r = y - self.targets(y, t)
        xp = array_module(y)
        value = xp.sqrt((r * r).mean())
        # ℓ = 0 only where r = 0, so dividing by 1 there gives the 0 gradient (on the device, no sync).
        return value, r / (r.size * xp.where(value > 0, value, 1))


@attrs.frozen(repr=False)
class Huber(Loss):
    """Huber loss, quadratic near zero and linear beyond ``delta``.

    ``ℓ = (1/M) Σᵢ h(yᵢ − tᵢ)`` with ``h(r) = r²/2`` for ``|r| ≤ δ`` and
    ``δ(|r| − δ/2)`` otherwise.

    **Gradient**: ``∂ℓ/∂y = clip(y − t, −δ, δ)/M``.
    """

    delta: float = attrs.field(default=1.0, validator=_check_delta)

    def compute(self, y: Array, t: Array) -> tuple[Array, Array]:
        r = y - self.targets(y, t)
        xp = array_module(y)
        a = xp.abs(r)
        h = xp.where(a <= self.delta, 0.5 * r * r, self.delta * (a - 0.5 * self.delta))
        return h.mean(), xp.clip(r, -self.delta, self.delta) * (1 / r.size)

    def __repr__(self) -> str:
        return f"huber(delta={self.delta})"


class BinaryCrossEntropy(Loss):
    """Binary cross entropy on probabilities ``p = y ∈ (0, 1)``.

    ``ℓ = −(1/M) Σᵢ [tᵢ log(pᵢ + ε) + (1 − tᵢ) log(1 − pᵢ + ε)]``, ``ε = 1e-7``.

    **Gradient**: ``∂ℓ/∂p = (−t/(p + ε) + (1 − t)/(1 − p + ε))/M``.
    Prefer :data:`sigmoid_binary_cross_entropy` on logits, which cannot saturate.
    """

    def compute(self, y: Array, t: Array) -> tuple[Array, Array]:
        t = self.targets(y, t)
        xp = array_module(y)
        p1, p0 = y + EPS, (1 - y) + EPS
        value = -(t * xp.log(p1) + (1 - t) * xp.log(p0)).mean()
        return value, (-t / p1 + (1 - t) / p0) * (1 / y.size)

    def __repr__(self) -> str:
        return "binary_cross_entropy"


class SigmoidBinaryCrossEntropy(Loss):
    """Binary cross entropy on logits ``z`` (the sigmoid is fused in), stable for any ``z``.

    ``ℓ = (1/M) Σᵢ [max(zᵢ, 0) − zᵢtᵢ + log(1 + e^{−|zᵢ|})]``, which equals
    ``−[t log σ(z) + (1 − t) log(1 − σ(z))]`` without overflow.

    **Gradient**: ``∂ℓ/∂z = (σ(z) − t)/M``.
    """

    def compute(self, y: Array, t: Array) -> tuple[Array, Array]:
        t = self.targets(y, t)
        xp = array_module(y)
        value = (xp.maximum(y, 0) - y * t + xp.log1p(xp.exp(-xp.abs(y)))).mean()
        return value, (F.sigmoid(y) - t) * (1 / y.size)

    def __repr__(self) -> str:
        return "sigmoid_binary_cross_entropy"


class NegativeSamplingLoss(SigmoidBinaryCrossEntropy):
    """The loss of word2vec with negative sampling: sigmoid cross entropies summed over each
    example's pairs, averaged over the batch (the book's ``NegativeSamplingLoss``).

    ``y`` are the scores ``(N, *S)`` of each example's pairs (the target's and the ``K``
    negatives' in ``S = (1 + K,)``), ``t`` their labels (1 for the target, 0 for a negative):
    ``ℓ = (1/N) Σₙ Σₛ [max(zₙₛ, 0) − zₙₛtₙₛ + log(1 + e^{−|zₙₛ|})]``, that is
    :data:`sigmoid_binary_cross_entropy` times ``M/N`` (``M`` scores in all), as the book
    adds the positive loss to each negative's, each averaged over the batch.

    **Gradient**: ``∂ℓ/∂z = (σ(z) − t)/N``.
    """

    def compute(self, y: Array, t: Array) -> tuple[Array, Array]:
        value, grad = super().compute(y, t)
        pairs = y.size // y.shape[0]
        return value * pairs, grad * pairs

    def __repr__(self) -> str:
        return "negative_sampling_loss"


class CategoricalCrossEntropy(Loss):
    """Cross entropy on probabilities ``p = y`` of shape ``(N, K)`` (after a softmax).

    ``ℓ = −(1/N) Σₙ Σₖ tₙₖ log(pₙₖ + ε)``, ``ε = 1e-7``; ``t`` is one-hot or integer labels.
    A 1-D ``y`` of shape ``(K,)`` is one sample (``N = 1``), as in the book.

    **Gradient**: ``∂ℓ/∂p = −t / (N (p + ε))``.
    """

    accepts_labels = True

    def compute(self, y: Array, t: Array) -> tuple[Array, Array]:
        t = self.targets(y, t)
        xp = array_module(y)
        n = y.shape[0]
        p = y + EPS
        return -(t * xp.log(p)).sum() / n, -t / p * (1 / n)

    def __repr__(self) -> str:
        return "categorical_cross_entropy"


class SoftmaxCrossEntropy(Loss):
    """Softmax followed by cross entropy, on logits ``z`` of shape ``(N, K)``: the book's SoftmaxWithLoss.

    ``ℓ = (1/N) Σₙ Σₖ tₙₖ (log Σⱼ e^{zₙⱼ} − zₙₖ)`` (max-subtracted, so no overflow);
    ``t`` is one-hot (or soft) or integer labels. A 1-D ``z`` of shape ``(K,)`` is one
    sample (``N = 1``), as in the book.

    **Gradient (fused)**: with ``y = softmax(z)``, ``∂ℓ/∂z = (y Σₖ tₙₖ − t)/N``, which is
    ``(y − t)/N`` for labels and one-hot rows (``Σₖ tₙₖ = 1``); soft targets whose rows
    do not sum to one get the general form.
    """

    accepts_labels = True

    def compute(self, y: Array, t: Array) -> tuple[Array, Array]:
        xp = array_module(y)
        labels = xp.asarray(t)
        shifted = y - last_axis_max(y)
        if labels.ndim == 1 and labels.dtype.kind in "iu" and y.ndim == 2:
            n, classes = y.shape
            check_labels(self, y, labels)
            if labels.dtype.kind == "u" and labels.dtype.itemsize == 8:
                labels = labels.astype(xp.int64)  # uint64 + int64 would give float64 indices
            # Label tᵢ of row i as the flat index i·K + tᵢ: one gather (value), one scatter (gradient).
            flat = xp.arange(0, n * classes, classes) + labels
            picked = shifted.reshape(-1)[flat]
            p = xp.exp(shifted, out=shifted)  # `shifted` is ours: it becomes the gradient
            total = p.sum(axis=-1, keepdims=True)
            value = (xp.log(total.reshape(-1)) - picked).sum() / n
            p *= (1 / n) / total  # ∂ℓ/∂z = (softmax(z) − onehot(t))/N
            grad = p.reshape(-1)  # a copy if `y` was not C-contiguous: write there, and return it
            grad[flat] -= 1 / n
            p = grad.reshape(n, classes)
            value, p = poison_bad_labels(labels, classes, value, p)  # CuPy wraps bad indices
        else:
            n = y.shape[0]
            one_hot = self.targets(y, labels)
            p = xp.exp(shifted)
            total = p.sum(axis=-1, keepdims=True)
            weight = one_hot.sum(axis=-1, keepdims=True)  # Σₖ tₙₖ: 1 for one-hot rows
            # Σₙ Σₖ tₙₖ (lseₙ − zₙₖ) as two sums of non-negative terms (targets ≥ 0): no cancellation.
            value = ((xp.log(total) * weight).sum() - (shifted * one_hot).sum()) / n
            p *= weight / total  # softmax(z)·Σₖ tₙₖ, with as many passes over (N, K) as before
            p -= one_hot
            p *= 1 / n
        if value.dtype != y.dtype:
            value = value.astype(y.dtype)
        return value, p

    def __repr__(self) -> str:
        return "softmax_cross_entropy"


def _check_ignore(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"`ignore` must be an integer label (the book uses -1) or None, got {value!r}")


@attrs.frozen(repr=False)
class TimeSoftmaxCrossEntropy(Loss):
    """Softmax cross entropy at every time step: the book's ``TimeSoftmaxWithLoss``.

    ``y`` holds logits ``z`` of shape ``(N, T, V)`` (any ``(…, V)`` with at least two
    axes) and ``t`` integer labels of shape ``(N, T)`` (``y``'s shape without ``V``).
    With ``K`` the set of kept positions, those whose label is not ``ignore`` (and,
    when a boolean ``mask`` of ``t``'s shape is given, where ``mask`` is true):

    ``ℓ = (1/|K|) Σ_{(n,τ) ∈ K} (log Σᵥ e^{z_{nτv}} − z_{nτ t_{nτ}})``

    (max-subtracted, so no overflow): the mean over the kept positions, as the book
    divides by ``mask.sum()``. Ignored positions may hold any label; the others must
    lie in ``0..V-1``.

    **Gradient (fused)**: ``∂ℓ/∂z_{nτ} = (softmax(z_{nτ}) − onehot(t_{nτ}))/|K|`` at
    kept positions and ``0`` at ignored ones.

    Errors follow the other losses: ``y`` must be a float array with at least two axes
    (a 1-D ``y`` raises :class:`~fnn.errors.ShapeError`: there is no time axis to
    average over) and not empty; labels must be integers (:class:`~fnn.errors.DTypeError`)
    of shape ``y.shape[:-1]``; a label out of range raises :class:`~fnn.errors.DataError`
    on NumPy and makes the loss NaN on a GPU, where the check would copy to the host;
    likewise a batch whose every position is ignored (a mean over nothing) raises on
    NumPy and gives NaN on a GPU. float16 logits are computed in float32 (the value is
    float32, the gradient float16), as for every loss.

    ``accepts_labels`` is false: :func:`fnn.fit` and :func:`fnn.evaluate` treat labels
    ``(N,)`` against outputs ``(N, K)`` (accuracy, label checks), which is not this shape.

    Args:
        ignore: The label of positions to leave out (the book's ``ignore_label``,
            ``-1``); ``None`` keeps every position (then every label is checked).

    >>> import numpy as np
    >>> z = np.zeros((1, 2, 4))                 # uniform over 4 words: ℓ = log 4 at each step
    >>> round(float(time_softmax_cross_entropy(z, np.array([[3, -1]]))), 6)
    1.386294
    >>> time_softmax_cross_entropy.grad(z, np.array([[3, -1]]))[0, 1].tolist()   # ignored step
    [0.0, 0.0, 0.0, 0.0]
    """

    ignore: int | None = attrs.field(default=-1, validator=_check_ignore)

    def __call__(self, y: Array, t: Array, mask: Array | None = None) -> Array:
        return self.value_and_grad(y, t, mask)[0]

    def grad(self, y: Array, t: Array, mask: Array | None = None) -> Array:
        """``∂ℓ/∂y``, of ``y``'s shape and dtype (zero at ignored positions)."""
        return self.value_and_grad(y, t, mask)[1]

    def value_and_grad(self, y: Array, t: Array, mask: Array | None = None) -> tuple[Array, Array]:
        """``(ℓ, ∂ℓ/∂y)``; ``mask`` (optional, boolean, ``t``'s shape) keeps only its true positions.

        Raises:
            DTypeError: ``y`` is not a float array, ``t`` not integers, ``mask`` not
                boolean, or one of them a ``numpy.matrix`` or masked array.
            ShapeError: ``y`` has fewer than two axes or is empty, or ``t`` or ``mask``
                does not have the shape ``y.shape[:-1]``.
            DataError: (NumPy) a kept label is outside ``0..V-1``, or no position is kept.
        """
        value, grad = self._compute(self._widened(y), t, mask, need_grad=True)
        assert grad is not None
        return value, grad.astype(y.dtype, copy=False)

    def value(self, y: Array, t: Array, mask: Array | None = None) -> Array:
        """``ℓ`` alone, without the gradient's work (for evaluation); raises as :meth:`value_and_grad`."""
        return self._compute(self._widened(y), t, mask, need_grad=False)[0]

    def compute(self, y: Array, t: Array) -> tuple[Array, Array]:
        value, grad = self._compute(y, t, None, need_grad=True)
        assert grad is not None
        return value, grad

    def _widened(self, y: Array) -> Array:
        """``y`` checked, in the dtype the loss is computed in (float32 for float16)."""
        self.check_predictions(y)
        if y.ndim < 2:
            raise ShapeError(
                f"{self!r}: expected logits of shape (N, T, V) with labels (N, T), got {tuple(y.shape)}; "
                "for one sample's class scores use softmax_cross_entropy"
            )
        if y.size == 0:
            raise ShapeError(
                f"{self!r}: predictions of shape {tuple(y.shape)} are empty, and a mean over no "
                "elements is undefined; skip empty batches"
            )
        wide = accumulation_dtype(y.dtype)
        return y if wide == y.dtype else y.astype(wide)

    def _labels_and_keep(self, y: Array, t: Array, mask: Array | None) -> tuple[Array, Array]:
        """``(labels, keep)`` as flat arrays: ignored labels replaced by 0, ``keep`` in ``y``'s dtype."""
        xp = array_module(y)
        labels = xp.asarray(t)
        expected = tuple(y.shape[:-1])
        if labels.dtype.kind not in "iu":
            raise DTypeError(
                f"{self!r}: expected integer labels of shape {expected}, got dtype {labels.dtype}"
                + ("; one-hot targets: pass t.argmax(axis=-1)" if labels.shape == tuple(y.shape) else "")
            )
        if labels.shape != expected:
            raise ShapeError(
                f"{self!r}: labels of shape {tuple(labels.shape)} do not fit logits of shape "
                f"{tuple(y.shape)}; expected {expected} (the logits' shape without the last axis)"
            )
        if labels.dtype.kind == "u" and labels.dtype.itemsize == 8:
            labels = labels.astype(xp.int64)  # uint64 + int64 would give float64 indices
        labels = labels.reshape(-1)
        keep = None if self.ignore is None else labels != self.ignore
        if mask is not None:
            check_plain_array(self, mask, "mask")
            mask = xp.asarray(mask)
            if mask.dtype != bool or mask.shape != expected:
                raise (DTypeError if mask.dtype != bool else ShapeError)(
                    f"{self!r}: expected a boolean mask of shape {expected}, "
                    f"got {mask.dtype} of shape {tuple(mask.shape)}"
                )
            keep = mask.reshape(-1) if keep is None else keep & mask.reshape(-1)
        if keep is None:
            return labels, xp.ones(labels.shape, y.dtype)
        return xp.where(keep, labels, 0), keep.astype(y.dtype)

    def _compute(self, y: Array, t: Array, mask: Array | None, need_grad: bool) -> tuple[Array, Array | None]:
        check_plain_array(self, t, "t")
        xp = array_module(y)
        classes = y.shape[-1]
        z = y.reshape(-1, classes)
        rows = z.shape[0]
        labels, keep = self._labels_and_keep(y, t, mask)
        check_labels(self, z, labels)
        count = keep.sum()
        if not is_cupy_array(count) and count == 0:
            raise DataError(
                f"{self!r}: every one of the {rows} positions is ignored, and a mean over none is "
                "undefined; skip batches without targets"
            )
        shifted = z - last_axis_max(z)  # a new array: it becomes the gradient
        flat = xp.arange(0, rows * classes, classes) + labels
        picked = shifted.reshape(-1)[flat]
        p = xp.exp(shifted, out=shifted)
        total = p.sum(axis=-1, keepdims=True)
        weight = keep / count  # 1/|K| at kept positions, 0 at ignored ones
        value = ((xp.log(total.reshape(-1)) - picked) * weight).sum()
        if not need_grad:
            (value,) = poison_bad_labels(labels, classes, value)
            return value.astype(y.dtype, copy=False), None
        p *= weight[:, None] / total  # ∂ℓ/∂z = (softmax(z) − onehot(t))/|K| where kept
        grad = p.reshape(-1)
        grad[flat] -= weight
        value, grad = poison_bad_labels(labels, classes, value, grad)
        if value.dtype != y.dtype:
            value = value.astype(y.dtype)
        return value, grad.reshape(y.shape)

    def __repr__(self) -> str:
        name = "time_softmax_cross_entropy"
        return name if self.ignore == -1 else f"{name}(ignore={self.ignore})"


mse: Loss = MSE()
mae: Loss = MAE()
rmse: Loss = RMSE()
huber: Loss = Huber()
binary_cross_entropy: Loss = BinaryCrossEntropy()
sigmoid_binary_cross_entropy: Loss = SigmoidBinaryCrossEntropy()
negative_sampling_loss: Loss = NegativeSamplingLoss()
categorical_cross_entropy: Loss = CategoricalCrossEntropy()
softmax_cross_entropy: Loss = SoftmaxCrossEntropy()
time_softmax_cross_entropy: TimeSoftmaxCrossEntropy = TimeSoftmaxCrossEntropy()
