"""Checkpoints and exact resume: 4 epochs equal 2 epochs, a checkpoint, a fresh process and 2 more, bit for bit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

import fnn
from fnn.train import (
    Checkpoint,
    Checkpoints,
    FitInterrupted,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from tests.test_train import leaves_equal
from tests.test_train_hardening import Faulty

ROOT = Path(__file__).resolve().parents[1]
SCE = fnn.losses.softmax_cross_entropy


def train(epochs: int, **kwargs: Any) -> fnn.train.FitResult[Any]:
    """Dropout (keys), batch norm (model state) and Adam (optimizer state) on the spiral: 3 steps per epoch."""
    x, t = fnn.datasets.spiral(fnn.random.key(0), n_per_class=20, one_hot=False)
    model = fnn.sequential(fnn.Dense(10), fnn.BatchNorm(), fnn.relu, fnn.Dropout(0.2), fnn.Dense(3))
    params, state = model.init(fnn.random.key(1), (2,)), model.init_state((2,))
    kwargs.setdefault("state", state)
    return fnn.fit(
        model, kwargs.pop("loss", SCE), fnn.optim.adam(0.05), params, x, t, key=fnn.random.key(2),
        epochs=epochs, batch_size=20, eval_data=(x, t), progress=False, **kwargs,
    )  # fmt: skip


def same_run(a: fnn.train.FitResult[Any], b: fnn.train.FitResult[Any]) -> bool:
    return (
        leaves_equal((a.params, a.opt_state, a.state), (b.params, b.opt_state, b.state)) and a.history == b.history
    )


SCRIPT = """
import json, sys
import fnn
from tests.test_train_checkpoints import train
folder, out = sys.argv[1], sys.argv[2]
if out == "-":
    train(2, checkpoints=fnn.train.Checkpoints(folder))
else:
    r = train(4, resume=fnn.train.load_checkpoint(fnn.train.latest_checkpoint(folder)))
    fnn.io.save(out, (r.params, r.opt_state, r.state))
    with open(out + ".json", "w") as f:
        json.dump(r.history.to_dict(), f)
