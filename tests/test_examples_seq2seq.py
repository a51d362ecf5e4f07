"""The second book's seq2seq and attention examples (chapters 7-8) with quick settings."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from tests.test_examples import assert_png, run


def test_ch07_three_variants_print_accuracy_per_epoch_and_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--epochs", "2", "--max-iters", "3", "--test-size", "100", "--hidden", "16", "--out", str(tmp_path)]
    r = run("dlfs2_ch07_seq2seq", *args)
    assert list(r["accuracies"]) == ["plain", "reversed", "peeky"]
    assert all(len(a) == 2 and all(0.0 <= x <= 1.0 for x in a) for a in r["accuracies"].values())
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6
    pattern = r" *(plain|reversed|peeky) \| epoch  [12] \| loss \d+\.\d{4} \| test accuracy \d+\.\d\d% \| \d+\.\d s"
    assert all(re.fullmatch(pattern, line) for line in lines), lines
    assert lines[0].strip().startswith("plain | epoch  1 | loss 2.")  # about log(13) = 2.56 at first
    assert_png(r["plot"])


def test_ch07_refuses_unknown_variants() -> None:
    with pytest.raises(SystemExit):
        run("dlfs2_ch07_seq2seq", "--variants", "plain,backwards")


def test_ch08_published_prints_the_accuracy_and_draws_maps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = run("dlfs2_ch08_attention", "--published", "--test-size", "500", "--maps", "2", "--out", str(tmp_path))
    assert capsys.readouterr().out == "test accuracy: 1.0\n" and r["accuracy"] == 1.0
    assert len(r["maps"]) == 2
    for path in r["maps"]:
        assert_png(path)


def test_ch08_short_training_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--epochs", "1", "--max-iters", "2", "--hidden", "8", "--test-size", "50", "--maps", "1"]
    r = run("dlfs2_ch08_attention", *args, "--out", str(tmp_path))
    line = capsys.readouterr().out.strip()
    assert re.fullmatch(r"epoch  1 \| loss 4\.\d{4} \| test accuracy \d+\.\d\d% \| \d+\.\d s", line), line
    assert len(r["accuracies"]) == 1 and np.isfinite(r["accuracies"][0])
    assert_png(r["maps"][0])
