"""Count-based word vectors (DLfS 2, ch. 2): the book's toy numbers and PTB neighbours."""

from __future__ import annotations

import numpy as np
import pytest

import fnn
from fnn.datasets import load_ptb
from fnn.text import (
    analogy,
    co_occurrence,
    contexts_and_targets,
    cosine_similarity,
    format_scores,
    most_similar,
    ppmi,
    preprocess,
    randomized_svd,
)
from tests.test_examples import DATA

TOY = "You say goodbye and I say hello."

BOOK_CO_MATRIX = [
    [0, 1, 0, 0, 0, 0, 0],
    [1, 0, 1, 0, 1, 1, 0],
    [0, 1, 0, 1, 0, 0, 0],
    [0, 0, 1, 0, 1, 0, 0],
    [0, 1, 0, 1, 0, 0, 0],
    [0, 1, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 1, 0],
]

BOOK_PPMI = """\
[[0.    1.807 0.    0.    0.    0.    0.   ]
 [1.807 0.    0.807 0.    0.807 0.807 0.   ]
 [0.    0.807 0.    1.807 0.    0.    0.   ]
 [0.    0.    1.807 0.    1.807 0.    0.   ]
 [0.    0.807 0.    1.807 0.    0.    0.   ]
 [0.    0.807 0.    0.    0.    0.    2.807]
 [0.    0.    0.    0.    0.    2.807 0.   ]]"""


def test_preprocess_is_the_books() -> None:
    corpus, word_to_id, id_to_word = preprocess(TOY)
    assert corpus.tolist() == [0, 1, 2, 3, 4, 1, 5, 6] and corpus.dtype == np.int64
    assert word_to_id == {"you": 0, "say": 1, "goodbye": 2, "and": 3, "i": 4, "hello": 5, ".": 6}
    assert id_to_word == {i: w for w, i in word_to_id.items()}


def test_toy_co_occurrence_ppmi_and_cosine_are_the_books() -> None:
    corpus, word_to_id, id_to_word = preprocess(TOY)
    c = co_occurrence(corpus, len(word_to_id), window=1)
    assert c.tolist() == BOOK_CO_MATRIX and c.dtype == np.int32
    with np.printoptions(precision=3):
        assert str(ppmi(c)) == BOOK_PPMI
    assert cosine_similarity(c[0], c[4]) == 0.7071067691154799  # the book's printed value, to the last digit
    assert format_scores("[query] you", most_similar("you", word_to_id, id_to_word, c)) == (
        "[query] you\n goodbye: 0.7071067691154799\n i: 0.7071067691154799\n hello: 0.7071067691154799\n"
        " say: 0.0\n and: 0.0"
    )


def book_co_matrix(corpus: list[int], vocab: int, window: int) -> np.ndarray:
    """The book's create_co_matrix, loops and all."""
    c = np.zeros((vocab, vocab), dtype=np.int32)
    for idx, word_id in enumerate(corpus):
        for i in range(1, window + 1):
            if idx - i >= 0:
                c[word_id, corpus[idx - i]] += 1
            if idx + i < len(corpus):
                c[word_id, corpus[idx + i]] += 1
    return c


