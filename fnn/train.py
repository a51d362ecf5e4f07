"""Training: minibatches with keys, a ``fit`` loop with progress and history, evaluation in batches.

Everything is pure: :func:`fit` takes params, optimizer state and a key and
returns new ones. Randomness comes only from ``key``: epoch ``e`` (counted from
0) shuffles with ``split(fold_in(key, e))[0]`` and feeds random layers
(dropout) with ``fold_in(split(fold_in(key, e))[1], step)``, so the same key and
data give the same history and params, bit for bit.

A hand-written loop needs only the public pieces::

    step = fnn.value_and_grad(model, fnn.losses.softmax_cross_entropy)
    opt_state = opt.init(params)
    for epoch in range(epochs):
        for xb, tb in fnn.batches(fnn.random.fold_in(key, epoch), x, t, batch_size=30):
            loss, grads = step(params, xb, tb)
            updates, opt_state = opt.update(grads, opt_state, params)
            params = fnn.optim.apply_updates(params, updates)

>>> import fnn
>>> x, t = fnn.datasets.spiral(fnn.random.key(0), n_per_class=20)
>>> model = fnn.sequential(fnn.Dense(10), fnn.sigmoid, fnn.Dense(3))
>>> params = model.init(fnn.random.key(1), (2,))
>>> result = fnn.fit(model, fnn.losses.softmax_cross_entropy, fnn.optim.sgd(1.0), params, x, t,
...                  key=fnn.random.key(2), epochs=3, batch_size=30, progress=False)
>>> params, opt_state, history = result
>>> len(history.loss)
3
"""

from __future__ import annotations

import math
import numbers
import os
import reprlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generic, Iterator

from typing_extensions import TypeVar

import attrs
import numpy as np

from fnn import optim, random, tree
from fnn.backend import array_module, backend, is_cupy_array, to_numpy
from fnn.backprop import value_grad_and_state
from fnn.errors import ArgumentError, DataError, DTypeError, ShapeError, StateError, TrainingError
from fnn.files import atomic_write
from fnn.layers.core import Layer
from fnn.losses import RMSE, Loss
from fnn.optim.base import GradientTransformation, apply_updates
from fnn.typing import Array

__all__ = [
    "DivergenceError",
    "Evaluation",
    "FitInterrupted",
    "FitResult",
    "History",
    "accuracy",
    "batches",
    "evaluate",
    "fit",
]

P = TypeVar("P")
S = TypeVar("S", default=Any)  # the optimizer state's type


_short = reprlib.Repr()
_short.maxother = _short.maxstring = 80


def _brief(value: object) -> str:
    """``repr(value)`` cut to a line: an error message never embeds a whole data set."""
    return _short.repr(value)


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {_brief(value)}")
    return int(value)  # NumPy integers (a size from an array's shape) are welcome


def _length(arrays: tuple[Array, ...], names: str) -> int:
    if not arrays:
        raise ValueError(f"{names}: give at least one array")
    lengths = []
    for a in arrays:
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
    n = _length(arrays, "batches")
    if drop_last and size > n:
        raise ValueError(f"batches: batch_size={size} with drop_last=True leaves no batch of {n} samples")
    if shuffle:
        if key is None:
            raise StateError("batches: shuffle=True needs a key; pass fnn.random.key(seed) or shuffle=False")
        where = backend("cupy") if is_cupy_array(arrays[0]) else backend("numpy")
        order = random.permutation(key, n, where)
        stop = n - n % size if drop_last else n
        return _gathers(arrays, order, size, stop)
    stop = n - n % size if drop_last else n
    return _slices(arrays, size, stop)


def _slices(arrays: tuple[Array, ...], size: int, stop: int) -> Iterator[tuple[Array, ...]]:
    for start in range(0, stop, size):
        yield tuple(a[start : start + size] for a in arrays)


def _gathers(arrays: tuple[Array, ...], order: Array, size: int, stop: int) -> Iterator[tuple[Array, ...]]:
    for start in range(0, stop, size):
        rows = order[start : start + size]
        yield tuple(a[rows] for a in arrays)


