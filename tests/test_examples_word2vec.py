"""The second book's word-vector examples (chapters 2-4) with quick settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.test_examples import assert_png, run
from tests.test_word_vectors import BOOK_CO_MATRIX


def test_ch02_count_based_toy_numbers_and_ptb_prefix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = run("dlfs2_ch02_count_based", "--ptb-words", "100000", "--out", str(tmp_path))
    assert r["toy"]["co_matrix"].tolist() == BOOK_CO_MATRIX
    assert r["toy"]["cos_you_i"] == 0.7071067691154799
    assert_png(r["toy"]["plot"])
    assert "you" in r["ptb"]["most_similar"] and r["ptb"]["vectors"].shape[1] == 100
    out = capsys.readouterr().out
    assert " [1.807 0.    0.807 0.    0.807 0.807 0.   ]\n" in out
    assert "[query] you\n goodbye: 0.7071067691154799\n i: 0.7071067691154799\n" in out
    assert "[query] car\n" in out  # toyota is not in the first 100,000 words


@pytest.mark.parametrize("model", ["cbow", "skip-gram"])
def test_ch03_simple_word2vec_trains(model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flags = ["--skip-gram"] if model == "skip-gram" else []
    r = run("dlfs2_ch03_simple_word2vec", *flags, "--epochs", "200", "--out", str(tmp_path))
    losses = r["losses"]
    start = np.log(7) * (2 if model == "skip-gram" else 1)  # a uniform guess over 7 words, per context
    assert losses[0] == pytest.approx(start, rel=0.01) and losses[-1] < 0.9 * losses[0]
    assert r["vectors"].shape == (7, 5)
    assert_png(r["plot"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"| epoch 100 | loss {losses[99]:.2f}" and lines[2].startswith("you [")


def test_ch04_published_vectors_answer_the_books_analogies(capsys: pytest.CaptureFixture[str]) -> None:
    r = run("dlfs2_ch04_word2vec", "--published")
    answers = [scores[0][0] for scores in r["analogies"].values()]
    assert answers == ["woman", "went", "children", "more"]
    out = capsys.readouterr().out
    assert "[analogy] king:man = queen:?\n woman: 5.16" in out and "[query] you\n we: 0.6105" in out


@pytest.mark.parametrize("model", ["cbow", "skip-gram"])
def test_ch04_training_runs_tiny(model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flags = ["--skip-gram"] if model == "skip-gram" else []
    r = run("dlfs2_ch04_word2vec", *flags, "--words", "3000", "--epochs", "2", "--max-iters", "20",
            "--eval-interval", "10", "--hidden", "20", "--out", str(tmp_path))
    pairs = 6 * (10 if model == "skip-gram" else 1)  # 1 + 5 scores per target (per context for skip-gram)
    assert r["losses"][0] == pytest.approx(pairs * np.log(2), rel=0.02)  # scores ≈ 0 at first: log 2 each
    assert r["losses"][-1] < r["losses"][0]
    assert_png(r["plot"])
    assert r["saved"].is_file() and r["steps_per_epoch"] == (3000 - 10) // 100
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| epoch 1 |  iter 10 / 20 | time ") and len([x for x in lines if x.startswith("| epoch")]) == 4
