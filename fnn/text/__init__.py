"""Text: corpora of word ids, count-based word vectors, similarity and analogy, and generation with
language models (sampling or greedy, one model call per word).

- :mod:`fnn.text.corpus`: :func:`preprocess` (the book's), :func:`contexts_and_targets` (one-hot rows:
  :func:`fnn.datasets.one_hot`);
- :mod:`fnn.text.counts`: :func:`co_occurrence`, :func:`ppmi`, :func:`randomized_svd`;
- :mod:`fnn.text.similarity`: :func:`cosine_similarity`, :func:`most_similar`, :func:`analogy`;
- :mod:`fnn.text.negative_sampling`: :class:`UnigramSampler` (the loss is
  :data:`fnn.losses.negative_sampling_loss`);
- :mod:`fnn.text.generate`: :func:`next_word`, :func:`generate`.
"""

from fnn.text.corpus import Corpus as Corpus
from fnn.text.corpus import contexts_and_targets as contexts_and_targets
from fnn.text.corpus import preprocess as preprocess
from fnn.text.counts import co_occurrence as co_occurrence
from fnn.text.counts import ppmi as ppmi
from fnn.text.counts import randomized_svd as randomized_svd
from fnn.text.generate import LanguageModel as LanguageModel
from fnn.text.generate import generate as generate
from fnn.text.generate import next_word as next_word
from fnn.text.negative_sampling import UnigramSampler as UnigramSampler
from fnn.text.similarity import analogy as analogy
from fnn.text.similarity import cosine_similarity as cosine_similarity
from fnn.text.similarity import format_scores as format_scores
from fnn.text.similarity import most_similar as most_similar

__all__ = [
    "Corpus",
    "preprocess",
    "contexts_and_targets",
    "co_occurrence",
    "ppmi",
    "randomized_svd",
    "cosine_similarity",
    "most_similar",
    "analogy",
    "format_scores",
    "UnigramSampler",
    "LanguageModel",
    "generate",
    "next_word",
]
