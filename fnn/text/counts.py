"""Count-based word vectors (the second book, chapter 2): co-occurrence counts, PPMI, truncated SVD.

>>> from fnn.text import preprocess
>>> corpus, word_to_id, id_to_word = preprocess("You say goodbye and I say hello.")
>>> c = co_occurrence(corpus, len(word_to_id), window=1)
>>> c[0].tolist(), c[1].tolist()
([0, 1, 0, 0, 0, 0, 0], [1, 0, 1, 0, 1, 1, 0])
>>> round(float(ppmi(c)[0, 1]), 3)
1.807
"""

from __future__ import annotations

import numpy as np

from fnn import random
from fnn.backend import backend, to_numpy
from fnn.errors import DataError, ShapeError
from fnn.random import Key
from fnn.text.corpus import _check_ids, _check_window
from fnn.typing import Array

__all__ = ["co_occurrence", "ppmi", "randomized_svd", "PPMI_EPS"]

PPMI_EPS = 1e-8
"""The book's ``eps`` in ``log₂(C·N / (S_i S_j) + eps)``: a zero count gives ``log₂ eps`` < 0, then 0."""


def co_occurrence(corpus: Array, vocab: int, window: int = 1) -> Array:
    """The co-occurrence matrix: ``C[i, j]`` counts the times word ``j`` is within ``window``
    words of an occurrence of word ``i`` (the book's ``create_co_matrix``).

    ``C[i, j] = Σ_{d=1..window} #{p : (corpus[p], corpus[p + d]) = (i, j) or (j, i)}``,
    symmetric. Vectorised: every pair at each distance ``d`` is encoded as ``i·V + j`` and
    counted with ``numpy.unique`` (no loop over the corpus, no ``V²`` temporary beyond ``C``).

    Args:
        corpus: Word ids of shape ``(W,)`` in ``0 .. vocab − 1``.
        vocab: The vocabulary size ``V``.
        window: How many words on each side count.

    Returns:
        ``C`` of shape ``(V, V)``, ``int32`` as in the book.

    Raises:
        ValueError: ``window`` is not a positive integer.
        ShapeError: ``corpus`` is not 1-D.
        DataError: an id is outside ``0 .. vocab − 1``.
        DTypeError: ``corpus`` does not hold integers.
    """
    _check_window("co_occurrence", window)
    _check_ids("co_occurrence", corpus)
    if corpus.ndim != 1:
        raise ShapeError(f"co_occurrence: expected a 1-D corpus of ids, got shape {tuple(corpus.shape)}")
    ids = np.asarray(to_numpy(corpus), dtype=np.int64)
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= vocab):
        raise DataError(
            f"co_occurrence: ids must lie in 0..{vocab - 1} for vocab={vocab}, "
            f"got {int(ids.min())}..{int(ids.max())}; pass len(word_to_id) as `vocab`"
        )
    pairs = [
        code
        for d in range(1, window + 1)
        for code in (ids[:-d] * vocab + ids[d:], ids[d:] * vocab + ids[:-d])
    ]
    codes, counts = np.unique(np.concatenate(pairs), return_counts=True)
    c = np.zeros((vocab, vocab), dtype=np.int32)
    c.flat[codes] = counts
    return c


