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
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Iterator

from typing_extensions import TypeVar

import attrs
import numpy as np

from fnn import random
from fnn.backend import array_module, backend, is_cupy_array, to_numpy
from fnn.backprop import value_grad_and_state
from fnn.errors import DataError, ShapeError, StateError, TrainingError
from fnn.files import atomic_write
from fnn.layers.core import Layer
from fnn.losses import Loss
from fnn.optim.base import GradientTransformation, apply_updates
from fnn.typing import Array

__all__ = ["DivergenceError", "Evaluation", "FitResult", "History", "accuracy", "batches", "evaluate", "fit"]

P = TypeVar("P")
S = TypeVar("S", default=Any)  # the optimizer state's type


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}")
    return int(value)  # NumPy integers (a size from an array's shape) are welcome


def _length(arrays: tuple[Array, ...], names: str) -> int:
    if not arrays:
        raise ValueError(f"{names}: give at least one array")
    lengths = []
    for a in arrays:
        if getattr(a, "ndim", 0) < 1:
            raise ShapeError(f"{names}: every array needs a batch axis, got shape {getattr(a, 'shape', a)!r}")
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
            mean over the samples seen during the epoch, with the params of each step).
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
    """The training loss became NaN or infinite; :func:`fit` stopped.

    Attributes:
        epoch: The epoch of the bad step (from 1).
        step: The step within that epoch (from 1).
        params: The params the failing epoch started from (every loss before that
            epoch was finite). ``fit`` checks the losses once per epoch, when they
            come to the host together, so that a GPU step never waits for a copy.
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


@attrs.frozen
class Evaluation:
    """The result of :func:`evaluate`: mean ``loss`` and ``accuracy`` (``None`` unless categorical)."""

    loss: float
    accuracy: float | None


def _labels(t: Array) -> Array:
    """Integer labels from integer labels ``(N,)`` or one-hot / probability rows ``(N, K)``."""
    if t.dtype.kind in "iu":
        return t
    result: Array = t.argmax(axis=-1)
    return result


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


def _to_host(values: list[Any]) -> Any:
    """Device scalars (losses, counts) as one float64 NumPy vector: a single copy to the host."""
    if not values:
        return np.zeros(0)
    return to_numpy(array_module(values[0]).stack(values)).astype(np.float64)


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
        t: Integer labels ``(N,)`` or one-hot targets ``(N, K)``.
        state: The model state (batch norm), ``None`` for models without.
        batch_size: Samples per forward pass.

    Returns:
        The accuracy as a float in ``[0, 1]``.

    Raises:
        ShapeError: mismatched lengths, empty data, or outputs that are not ``(N, K)``.
        DataError: a label is out of range.

    >>> import numpy as np, fnn
    >>> model = fnn.sequential(fnn.Dense(2, w_init=fnn.initializers.zeros()))
    >>> params = model.init(fnn.random.key(0), (1,))
    >>> accuracy(model, params, np.ones((4, 1), "float32"), np.array([0, 0, 1, 0]))
    0.75
    """
    n = _length((x, t), "accuracy(x, t)")
    _check_labels(model, x, t, "accuracy")
    size = _positive_int("batch_size", batch_size)
    counts = []  # on the device until the end
    for xb, tb in _slices((x, t), size, n):
        y = _predict(model, params, state, xb)
        if y.ndim != 2:
            raise ShapeError(f"accuracy: expected model outputs of shape (N, K), got {tuple(y.shape)}")
        counts.append((y.argmax(axis=1) == _labels(tb)).sum())
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
    """The mean loss (and, for categorical losses, the accuracy) over ``x``, computed in batches.

    ``loss = (1/N) Σ_batches N_b · ℓ(model(x_b), t_b)``: fnn's losses average over
    the batch, so this equals the loss of the whole data set at once.

    Args:
        model: The model (inference mode: ``apply``, or ``apply_stateful`` with ``state``).
        params: Its parameters.
        x: Inputs ``(N, …)``.
        t: Targets: as the loss takes them (labels ``(N,)`` or one-hot for categorical losses).
        loss: The loss.
        state: The model state, ``None`` for models without.
        batch_size: Samples per forward pass.

    Returns:
        An :class:`Evaluation` with ``loss`` and ``accuracy`` (``None`` unless
        ``loss.accepts_labels``, i.e. a categorical loss).

    Raises:
        ShapeError: mismatched lengths, empty data or targets that do not fit the outputs.
        DataError: a label is out of range.

    >>> import numpy as np, fnn
    >>> model = fnn.sequential(fnn.Dense(2, w_init=fnn.initializers.zeros()))
    >>> params = model.init(fnn.random.key(0), (1,))
    >>> e = evaluate(model, params, np.ones((4, 1), "float32"), np.array([0, 0, 1, 0]),
    ...              loss=fnn.losses.softmax_cross_entropy)
    >>> round(e.loss, 4), e.accuracy
    (0.6931, 0.75)
    """
    n = _length((x, t), "evaluate(x, t)")
    if loss.accepts_labels:
        _check_labels(model, x, t, "evaluate")
    size = _positive_int("batch_size", batch_size)
    values, sizes, counts = [], [], []  # on the device until the end
    for xb, tb in _slices((x, t), size, n):
        y = _predict(model, params, state, xb)
        values.append(loss(y, tb))
        sizes.append(int(xb.shape[0]))
        if loss.accepts_labels:
            counts.append((y.argmax(axis=1) == _labels(tb)).sum())
    total = float(_to_host(values) @ np.asarray(sizes, dtype=np.float64))
    return Evaluation(total / n, float(_to_host(counts).sum()) / n if loss.accepts_labels else None)


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

    Args:
        model: The model (any :class:`~fnn.layers.core.Layer`, stateful or not).
        loss: The loss, e.g. ``fnn.losses.softmax_cross_entropy``.
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
        ValueError: ``epochs``, ``batch_size`` or ``eval_batch_size`` is not a positive integer.
        ShapeError: ``x`` and ``t`` (or the evaluation pair) differ in length or are empty.
        DataError: a label is out of range for the model's outputs.
        DivergenceError: (a :class:`~fnn.errors.TrainingError`) the loss became NaN or
            infinite; the error names the epoch and step and carries the last params
            with a finite loss.
    """
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
    step_fn = value_grad_and_state(model, loss)
    if opt_state is None:
        opt_state = optimizer.init(params)
    stochastic = model.stochastic
    metrics: dict[str, list[float]] = {f.name: [] for f in attrs.fields(History)}
    steps_per_epoch = math.ceil(n / size) if not drop_last else n // size

    from tqdm.auto import tqdm

    with tqdm(total=n_epochs, disable=not progress, unit="epoch", desc="fit") as bar:
        for epoch in range(n_epochs):
            shuffle_key, layer_key = random.split(random.fold_in(key, epoch))
            start = (params, opt_state, state)  # every loss before this epoch was finite
            values, sizes = [], []  # the step losses stay on the device until the epoch ends
            for i, (xb, tb) in enumerate(
                batches(shuffle_key, x, t, batch_size=size, shuffle=shuffle, drop_last=drop_last)
            ):
                step_key = random.fold_in(layer_key, i) if stochastic else None
                value, grads, new_state = step_fn(params, state, xb, tb, key=step_key)
                values.append(value)
                sizes.append(int(xb.shape[0]))
                updates, opt_state = optimizer.update(grads, opt_state, params)
                params = apply_updates(params, updates)
                state = new_state
            losses = _to_host(values)
            bad = np.flatnonzero(~np.isfinite(losses))
            if bad.size:
                raise DivergenceError(
                    f"fit: the loss became {losses[bad[0]]} at epoch {epoch + 1}/{n_epochs}, step "
                    f"{bad[0] + 1}/{steps_per_epoch}; the error's .params hold the parameters this "
                    "epoch started from. Lower the learning rate or clip the gradients "
                    "(fnn.optim.chain(fnn.optim.clip_by_global_norm(1.0), optimizer))",
                    epoch=epoch + 1,
                    step=int(bad[0]) + 1,
                    params=start[0],
                    opt_state=start[1],
                    state=start[2],
                    history=History(**{k: tuple(m) for k, m in metrics.items()}),
                )
            metrics["loss"].append(float(losses @ np.asarray(sizes, dtype=np.float64)) / sum(sizes))
            postfix = {"loss": metrics["loss"][-1]}
            if eval_data is not None:
                e = evaluate(model, params, *eval_data, loss=loss, state=state, batch_size=eval_batch_size)
                metrics["eval_loss"].append(e.loss)
                postfix["eval_loss"] = e.loss
                if e.accuracy is not None:
                    metrics["eval_accuracy"].append(e.accuracy)
                    postfix["eval_acc"] = e.accuracy
            if train_accuracy:
                acc = accuracy(model, params, x, t, state=state, batch_size=eval_batch_size)
                metrics["train_accuracy"].append(acc)
                postfix["acc"] = acc
            bar.set_postfix(postfix, refresh=False)
            bar.update(1)
    history = History(**{k: tuple(m) for k, m in metrics.items()})
    return FitResult(params, opt_state, history, state)
