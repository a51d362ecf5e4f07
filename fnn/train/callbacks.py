"""Callbacks of :func:`fnn.fit`: pure hooks at step and epoch boundaries that can stop training.

A callback is a frozen value with three methods, none of which changes anything
in place: ``init()`` gives its memo (what it remembers, ``None`` if nothing),
``on_step(memo, event)`` and ``on_epoch(memo, event)`` take the memo and an
:class:`Event` and return the new memo with a :class:`Stop` (to end training) or
``None``. ``fit`` threads each callback's memo from call to call; it takes nothing
else back, so a callback cannot change the params, the optimizer state or the
counters of the run. (The event's NumPy params are read-only views.)

>>> import fnn
>>> x, t = fnn.datasets.spiral(fnn.random.key(0), n_per_class=20)
>>> model = fnn.sequential(fnn.Dense(10), fnn.sigmoid, fnn.Dense(3))
>>> params = model.init(fnn.random.key(1), (2,))
>>> @attrs.frozen
... class StopAfter(Callback[None]):
...     steps: int
...     def on_step(self, memo: None, event: Event) -> tuple[None, Stop | None]:
...         return memo, Stop(f"{event.step} steps") if event.step == self.steps else None
>>> result = fnn.fit(model, fnn.losses.softmax_cross_entropy, fnn.optim.sgd(1.0), params, x, t,
...                  key=fnn.random.key(2), epochs=5, batch_size=30, progress=False,
...                  callbacks=[StopAfter(3)])
>>> result.stopped, result.history.steps, result.history.epochs
('3 steps', 3, 1)
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Generic, Literal, Mapping

import attrs
from typing_extensions import TypeVar

from fnn.train._common import non_negative, positive, to_host
from fnn.train.history import History

__all__ = ["BookLog", "Callback", "EarlyStopping", "EpochLog", "Event", "NonFiniteCheck", "Stop"]

M = TypeVar("M", default=Any)  # a callback's memo


def print_line(line: str) -> None:
    """Print ``line`` to standard output, keeping a tqdm progress bar of ``fit`` intact below it."""
    from tqdm.auto import tqdm

    tqdm.write(line)


@attrs.frozen
class Event:
    """What a callback sees at a step or epoch boundary (values of the run, never to be written to).

    Attributes:
        epoch: The epoch the boundary belongs to (from 1).
        step: Steps done since the start of the run (from 1; a resumed run continues the count).
        epoch_step: Steps done in this epoch (from 1).
        steps_per_epoch: Steps in an epoch, ``None`` for a stream of unknown length.
        loss: At a step, that step's loss as a 0-d array on the model's device (reading
            it, ``float(event.loss)``, waits for the step: read it only when needed);
            at an epoch, the epoch's mean loss as a float.
        metrics: The evaluation made at this boundary (``eval_loss``, ``eval_accuracy``),
            and at an epoch the epoch's row of the :class:`History` (``loss``, ...);
            empty at a step without evaluation.
        params: The params after the step.
        state: The model state after the step.
        opt_state: The optimizer state after the step.
        history: The history of the run so far (its step losses reach the last epoch's end).
    """

    epoch: int
    step: int
    epoch_step: int
    steps_per_epoch: int | None
    loss: Any
    metrics: Mapping[str, float]
    params: Any
    state: Any
    opt_state: Any
    history: History


@attrs.frozen
class Stop:
    """A callback's request to end training after this boundary.

    Attributes:
        reason: Why, for the :class:`~fnn.train.FitResult`'s ``stopped``.
        restore: ``(params, state, opt_state)`` to return instead of the last ones
            (early stopping's best), or ``None``.
    """

    reason: str
    restore: tuple[Any, Any, Any] | None = None


class Callback(Generic[M]):
    """The base of callbacks: every hook does nothing; subclasses override the ones they need.

    Subclasses are frozen attrs classes holding only their settings; what changes
    during a run lives in the memo that ``fit`` threads through the hooks.
    """

    def init(self) -> M:
        """The memo at the start of a run (``None`` here)."""
        return None  # type: ignore[return-value]  # M defaults to Any; subclasses with a memo override

    def on_step(self, memo: M, event: Event) -> tuple[M, Stop | None]:
        """Called after every step: returns the new memo and a :class:`Stop` or ``None``."""
        return memo, None

    def on_epoch(self, memo: M, event: Event) -> tuple[M, Stop | None]:
        """Called after every epoch (after its evaluation): the new memo and a :class:`Stop` or ``None``."""
        return memo, None


_Best = tuple[float, int, "tuple[Any, Any, Any] | None"]  # (best value, evaluations since, best values)


@attrs.frozen
class EarlyStopping(Callback[_Best]):
    """Stop when the monitored metric has not improved for ``patience`` evaluations of it.

    The metric is read wherever it appears in an :class:`Event`'s ``metrics``: at
    epoch ends (``"loss"``, ``"train_accuracy"`` and, evaluated per epoch,
    ``"eval_loss"``, ``"eval_accuracy"``) or at the steps ``fit`` evaluates with
    ``eval_every``. A value improves when it is below ``best - min_delta``
    (``mode="min"``) or above ``best + min_delta`` (``mode="max"``).

    Attributes:
        monitor: The metric's name.
        patience: How many readings without improvement are tolerated (``>= 0``); the next stops.
        mode: ``"min"`` for losses, ``"max"`` for accuracies.
        min_delta: The least change that counts as an improvement.
        restore_best: Whether ``fit`` returns the params (model state, optimizer
            state) of the best reading instead of the last ones.

    >>> import fnn
    >>> stop = EarlyStopping("eval_loss", patience=1)
    >>> memo = stop.init()
    >>> def reading(value: float) -> Event:
    ...     return Event(1, 1, 1, 1, 0.0, {"eval_loss": value}, "params", None, None, History())
    >>> for value in (3.0, 2.0, 2.5, 2.1):
    ...     memo, signal = stop.on_epoch(memo, reading(value))
    >>> signal
    Stop(reason='eval_loss did not improve on 2.0 for 2 readings', restore=('params', None, None))
    """

    monitor: str = "eval_loss"
    patience: int = attrs.field(default=3, validator=non_negative)
    mode: Literal["min", "max"] = "min"
    min_delta: float = 0.0
    restore_best: bool = True

    def __attrs_post_init__(self) -> None:
        if self.mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: `mode` must be 'min' or 'max', got {self.mode!r}")

    def init(self) -> _Best:
        return (math.inf if self.mode == "min" else -math.inf, 0, None)

    def on_step(self, memo: _Best, event: Event) -> tuple[_Best, Stop | None]:
        return self._read(memo, event)

    def on_epoch(self, memo: _Best, event: Event) -> tuple[_Best, Stop | None]:
        return self._read(memo, event)

    def _read(self, memo: _Best, event: Event) -> tuple[_Best, Stop | None]:
        if self.monitor not in event.metrics:
            return memo, None
        value = event.metrics[self.monitor]
        best, waited, kept = memo
        better = value < best - self.min_delta if self.mode == "min" else value > best + self.min_delta
        if better:
            snapshot = (event.params, event.state, event.opt_state) if self.restore_best else None
            return (value, 0, snapshot), None
        waited += 1
        if waited <= self.patience:
            return (best, waited, kept), None
        reason = f"{self.monitor} did not improve on {best} for {waited} readings"
        return (best, waited, kept), Stop(reason, kept)


_Interval = tuple[float, "tuple[Any, ...]"]  # (start time, the losses since the last line, on the device)


@attrs.frozen
class BookLog(Callback[_Interval]):
    """Print the second book's trainer lines: ``| epoch 1 |  iter 41 / 351 | time 3[s] | loss 2.30``.

    As the book's ``Trainer`` (and ``RnnlmTrainer`` with ``perplexity=True``), a line
    is written at iterations ``1, every + 1, 2·every + 1, …`` of each epoch with the
    mean loss of the steps since the previous line (across epoch ends), or its
    perplexity ``exp(mean loss)``, and the seconds since the run started. The losses
    are read from the device only when a line is written.

    Attributes:
        every: The interval in iterations (the book's ``eval_interval``).
        perplexity: Whether to print ``perplexity`` instead of ``loss``.
        write: Where lines go (by default to standard output, above a progress bar if one is shown).
    """

    every: int = attrs.field(default=20, validator=positive)
    perplexity: bool = False
    write: Callable[[str], None] = attrs.field(default=print_line, repr=False)

    def init(self) -> _Interval:
        return (time.monotonic(), ())

    def on_step(self, memo: _Interval, event: Event) -> tuple[_Interval, Stop | None]:
        start, losses = memo
        losses = (*losses, event.loss)
        if (event.epoch_step - 1) % self.every:
            return (start, losses), None
        mean = float(to_host(list(losses)).mean())
        name, value = ("perplexity", math.exp(mean)) if self.perplexity else ("loss", mean)
        total = event.steps_per_epoch if event.steps_per_epoch is not None else "?"
        self.write(
            f"| epoch {event.epoch} |  iter {event.epoch_step} / {total} | "
            f"time {int(time.monotonic() - start)}[s] | {name} {value:.2f}"
        )
        return (start, ()), None


@attrs.frozen
class EpochLog(Callback[float]):
    """Print one line per epoch with every metric of its :class:`History` row and the time so far.

    ``epoch 2 | time 0.4[s] | loss 0.3567 | eval_loss 0.3012 | eval_accuracy 0.9120``:
    the metrics in the order ``fit`` records them, with four decimals.

    Attributes:
        write: Where lines go (by default to standard output, above a progress bar if one is shown).
    """

    write: Callable[[str], None] = attrs.field(default=print_line, repr=False)

    def init(self) -> float:
        return time.monotonic()

    def on_epoch(self, memo: float, event: Event) -> tuple[float, Stop | None]:
        metrics = "".join(f" | {name} {value:.4f}" for name, value in event.metrics.items())
        self.write(f"epoch {event.epoch} | time {time.monotonic() - memo:.1f}[s]{metrics}")
        return memo, None


@attrs.frozen
class NonFiniteCheck(Callback[None]):
    """Read the step loss every ``every`` steps and end the epoch at the first NaN or infinity.

    ``fit`` checks the losses and params once per epoch, in the epoch's one copy to
    the host; on long epochs that finds a divergence late. With this callback the
    epoch ends at the first non-finite loss it reads, and ``fit``'s policy applies
    at once: a :class:`~fnn.train.DivergenceError` (or, with
    ``on_nonfinite="stop"``, the last finite params). Each reading waits for its
    step, so ``every`` trades speed for promptness on a GPU.

    Attributes:
        every: The interval in steps.
    """

    every: int = attrs.field(default=1, validator=positive)

    def on_step(self, memo: None, event: Event) -> tuple[None, Stop | None]:
        if event.step % self.every or math.isfinite(float(event.loss)):
            return memo, None
        return memo, Stop(f"a non-finite loss at step {event.step}")