def ppmi(c: Array, eps: float = PPMI_EPS, rows_per_block: int = 1024) -> Array:
    """Positive pointwise mutual information of a co-occurrence matrix (the book's ``ppmi``).

    ``PPMI[i, j] = max(0, log₂(C[i, j] · N / (S_i · S_j) + eps))`` with ``N = Σ C`` and
    ``S_j = Σ_i C[i, j]``. Vectorised over blocks of ``rows_per_block`` rows, computed in
    float64 as the book's scalar loop is and stored in float32 (the book's matrix), so the
    temporary stays ``rows_per_block × V`` instead of ``V²``.

    Args:
        c: Counts of shape ``(V, V)``.
        eps: The book's ``1e-8``.
        rows_per_block: Rows computed at once.

    Returns:
        ``float32`` matrix of ``c``'s shape.

    Raises:
        ShapeError: ``c`` is not a square matrix.
        DataError: ``c`` has a negative count or sums to zero.
    """
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise ShapeError(f"ppmi: expected a square co-occurrence matrix (V, V), got shape {tuple(c.shape)}")
    total = float(c.sum(dtype=np.float64))
    if total <= 0 or (c.size and float(c.min()) < 0):
        raise DataError("ppmi: counts must be >= 0 and not all zero; pass co_occurrence(...)'s matrix")
    s = c.sum(axis=0, dtype=np.float64)
    m = np.empty(c.shape, dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        for start in range(0, c.shape[0], rows_per_block):
            block = c[start : start + rows_per_block].astype(np.float64)
            pmi = np.log2(block * total / (s[start : start + rows_per_block, None] * s[None, :]) + eps)
            m[start : start + rows_per_block] = np.maximum(pmi, 0)  # a word never seen: 0·N/0 → NaN → 0
    return np.nan_to_num(m, nan=0.0, copy=False)


def randomized_svd(
    a: Array, rank: int, *, key: Key, oversample: int = 10, power_iterations: int = 5
) -> tuple[Array, Array, Array]:
    """The leading ``rank`` singular triplets of ``a`` by a randomized range finder.

    Halko, Martinsson and Tropp's algorithm: ``Ω`` is a Gaussian ``(n, k)`` matrix with
    ``k = rank + oversample``; ``Q = orth((A Aᵀ)^q A Ω)`` (re-orthonormalised after every
    product, so the small singular values are not lost in rounding) spans nearly the same
    space as the top ``k`` left singular vectors; then ``B = Qᵀ A`` is small ``(k, n)`` and
    its exact SVD ``B = Û Σ Vᵀ`` gives ``A ≈ (Q Û) Σ Vᵀ``. The cost is ``O(mnk(2q + 2))``
    against ``O(mn²)`` for the full SVD (10,000² PTB PPMI: seconds instead of an hour).

    Args:
        a: Matrix of shape ``(m, n)`` (float32 or float64; the result has its dtype).
        rank: How many singular triplets, ``1 ≤ rank ≤ min(m, n)``.
        key: Draws ``Ω``: the same key gives the same result.
        oversample: Extra columns of ``Ω`` beyond ``rank``.
        power_iterations: ``q``, the products with ``A Aᵀ`` (more: more accurate when the
            spectrum decays slowly).

    Returns:
        ``(U, S, Vt)`` of shapes ``(m, rank)``, ``(rank,)``, ``(rank, n)``; ``S`` descending.

    Raises:
        ShapeError: ``a`` is not a matrix or ``rank`` is out of range.

    >>> import fnn, numpy as np
    >>> a = np.random.default_rng(0).standard_normal((30, 20))
    >>> u, s, vt = randomized_svd(a, 3, key=fnn.random.key(0))
    >>> bool(np.allclose(s, np.linalg.svd(a, compute_uv=False)[:3]))
    True
    """
    if a.ndim != 2:
        raise ShapeError(f"randomized_svd: expected a matrix (m, n), got shape {tuple(a.shape)}")
    if isinstance(rank, bool) or not isinstance(rank, int) or not 1 <= rank <= min(a.shape):
        raise ShapeError(
            f"randomized_svd: `rank` must be an integer in 1..{min(a.shape)} for a {a.shape} matrix, "
            f"got {rank!r}"
        )
    k = min(rank + oversample, min(a.shape))
    omega = random.normal(key, (a.shape[1], k), backend(dtype=a.dtype))
    q, _ = np.linalg.qr(a @ omega)
    for _ in range(power_iterations):
        q, _ = np.linalg.qr(a.T @ q)
        q, _ = np.linalg.qr(a @ q)
    u_small, s, vt = np.linalg.svd(q.T @ a, full_matrices=False)
    return (q @ u_small)[:, :rank], s[:rank], vt[:rank]
