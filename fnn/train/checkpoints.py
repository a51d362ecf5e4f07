"""Checkpoints: everything a run of :func:`fnn.fit` needs to continue exactly, in one file.

A :class:`Checkpoint` holds the params, the model state, the optimizer state, the
run's key, its counters (completed epochs, steps into the next) and its
:class:`~fnn.train.History`. :func:`save_checkpoint` writes it atomically with
:func:`fnn.io.save` (the key as :func:`fnn.random.key_data`);
``fit(..., resume=load_checkpoint(path))`` continues the run where it stopped, bit
for bit: training 4 epochs equals training 2, saving, loading (in another process)
and training to epoch 4. :class:`Checkpoints` asks ``fit`` to write them
periodically, keeping the last few, and on Ctrl-C or an error.

>>> import tempfile, fnn
>>> x, t = fnn.datasets.spiral(fnn.random.key(0), n_per_class=20)
>>> model = fnn.sequential(fnn.Dense(10), fnn.sigmoid, fnn.Dense(3))
>>> params = model.init(fnn.random.key(1), (2,))
>>> folder = tempfile.mkdtemp()
>>> run = dict(key=fnn.random.key(2), batch_size=30, progress=False)
>>> sgd = fnn.optim.sgd(1.0)
>>> _ = fnn.fit(model, fnn.losses.softmax_cross_entropy, sgd, params, x, t, epochs=2,
...             checkpoints=Checkpoints(folder), **run)
>>> latest_checkpoint(folder).name
'checkpoint-epoch0002-step00000004.npz'
>>> resumed = fnn.fit(model, fnn.losses.softmax_cross_entropy, sgd, params, x, t, epochs=4,
...                   resume=load_checkpoint(latest_checkpoint(folder)), **run)
>>> whole = fnn.fit(model, fnn.losses.softmax_cross_entropy, sgd, params, x, t, epochs=4, **run)
>>> resumed.history == whole.history
True
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from fnn import io, random
from fnn.errors import FormatError
from fnn.train._common import positive
from fnn.train.history import History

__all__ = ["Checkpoint", "Checkpoints", "latest_checkpoint", "load_checkpoint", "save_checkpoint"]

_VERSION = 1
_NAME = re.compile(r"checkpoint-epoch(\d+)-step(\d+)\.npz")


@attrs.frozen
class Checkpoint:
    """The state of a run of :func:`fnn.fit` after a step: pass it as ``fit(..., resume=...)``.

    Attributes:
        params: The params.
        opt_state: The optimizer state.
        state: The model state (``None`` for models without).
        key: The run's key (the one ``fit`` was given).
        epoch: Completed epochs.
        epoch_step: Steps already done in the next epoch (0 between epochs).
        history: The run's history; its ``step_loss`` includes the ``epoch_step``
            steps of the unfinished epoch.
        epoch_sizes: The batch sizes of those steps (for the epoch's mean loss).
    """

    params: Any
    opt_state: Any
    state: Any
    key: random.Key
    epoch: int
    epoch_step: int = 0
    history: History = History()
    epoch_sizes: tuple[int, ...] = ()

    @property
    def step(self) -> int:
        """Steps done since the start of the run."""
        return self.history.steps


def save_checkpoint(path: str | os.PathLike[str], checkpoint: Checkpoint) -> Path:
    """Write ``checkpoint`` to ``path`` atomically (a ``.npz`` of :func:`fnn.io.save`).

    Returns:
        The file's path.

    Raises:
        StructureError: the params or a state hold something :func:`fnn.io.save` cannot store.
    """
    history: dict[str, Any] = {
        field.name: np.asarray(getattr(checkpoint.history, field.name), dtype=_dtype(field.name))
        for field in attrs.fields(History)
    }
    return io.save(
        path,
        {
            "fnn_checkpoint": _VERSION,
            "params": checkpoint.params,
            "opt_state": checkpoint.opt_state,
            "state": checkpoint.state,
            "key": random.key_data(checkpoint.key),
            "counters": np.array([checkpoint.epoch, checkpoint.epoch_step], dtype=np.int64),
            "epoch_sizes": np.asarray(checkpoint.epoch_sizes, dtype=np.int64),
            "history": history,
        },
    )


def _dtype(field: str) -> type:
    return np.int64 if field in ("epoch_end", "eval_step") else np.float64


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (arrays on the host; ``fit`` places them).

    Raises:
        FormatError: the file is not an fnn checkpoint (or not an fnn file at all).
    """
    saved = io.load(path)
    if not isinstance(saved, dict) or saved.get("fnn_checkpoint") != _VERSION:
        raise FormatError(
            f"load_checkpoint({path}): not an fnn checkpoint (version {_VERSION}); "
            "write one with fnn.train.save_checkpoint or fit(..., checkpoints=...)"
        )
    epoch, epoch_step = (int(v) for v in saved["counters"])
    fields: dict[str, Any] = {
        name: tuple((int if _dtype(name) is np.int64 else float)(v) for v in values)
        for name, values in saved["history"].items()
    }
    history = History(**fields)
    return Checkpoint(
        saved["params"],
        saved["opt_state"],
        saved["state"],
        random.wrap_key_data(saved["key"]),
        epoch,
        epoch_step,
        history,
        tuple(int(v) for v in saved["epoch_sizes"]),
    )


@attrs.frozen
class Checkpoints:
    """Where and how often :func:`fnn.fit` writes checkpoints.

    ``fit`` writes ``checkpoint-epoch{E}-step{S}.npz`` in ``directory`` after every
    ``every``-th epoch, and after the last completed step when Ctrl-C or an error
    ends the run (before the exception propagates), then deletes all but the
    ``keep`` latest (by step) of the directory's checkpoint files.

    Attributes:
        directory: The folder (created if missing).
        every: The interval in epochs.
        keep: How many checkpoint files to keep.
    """

    directory: Path = attrs.field(converter=Path)
    every: int = attrs.field(default=1, validator=positive)
    keep: int = attrs.field(default=3, validator=positive)

    def save(self, checkpoint: Checkpoint) -> Path:
        """Write ``checkpoint`` into :attr:`directory` and prune to the :attr:`keep` latest files."""
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"checkpoint-epoch{checkpoint.epoch:04d}-step{checkpoint.step:08d}.npz"
        path = save_checkpoint(self.directory / name, checkpoint)
        for old in _by_step(self.directory)[: -self.keep]:
            old.unlink()
        return path


def _by_step(directory: Path) -> list[Path]:
    """The checkpoint files of ``directory``, the earliest step first."""
    found = [(int(m.group(2)), p) for p in directory.iterdir() if (m := _NAME.fullmatch(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(directory: str | os.PathLike[str]) -> Path | None:
    """The checkpoint file of ``directory`` with the most steps, ``None`` if there is none (or no folder)."""
    folder = Path(directory)
    files = _by_step(folder) if folder.is_dir() else []
    return files[-1] if files else None
