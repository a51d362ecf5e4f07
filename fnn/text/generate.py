"""Generating text from a language model ``(ids, state) -> (logits, state)`` (book 2, chapter 7).

The state carries everything read so far, so each new word costs one model call on a
window of one id: ``logits, state = model.apply(params, ([[w]], state))``.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence

import numpy as np

from fnn import random, tree
from fnn.backend import array_module, backend, to_numpy
from fnn.errors import DataError, ShapeError
from fnn.random import Key
from fnn.typing import Array

__all__ = ["LanguageModel", "generate", "next_word"]


class LanguageModel(Protocol):
    """What :func:`generate` needs: ``apply(params, (ids, state)) -> (logits, state)``, as a
    :class:`fnn.Graph` of :mod:`fnn.dlfs` has."""

    def apply(self, params: Any, x: Any, /) -> Any: ...


def next_word(logits: Array, *, key: Key | None = None, skip_ids: Sequence[int] = ()) -> int:
    """One word id from a model's scores: sampled from the softmax with ``key``, or the likeliest (no key).

    ``p = softmax(logits)`` over the ids not in ``skip_ids`` (their probability is set
    to zero and the rest renormalized, in float64). Sampling draws ``u ~ U[0, 1)`` from
    ``key`` and returns the first id whose cumulative probability exceeds ``u``: the
    same key gives the same id. Greedy returns ``argmax p``.

    The book (``RnnlmGen.generate``) rejects a sampled skipped id and samples again at
    the next step; removing the skipped ids from the distribution samples from the same
    conditional distribution without the extra model call.

    Args:
        logits: Scores ``(V,)`` of the next word (NumPy or CuPy).
        key: The random key of this draw; ``None`` picks the most likely word.
        skip_ids: Ids never returned (the book skips ``<unk>`` and ``N``).

    Returns:
        The id, a Python int.

    Raises:
        ShapeError: ``logits`` is not 1-D.
        DataError: every id is skipped, a skipped id is not in ``0 .. V − 1``, or the scores are
            not finite.

    >>> import fnn, numpy as np
    >>> scores = np.array([0.0, 3.0, 1.0])
    >>> next_word(scores), next_word(scores, skip_ids=[1])
    (1, 2)
    >>> next_word(scores, key=fnn.random.key(0)) == next_word(scores, key=fnn.random.key(0))
    True
    """
    scores = np.asarray(to_numpy(logits), dtype=np.float64)
    if scores.ndim != 1:
        raise ShapeError(f"next_word: expected the scores of one next word, shape (V,), got {scores.shape}")
    if not np.isfinite(scores).all():
        raise DataError("next_word: the scores hold NaN or infinity; check the model's params")
    skipped = list(skip_ids)
    bad = [i for i in skipped if not _is_id(i, scores.size)]
    if bad:
        raise DataError(
            f"next_word: `skip_ids` must be word ids in 0..{scores.size - 1}, got {bad}; "
            "a negative id would skip a word counted from the end"
        )
    p = np.exp(scores - scores.max())
    p[skipped] = 0.0
    total = p.sum()
    if total == 0.0:
        raise DataError(
            f"next_word: all {scores.size} ids are skipped or have zero probability; skip fewer ids"
        )
    if key is None:
        return int(p.argmax())
    cumulative = np.cumsum(p / total)
    u = float(random.uniform(key, (), backend(dtype="float64")))
    chosen = int(np.searchsorted(cumulative, u, side="right"))
    return min(chosen, int(np.flatnonzero(p)[-1]))  # u ≥ the rounded total: the last possible id


def _is_id(i: object, vocab: int) -> bool:
    return isinstance(i, (int, np.integer)) and not isinstance(i, bool) and 0 <= int(i) < vocab


def generate(
    model: LanguageModel,
    params: Any,
    state: Any,
    start_ids: Sequence[int],
    length: int,
    *,
    key: Key | None = None,
    skip_ids: Sequence[int] = (),
) -> list[int]:
    """``length`` word ids continuing ``start_ids``: the model reads the start, then one call per new word.

    The start is read in one call (a window of ``len(start_ids)`` ids), then each new
    word ``wₖ = next_word(logits, key=fold_in(key, k), skip_ids=skip_ids)`` is fed
    back as a window of one id, the state carried from call to call. Inference only
    (``model.apply``): dropout is off.

    Args:
        model: A language model mapping ``(ids (N, T), state)`` to ``(logits (N, T, V), state)``,
            such as :func:`fnn.dlfs.rnnlm`.
        params: Its params.
        state: The state of one stream to start from (``fnn.dlfs.zero_state(model, 1, …)``).
        start_ids: At least one id: the text so far (the book starts from ``you``).
        length: How many words to generate.
        key: Sample with this key (the same key gives the same text); ``None`` is greedy.
        skip_ids: Ids never generated.

    Returns:
        The ``length`` new ids (without the start).

    Raises:
        ValueError: ``start_ids`` is empty or ``length`` negative.
    """
    if len(start_ids) == 0:
        raise ValueError("generate: `start_ids` is empty; give at least one word id to start from")
    if length < 0:
        raise ValueError(f"generate: `length` must be >= 0, got {length}")
    xp = array_module(tree.leaves(params)[0])
    logits, state = model.apply(params, (xp.asarray([list(start_ids)]), state))
    words: list[int] = []
    for k in range(length):
        word_key = None if key is None else random.fold_in(key, k)
        word = next_word(logits[0, -1], key=word_key, skip_ids=skip_ids)
        words.append(word)
        if k + 1 < length:
            logits, state = model.apply(params, (xp.asarray([[word]]), state))
    return words