@attrs.frozen
class History:
    """Per-epoch metrics of :func:`fit`; entry ``i`` belongs to epoch ``i + 1``.

    Attributes:
        loss: Mean training loss of each epoch (weighted by batch size, so it is the
            mean over the samples seen during the epoch, with the params of each step;
            for ``rmse``, the root of the mean squared error over those samples).
        eval_loss: Loss on the evaluation data after each epoch (empty without it).
        eval_accuracy: Accuracy on the evaluation data after each epoch (empty without
            evaluation data or for losses that are not categorical).
        train_accuracy: Accuracy on the training data after each epoch (empty unless
            ``fit(..., train_accuracy=True)``).
    """

    loss: tuple[float, ...] = ()
    eval_loss: tuple[float, ...] = ()
    eval_accuracy: tuple[float, ...] = ()
    train_accuracy: tuple[float, ...] = ()

    @property
    def epochs(self) -> int:
        """The number of completed epochs."""
        return len(self.loss)

    def to_dict(self) -> dict[str, list[float]]:
        """The history as plain lists, for JSON or pandas: keys are the attribute names.

        >>> History(loss=(0.5, 0.25)).to_dict()["loss"]
        [0.5, 0.25]
        """
        return {field.name: list(getattr(self, field.name)) for field in attrs.fields(History)}

    def plot(self, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
        """Draw the loss curves (and accuracy curves, if any) against the epoch to a PNG file.

        Uses matplotlib without pyplot (no window, no global state); install it with
        ``pip install 'fnn[plot]'``. The file is written atomically (a temporary file
        beside it, then a rename), so an existing file is replaced whole or not at all.

        Args:
            path: The PNG file to write.
            title: A title over the figure.

        Returns:
            ``path`` as a :class:`~pathlib.Path`.

        Raises:
            ImportError: matplotlib is not installed.
            ValueError: the history is empty.
        """
        try:
            from matplotlib.figure import Figure
        except ImportError:
            raise ImportError(
                "History.plot needs matplotlib, which is not installed; "
                "install it with `pip install 'fnn[plot]'` or `pip install matplotlib`"
            ) from None
        if not self.loss:
            raise ValueError("History.plot: the history is empty (no completed epoch)")
        accuracies = [(n, v) for n, v in (("train", self.train_accuracy), ("eval", self.eval_accuracy)) if v]
        figure = Figure(figsize=(10 if accuracies else 5, 4), layout="constrained")
        axes = figure.subplots(1, 2 if accuracies else 1, squeeze=False)[0]
        epochs = range(1, len(self.loss) + 1)
        axes[0].plot(epochs, self.loss, label="train")
        if self.eval_loss:
            axes[0].plot(epochs, self.eval_loss, label="eval")
        axes[0].set(xlabel="epoch", ylabel="loss")
        axes[0].legend()
        if accuracies:
            for name, values in accuracies:
                axes[1].plot(epochs, values, label=name)
            axes[1].set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1.02))
            axes[1].legend()
        if title:
            figure.suptitle(title)
        target = Path(path)
        with atomic_write(target) as f:  # atomic, as every file fnn writes
            figure.savefig(f, format="png", dpi=100)
        return target


if TYPE_CHECKING:  # to a type checker, a tuple: `params, opt_state, history = fit(...)` is typed

    class _Unpacks(tuple[P, S, History]): ...

else:

    class _Unpacks(Generic[P, S]):
        """At run time: indexing and ``len`` as the type checker's tuple view promises."""

        def __len__(self) -> int:
            return 3

        def __getitem__(self, index: Any) -> Any:
            return tuple(self)[index]


