"""What :func:`fnn.fit` records: every step's loss, every epoch's metrics and every evaluation.

>>> h = History(loss=(0.75, 0.25), step_loss=(1.0, 0.5, 0.25, 0.25), epoch_end=(2, 4))
>>> h.epochs, h.steps
(2, 4)
>>> h.join(h).epoch_end
(2, 4, 6, 8)
>>> h.smoothed_step_loss(2)
(1.0, 0.75, 0.375, 0.25)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import attrs
import numpy as np

from fnn.files import atomic_write

__all__ = ["History"]

_STEP_FIELDS = ("epoch_end", "eval_step")  # step counts, shifted when histories are joined


@attrs.frozen
class History:
    """Per-step and per-epoch metrics of :func:`fnn.fit`; epoch entry ``i`` belongs to epoch ``i + 1``.

    Steps are counted from the start of the run (a resumed run continues the count).

    Attributes:
        loss: Mean training loss of each epoch (weighted by batch size, so it is the
            mean over the samples seen during the epoch, with the params of each step;
            for ``rmse``, the root of the mean squared error over those samples).
        eval_loss: Loss on the evaluation data at each evaluation (after each epoch,
            or every ``eval_every`` steps); empty without evaluation data.
        eval_accuracy: Accuracy on the evaluation data at each evaluation (empty
            without evaluation data or for losses that are not categorical).
        train_accuracy: Accuracy on the training data after each epoch (empty unless
            ``fit(..., train_accuracy=True)``).
        step_loss: The training loss of every step, in order (``step_loss[s - 1]`` is step ``s``'s).
        epoch_end: The number of steps done when each epoch ended.
        eval_step: The number of steps done at each evaluation (entry ``i`` goes with
            ``eval_loss[i]``).
    """

    loss: tuple[float, ...] = ()
    eval_loss: tuple[float, ...] = ()
    eval_accuracy: tuple[float, ...] = ()
    train_accuracy: tuple[float, ...] = ()
    step_loss: tuple[float, ...] = ()
    epoch_end: tuple[int, ...] = ()
    eval_step: tuple[int, ...] = ()

    @property
    def epochs(self) -> int:
        """The number of completed epochs."""
        return len(self.loss)

    @property
    def steps(self) -> int:
        """The number of steps recorded."""
        return len(self.step_loss)

    def to_dict(self) -> dict[str, list[float]]:
        """The history as plain lists, for JSON or pandas: keys are the attribute names.

        >>> History(loss=(0.5, 0.25)).to_dict()["loss"]
        [0.5, 0.25]
        """
        return {field.name: list(getattr(self, field.name)) for field in attrs.fields(History)}

    def join(self, later: History) -> History:
        """This history followed by ``later``'s, the history of a run continued from where this one ended.

        Each field is concatenated; ``later``'s step counts (``epoch_end``,
        ``eval_step``) are shifted by :attr:`steps`, so they count from this run's start.
        """
        shift = self.steps
        return History(
            **{
                field.name: getattr(self, field.name)
                + tuple(
                    v + shift if field.name in _STEP_FIELDS else v for v in getattr(later, field.name)
                )
                for field in attrs.fields(History)
            }
        )

    def smoothed_step_loss(self, window: int) -> tuple[float, ...]:
        """The step losses averaged over a trailing window of ``window`` steps.

        Entry ``s`` is ``(1/m) Σ_{j=s-m+1..s} step_loss[j]`` with ``m = min(window, s + 1)``
        (the first entries average what there is).

        Raises:
            ValueError: ``window`` is not a positive integer.
        """
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ValueError(
                f"History.smoothed_step_loss: `window` must be a positive integer, got {window!r}"
            )
        sums = np.concatenate(([0.0], np.cumsum(np.asarray(self.step_loss, dtype=np.float64))))
        ends = np.arange(1, self.steps + 1)
        starts = np.maximum(ends - window, 0)
        return tuple(float(v) for v in (sums[ends] - sums[starts]) / (ends - starts))

    def plot(
        self,
        path: str | os.PathLike[str],
        *,
        per: Literal["epoch", "step"] = "epoch",
        smooth: int = 1,
        title: str | None = None,
    ) -> Path:
        """Draw the loss curves (and accuracy curves, if any) to a PNG file.

        ``per="epoch"`` puts the epoch on the x axis (integer ticks): the training
        loss of each epoch, evaluations at their epoch (a fraction between epochs
        when evaluated every ``k`` steps). ``per="step"`` puts the step on it: the
        loss of every step (averaged over ``smooth`` steps, see
        :meth:`smoothed_step_loss`), evaluations at their step.

        Uses matplotlib without pyplot (no window, no global state); install it with
        ``pip install 'fnn[plot]'``. The file is written atomically (a temporary file
        beside it, then a rename), so an existing file is replaced whole or not at all.

        Args:
            path: The PNG file to write.
            per: ``"epoch"`` or ``"step"``, the x axis.
            smooth: The window of the step losses' trailing mean (``per="step"``).
            title: A title over the figure.

        Returns:
            ``path`` as a :class:`~pathlib.Path`.

        Raises:
            ImportError: matplotlib is not installed.
            ValueError: the history is empty, or ``per`` is neither ``"epoch"`` nor ``"step"``.
        """
        try:
            from matplotlib.figure import Figure
            from matplotlib.ticker import MaxNLocator
        except ImportError:
            raise ImportError(
                "History.plot needs matplotlib, which is not installed; "
                "install it with `pip install 'fnn[plot]'` or `pip install matplotlib`"
            ) from None
        if per not in ("epoch", "step"):
            raise ValueError(f"History.plot: `per` must be 'epoch' or 'step', got {per!r}")
        if not (self.loss if per == "epoch" else self.step_loss):
            raise ValueError(f"History.plot: the history is empty (no completed {per})")
        curves = self._curves(per, smooth)
        accuracies = [c for c in curves if c[0] == "accuracy"]
        figure = Figure(figsize=(10 if accuracies else 5, 4), layout="constrained")
        axes = figure.subplots(1, 2 if accuracies else 1, squeeze=False)[0]
        for panel, name, x, y in curves:
            axes[0 if panel == "loss" else 1].plot(x, y, label=name, marker="o" if len(x) == 1 else None)
        axes[0].set(xlabel=per, ylabel="loss")
        if accuracies:
            axes[1].set(xlabel=per, ylabel="accuracy", ylim=(0, 1.02))
        for ax in axes:  # whole epochs (steps) only, even when one is all there is
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
            ax.legend()
        if title:
            figure.suptitle(title)
        target = Path(path)
        with atomic_write(target) as f:  # atomic, as every file fnn writes
            figure.savefig(f, format="png", dpi=100)
        return target

    def _curves(self, per: str, smooth: int) -> list[tuple[str, str, Any, tuple[float, ...]]]:
        """``(panel, label, x, y)`` of every curve the history holds, on the ``per`` axis."""
        epochs = np.arange(1, self.epochs + 1)
        curves: list[tuple[str, str, Any, tuple[float, ...]]]
        if per == "epoch":
            curves = [("loss", "train", epochs, self.loss)] if self.loss else []
            evaluations = max(len(self.eval_loss), len(self.eval_accuracy))  # no eval_step when built by hand
            evaluated = self._epoch_of(self.eval_step) if self.eval_step else epochs[:evaluations]
        else:
            curves = [("loss", "train", np.arange(1, self.steps + 1), self.smoothed_step_loss(smooth))]
            evaluated = np.asarray(self.eval_step)
        if self.eval_loss:
            curves.append(("loss", "eval", evaluated, self.eval_loss))
        if self.train_accuracy:
            ends = epochs if per == "epoch" else np.asarray(self.epoch_end)
            curves.append(("accuracy", "train", ends[: len(self.train_accuracy)], self.train_accuracy))
        if self.eval_accuracy:
            curves.append(("accuracy", "eval", evaluated, self.eval_accuracy))
        return curves

    def _epoch_of(self, steps: tuple[int, ...]) -> Any:
        """The (fractional) epoch at which each of ``steps`` steps were done."""
        return np.interp(steps, (0, *self.epoch_end), np.arange(self.epochs + 1))
