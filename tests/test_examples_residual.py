"""The residual convnet example (two residual blocks with batch norm on MNIST), in its quick mode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.test_examples_conv import assert_png, run


def test_residual_convnet_quick_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = run("residual_convnet", "--quick", "--out", str(tmp_path))
    history = r["history"]
    assert history.epochs == 1 and np.isfinite(history.loss[0])
    assert 0.0 <= history.eval_accuracy[0] <= 1.0
    # batch norm's running statistics came back from fit, moved away from their start
    stem_stats = r["state"][0][1]
    assert not np.allclose(stem_stats.mean, 0.0) and not np.allclose(stem_stats.var, 1.0)
    assert_png(r["png"])
    out = capsys.readouterr().out
    assert "residual(Sequential(3 layers))" in out and "FanInSum()" in out


def test_residual_convnet_learns(tmp_path: Path) -> None:
    r = run(
        "residual_convnet", "--epochs", "2", "--train-size", "1000", "--test-size", "300",
        "--channels", "4", "--out", str(tmp_path),
    )  # fmt: skip
    assert r["history"].eval_accuracy[-1] > 0.6  # chance is 0.1
