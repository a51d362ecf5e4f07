"""A text as a corpus of word ids (the second book's ``preprocess``) and word2vec's training pairs.

>>> corpus, word_to_id, id_to_word = preprocess("You say goodbye and I say hello.")
>>> corpus.tolist()
[0, 1, 2, 3, 4, 1, 5, 6]
>>> id_to_word[6], word_to_id["say"]
('.', 1)
>>> contexts, target = contexts_and_targets(corpus, window=1)
>>> contexts[:2].tolist(), target[:2].tolist()
([[0, 2], [1, 3]], [1, 2])
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from fnn.errors import DataError, DTypeError, ShapeError
from fnn.typing import Array

__all__ = ["Corpus", "preprocess", "contexts_and_targets"]


class Corpus(NamedTuple):
    """A text as ids: ``corpus[i]`` is the id of the ``i``-th word.

    Attributes:
        corpus: ``int64`` ids of shape ``(W,)``.
        word_to_id: Each word's id, in order of first occurrence.
        id_to_word: The inverse mapping.
    """

    corpus: Array
    word_to_id: dict[str, int]
    id_to_word: dict[int, str]


def preprocess(text: str) -> Corpus:
    """Split ``text`` into words and number them in order of first occurrence (the book's ``preprocess``).

    As in the book: the text is lowercased, every period becomes a word of its own
    (``"hello."`` → ``"hello" "."``), and words are separated by whitespace.

    Args:
        text: The text.

    Returns:
        A :class:`Corpus` ``(corpus, word_to_id, id_to_word)``.

    Raises:
        DataError: the text holds no word.
    """
    words = text.lower().replace(".", " .").split()
    if not words:
        raise DataError(f"preprocess: the text {text[:40]!r} holds no word; pass a non-empty text")
    word_to_id: dict[str, int] = {}
    for word in words:
        word_to_id.setdefault(word, len(word_to_id))
    id_to_word = {i: word for word, i in word_to_id.items()}
    return Corpus(np.array([word_to_id[w] for w in words], dtype=np.int64), word_to_id, id_to_word)


def _check_ids(owner: str, corpus: Array) -> None:
    """Refuse a corpus that does not hold integer ids (a float array would be truncated silently)."""
    if corpus.dtype.kind not in "iu":
        raise DTypeError(
            f"{owner}: expected integer word ids, got dtype {corpus.dtype}; pass the ids from "
            f"preprocess(...) or cast them with .astype(int) after checking they are whole numbers"
        )


def _check_window(owner: str, window: int) -> None:
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"{owner}: `window` must be a positive integer (words on each side), got {window!r}")


def contexts_and_targets(corpus: Array, window: int = 1) -> tuple[Array, Array]:
    """word2vec's examples: each word with the ``window`` words on each side (the book's
    ``create_contexts_target``).

    ``target[i] = corpus[i + window]`` and ``contexts[i] = (corpus[i], …, corpus[i + 2·window])``
    without the target, for ``i = 0 .. W − 2·window − 1``: the first and last ``window`` words
    are never targets.

    Args:
        corpus: Word ids of shape ``(W,)``.
        window: Context words on each side.

    Returns:
        ``(contexts, target)`` of shapes ``(W − 2·window, 2·window)`` and ``(W − 2·window,)``.

    Raises:
        ValueError: ``window`` is not a positive integer.
        ShapeError: ``corpus`` is not 1-D or is shorter than ``2·window + 1`` words.
        DTypeError: ``corpus`` does not hold integers.
    """
    _check_window("contexts_and_targets", window)
    _check_ids("contexts_and_targets", corpus)
    if corpus.ndim != 1 or corpus.shape[0] < 2 * window + 1:
        raise ShapeError(
            f"contexts_and_targets: expected a 1-D corpus of at least 2·window + 1 = {2 * window + 1} ids, "
            f"got shape {tuple(corpus.shape)}"
        )
    n = corpus.shape[0] - 2 * window
    offsets = [d for d in range(-window, window + 1) if d != 0]
    contexts = np.stack([corpus[window + d : window + d + n] for d in offsets], axis=1)
    return contexts, corpus[window : window + n].copy()