@attrs.frozen(order=False)
class FitResult(_Unpacks[P, S]):
    """What :func:`fit` returns; unpacks as ``params, opt_state, history``.

    Attributes:
        params: The trained parameters.
        opt_state: The optimizer state (pass it back to ``fit`` to resume).
        history: The per-epoch :class:`History`.
        state: The model's new state (batch-norm statistics), ``None`` for models
            without state. Not part of the unpacking: read ``result.state``.
    """

    params: P
    opt_state: S
    history: History
    state: Any = None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.params, self.opt_state, self.history))


class DivergenceError(TrainingError):
    """The training loss or the parameters became NaN or infinite; :func:`fit` stopped.

    Attributes:
        epoch: The epoch of the bad step (from 1).
        step: The step within that epoch (from 1) of the first non-finite loss; when
            every loss was finite but the parameters were not at the end of the epoch
            (an update overflowed after the last loss was computed), the epoch's last step.
        params: The params the failing epoch started from, all finite (``fit`` checks
            the initial params and the params at the end of every epoch). ``fit``
            checks the losses and params once per epoch, when they come to the host
            together, so that a GPU step never waits for a copy.
        opt_state: The optimizer state that went with ``params``.
        state: The model state that went with ``params``.
        history: The epochs completed before.
    """

    def __init__(
        self,
        message: str,
        *,
        epoch: int,
        step: int,
        params: Any,
        opt_state: Any,
        state: Any,
        history: History,
    ) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.step = step
        self.params = params
        self.opt_state = opt_state
        self.state = state
        self.history = history


class FitInterrupted(KeyboardInterrupt):
    """Ctrl-C (a ``KeyboardInterrupt``) stopped :func:`fit`; the work done so far is in ``result``.

    A subclass of ``KeyboardInterrupt``, so a script that does not catch it still
    stops as Ctrl-C stops it, and ``except Exception`` does not swallow it. Catch it
    to keep the run::

        try:
            result = fnn.fit(...)
        except fnn.train.FitInterrupted as stop:
            result = stop.result      # the params after the last completed step

    Attributes:
        result: A :class:`FitResult`: the params, optimizer state and model state
            after the last completed step (all finite), and the history of the
            epochs whose metrics were complete.
        epoch: The number of completed epochs in ``result.history`` (from 0).
        step: How many steps of the next epoch (epoch ``epoch + 1``) are already
            applied to ``result.params``: 0 when the interrupt came between epochs
            (or when that epoch's steps are not all finite, and the params it started
            from are kept), the number of steps per epoch when it came while the
            epoch was being evaluated.
    """

    def __init__(self, message: str, *, result: FitResult[Any], epoch: int, step: int) -> None:
        super().__init__(message)
        self.result = result
        self.epoch = epoch
        self.step = step


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


def _check_labels(model: Layer[Any], x: Array, t: Array, name: str) -> None:
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


def _check_kinds(name: str, **arguments: object) -> None:
    """Raise :class:`ArgumentError` unless each of ``model``, ``loss``, ``optimizer`` given is of its kind."""
    for argument, value in arguments.items():
        kind, (what, remedy) = _KINDS[argument]
        if not isinstance(value, kind):
            if argument == "optimizer" and isinstance(value, str) and callable(getattr(optim, value, None)):
                remedy = f"build one, e.g. fnn.optim.{value}(learning_rate)"
            raise ArgumentError(f"{name}: `{argument}` must be {what}, got {_brief(value)}; {remedy}")


_KINDS: dict[str, tuple[type, tuple[str, str]]] = {
    "model": (
        Layer,
        ("an fnn layer", "build it from fnn's layers: fnn.sequential(fnn.Dense(10), fnn.relu, ...)"),
    ),
    "loss": (
        Loss,
        (
            "an fnn.losses.Loss such as fnn.losses.softmax_cross_entropy",
            "a loss of your own subclasses fnn.losses.Loss and implements compute(y, t) -> (ℓ, dℓ/dy)",
        ),
    ),
    "optimizer": (
        GradientTransformation,
        ("an fnn.optim.GradientTransformation", "build one, e.g. fnn.optim.sgd(learning_rate)"),
    ),
}


def _as_sample_mean(loss: Loss) -> tuple[Callable[[Any], Any], Callable[[float], float]]:
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


