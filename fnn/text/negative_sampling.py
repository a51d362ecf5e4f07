"""Negative sampling (the second book, chapter 4): words drawn from the unigram distribution
raised to 0.75, with explicit keys.

>>> import fnn, numpy as np
>>> sampler = UnigramSampler.from_corpus(np.array([0, 1, 2, 3, 4, 1, 2, 3]), negatives=2)
>>> ids, labels = sampler.pairs(fnn.random.key(0), np.array([1, 3]))
>>> ids.shape, labels.tolist()
((2, 3), [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
>>> bool((ids[:, 1:] != ids[:, :1]).all())  # a target is never its own negative
True
"""

from __future__ import annotations

import attrs

from fnn import random
from fnn.backend import array_module, backend_of
from fnn.errors import DataError, ShapeError
from fnn.random import Key
from fnn.typing import Array

__all__ = ["UnigramSampler", "BOOK_POWER"]

BOOK_POWER = 0.75
"""The book's exponent: ``P(w) ∝ count(w)^0.75`` gives rare words a little more weight."""


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"UnigramSampler: `{attribute.name}` must be a positive integer, got {value!r}")


@attrs.frozen(eq=False)
class UnigramSampler:
    """Draws ``negatives`` word ids per target from ``P(w) = count(w)^p / Σ_v count(v)^p``.

    The draws are inverse-CDF lookups of uniform numbers from the key (the same key gives the
    same ids). A draw equal to its target is drawn again (with a key folded from the round),
    so no target is its own negative, as in the book's CPU code; unlike the book's CPU code
    (``numpy.random.choice(replace=False)`` row by row, a Python loop over the batch), a
    word may appear twice among one target's negatives, as in the book's GPU code. Both
    are vectorised over the whole batch.

    Build it with :meth:`from_corpus`.

    Attributes:
        cdf: The cumulative distribution ``(V,)`` in float64, ``cdf[-1] = 1``.
        negatives: ``K``, the negatives per target.
    """

    cdf: Array
    negatives: int = attrs.field(validator=_positive)

    @classmethod
    def from_corpus(
        cls, corpus: Array, negatives: int, power: float = BOOK_POWER, vocab: int | None = None
    ) -> UnigramSampler:
        """The sampler of ``corpus``'s word frequencies (the book's ``UnigramSampler``).

        Args:
            corpus: Word ids ``(W,)``.
            negatives: ``K``, the negatives per target (the book's ``sample_size``).
            power: The exponent ``p`` (the book's 0.75).
            vocab: The vocabulary size (default: ``max(corpus) + 1``, the book's).

        Raises:
            ShapeError: ``corpus`` is not 1-D.
            DataError: fewer than 2 distinct words occur (every draw would be the target).
        """
        if corpus.ndim != 1:
            raise ShapeError(f"UnigramSampler: expected a 1-D corpus of ids, got shape {tuple(corpus.shape)}")
        xp = array_module(corpus)
        counts = xp.bincount(corpus, minlength=vocab or 0).astype("float64")
        if int((counts > 0).sum()) < 2:
            raise DataError(
                "UnigramSampler: the corpus has fewer than 2 distinct words; negatives need others"
            )
        weights = counts**power
        cdf = xp.cumsum(weights) / weights.sum()
        cdf[-1] = 1.0
        return cls(cdf, negatives)

    def negatives_for(self, key: Key, targets: Array) -> Array:
        """Negative ids of shape ``(*targets.shape, K)``; none equals its target.

        Raises:
            StateError: ``key`` is not a key.
        """
        b = backend_of(self.cdf)  # float64, as the cdf
        shape = (*targets.shape, self.negatives)
        ids = self._draw(random.uniform(key, shape, b))
        clash = ids == targets[..., None]
        round_ = 0
        while bool(clash.any()):
            round_ += 1
            redrawn = self._draw(random.uniform(random.fold_in(key, round_), (int(clash.sum()),), b))
            ids[clash] = redrawn
            clash = ids == targets[..., None]
        return ids

    def pairs(self, key: Key, targets: Array, dtype: str = "float32") -> tuple[Array, Array]:
        """The ids to score and their labels: ``ids[..., 0]`` the targets (label 1), then ``K`` negatives
        (label 0).

        Returns:
            ``(ids, labels)``, both of shape ``(*targets.shape, 1 + K)``; the labels in ``dtype``.
        """
        xp = array_module(targets)
        ids = xp.concatenate([targets[..., None], self.negatives_for(key, targets)], axis=-1)
        labels = xp.zeros(ids.shape, dtype=dtype)
        labels[..., 0] = 1
        return ids, labels

    def _draw(self, u: Array) -> Array:
        xp = array_module(u)
        ids: Array = xp.minimum(xp.searchsorted(self.cdf, u, side="right"), self.cdf.shape[0] - 1)
        return ids
