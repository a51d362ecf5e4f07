"""fnn.text: next-word choice (sampled with a key, greedy, skipped ids) and generation with carried state."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import fnn
from fnn import dlfs
from fnn.text import generate, next_word
from tests.helpers import host


def tiny_model() -> tuple[fnn.Graph, Any, fnn.Backend]:
    b = fnn.backend(dtype="float64")
    model = dlfs.rnnlm(vocab=12, wordvec=4, hidden=5)
    params = model.init(fnn.random.key(0), dlfs.rnnlm_in_shape(model, time_size=1), b)
    params["logits"] = fnn.DenseParams(3 * params["logits"].w, params["logits"].b)  # sharper distributions
    return model, params, b


def test_the_same_key_gives_the_same_text_and_other_keys_other_text() -> None:
    model, params, b = tiny_model()

    def run(seed: int) -> list[int]:
        return generate(model, params, dlfs.zero_state(model, 1, b), [3, 1], 30, key=fnn.random.key(seed))

    assert run(7) == run(7)
    assert len(run(7)) == 30 and all(0 <= w < 12 for w in run(7))
    assert run(7) != run(8)


def test_greedy_generation_feeds_back_the_most_likely_word_with_carried_state() -> None:
    model, params, b = tiny_model()
    words = generate(model, params, dlfs.zero_state(model, 1, b), [3, 1], 6, skip_ids=[0])
    logits, state = model.apply(params, (np.array([[3, 1]]), dlfs.zero_state(model, 1, b)))
    expected = []
    for _ in range(6):
        scores = host(logits[0, -1]).copy()
        scores[0] = -np.inf
        expected.append(int(scores.argmax()))
        logits, state = model.apply(params, (np.array([[expected[-1]]]), state))
    assert words == expected


def test_sampling_follows_the_softmax_and_never_returns_a_skipped_id() -> None:
    logits = np.log(np.array([0.5, 0.2, 0.3]))
    draws = [next_word(logits, key=fnn.random.fold_in(fnn.random.key(1), i), skip_ids=[2]) for i in range(4000)]
    counts = np.bincount(draws, minlength=3) / len(draws)
    assert counts[2] == 0
    np.testing.assert_allclose(counts[:2], [5 / 7, 2 / 7], atol=0.03)
    assert next_word(logits) == 0 and next_word(logits, skip_ids=[0]) == 2


def test_errors_name_the_argument_and_the_fix() -> None:
    model, params, b = tiny_model()
    with pytest.raises(fnn.DataError, match=r"next_word: all 3 ids are skipped .*skip fewer ids"):
        next_word(np.zeros(3), skip_ids=[0, 1, 2])
    for bad in ([-1], [3], [1.0]):
        with pytest.raises(fnn.DataError, match=rf"next_word: `skip_ids` must be word ids in 0\.\.2, got \{bad}"):
            next_word(np.zeros(3), skip_ids=bad)  # type: ignore[arg-type]
    with pytest.raises(fnn.ShapeError, match=r"next_word: expected the scores of one next word, shape \(V,\), got \(1, 3\)"):
        next_word(np.zeros((1, 3)))
    with pytest.raises(fnn.DataError, match=r"next_word: the scores hold NaN or infinity"):
        next_word(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match=r"generate: `start_ids` is empty"):
        generate(model, params, dlfs.zero_state(model, 1, b), [], 3)
    with pytest.raises(ValueError, match=r"generate: `length` must be >= 0, got -1"):
        generate(model, params, dlfs.zero_state(model, 1, b), [1], -1)