def _mean_loss(loss: Loss, values: Array, sizes: list[int]) -> float:
    """The loss over all samples from host ``values`` of batches of ``sizes`` samples."""
    to_mean, from_mean = _as_sample_mean(loss)
    return from_mean(float(to_mean(values) @ np.asarray(sizes, dtype=np.float64)) / sum(sizes))


def _to_host(values: list[Any]) -> Any:
    """Device scalars (losses, counts) as one float64 NumPy vector: a single copy to the host."""
    if not values:
        return np.zeros(0)
    return to_numpy(array_module(values[0]).stack(values)).astype(np.float64)


def _finite_flags(*trees: Any) -> list[Any]:
    """One device scalar per float leaf of ``trees``: whether all its elements are finite (no host copy)."""
    flags = []
    for leaf in tree.leaves(trees):
        if getattr(leaf, "dtype", None) is not None and leaf.dtype.kind in "fc":
            flags.append(array_module(leaf).isfinite(leaf).all())
    return flags


def _predict(model: Layer[Any], params: Any, state: Any, x: Array) -> Array:
    return model.apply(params, x) if state is None else model.apply_stateful(params, state, x)


def accuracy(
    model: Layer[Any], params: Any, x: Array, t: Array, *, state: Any = None, batch_size: int = 1000
) -> float:
    """The fraction of samples whose highest output is the target class, computed in batches.

    ``acc = (1/N) Σₙ [argmaxₖ yₙₖ = cₙ]`` with ``y = model.apply(params, x)`` (inference
    mode, with ``state`` for stateful models). Only ``batch_size`` samples are in
    flight at a time.

    Args:
        model: A model with outputs of shape ``(N, K)``.
        params: Its parameters.
        x: Inputs ``(N, …)``.
        t: Integer labels ``(N,)`` (any integer dtype), or one-hot (or probability)
            rows ``(N, K)`` of any dtype, whose argmax is the class. Float labels
            ``(N,)`` and targets ``(N, 1)`` are refused (they would be misread).
        state: The model state (batch norm), ``None`` for models without.
        batch_size: Samples per forward pass.

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
    n = _length((x, t), "accuracy(x, t)")
    _check_labels(model, x, t, "accuracy")
    size = _positive_int("batch_size", batch_size)
    counts = []  # on the device until the end
    for xb, tb in _slices((x, t), size, n):
        y = _predict(model, params, state, xb)
        counts.append((y.argmax(axis=1) == _class_labels("accuracy", tb, y)).sum())
    return float(_to_host(counts).sum()) / n


def evaluate(
    model: Layer[Any],
    params: Any,
    x: Array,
    t: Array,
    *,
    loss: Loss,
    state: Any = None,
    batch_size: int = 1000,
) -> Evaluation:
    """The loss (and, for categorical losses, the accuracy) over all of ``x``, computed in batches.

    ``loss = (1/N) Σ_batches N_b · ℓ(model(x_b), t_b)``: every fnn loss but ``rmse``
    averages over samples, so this equals the loss of the whole data set at once.
    ``rmse`` is ``√mse`` and is combined as ``√((1/N) Σ_batches N_b · ℓ_b²)``, which
    equals it too. A loss of your own gets the weighted mean of its batch values.

    Args:
        model: The model (inference mode: ``apply``, or ``apply_stateful`` with ``state``).
        params: Its parameters.
        x: Inputs ``(N, …)``.
        t: Targets: as the loss takes them (integer labels ``(N,)`` or one-hot rows of
            any dtype for categorical losses).
        loss: The loss.
        state: The model state, ``None`` for models without.
        batch_size: Samples per forward pass.

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
    n = _length((x, t), "evaluate(x, t)")
    if loss.accepts_labels:
        _check_labels(model, x, t, "evaluate")
    size = _positive_int("batch_size", batch_size)
    values, sizes, counts = [], [], []  # on the device until the end
    for xb, tb in _slices((x, t), size, n):
        y = _predict(model, params, state, xb)
        if loss.accepts_labels:
            labels = _class_labels("evaluate", tb, y)  # before the loss: its message would be less clear
        values.append(loss(y, tb))
        sizes.append(int(xb.shape[0]))
        if loss.accepts_labels:
            counts.append((y.argmax(axis=1) == labels).sum())
    value = _mean_loss(loss, _to_host(values), sizes)
    return Evaluation(value, float(_to_host(counts).sum()) / n if loss.accepts_labels else None)


