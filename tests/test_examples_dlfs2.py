"""The second book's language-model examples (chapters 5-7) with quick settings; numbers recomputed independently."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import fnn
import fnn.dlfs
from fnn.datasets import load_ptb
from fnn.io import load_pickle
from tests.book_rnnlm import BookRnnlm, book_eval_perplexity
from tests.helpers import assert_allclose, host
from tests.test_examples import DATA, assert_png, example, run

PTB = DATA / "ptb"


def test_ch05_simple_rnnlm_on_1000_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = run("dlfs2_ch05_rnnlm", "--epochs", "8", "--out", str(tmp_path))
    assert r["vocab"] == 418  # the ids occurring in the first 1,000 training words (the book's vocab_size)
    first, last = r["perplexities"][0], r["perplexities"][-1]
    assert 300 < first < 418 * 1.05  # about a uniform guess over the vocabulary at first
    assert last < 0.6 * first
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"| epoch 1 | perplexity {first:.2f}" and len(lines) == 8
    assert_png(r["plot"])


def test_ch06_published_model_reproduces_the_books_perplexity(capsys: pytest.CaptureFixture[str]) -> None:
    r = run("dlfs2_ch06_rnnlm", "--published", "--eval-words", "3000")
    corpus = load_ptb("test", PTB, download=False, progress=False).corpus[:3000]
    book = book_eval_perplexity(BookRnnlm(load_pickle(DATA / "dlfs2" / "Rnnlm.pkl")), host(corpus))
    assert r["test_perplexity"] == pytest.approx(book, rel=1e-4)
    assert capsys.readouterr().out == f"test perplexity: {r['test_perplexity']}\n"


def test_ch06_training_prints_the_books_log_lines_and_saves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = run("dlfs2_ch06_rnnlm", "--epochs", "1", "--max-iters", "22", "--eval-words", "1000", "--out", str(tmp_path))
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"\| epoch 1 \|  iter 1 / 22 \| time \d+\[s\] \| perplexity \d+\.\d\d", lines[0])
    assert re.fullmatch(r"\| epoch 1 \|  iter 21 / 22 \| time \d+\[s\] \| perplexity \d+\.\d\d", lines[1])
    first, later = r["perplexities"]
    assert first == pytest.approx(10000, rel=0.01)  # small initial weights: a uniform guess over 10,000 words
    assert later < 0.6 * first
    assert lines[2] == f"test perplexity: {r['test_perplexity']}" and r["test_perplexity"] < first
    loaded = fnn.io.load(r["saved"], r["params"])
    for a, b in zip(fnn.tree.leaves(loaded), fnn.tree.leaves(r["params"])):
        assert_allclose(a, b, rtol=0)
    assert_png(r["plot"])


def test_ch06_better_rnnlm_short_run_and_schedule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--epochs", "2", "--max-iters", "2", "--hidden", "8", "--eval-words", "500", "--out", str(tmp_path)]
    r = run("dlfs2_ch06_better_rnnlm", *args)
    out = capsys.readouterr().out
    assert out.count("valid perplexity: ") == 2 and f"test perplexity: {r['test_perplexity']}" in out
    assert r["learning_rates"] == [20.0, 20.0]  # the first epoch always improves on no measurement
    assert r["saved"].is_file() and r["params"]["logits"].w is None  # the output weight is the embedding's
    assert_png(r["plot"])
    module = example("dlfs2_ch06_better_rnnlm").__globals__
    next_learning_rate: Any = module["next_learning_rate"]
    assert next_learning_rate(20.0, 120.0, 100.0) == 5.0 and next_learning_rate(20.0, 90.0, 100.0) == 20.0


def test_ch07_generation_is_deterministic_per_seed_and_skips_unk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = run("dlfs2_ch07_generate", "--length", "30", "--seed", "3")
    again = run("dlfs2_ch07_generate", "--length", "30", "--seed", "3")
    other = run("dlfs2_ch07_generate", "--length", "30", "--seed", "4")
    assert first["ids"] == again["ids"] != other["ids"] and len(first["ids"]) == 30
    _, word_to_id, _ = load_ptb("train", PTB, download=False, progress=False)
    assert word_to_id["<unk>"] not in first["ids"] and word_to_id["N"] not in first["ids"]
    assert first["text"].startswith("you ")
    greedy = run("dlfs2_ch07_generate", "--length", "8", "--greedy", "--start", "the meaning of life is")
    assert greedy["text"].startswith("the meaning of life is ")
    assert capsys.readouterr().out.startswith(first["text"] + "\n")
    saved = fnn.io.save(tmp_path / "rnnlm.fnn", fnn.dlfs.load_rnnlm(DATA / "dlfs2" / "Rnnlm.pkl"))
    assert run("dlfs2_ch07_generate", "--length", "30", "--seed", "3", "--params", str(saved))["ids"] == first["ids"]


def test_gradient_flow_equals_the_books_matrix_products(tmp_path: Path) -> None:
    r = run("dlfs2_ch06_gradient_flow", "--out", str(tmp_path))
    for name, wh in (("exploding", r["wh"]), ("vanishing", 0.5 * r["wh"])):
        dh, book = np.ones((2, 3)), []
        for _ in range(20):
            dh = dh @ wh.T
            book.append(np.sqrt((dh**2).sum()) / 2)
        assert_allclose(r[name], book, rtol=1e-10)
    assert r["exploding"][-1] > 50 * r["exploding"][0] and r["vanishing"][-1] < r["vanishing"][0] / 1000
    assert_png(r["plot"])
