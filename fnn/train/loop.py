"""The ``fit`` loop: minibatch steps with keys, progress, history, callbacks, evaluation and checkpoints.

Everything is pure: :func:`fit` takes params, optimizer state and a key and
returns new ones. Randomness comes only from ``key``: epoch ``e`` (counted from
0) shuffles with ``split(fold_in(key, e))[0]`` and feeds random layers
(dropout) at its ``i``-th step (from 0) with ``fold_in(split(fold_in(key, e))[1], i)``,
so the same key and data give the same history and params, bit for bit, and a run
resumed from a :class:`~fnn.train.Checkpoint` draws what the whole run would have.
"""

from __future__ import annotations

import itertools
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generic, Iterable, Iterator, Literal, Sequence

import attrs
import numpy as np
from typing_extensions import TypeVar

from fnn import distributed, optim, random, tree
from fnn.backend import array_module, is_cupy_array, to_numpy
from fnn.backprop import value_grad_and_state
from fnn.distributed.communicator import Communicator, check_communicator
from fnn.errors import ArgumentError, StateError, TrainingError
from fnn.layers.core import Layer
from fnn.losses import Loss
from fnn.optim.base import GradientTransformation
from fnn.optim.owned import owned_step
from fnn.train._common import brief as _brief
from fnn.train._common import check_kinds as _check_kinds
from fnn.train._common import finite_flags as _finite_flags
from fnn.train._common import positive_int as _positive_int
from fnn.train._common import to_host as _to_host
from fnn.train._parallel import agreed_stop, data_parallel_step, epoch_readout, quiet_callbacks, shared_state
from fnn.train.batching import epoch_batches, length
from fnn.train.callbacks import Callback, EarlyStopping, Event, Stop
from fnn.train.checkpoints import Checkpoint, Checkpoints
from fnn.train.evaluation import accuracy, check_labels, evaluate, mean_loss
from fnn.train.history import History
from fnn.typing import Array

__all__ = ["DivergenceError", "FitInterrupted", "FitResult", "fit"]

P = TypeVar("P")
S = TypeVar("S", default=Any)  # the optimizer state's type