def fit(
    model: Layer[P],
    loss: Loss,
    optimizer: GradientTransformation[S],
    params: P,
    x: Array,
    t: Array,
    *,
    key: random.Key,
    epochs: int,
    batch_size: int,
    state: Any = None,
    opt_state: S | None = None,
    eval_data: tuple[Array, Array] | None = None,
    eval_batch_size: int = 1000,
    train_accuracy: bool = False,
    shuffle: bool = True,
    drop_last: bool = False,
    progress: bool = True,
) -> FitResult[P, S]:
    """Train ``model`` on ``(x, t)`` by minibatch gradient descent for ``epochs`` epochs.

    Each step is ``(ℓ, g, state) = value_grad_and_state(model, loss)(θ, state, x_b, t_b)``,
    ``(u, s) = optimizer.update(g, s, θ)``, ``θ ← θ + u``. After each epoch the
    mean training loss (and, with ``eval_data``, the evaluation loss and accuracy)
    goes into the :class:`History`. The same key and data give the same result,
    bit for bit (see the module docstring for how keys are derived).

    **Ctrl-C** raises :class:`FitInterrupted`, a ``KeyboardInterrupt`` whose
    ``result`` is the :class:`FitResult` after the last completed step (params,
    optimizer state, model state) with the history of the completed epochs; its
    ``epoch`` and ``step`` say where that is. No step is ever half applied.

    **Finite results.** The initial params are checked once, the losses and the
    params (and model state) once per epoch, in the single copy to the host each
    epoch makes: ``fit`` never returns NaN or infinite params, and a
    :class:`DivergenceError` always carries finite ones.

    Args:
        model: The model (any :class:`~fnn.layers.core.Layer`, stateful or not).
        loss: The loss, an :class:`~fnn.losses.Loss` such as ``fnn.losses.softmax_cross_entropy``.
        optimizer: The optimizer, e.g. ``fnn.optim.sgd(1.0)``.
        params: The initial parameters (``model.init(...)``); never modified.
        x: Training inputs ``(N, …)``.
        t: Training targets ``(N, …)``: integer labels ``(N,)`` or one-hot for categorical losses.
        key: The key of shuffling and of random layers.
        epochs: Number of passes over the data (a positive integer).
        batch_size: Samples per step (a positive integer).
        state: The model state (``model.init_state(in_shape)``) for stateful models.
        opt_state: The optimizer state to resume from (default ``optimizer.init(params)``).
        eval_data: ``(x_eval, t_eval)`` evaluated after every epoch.
        eval_batch_size: Samples per forward pass in evaluation.
        train_accuracy: Whether to also measure the accuracy on the training data
            after every epoch (one extra forward pass over it).
        shuffle: Whether to reshuffle the data every epoch.
        drop_last: Whether to drop a last batch smaller than ``batch_size``.
        progress: Whether to show a tqdm progress bar (one tick per epoch).

    Returns:
        A :class:`FitResult`; ``params, opt_state, history = fit(...)`` unpacks it,
        and ``result.state`` holds the new model state of stateful models.

    Raises:
        ArgumentError: ``model`` is not a layer, ``loss`` not a :class:`~fnn.losses.Loss`
            (a plain function) or ``optimizer`` not a ``GradientTransformation`` (a string).
        ValueError: ``epochs``, ``batch_size`` or ``eval_batch_size`` is not a positive integer.
        ShapeError: ``x`` and ``t`` (or the evaluation pair) differ in length or are empty.
        DataError: a label is out of range for the model's outputs.
        TrainingError: the initial params or model state hold NaN or infinite values.
        DivergenceError: (a :class:`~fnn.errors.TrainingError`) the loss or the params
            became NaN or infinite; the error names the epoch and step and carries the
            last finite params.
        FitInterrupted: (a ``KeyboardInterrupt``) Ctrl-C; carries the work done.
    """
    _check_kinds("fit", model=model, loss=loss, optimizer=optimizer)
    n_epochs = _positive_int("epochs", epochs)
    size = _positive_int("batch_size", batch_size)
    _positive_int("eval_batch_size", eval_batch_size)
    n = _length((x, t), "fit(x, t)")
    if loss.accepts_labels:
        _check_labels(model, x, t, "fit(t)")
    if eval_data is not None:
        if not isinstance(eval_data, tuple) or len(eval_data) != 2:
            raise ValueError("fit: `eval_data` must be a pair (x_eval, t_eval)")
        _length(eval_data, "fit(eval_data)")
        if loss.accepts_labels:
            _check_labels(model, eval_data[0], eval_data[1], "fit(eval_data)")
    if drop_last and size > n:
        raise ValueError(f"fit: batch_size={size} with drop_last=True leaves no batch of {n} samples")
    _check_finite_start(params, state)
    step_fn = value_grad_and_state(model, loss)
    if opt_state is None:
        opt_state = optimizer.init(params)
    stochastic = model.stochastic
    steps_per_epoch = math.ceil(n / size) if not drop_last else n // size

    from tqdm.auto import tqdm

    # `done` is the last completed step as one value, (params, opt_state, state, steps into the
    # epoch, history), stored in one assignment, so a Ctrl-C sees a step whole or not at all.
    done: tuple[Any, Any, Any, int, History] = (params, opt_state, state, 0, History())
    start: tuple[Any, Any, Any, int, History] = done
    values: list[Any] = []
    try:
        with tqdm(total=n_epochs, disable=not progress, unit="epoch", desc="fit") as bar:
            for epoch in range(n_epochs):
                shuffle_key, layer_key = random.split(random.fold_in(key, epoch))
                start = done  # finite: checked before training or at the end of the last epoch
                params, opt_state, state, _, history = done
                values, sizes = [], []  # the step losses stay on the device until the epoch ends
                for i, (xb, tb) in enumerate(
                    batches(shuffle_key, x, t, batch_size=size, shuffle=shuffle, drop_last=drop_last)
                ):
                    step_key = random.fold_in(layer_key, i) if stochastic else None
                    value, grads, new_state = step_fn(params, state, xb, tb, key=step_key)
                    values.append(value)
                    sizes.append(int(xb.shape[0]))
                    updates, new_opt_state = optimizer.update(grads, opt_state, params)
                    done = (apply_updates(params, updates), new_opt_state, new_state, i + 1, history)
                    params, opt_state, state, _, _ = done
                readout = _to_host(values + _finite_flags(params, state))  # the epoch's one host copy
                losses = readout[: len(values)]
                _check_epoch(losses, readout[len(values) :], start, (epoch + 1, n_epochs), steps_per_epoch)
                row = {"loss": _mean_loss(loss, losses, sizes)}
                if eval_data is not None:
                    row.update(_evaluation_row(model, loss, params, state, eval_data, eval_batch_size))
                if train_accuracy:
                    acc = accuracy(model, params, x, t, state=state, batch_size=eval_batch_size)
                    row["train_accuracy"] = acc
                done = (params, opt_state, state, 0, _extended(history, row))
                bar.set_postfix(_postfix(row), refresh=False)
                bar.update(1)
    except KeyboardInterrupt:
        raise _interrupted(done, start, values, n_epochs) from None
    params, opt_state, state, _, history = done
    return FitResult(params, opt_state, history, state)