"""


def test_resume_in_a_fresh_process_equals_the_whole_run_bit_for_bit(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    out = tmp_path / "resumed.npz"
    for target in ("-", str(out)):  # two processes: 2 epochs and a checkpoint; load it and train to 4
        subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), target], env=env, check=True, cwd=ROOT)
    names = sorted(p.name for p in tmp_path.glob("checkpoint-*"))
    assert names == ["checkpoint-epoch0001-step00000003.npz", "checkpoint-epoch0002-step00000006.npz"]
    whole = train(4)
    params, opt_state, state = fnn.io.load(out)
    assert leaves_equal((params, opt_state, state), (whole.params, whole.opt_state, whole.state))
    history = json.loads(Path(str(out) + ".json").read_text())
    assert history == {k: list(v) for k, v in whole.history.to_dict().items()}
    assert len(history["step_loss"]) == 12 and history["epoch_end"] == [3, 6, 9, 12]


def test_a_checkpoint_round_trips_through_a_file(tmp_path: Path) -> None:
    result = train(2, checkpoints=Checkpoints(tmp_path))
    path = latest_checkpoint(tmp_path)
    assert path is not None
    checkpoint = load_checkpoint(path)
    assert (checkpoint.epoch, checkpoint.epoch_step, checkpoint.step) == (2, 0, 6)
    assert checkpoint.key == fnn.random.key(2) and checkpoint.history == result.history
    assert leaves_equal(checkpoint.params, result.params) and leaves_equal(checkpoint.state, result.state)
    assert type(checkpoint.opt_state) is type(result.opt_state)
    assert leaves_equal(checkpoint.opt_state, result.opt_state)
    copy = load_checkpoint(save_checkpoint(tmp_path / "copy.npz", checkpoint))
    assert leaves_equal(copy, checkpoint) and copy.history == checkpoint.history and copy.key == checkpoint.key


def test_periodic_checkpoints_keep_the_last_k(tmp_path: Path) -> None:
    train(5, checkpoints=Checkpoints(tmp_path, every=2, keep=1))
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint-epoch0004-step00000012.npz"]
    train(5, checkpoints=Checkpoints(tmp_path / "all", keep=10))
    names = sorted(p.name for p in (tmp_path / "all").iterdir())
    assert names == [f"checkpoint-epoch{e:04d}-step{3 * e:08d}.npz" for e in range(1, 6)]
    assert latest_checkpoint(tmp_path / "nowhere") is None


def test_ctrl_c_mid_epoch_writes_a_checkpoint_that_resumes_exactly(tmp_path: Path) -> None:
    with pytest.raises(FitInterrupted) as info:
        train(4, loss=Faulty(stop_at=10), checkpoints=Checkpoints(tmp_path))  # call 10: epoch 3's 2nd step
    stop = info.value
    assert (stop.epoch, stop.step) == (2, 1)  # calls 4 and 8 were the evaluations of epochs 1 and 2
    assert stop.checkpoint == tmp_path / "checkpoint-epoch0002-step00000007.npz"
    checkpoint = load_checkpoint(stop.checkpoint)
    assert (checkpoint.epoch, checkpoint.epoch_step, checkpoint.epoch_sizes) == (2, 1, (20,))
    assert leaves_equal(checkpoint.params, stop.result.params)
    assert same_run(train(4, resume=checkpoint), train(4))  # the epoch's mean includes its first step


def test_ctrl_c_during_the_evaluation_resumes_to_the_epochs_end(tmp_path: Path) -> None:
    with pytest.raises(FitInterrupted) as info:
        train(3, loss=Faulty(stop_at=8), checkpoints=Checkpoints(tmp_path))  # call 8: epoch 2's evaluation
    assert (info.value.epoch, info.value.step) == (1, 3)
    assert info.value.checkpoint is not None
    checkpoint = load_checkpoint(info.value.checkpoint)
    assert (checkpoint.epoch, checkpoint.epoch_step, checkpoint.step) == (1, 3, 6)
    assert same_run(train(3, resume=checkpoint), train(3))  # epoch 2 has no step left, only its metrics


def test_an_error_writes_a_checkpoint_before_it_propagates(tmp_path: Path) -> None:
    class Broken(Faulty):
        def compute(self, y: Any, t: Any) -> tuple[Any, Any]:
            if self.calls == 5:
                raise RuntimeError("a broken batch")
            return super().compute(y, t)

    with pytest.raises(RuntimeError, match="a broken batch"):
        train(3, loss=Broken(stop_at=0), checkpoints=Checkpoints(tmp_path))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["checkpoint-epoch0001-step00000003.npz", "checkpoint-epoch0001-step00000004.npz"]
    assert same_run(train(3, resume=load_checkpoint(tmp_path / names[-1])), train(3))


def test_divergence_writes_the_epochs_start(tmp_path: Path) -> None:
    with pytest.raises(fnn.train.DivergenceError) as info:
        train(3, loss=Faulty(stop_at=0, nan_at=6), checkpoints=Checkpoints(tmp_path, every=5))
    assert info.value.checkpoint == tmp_path / "checkpoint-epoch0001-step00000003.npz"
    assert leaves_equal(load_checkpoint(info.value.checkpoint).params, info.value.params)


def test_resume_refuses_another_run() -> None:
    checkpoint = Checkpoint((), None, None, fnn.random.key(9), 1)
    with pytest.raises(fnn.errors.StateError, match=r"a checkpoint of a run with Key\(seed=9, path=\(\)\), not Key\(seed=2"):
        train(2, resume=checkpoint)
    good = checkpoint_of(train(1), 1)
    with pytest.raises(fnn.errors.StateError, match="brings its own optimizer state; do not pass `opt_state`"):
        train(2, resume=good, opt_state=good.opt_state)
    with pytest.raises(fnn.errors.StateError, match="the checkpoint's params do not have the structure"):
        train(2, resume=Checkpoint((np.zeros(1),), good.opt_state, good.state, good.key, 1))
    with pytest.raises(fnn.errors.StateError, match="`resume` must be an fnn.train.Checkpoint, got str"):
        train(2, resume="checkpoint.npz")
    with pytest.raises(fnn.errors.StateError, match="the checkpoint holds a model state; pass state="):
        train(2, resume=good, state=None)
    with pytest.raises(ValueError, match="`epochs`=1, but the checkpoint is past epoch 1; with `resume`, `epochs` is the run's total"):
        train(1, resume=attrs.evolve(good, epoch_step=1, epoch_sizes=(20,)))
    with pytest.raises(ValueError, match="`epochs`=1, but the checkpoint is past epoch 2"):
        train(1, resume=checkpoint_of(train(2), 2))


def test_a_finished_run_resumes_to_itself() -> None:
    done = train(2)
    again = train(2, resume=checkpoint_of(done, 2))
    assert same_run(again, done)


def checkpoint_of(result: fnn.train.FitResult[Any], epochs: int) -> Checkpoint:
    """The checkpoint of ``train``'s run after ``epochs`` epochs ending in ``result``."""
    return Checkpoint(result.params, result.opt_state, result.state, fnn.random.key(2), epochs, 0, result.history)


def test_load_checkpoint_refuses_a_params_file(tmp_path: Path) -> None:
    path = fnn.io.save(tmp_path / "params.npz", {"w": np.zeros(2)})
    with pytest.raises(fnn.errors.FormatError, match="not an fnn checkpoint"):
        load_checkpoint(path)