Batch = tuple[Any, ...]
"""A batch of a stream: ``(x_b, t_b)``."""
Source = Callable[[random.Key, int], Iterator[Batch]]
"""One epoch's batches from its shuffle key, from the given batch on."""


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
        history: The run's :class:`History` (per step and per epoch).
        state: The model's new state (batch-norm statistics), ``None`` for models
            without state. Not part of the unpacking: read ``result.state``.
        stopped: Why training ended early (a callback's :class:`~fnn.train.Stop`
            reason, or the divergence with ``on_nonfinite="stop"``), ``None`` if it ran
            all its epochs.
    """

    params: P
    opt_state: S
    history: History
    state: Any = None
    stopped: str | None = None

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
        history: The history up to ``params`` (the epochs completed before).
        checkpoint: The checkpoint file of ``params`` written before propagating (with
            ``fit(..., checkpoints=...)``), else ``None``.
    """

    checkpoint: Path | None = None

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
            after the last completed step (all finite), and the history up to it
            (the epochs whose metrics were complete, and every step's loss).
        epoch: The number of completed epochs in ``result.history`` (from 0).
        step: How many steps of the next epoch (epoch ``epoch + 1``) are already
            applied to ``result.params``: 0 when the interrupt came between epochs
            (or when that epoch's steps are not all finite, and the params it started
            from are kept), the number of steps per epoch when it came while the
            epoch was being evaluated.
        checkpoint: The checkpoint file written before propagating (with
            ``fit(..., checkpoints=...)``), else ``None``.
    """

    def __init__(
        self, message: str, *, result: FitResult[Any], epoch: int, step: int, checkpoint: Path | None = None
    ) -> None:
        super().__init__(message)
        self.result = result
        self.epoch = epoch
        self.step = step
        self.checkpoint = checkpoint


def fit(
    model: Layer[P],
    loss: Loss,
    optimizer: GradientTransformation[S],
    params: P,
    x: Array | None = None,
    t: Array | None = None,
    *,
    key: random.Key,
    epochs: int,
    batch_size: int | None = None,
    data: Iterable[Batch] | Callable[[random.Key], Iterable[Batch]] | None = None,
    steps_per_epoch: int | None = None,
    state: Any = None,
    opt_state: S | None = None,
    eval_data: tuple[Array, Array] | None = None,
    eval_batch_size: int = 1000,
    eval_every: int | None = None,
    eval_samples: int | None = None,
    train_accuracy: bool = False,
    shuffle: bool = True,
    drop_last: bool = False,
    progress: bool | None = None,
    callbacks: Sequence[Callback[Any]] = (),
    checkpoints: Checkpoints | None = None,
    resume: Checkpoint | None = None,
    on_nonfinite: Literal["raise", "stop"] = "raise",
    observe: str | None = None,
    comm: Communicator | None = None,
) -> FitResult[P, S]:
    """Train ``model`` by minibatch gradient descent until epoch ``epochs``.

    Each step is ``(ℓ, g, state) = value_grad_and_state(model, loss)(θ, state, x_b, t_b)``,
    ``(u, s) = optimizer.update(g, s, θ)``, ``θ ← θ + u``. The data is either arrays
    ``x, t`` (shuffled into batches of ``batch_size`` each epoch) or ``data``, a
    stream of ``(x_b, t_b)`` batches. After each epoch the mean training loss
    (and, with ``eval_data``, the evaluation loss and accuracy) goes into the
    :class:`History`, with every step's loss. The same key and data give the same
    result, bit for bit (see the module docstring for how keys are derived).

    **Streams.** ``data`` may be a callable ``epoch_key -> iterable of batches``
    (called once per epoch with the epoch's shuffle key: a pure pipeline, resumed
    exactly), an iterable that can be iterated again (a list: one pass per epoch),
    or an iterator such as a generator (consumed across epochs: give
    ``steps_per_epoch``). ``steps_per_epoch`` ends an epoch after that many batches.

    **Reporting.** ``progress`` shows a tqdm bar that ticks per step with the
    running loss of the epoch and the last evaluation; ``None`` shows it only on a
    terminal, ``False`` never. :class:`~fnn.train.BookLog` (a callback) prints the
    second book's trainer lines.

    **Callbacks** get an :class:`~fnn.train.Event` after every step and every epoch and
    may return a :class:`~fnn.train.Stop` (:class:`~fnn.train.EarlyStopping` does).

    **Learning rate from a metric.** With ``observe="eval_loss"`` (or any metric of
    the history) each reading of that metric goes to :func:`fnn.optim.observe`, which
    a :func:`fnn.optim.reduce_on_plateau` in the optimizer turns into a smaller step
    (the second book's BetterRnnlm divides the learning rate by 4 when the
    validation perplexity worsens: ``reduce_on_plateau(factor=0.25, patience=0)``).

    **Checkpoints and resume.** With ``checkpoints`` a :class:`~fnn.train.Checkpoint`
    is written every ``checkpoints.every`` epochs and when Ctrl-C or an error ends
    the run. ``resume=fnn.train.load_checkpoint(path)`` continues that run (with
    its key, which must be ``key``) up to epoch ``epochs``: the result equals the
    uninterrupted run's, bit for bit on the same backend. ``params`` then only
    says where the arrays go (their structure must match; CuPy params put the
    checkpoint's on the GPU).

    **Ctrl-C** raises :class:`FitInterrupted`, a ``KeyboardInterrupt`` whose
    ``result`` is the :class:`FitResult` after the last completed step (params,
    optimizer state, model state) with the history up to it; its ``epoch`` and
    ``step`` say where that is. No step is ever half applied.

    **Many processes.** With ``comm``, a :class:`~fnn.distributed.Communicator` of
    ``R`` ranks (``fnn.distributed.communicator()`` under ``mpiexec``), every rank
    runs ``fit`` with the same arguments and data and trains the same params: they
    start from rank 0's (broadcast), each step takes each rank's rows of the same
    global batch and averages the gradients by sample count, so the run follows
    the single-process one on the same global batches (to rounding). The history
    (losses, evaluation) is the same on every rank; only rank 0 shows progress,
    prints log lines (callbacks' ``write``) and writes checkpoints; ``resume`` is
    taken from rank 0 (other ranks may pass ``None``). Batch norm normalises with
    each rank's own batch statistics; its running statistics are averaged over
    the ranks. See ``docs/distributed.md``.

    **Finite results.** The initial params are checked once, the losses and the
    params (and model state) once per epoch, in the single copy to the host each
    epoch makes: ``fit`` never returns NaN or infinite params, and a
    :class:`DivergenceError` always carries finite ones.

    Args:
        model: The model (any :class:`~fnn.layers.core.Layer`, stateful or not).
        loss: The loss, an :class:`~fnn.losses.Loss` such as ``fnn.losses.softmax_cross_entropy``.
        optimizer: The optimizer, e.g. ``fnn.optim.sgd(1.0)``.
        params: The initial parameters (``model.init(...)``); never modified.
        x: Training inputs ``(N, …)`` (without ``data``).
        t: Training targets ``(N, …)``: integer labels ``(N,)`` or one-hot for categorical losses.
        key: The key of shuffling and of random layers.
        epochs: The epoch to train until (a positive integer; with ``resume``, the
            run's total, not the number of epochs still to do).
        batch_size: Samples per step (a positive integer; with ``x, t`` only).
        data: A stream of batches instead of ``x, t`` (see above).
        steps_per_epoch: Batches per epoch of ``data`` (default: until it ends).
        state: The model state (``model.init_state(in_shape)``) for stateful models.
        opt_state: The optimizer state to start from (default ``optimizer.init(params)``).
        eval_data: ``(x_eval, t_eval)`` evaluated after every epoch (or every ``eval_every`` steps).
        eval_batch_size: Samples per forward pass in evaluation.
        eval_every: Evaluate every this many steps instead of after every epoch.
        eval_samples: Evaluate on the first ``eval_samples`` samples only (of
            ``eval_data`` and, for ``train_accuracy``, of ``x``), to keep epochs short
            (the first book's ``evaluate_sample_num_per_epoch``).
        train_accuracy: Whether to also measure the accuracy on the training data
            after every epoch (one extra forward pass over it; ``x, t`` only).
        shuffle: Whether to reshuffle ``x, t`` every epoch.
        drop_last: Whether to drop a last batch smaller than ``batch_size``.
        progress: Whether to show a tqdm progress bar (``None``: on a terminal only).
        callbacks: :class:`~fnn.train.Callback` values called at step and epoch ends.
        checkpoints: Where and how often to write checkpoints.
        resume: A checkpoint of this run to continue from.
        on_nonfinite: ``"raise"`` a :class:`DivergenceError` when the loss or the
            params become NaN or infinite, or ``"stop"`` and return the last finite
            params with the error's message in ``stopped``.
        observe: The metric (``"eval_loss"``, ``"loss"``, ...) given to
            :func:`fnn.optim.observe` after each reading, for a plateau schedule.
        comm: The communicator of a data-parallel run (see above); ``None`` is this
            process alone (:data:`fnn.distributed.SINGLE_PROCESS`).

    Returns:
        A :class:`FitResult`; ``params, opt_state, history = fit(...)`` unpacks it,
        ``result.state`` holds the new model state of stateful models and
        ``result.stopped`` why training ended early.

    Raises:
        ArgumentError: ``model`` is not a layer, ``loss`` not a :class:`~fnn.losses.Loss`
            (a plain function), ``optimizer`` not a ``GradientTransformation`` (a string),
            a callback not a :class:`~fnn.train.Callback` or ``checkpoints`` not a
            :class:`~fnn.train.Checkpoints`.
        ValueError: a count (``epochs``, ``batch_size``, ...) is not a positive
            integer, both or neither of ``x, t`` and ``data`` are given, an option
            that needs arrays comes with a stream, an evaluation option comes without
            ``eval_data``, or ``observe`` or an :class:`~fnn.train.EarlyStopping` names a
            metric the run does not record.
        ShapeError: ``x`` and ``t`` (or the evaluation pair) differ in length or are empty.
        DataError: a label is out of range for the model's outputs.
        StateError: ``resume`` comes with another key or an ``opt_state``, or its
            params do not have ``params``' structure.
        TrainingError: the initial params or model state hold NaN or infinite values.
        DivergenceError: (a :class:`~fnn.errors.TrainingError`) the loss or the params
            became NaN or infinite; the error names the epoch and step and carries the
            last finite params.
        FitInterrupted: (a ``KeyboardInterrupt``) Ctrl-C; carries the work done.
        ArgumentError: ``comm`` is not a :class:`~fnn.distributed.Communicator`.
        DistributedError: the ranks disagree on the settings, the data's size or the
            structure of the params or states (raised on every rank, before any step).
    """
    _check_kinds("fit", model=model, loss=loss, optimizer=optimizer)
    comm = check_communicator("fit", comm)
    n_epochs = _positive_int("epochs", epochs)
    _positive_int("eval_batch_size", eval_batch_size)
    for name, value in (("eval_every", eval_every), ("eval_samples", eval_samples)):
        if value is not None:
            _positive_int(name, value)
    if eval_every is not None and eval_data is None:
        raise ValueError(
            "fit: `eval_every` says how often to evaluate `eval_data`; pass eval_data=(x, t) too"
        )
    if eval_samples is not None and eval_data is None and not train_accuracy:
        raise ValueError(
            "fit: `eval_samples` limits the evaluation of `eval_data` (and train_accuracy); "
            "pass eval_data=(x, t) or train_accuracy=True too"
        )
    if on_nonfinite not in ("raise", "stop"):
        raise ValueError(f"fit: `on_nonfinite` must be 'raise' or 'stop', got {on_nonfinite!r}")
    if eval_data is not None:
        eval_data = _checked_eval_data(model, loss, eval_data, eval_samples)
    source: Source
    per_epoch: int | None
    if data is None:
        source, per_epoch = _array_source(
            model, loss, x, t, batch_size, shuffle, drop_last, steps_per_epoch, comm
        )
    else:
        source, per_epoch = _stream_source(x, t, batch_size, train_accuracy, data, steps_per_epoch, comm)
    _check_hooks(callbacks, checkpoints)
    metrics = _metrics_of(loss, eval_data is not None, train_accuracy)
    if observe is not None:
        _check_metric("observe", observe, metrics)
    for callback in callbacks:
        if isinstance(callback, EarlyStopping):
            _check_metric("EarlyStopping.monitor", callback.monitor, metrics)
    if comm.size > 1:
        resume = comm.broadcast_object(resume)  # rank 0's checkpoint
    start = _starting_point(optimizer, params, state, opt_state, key, resume, n_epochs)
    if comm.size > 1:
        start = _shared_start(comm, start, key, n_epochs, per_epoch, x, eval_data)
        callbacks = callbacks if comm.rank == 0 else quiet_callbacks(callbacks)
        progress = progress if comm.rank == 0 else False
    loop = _Loop(
        model,
        loss,
        optimizer,
        source,
        per_epoch,
        n_epochs,
        key,
        eval_data,
        eval_batch_size,
        eval_every,
        (x, t, eval_samples) if train_accuracy else None,
        tuple(callbacks),
        checkpoints,
        on_nonfinite,
        observe,
        comm,
    )
    return loop.run(start, progress)


def _shared_start(
    comm: Communicator,
    start: _Start,
    key: random.Key,
    n_epochs: int,
    per_epoch: int | None,
    x: Any,
    eval_data: tuple[Array, Array] | None,
) -> _Start:
    """``start`` with rank 0's values on every rank, once the ranks agree on what they run."""
    distributed.agree(
        comm,
        "fit",
        key=random.key_data(key).tobytes(),
        epochs=n_epochs,
        steps_per_epoch=per_epoch,
        samples=None if x is None else int(x.shape[0]),
        eval_samples=None if eval_data is None else int(eval_data[0].shape[0]),
        completed_epochs=start.epoch,
    )
    return attrs.evolve(
        start,
        params=distributed.broadcast(comm, start.params),
        opt_state=distributed.broadcast(comm, start.opt_state),
        state=distributed.broadcast(comm, start.state),
    )


def _check_hooks(callbacks: object, checkpoints: object) -> None:
    """Raise :class:`ArgumentError` unless ``callbacks`` lists callbacks and ``checkpoints`` is a policy."""
    if not isinstance(callbacks, (list, tuple)) or not all(isinstance(c, Callback) for c in callbacks):
        raise ArgumentError(
            f"fit: `callbacks` must be a list of fnn.train.Callback values, got {_brief(callbacks)}; "
            "a function of your own goes in a Callback subclass's on_step or on_epoch"
        )
    if checkpoints is not None and not isinstance(checkpoints, Checkpoints):
        raise ArgumentError(
            f"fit: `checkpoints` must be an fnn.train.Checkpoints, got {_brief(checkpoints)}; "
            "write fnn.train.Checkpoints(directory)"
        )


def _metrics_of(loss: Loss, evaluated: bool, train_accuracy: bool) -> tuple[str, ...]:
    """The metrics a run records: the loss, and what evaluation and ``train_accuracy`` add."""
    names = ["loss"]
    if evaluated:
        names += ["eval_loss", "eval_accuracy"] if loss.accepts_labels else ["eval_loss"]
    if train_accuracy:
        names.append("train_accuracy")
    return tuple(names)


def _check_metric(what: str, name: str, metrics: tuple[str, ...]) -> None:
    """A ``ValueError`` unless the run records the metric ``name`` (else it would never be read)."""
    if name not in metrics:
        raise ValueError(
            f"fit: {what} is {name!r}, which this run does not record (it records {', '.join(metrics)}); "
            "pass eval_data=(x_eval, t_eval) for the eval_ metrics, train_accuracy=True for train_accuracy"
        )


def _checked_eval_data(
    model: Layer[Any], loss: Loss, eval_data: tuple[Array, Array], samples: int | None
) -> tuple[Array, Array]:
    if not isinstance(eval_data, tuple) or len(eval_data) != 2:
        raise ValueError("fit: `eval_data` must be a pair (x_eval, t_eval)")
    length(eval_data, "fit(eval_data)")
    if samples is not None:
        eval_data = (eval_data[0][:samples], eval_data[1][:samples])
    if loss.accepts_labels:
        check_labels(model, eval_data[0], eval_data[1], "fit(eval_data)")
    return eval_data


def _array_source(
    model: Layer[Any],
    loss: Loss,
    x: Array | None,
    t: Array | None,
    batch_size: int | None,
    shuffle: bool,
    drop_last: bool,
    steps_per_epoch: int | None,
    comm: Communicator,
) -> tuple[Source, int]:
    """The epochs of batches of ``x, t`` (this rank's rows of them) and their number of steps."""
    if x is None or t is None:
        raise ValueError("fit: give the training data as arrays `x, t` or as a stream `data=`")
    if batch_size is None:
        raise ValueError("fit: `batch_size` is needed with arrays `x, t` (samples per step)")
    if steps_per_epoch is not None:
        raise ValueError("fit: `steps_per_epoch` is for streams (`data=`); an epoch of `x, t` is one pass")
    size = _positive_int("batch_size", batch_size)
    n = length((x, t), "fit(x, t)")
    if loss.accepts_labels:
        check_labels(model, x, t, "fit(t)")
    if drop_last and size > n:
        raise ValueError(f"fit: batch_size={size} with drop_last=True leaves no batch of {n} samples")
    arrays = (x, t)
    part = (comm.rank, comm.size)

    def source(shuffle_key: random.Key, skip: int) -> Iterator[Batch]:
        return epoch_batches(
            shuffle_key, arrays, size, shuffle=shuffle, drop_last=drop_last, skip=skip, part=part
        )

    return source, (n // size if drop_last else math.ceil(n / size))


def _stream_source(
    x: Array | None,
    t: Array | None,
    batch_size: int | None,
    train_accuracy: bool,
    data: Iterable[Batch] | Callable[[random.Key], Iterable[Batch]],
    steps_per_epoch: int | None,
    comm: Communicator,
) -> tuple[Source, int | None]:
    """The epochs of a stream of batches, at most ``steps_per_epoch`` each (this rank's rows of each
    batch), and that number."""
    given = [name for name, v in (("x", x), ("t", t), ("batch_size", batch_size)) if v is not None]
    if train_accuracy:
        given.append("train_accuracy")
    if given:
        raise ValueError(
            f"fit: `data` is a stream of batches; {', '.join(given)} go(es) with arrays `x, t` only"
        )
    per_epoch = None if steps_per_epoch is None else _positive_int("steps_per_epoch", steps_per_epoch)
    if callable(data):
        pipeline = data

        def source(shuffle_key: random.Key, skip: int) -> Iterator[Batch]:
            return itertools.islice(iter(pipeline(shuffle_key)), skip, per_epoch)

    elif iter(data) is data:  # an iterator: one stream across epochs, which continues where it was
        stream = iter(data)

        def source(shuffle_key: random.Key, skip: int) -> Iterator[Batch]:
            return itertools.islice(stream, None if per_epoch is None else per_epoch - skip)

    elif isinstance(data, Iterable):
        passes = data

        def source(shuffle_key: random.Key, skip: int) -> Iterator[Batch]:
            return itertools.islice(iter(passes), skip, per_epoch)

    else:
        raise ValueError(
            f"fit: `data` must be an iterable of batches or a callable, got {type(data).__name__}"
        )
    if comm.size > 1:
        whole = source

        def source(shuffle_key: random.Key, skip: int) -> Iterator[Batch]:
            return (distributed.shard(comm, batch) for batch in whole(shuffle_key, skip))

    return source, per_epoch


@attrs.frozen
class _Start:
    """Where a run starts: the values, completed epochs, the history and the unfinished epoch's sizes."""

    params: Any
    opt_state: Any
    state: Any
    epoch: int
    history: History
    epoch_sizes: tuple[int, ...]


def _starting_point(
    optimizer: GradientTransformation[Any],
    params: Any,
    state: Any,
    opt_state: Any,
    key: random.Key,
    resume: Checkpoint | None,
    n_epochs: int,
) -> _Start:
    """The values, counters and history ``fit`` starts from: the arguments', or the checkpoint's placed."""
    if resume is None:
        _check_finite_start(params, state)
        opt_state = optimizer.init(params) if opt_state is None else opt_state
        return _Start(params, opt_state, state, 0, History(), ())
    if not isinstance(resume, Checkpoint):
        raise StateError(
            f"fit: `resume` must be an fnn.train.Checkpoint, got {type(resume).__name__}; "
            "read one with fnn.train.load_checkpoint(path)"
        )
    if resume.key != key:
        raise StateError(f"fit: `resume` is a checkpoint of a run with {resume.key}, not {key}; pass its key")
    if opt_state is not None:
        raise StateError("fit: `resume` brings its own optimizer state; do not pass `opt_state` with it")
    if resume.epoch + (resume.epoch_step > 0) > n_epochs:
        raise ValueError(
            f"fit: `epochs`={n_epochs}, but the checkpoint is past epoch {resume.epoch}; with `resume`, "
            "`epochs` is the run's total, so give at least the epochs the checkpoint has begun"
        )
    if state is None and resume.state is not None:
        raise StateError(
            "fit: the checkpoint holds a model state; pass state=model.init_state(in_shape) with it "
            "(it says where the state's arrays go)"
        )
    placed = _placed(resume.params, params, "params")
    placed_state = _placed(resume.state, state, "state")
    opt_like = optimizer.init(placed)
    _check_finite_start(placed, placed_state)
    return _Start(
        placed,
        _placed(resume.opt_state, opt_like, "opt_state"),
        placed_state,
        resume.epoch,
        resume.history,
        resume.epoch_sizes,
    )


def _placed(loaded: Any, like: Any, name: str) -> Any:
    """``loaded``'s leaves as arrays where ``like``'s are (on the GPU for CuPy); same structure required."""
    if tree.structure(loaded) != tree.structure(like):
        raise StateError(
            f"fit: the checkpoint's {name} do not have the structure of the `{name}` given; "
            "resume with the model and optimizer the checkpoint was written with"
        )
    return tree.map(lambda a, b: array_module(b).asarray(a) if is_cupy_array(b) else a, loaded, like)


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


# `done`, the last completed step as one value stored in one assignment, so a Ctrl-C sees a step whole
# or not at all: (params, opt_state, state, history, steps into the epoch, new steps), where `history`
# holds the step losses but those of the `new` last steps, which are still on the device.
_Done = tuple[Any, Any, Any, History, int, int]


@attrs.frozen
class _Loop:
    """The settings of one :func:`fit` call; :meth:`run` trains."""

    model: Layer[Any]
    loss: Loss
    optimizer: GradientTransformation[Any]
    source: Source
    per_epoch: int | None
    n_epochs: int
    key: random.Key
    eval_data: tuple[Array, Array] | None
    eval_batch_size: int
    eval_every: int | None
    train_data: tuple[Any, Any, int | None] | None  # (x, t, samples) for the training accuracy
    callbacks: tuple[Callback[Any], ...]
    checkpoints: Checkpoints | None
    on_nonfinite: str
    monitor: str | None  # the metric fed to optim.observe
    comm: Communicator

    def run(self, start: _Start, progress: bool | None) -> FitResult[Any, Any]:
        """Train from ``start`` to epoch :attr:`n_epochs` (or a callback's stop)."""
        done: _Done = (start.params, start.opt_state, start.state, start.history, len(start.epoch_sizes), 0)
        last = [done]  # the last completed step, kept up to date by _epoch for a Ctrl-C or an error
        values: list[Any] = []
        at_start, sizes = done, list(start.epoch_sizes)
        memos = [c.init() for c in self.callbacks]
        bar = _Bar.open(progress, self, start)
        stopped: Stop | None = None
        try:
            for epoch in range(start.epoch, self.n_epochs):
                at_start, values, sizes = last[0], [], sizes if epoch == start.epoch else []
                stopped = self._epoch(epoch, last, values, sizes, memos, bar)
                if stopped is not None:
                    break
        except KeyboardInterrupt:
            if self.comm.size > 1:  # the other ranks may be anywhere: no collective, no checkpoint
                raise
            good, good_sizes = _last_good(last[0], at_start, values, sizes)
            path = self._save(good, good_sizes)
            raise _interrupted(good, self.n_epochs, path) from None
        except DivergenceError as error:
            error.checkpoint = self._save(at_start, sizes[: at_start[4]])
            if self.on_nonfinite == "raise":
                raise
            return FitResult(error.params, error.opt_state, error.history, error.state, str(error))
        except Exception:
            if self.comm.size == 1:
                self._save(*_last_good(last[0], at_start, values, sizes))
            raise
        finally:
            if bar is not None:
                bar.close()
        params, opt_state, state, history, _, _ = last[0]
        if stopped is not None and stopped.restore is not None:
            params, state, opt_state = stopped.restore
        return FitResult(params, opt_state, history, state, None if stopped is None else stopped.reason)

    def _epoch(
        self,
        epoch: int,
        last: list[_Done],
        values: list[Any],
        sizes: list[int],
        memos: list[Any],
        bar: _Bar | None,
    ) -> Stop | None:
        """Epoch ``epoch`` (from 0) from ``last[0]``, which it keeps at the last completed step.

        ``values`` and ``sizes`` gather the epoch's step losses (on the device) and batch sizes.
        """
        at_start = done = last[0]
        shuffle_key, layer_key = random.split(random.fold_in(self.key, epoch))
        params, opt_state, state, history, i, _ = done
        if bar is not None:
            bar.epoch(epoch + 1)
        base = history.steps - i  # steps before this epoch
        parallel = self.comm.size > 1
        step_fn = value_grad_and_state(self.model, self.loss)
        if parallel:
            step_fn = data_parallel_step(step_fn, self.comm)
        step = owned_step(self.optimizer)
        stochastic = self.model.stochastic
        stop: Stop | None = None
        for xb, tb in self.source(shuffle_key, i):
            step_key = random.fold_in(layer_key, i) if stochastic else None
            value, grads, new_state = step_fn(params, state, xb, tb, key=step_key)
            values.append(value)
            sizes.append(_batch_length(xb))
            params, new_opt_state = step(grads, opt_state, params)  # the loop gives its gradients up
            del grads
            i += 1
            opt_state, state = new_opt_state, new_state
            done = last[0] = (params, opt_state, state, history, i, len(values))
            if bar is not None:
                bar.step(values)
            metrics: dict[str, float] = {}
            if self.eval_every is not None and (base + i) % self.eval_every == 0:
                if parallel:
                    state = shared_state(self.comm, state)
                metrics = self._evaluate(params, state)
                history = _with_evaluation(history, metrics, base + i)
                opt_state = self._observed(opt_state, metrics)
                done = last[0] = (params, opt_state, state, history, i, len(values))
                if bar is not None:
                    bar.show(metrics)
            if self.callbacks:
                event = Event(epoch + 1, base + i, i, self.per_epoch, value, metrics, *_views(done), history)
                stop = _call(self.callbacks, "on_step", memos, event)
                if parallel:
                    stop = agreed_stop(self.comm, stop)
                if stop is not None:
                    break
        if i == 0 and stop is None:  # (a resumed epoch may have no step left, only its metrics)
            raise ValueError(
                f"fit: epoch {epoch + 1} got no batches from `data`; an iterator is used up by its first "
                "pass: give `steps_per_epoch`, or a callable that makes each epoch's batches"
            )
        if parallel:
            state = shared_state(self.comm, state)
            losses, finite, sizes[len(sizes) - len(values) :] = epoch_readout(
                self.comm, self.loss, values, sizes[len(sizes) - len(values) :], params, state
            )
        else:
            readout = _to_host(values + _finite_flags(params, state))  # the epoch's one host copy
            losses, finite = readout[: len(values)], readout[len(values) :]
        _check_epoch(losses, finite, at_start, (epoch + 1, self.n_epochs), self.per_epoch)
        history = attrs.evolve(history, step_loss=history.step_loss + tuple(losses.tolist()))
        done = last[0] = (params, opt_state, state, history, i, 0)
        if stop is not None and i != self.per_epoch:
            return stop  # an unfinished epoch: its steps are recorded, not its metrics
        row = {"loss": mean_loss(self.loss, np.asarray(history.step_loss[base:]), sizes)}
        if self.train_data is not None:
            x, t, samples = self.train_data
            row["train_accuracy"] = accuracy(
                self.model,
                params,
                x[:samples],
                t[:samples],
                state=state,
                batch_size=self.eval_batch_size,
                comm=self.comm,
            )
        evaluated = self.eval_data is not None and self.eval_every is None
        metrics = self._evaluate(params, state) if evaluated else {}
        history = _with_evaluation(_with_epoch(history, row, base + i), metrics, base + i)
        row.update(metrics)
        opt_state = self._observed(opt_state, row)
        done = last[0] = (params, opt_state, state, history, 0, 0)
        if bar is not None:
            bar.show(row)
        if self.callbacks and stop is None:
            event = Event(epoch + 1, base + i, i, self.per_epoch, row["loss"], row, *_views(done), history)
            stop = _call(self.callbacks, "on_epoch", memos, event)
            if parallel:
                stop = agreed_stop(self.comm, stop)
        if self.checkpoints is not None and (epoch + 1) % self.checkpoints.every == 0:
            self._save(done, ())
        return stop

    def _evaluate(self, params: Any, state: Any) -> dict[str, float]:
        if self.eval_data is None:
            return {}
        x, t = self.eval_data
        e = evaluate(
            self.model,
            params,
            x,
            t,
            loss=self.loss,
            state=state,
            batch_size=self.eval_batch_size,
            comm=self.comm,
        )
        metrics = {"eval_loss": e.loss}
        if e.accuracy is not None:
            metrics["eval_accuracy"] = e.accuracy
        return metrics

    def _observed(self, opt_state: Any, metrics: dict[str, float]) -> Any:
        """``opt_state`` after :func:`fnn.optim.observe` of the monitored metric, if ``metrics`` has it."""
        if self.monitor is None or self.monitor not in metrics:
            return opt_state
        return optim.observe(opt_state, metrics[self.monitor])

    def _save(self, done: _Done, sizes: Sequence[int]) -> Path | None:
        """Write ``done`` (no step losses left on the device) as a checkpoint, if checkpoints are wanted
        and this is rank 0 (the only rank that writes them)."""
        if self.checkpoints is None or self.comm.rank != 0:
            return None
        params, opt_state, state, history, steps, _ = done
        return self.checkpoints.save(
            Checkpoint(
                params, opt_state, state, self.key, history.epochs, steps, history, tuple(sizes[:steps])
            )
        )


def _batch_length(x: Any) -> int:
    """The number of samples of a batch's inputs (an array, or a pytree of arrays)."""
    shape = getattr(x, "shape", None)
    return int((shape if shape is not None else tree.leaves(x)[0].shape)[0])


def _with_evaluation(history: History, metrics: dict[str, float], step: int) -> History:
    """``history`` with the evaluation ``metrics`` made after ``step`` steps (none if empty)."""
    if not metrics:
        return history
    return _extended(history, {**metrics, "eval_step": step})


def _with_epoch(history: History, row: dict[str, float], step: int) -> History:
    """``history`` with one more epoch's ``row``, ended after ``step`` steps."""
    return _extended(history, {**row, "epoch_end": step})


def _extended(history: History, row: dict[str, float]) -> History:
    """``history`` with each value of ``row`` appended to its field."""
    return attrs.evolve(history, **{name: (*getattr(history, name), value) for name, value in row.items()})


def _call(callbacks: tuple[Callback[Any], ...], hook: str, memos: list[Any], event: Event) -> Stop | None:
    """Call ``hook`` of every callback with its memo, keep the new memos; the first :class:`Stop`, if any."""
    stop = None
    for i, callback in enumerate(callbacks):
        memos[i], signal = getattr(callback, hook)(memos[i], event)
        stop = stop or signal
    return stop


def _views(done: _Done) -> tuple[Any, Any, Any]:
    """``(params, state, opt_state)`` of ``done`` with NumPy arrays as read-only views, for callbacks."""
    return tree.map(_read_only, (done[0], done[2], done[1]))


def _read_only(leaf: Any) -> Any:
    if not isinstance(leaf, np.ndarray):
        return leaf
    view = leaf.view()
    view.flags.writeable = False
    return view


def _check_epoch(
    losses: Any, finite: Any, start: _Done, epoch_of: tuple[int, int], per_epoch: int | None
) -> None:
    """Raise :class:`DivergenceError` unless the host ``losses`` and end-of-epoch ``finite`` flags hold."""
    epoch, n_epochs = epoch_of
    prior = start[4]
    steps = prior + len(losses)
    total = per_epoch if per_epoch is not None else "?"
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size:
        step = prior + int(bad[0]) + 1
        what = f"the loss became {losses[bad[0]]} at epoch {epoch}/{n_epochs}, step {step}/{total}"
    elif not finite.all():
        step = steps
        what = (
            f"the parameters became NaN or infinite in epoch {epoch}/{n_epochs} although every "
            f"loss was finite (the last step's update, {steps}/{total}, overflowed)"
        )
    else:
        return
    params, opt_state, state, history, _, _ = start
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


def _last_good(
    done: _Done, start: _Done, values: list[Any], sizes: list[int]
) -> tuple[_Done, tuple[int, ...]]:
    """The last good state: ``done`` with its step losses on the host if they and its state are
    finite, else ``start`` (its epoch's); with the batch sizes of its epoch's steps."""
    params, opt_state, state, history, steps, new = done
    readout = _to_host(values[:new] + _finite_flags(params, state))
    if np.isfinite(readout).all() and readout[new:].all():
        history = attrs.evolve(history, step_loss=history.step_loss + tuple(readout[:new].tolist()))
        return (params, opt_state, state, history, steps, 0), tuple(sizes[:steps])
    return start, tuple(sizes[: start[4]])


def _interrupted(done: _Done, n_epochs: int, checkpoint: Path | None) -> FitInterrupted:
    """The :class:`FitInterrupted` of a Ctrl-C, carrying the last good ``done``."""
    params, opt_state, state, history, steps, _ = done
    return FitInterrupted(
        f"fit: interrupted in epoch {history.epochs + 1}/{n_epochs} after {steps} of its steps; "
        "the exception's .result holds the params, optimizer state and model state after the last "
        f"completed step, and the history up to it ({history.epochs} completed epochs)",
        result=FitResult(params, opt_state, history, state),
        epoch=history.epochs,
        step=steps,
        checkpoint=checkpoint,
    )


class _Bar:
    """The tqdm bar of a run: one tick per step, the epoch's running loss and the last evaluation.

    The one mutable object of the loop, as a terminal display is; it never feeds back into training.
    """

    REFRESH_S = 0.5  # how often the running loss is read from the device
    SHORT = {"eval_loss": "eval_loss", "eval_accuracy": "eval_acc", "train_accuracy": "acc"}

    def __init__(self, bar: Any, n_epochs: int) -> None:
        self.bar, self.n_epochs = bar, n_epochs
        self.shown: dict[str, float] = {}
        self.due = 0.0

    @classmethod
    def open(cls, progress: bool | None, loop: _Loop, start: _Start) -> _Bar | None:
        """A bar for ``loop`` from ``start``, or ``None`` when it is off (``None``: not a terminal)."""
        if progress is False:
            return None
        from tqdm.auto import tqdm

        total = None if loop.per_epoch is None else loop.per_epoch * loop.n_epochs
        disable = None if progress is None else not progress  # None: tqdm's test for a terminal
        bar = tqdm(total=total, initial=start.history.steps, disable=disable, unit="step", dynamic_ncols=True)
        if bar.disable:
            bar.close()
            return None
        return cls(bar, loop.n_epochs)

    def epoch(self, epoch: int) -> None:
        """Name the epoch (from 1) in the bar."""
        self.bar.set_description(f"epoch {epoch}/{self.n_epochs}", refresh=False)

    def step(self, values: list[Any]) -> None:
        """One more step; the running mean of the epoch's ``values`` when it is due."""
        self.bar.update(1)
        now = time.monotonic()
        if now >= self.due:  # the running loss costs a host copy: at most every REFRESH_S seconds
            self.due = now + self.REFRESH_S
            self.bar.set_postfix({"loss": float(_to_host(values).mean()), **self.shown}, refresh=False)

    def show(self, metrics: dict[str, float]) -> None:
        """Keep the evaluation in ``metrics`` in the bar from now on; show its ``loss`` (an epoch's) once."""
        self.shown.update({self.SHORT[k]: v for k, v in metrics.items() if k in self.SHORT})
        loss = {"loss": metrics["loss"]} if "loss" in metrics else {}
        self.bar.set_postfix({**loss, **self.shown}, refresh=False)

    def close(self) -> None:
        self.bar.close()