def _check_finite_start(params: Any, state: Any) -> None:
    """Raise :class:`TrainingError` if the initial params or model state hold NaN or infinity."""
    if _to_host(_finite_flags(params, state)).all():
        return
    bad = [
        f"{name}{where}"
        for name, value in (("params", params), ("state", state))
        for where, leaf in zip(tree.paths(value), tree.leaves(value))
        if getattr(leaf, "dtype", None) is not None
        and leaf.dtype.kind in "fc"
        and not np.isfinite(to_numpy(leaf)).all()
    ]
    raise TrainingError(
        f"fit: the initial {', '.join(bad)} hold NaN or infinite values; "
        "start from finite ones (model.init(...), or the .params of a DivergenceError)"
    )


def _evaluation_row(
    model: Layer[Any], loss: Loss, params: Any, state: Any, data: tuple[Array, Array], batch_size: int
) -> dict[str, float]:
    e = evaluate(model, params, *data, loss=loss, state=state, batch_size=batch_size)
    return {"eval_loss": e.loss} if e.accuracy is None else {"eval_loss": e.loss, "eval_accuracy": e.accuracy}


def _check_epoch(
    losses: Any, finite: Any, start: tuple[Any, ...], epoch_of: tuple[int, int], steps_per_epoch: int
) -> None:
    """Raise :class:`DivergenceError` unless the host ``losses`` and end-of-epoch ``finite`` flags hold."""
    epoch, n_epochs = epoch_of
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size:
        step = int(bad[0]) + 1
        what = f"the loss became {losses[bad[0]]} at epoch {epoch}/{n_epochs}, step {step}/{steps_per_epoch}"
    elif not finite.all():
        step = steps_per_epoch
        what = (
            f"the parameters became NaN or infinite in epoch {epoch}/{n_epochs} although every "
            f"loss was finite (the last step's update, {steps_per_epoch}/{steps_per_epoch}, overflowed)"
        )
    else:
        return
    params, opt_state, state, _, history = start
    raise DivergenceError(
        f"fit: {what}; the error's .params hold the parameters this epoch started from. Lower the "
        "learning rate or clip the gradients "
        "(fnn.optim.chain(fnn.optim.clip_by_global_norm(1.0), optimizer))",
        epoch=epoch,
        step=step,
        params=params,
        opt_state=opt_state,
        state=state,
        history=history,
    )


