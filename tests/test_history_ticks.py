"""``History.plot`` labels whole epochs (and steps) only, however short the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pytest

import fnn


@pytest.mark.parametrize("per", ["epoch", "step"])
@pytest.mark.parametrize("epochs", [1, 3, 40])
def test_history_plot_ticks_are_whole_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, epochs: int, per: Literal["epoch", "step"]
) -> None:
    from matplotlib.figure import Figure

    saved: list[Any] = []
    savefig = Figure.savefig

    def keep(self: Any, *args: Any, **kwargs: Any) -> None:
        savefig(self, *args, **kwargs)  # drawing settles the ticks
        saved.append(self)

    monkeypatch.setattr(Figure, "savefig", keep)
    curve = tuple(1 / (e + 1) for e in range(epochs))
    history = fnn.History(
        loss=curve, eval_loss=curve, eval_accuracy=curve, train_accuracy=curve,
        step_loss=curve, epoch_end=tuple(range(1, epochs + 1)), eval_step=tuple(range(1, epochs + 1)),
    )  # fmt: skip
    history.plot(tmp_path / "h.png", per=per)
    (figure,) = saved
    assert len(figure.axes) == 2  # loss and accuracy
    for ax in figure.axes:
        low, high = ax.get_xlim()
        ticks = [float(t) for t in ax.get_xticks() if low <= t <= high]
        assert ticks and all(t.is_integer() for t in ticks), (per, epochs, ticks)