def book_ppmi(c: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    m = np.zeros_like(c, dtype=np.float32)
    n, s = np.sum(c), np.sum(c, axis=0)
    for i in range(c.shape[0]):
        for j in range(c.shape[1]):
            m[i, j] = max(0, np.log2(c[i, j] * n / (s[j] * s[i]) + eps))
    return m


@pytest.mark.parametrize("window", [1, 2, 3])
def test_vectorised_counts_equal_the_books_loops(window: int) -> None:
    corpus = np.random.default_rng(window).integers(0, 12, size=200)
    c = co_occurrence(corpus, 12, window)
    assert (c == book_co_matrix(corpus.tolist(), 12, window)).all()
    np.testing.assert_allclose(ppmi(c, rows_per_block=5), book_ppmi(c), rtol=1e-6)


def test_ppmi_of_a_word_never_seen_is_zero() -> None:
    c = co_occurrence(np.array([0, 1, 0, 1]), 3)  # id 2 never occurs: its row and column are 0
    assert ppmi(c)[2].tolist() == [0.0, 0.0, 0.0] and np.isfinite(ppmi(c)).all()


def test_toy_svd_gives_the_books_2d_vectors() -> None:
    corpus, word_to_id, _ = preprocess(TOY)
    u, s, vt = np.linalg.svd(ppmi(co_occurrence(corpus, len(word_to_id))))
    # The singular values come in equal pairs, so each pair's two vectors are any orthonormal basis of
    # their plane (LAPACK builds decide): the book prints U[0] (you) as
    # [3.409e-01 -1.110e-16 -3.886e-16 -1.205e-01 0 9.323e-01 2.226e-16]; the length of U[0] within each
    # pair's plane is the same for every basis.
    assert s[:6] == pytest.approx([3.168, 3.168, 2.703, 2.703, 1.514, 1.514], abs=1e-3)
    assert np.linalg.norm(u[0, :6].reshape(3, 2), axis=1) == pytest.approx([0.3409, 0.1205, 0.9323], abs=1e-4)


def test_randomized_svd_matches_the_exact_one() -> None:
    a = np.random.default_rng(0).standard_normal((80, 20)) @ np.diag(0.7 ** np.arange(20)) @ np.random.default_rng(
        1
    ).standard_normal((20, 60))
    u, s, vt = randomized_svd(a, 5, key=fnn.random.key(3))
    u_ref, s_ref, vt_ref = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(s, s_ref[:5], rtol=1e-10)
    np.testing.assert_allclose(np.abs(np.sum(u * u_ref[:, :5], axis=0)), 1, atol=1e-8)  # same vectors up to sign
    assert (u.shape, s.shape, vt.shape) == ((80, 5), (5,), (5, 60))
    again = randomized_svd(a, 5, key=fnn.random.key(3))
    assert all((x == y).all() for x, y in zip(again, (u, s, vt)))  # same key, same result
    assert randomized_svd(a.astype(np.float32), 5, key=fnn.random.key(3))[0].dtype == np.float32


def test_ptb_count_based_vectors_have_sensible_neighbours() -> None:
    words = load_ptb("train", DATA / "ptb", download=False, progress=False)
    kept, corpus = np.unique(np.asarray(words.corpus)[:100_000], return_inverse=True)  # a slice, for speed
    word_to_id = {words.id_to_word[int(v)]: i for i, v in enumerate(kept)}
    id_to_word = {i: w for w, i in word_to_id.items()}
    u, _, _ = randomized_svd(ppmi(co_occurrence(corpus, len(kept), window=2)), 100, key=fnn.random.key(0))
    assert u.shape == (len(kept), 100)
    near_you = [w for w, _ in most_similar("you", word_to_id, id_to_word, u)]
    near_year = [w for w, _ in most_similar("year", word_to_id, id_to_word, u)]
    assert {"i", "we"} <= set(near_you) and {"last", "week"} <= set(near_year)


def test_contexts_and_targets_are_the_books() -> None:
    corpus, _, _ = preprocess(TOY)
    contexts, target = contexts_and_targets(corpus, window=1)
    assert contexts.tolist() == [[0, 2], [1, 3], [2, 4], [3, 1], [4, 5], [1, 6]]
    assert target.tolist() == [1, 2, 3, 4, 1, 5]


def test_analogy_normalises_only_the_query() -> None:
    w2i = {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4}
    i2w = {i: w for w, i in w2i.items()}
    m = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 4.0], [-2.0, 0.0]])
    q = (m[1] - m[0] + m[2]) / np.linalg.norm(m[1] - m[0] + m[2])  # (0, 1)
    assert analogy("a", "b", "c", w2i, i2w, m, top=2) == [("d", float(m[3] @ q)), ("e", float(m[4] @ q))]