def _extended(history: History, row: dict[str, float]) -> History:
    """``history`` with one more epoch: each metric of ``row`` appended to its field."""
    return attrs.evolve(history, **{name: (*getattr(history, name), value) for name, value in row.items()})


def _postfix(row: dict[str, float]) -> dict[str, float]:
    short = {"loss": "loss", "eval_loss": "eval_loss", "eval_accuracy": "eval_acc", "train_accuracy": "acc"}
    return {short[name]: value for name, value in row.items()}


def _last_good(
    done: tuple[Any, Any, Any, int, History], start: tuple[Any, Any, Any, int, History], values: list[Any]
) -> tuple[Any, Any, Any, int, History]:
    """``done`` (the last completed step) if its losses and state are finite, else ``start`` (its epoch's)."""
    params, _, state, steps, _ = done
    readout = _to_host(values[:steps] + _finite_flags(params, state))
    return done if np.isfinite(readout).all() and readout[steps:].all() else start


def _interrupted(
    done: tuple[Any, Any, Any, int, History],
    start: tuple[Any, Any, Any, int, History],
    values: list[Any],
    n_epochs: int,
) -> FitInterrupted:
    """The :class:`FitInterrupted` of a Ctrl-C after step ``done``, carrying :func:`_last_good`'s state."""
    params, opt_state, state, steps, history = _last_good(done, start, values)
    return FitInterrupted(
        f"fit: interrupted in epoch {history.epochs + 1}/{n_epochs} after {steps} of its steps; "
        "the exception's .result holds the params, optimizer state and model state after the last "
        f"completed step, and the history of the {history.epochs} completed epochs",
        result=FitResult(params, opt_state, history, state),
        epoch=history.epochs,
        step=steps,
    )
