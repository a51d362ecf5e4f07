"""Word similarity over a matrix of word vectors: cosine similarity, nearest words, analogies.

The work is done on the host in float64 (CuPy arrays are copied over). The conventions
are the second book's (``common/util.py``): :func:`cosine_similarity`
adds ``eps = 1e-8`` to each norm; :func:`most_similar` ranks every word by its cosine
similarity to the query; :func:`analogy` normalises only the query ``b − a + c`` and
scores each word by its dot product with it (so the scores are not cosines: they grow with
a word's norm, as in the book's printed ``woman: 5.16``). Both return ``(word, score)``
pairs instead of printing; :func:`format_scores` prints them the book's way.

>>> import numpy as np
>>> from fnn.text import co_occurrence, preprocess
>>> corpus, word_to_id, id_to_word = preprocess("You say goodbye and I say hello.")
>>> c = co_occurrence(corpus, len(word_to_id))
>>> cosine_similarity(c[word_to_id["you"]], c[word_to_id["i"]])
0.7071067691154799
>>> print(format_scores("[query] you", most_similar("you", word_to_id, id_to_word, c, top=2)))
[query] you
 goodbye: 0.7071067691154799
 i: 0.7071067691154799
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from fnn.backend import to_numpy
from fnn.errors import ArgumentError, DataError, ShapeError
from fnn.typing import Array

__all__ = ["COSINE_EPS", "cosine_similarity", "most_similar", "analogy", "format_scores"]

COSINE_EPS = 1e-8
"""The book's ``eps`` added to each norm, so a zero vector has similarity 0 instead of NaN."""


def cosine_similarity(x: Array, y: Array, eps: float = COSINE_EPS) -> float:
    """``cos(x, y) = x·y / ((‖x‖ + eps)(‖y‖ + eps))`` (the book's ``cos_similarity``).

    Raises:
        ShapeError: ``x`` and ``y`` are not vectors of the same length.
    """
    if x.ndim != 1 or x.shape != y.shape:
        raise ShapeError(
            f"cosine_similarity: expected two vectors of the same length, got shapes {tuple(x.shape)} "
            f"and {tuple(y.shape)}"
        )
    x64, y64 = _host64(x), _host64(y)
    nx = x64 / (np.sqrt(np.sum(x64**2)) + eps)
    ny = y64 / (np.sqrt(np.sum(y64**2)) + eps)
    return float(np.dot(nx, ny))


def _host64(x: Array) -> Array:
    """``x`` as a float64 NumPy array (a CuPy array is copied to the host: the rankings are host work)."""
    result: Array = np.asarray(to_numpy(x), np.float64)
    return result


def _check_query(owner: str, id_to_word: Mapping[int, str], matrix: Array, top: int) -> None:
    """The matrix must have one row per word of the vocabulary, and ``top`` must be a positive count."""
    if matrix.ndim != 2 or matrix.shape[0] != len(id_to_word):
        raise ShapeError(
            f"{owner}: expected a word matrix (V, D) with V = {len(id_to_word)} rows, one per word of "
            f"`id_to_word`, got shape {tuple(matrix.shape)}"
        )
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ArgumentError(f"{owner}: `top` must be a positive integer (how many words), got {top!r}")


def _row(owner: str, word: str, word_to_id: Mapping[str, int], matrix: Array) -> Array:
    if word not in word_to_id:
        raise DataError(f"{owner}: {word!r} is not in the vocabulary of {len(word_to_id)} words")
    row: Array = _host64(matrix[word_to_id[word]])
    return row


def _ranked(
    scores: Array, id_to_word: Mapping[int, str], skip: Sequence[str], top: int
) -> list[tuple[str, float]]:
    """The ``top`` best words by score, highest first (ties in id order), ``skip`` and NaN left out."""
    result = []
    for i in np.argsort(-scores, kind="stable"):
        word = id_to_word[int(i)]
        if word in skip or np.isnan(scores[i]):
            continue
        result.append((word, float(scores[i])))
        if len(result) == top:
            break
    return result


def most_similar(
    query: str, word_to_id: Mapping[str, int], id_to_word: Mapping[int, str], matrix: Array, top: int = 5
) -> list[tuple[str, float]]:
    """The ``top`` words most similar to ``query``: ``(word, cos(matrix[word], matrix[query]))``,
    highest first, the query itself left out (the book's ``most_similar``).

    The cosines of all rows are one product ``(M / (‖Mᵢ‖ + eps)) · (q / (‖q‖ + eps))`` in float64.

    Args:
        query: The word.
        word_to_id, id_to_word: The vocabulary both ways.
        matrix: Word vectors ``(V, D)``, row ``i`` for id ``i``.
        top: How many words.

    Raises:
        DataError: ``query`` is not in the vocabulary.
        ShapeError: ``matrix`` is not ``(V, D)`` with a row per word of ``id_to_word``.
        ArgumentError: ``top`` is not a positive integer.
    """
    _check_query("most_similar", id_to_word, matrix, top)
    q = _row("most_similar", query, word_to_id, matrix)
    m = _host64(matrix)
    normed = m / (np.sqrt((m**2).sum(axis=1, keepdims=True)) + COSINE_EPS)
    scores = normed @ (q / (np.sqrt(np.sum(q**2)) + COSINE_EPS))
    return _ranked(scores, id_to_word, (query,), top)


def analogy(
    a: str,
    b: str,
    c: str,
    word_to_id: Mapping[str, int],
    id_to_word: Mapping[int, str],
    matrix: Array,
    top: int = 5,
) -> list[tuple[str, float]]:
    """Answers of ``a : b = c : ?`` (the book's ``analogy``): the words ``w`` with the largest
    ``matrix[w] · q̂``, where ``q̂ = (v_b − v_a + v_c) / ‖v_b − v_a + v_c‖``; ``a``, ``b``, ``c``
    are left out.

    As in the book only the query is normalised, so a score is ``‖v_w‖ cos(v_w, q)``.
    Computed in float64 (the book computes in the matrix's dtype: float16 for its
    published vectors, so its scores agree with these to float16 precision).

    Raises:
        DataError: one of the words is not in the vocabulary.
        ShapeError: ``matrix`` is not ``(V, D)`` with a row per word of ``id_to_word``.
        ArgumentError: ``top`` is not a positive integer.

    >>> import numpy as np
    >>> w2i = {"king": 0, "man": 1, "queen": 2, "woman": 3, "apple": 4}
    >>> i2w = {i: w for w, i in w2i.items()}
    >>> vecs = np.array([[2.0, 1.0], [1.0, 0.0], [2.0, 2.0], [1.0, 1.5], [0.0, -1.0]])
    >>> analogy("king", "man", "queen", w2i, i2w, vecs, top=1)  # q̂ = (1, 1)/√2
    [('woman', 1.7677669529663687)]
    """
    _check_query("analogy", id_to_word, matrix, top)
    q = sum(
        (sign * _row("analogy", w, word_to_id, matrix) for sign, w in ((-1, a), (1, b), (1, c))),
        np.zeros(()),
    )
    q_hat = q / np.sqrt(np.sum(q**2))
    scores = _host64(matrix) @ q_hat
    return _ranked(scores, id_to_word, (a, b, c), top)


def format_scores(heading: str, scores: Sequence[tuple[str, float]]) -> str:
    """Scores as the book prints them: the heading (the book's ``"[query] you"`` or
    ``"[analogy] king:man = queen:?"``), then one `` word: score`` line each."""
    return "\n".join([heading] + [f" {word}: {score}" for word, score in scores])