def test_bad_text_inputs_are_refused() -> None:
    with pytest.raises(fnn.DataError, match=r"preprocess: the text '   ' holds no word"):
        preprocess("   ")
    with pytest.raises(ValueError, match=r"co_occurrence: `window` must be a positive integer .* got 0"):
        co_occurrence(np.arange(3), 3, window=0)
    with pytest.raises(fnn.DataError, match=r"co_occurrence: ids must lie in 0\.\.2 for vocab=3, got 0\.\.5"):
        co_occurrence(np.arange(6), 3)
    with pytest.raises(fnn.ShapeError, match=r"co_occurrence: expected a 1-D corpus of ids, got shape \(2, 3\)"):
        co_occurrence(np.zeros((2, 3), np.int64), 3)
    with pytest.raises(fnn.ShapeError, match=r"ppmi: expected a square co-occurrence matrix \(V, V\), got shape \(2, 3\)"):
        ppmi(np.ones((2, 3)))
    with pytest.raises(fnn.DataError, match=r"ppmi: counts must be >= 0 and not all zero"):
        ppmi(np.zeros((2, 2)))
    with pytest.raises(fnn.ShapeError, match=r"randomized_svd: `rank` must be an integer in 1\.\.2 .* got 3"):
        randomized_svd(np.ones((2, 4)), 3, key=fnn.random.key(0))
    with pytest.raises(fnn.ShapeError, match=r"randomized_svd: expected a matrix \(m, n\), got shape \(4,\)"):
        randomized_svd(np.ones(4), 1, key=fnn.random.key(0))
    with pytest.raises(fnn.ShapeError, match=r"cosine_similarity: expected two vectors of the same length"):
        cosine_similarity(np.ones(3), np.ones(4))
    with pytest.raises(fnn.DataError, match=r"most_similar: 'zebra' is not in the vocabulary of 1 words"):
        most_similar("zebra", {"a": 0}, {0: "a"}, np.ones((1, 2)))
    with pytest.raises(fnn.ShapeError, match=r"analogy: expected a word matrix \(V, D\) with V = 1 rows.* got shape \(2,\)"):
        analogy("a", "a", "a", {"a": 0}, {0: "a"}, np.ones(2))
    with pytest.raises(fnn.ShapeError, match=r"contexts_and_targets: expected a 1-D corpus of at least 2·window \+ 1 = 5 ids"):
        contexts_and_targets(np.arange(4), window=2)


def test_float_ids_are_refused_not_truncated() -> None:
    with pytest.raises(fnn.DTypeError, match=r"co_occurrence: expected integer word ids, got dtype float64"):
        co_occurrence(np.array([0.5, 1.2, 2.9]), 3)
    with pytest.raises(fnn.DTypeError, match=r"contexts_and_targets: expected integer word ids, got dtype float32"):
        contexts_and_targets(np.arange(5, dtype=np.float32), window=1)


def test_ranking_needs_a_row_per_word_and_a_positive_top() -> None:
    corpus, word_to_id, id_to_word = preprocess(TOY)
    c = co_occurrence(corpus, len(word_to_id))
    with pytest.raises(fnn.ShapeError, match=r"most_similar: .* V = 7 rows, one per word of `id_to_word`, got shape \(3, 7\)"):
        most_similar("you", word_to_id, id_to_word, c[:3])
    with pytest.raises(fnn.ShapeError, match=r"analogy: .* V = 7 rows.* got shape \(8, 7\)"):
        analogy("you", "say", "i", word_to_id, id_to_word, np.vstack([c, c[:1]]))
    for top in (0, -1, 2.0, True):
        with pytest.raises(fnn.errors.ArgumentError, match=rf"most_similar: `top` must be a positive integer .* got {top!r}"):
            most_similar("you", word_to_id, id_to_word, c, top=top)  # type: ignore[arg-type]
    with pytest.raises(fnn.errors.ArgumentError, match=r"analogy: `top` must be a positive integer .* got 0"):
        analogy("you", "say", "i", word_to_id, id_to_word, c, top=0)
    assert [w for w, _ in most_similar("you", word_to_id, id_to_word, c, top=1)] == ["goodbye"]
