"""word2vec of "Deep Learning from Scratch 2" (chapters 3-4) as fnn graphs; its published CBOW vectors.

======================  ===========================================================  =====================
builder                 input → output                                               loss
======================  ===========================================================  =====================
:func:`simple_cbow`     one-hot contexts ``((N, V), (N, V))`` → scores ``(N, V)``    softmax CE vs target
:func:`simple_skip_gram`  one-hot target ``(N, V)`` → scores ``(N, V)``              softmax CE vs the sum
                                                                                     of the contexts' one-hots
:func:`cbow`            ``(contexts (N, 2w), ids (N, 1 + K))`` → ``(N, 1 + K)``      negative sampling
:func:`skip_gram`       ``(target (N,), ids (N, 2w, 1 + K))`` → ``(N, 2w, 1 + K)``   negative sampling
======================  ===========================================================  =====================

The simple models are the book's ``SimpleCBOW`` and ``SimpleSkipGram``: ``MatMul`` layers
(``Dense`` without bias). ``SimpleCBOW``'s two input layers share one weight
``W_in`` (:class:`fnn.Share`: its gradient is the sum of both uses). ``SimpleSkipGram``
scores once and adds the losses of its two contexts: softmax cross entropy against the
sum of their one-hot rows is exactly that sum (the fused gradient is
``(softmax(s)·Σₖ tₖ − t)/N``). The negative-sampling models use :class:`fnn.Embedding` and
:class:`fnn.EmbeddingDot`; ``ids`` and their labels come from
:meth:`fnn.text.negative_sampling.UnigramSampler.pairs`, and the loss is
:data:`fnn.losses.negative_sampling_loss`. Every model names its input weight's node
``"in"``: :func:`word_vectors` returns it (the book's ``word_vecs = W_in``).

>>> import fnn
>>> model = cbow(vocab=20, hidden=4, window=2)
>>> params = model.init(fnn.random.key(0), cbow_in_shape(window=2, negatives=5))
>>> word_vectors(params).shape
(20, 4)
"""

from __future__ import annotations

import os
from typing import NamedTuple

import attrs

from fnn import initializers
from fnn.errors import FormatError
from fnn.io import load_pickle
from fnn.layers.combinators import FanInSum
from fnn.layers.core import ParameterFreeLayer, check_float_input
from fnn.layers.dense import Dense
from fnn.layers.embedding import Embedding
from fnn.layers.embedding_dot import EmbeddingDot
from fnn.layers.graph import Graph, GraphParams, Node, Share
from fnn.layers.nodes import Sum
from fnn.typing import Array, Shape, ShapeTree

__all__ = [
    "simple_cbow",
    "simple_skip_gram",
    "cbow",
    "skip_gram",
    "cbow_in_shape",
    "skip_gram_in_shape",
    "word_vectors",
    "WordVectors",
    "load_cbow_params",
]


@attrs.frozen
class _Scale(ParameterFreeLayer):
    """``y = c·x`` (the book's ``h *= 1 / len(in_layers)``); **Backward**: ``dx = c·dy``."""

    holds_no_layers = True

    factor: float

    def out_shape(self, in_shape: ShapeTree) -> ShapeTree:
        return in_shape

    def apply(self, params: None, x: Array) -> Array:
        check_float_input(self, x)
        y: Array = x * x.dtype.type(self.factor)
        return y

    def forward(self, params: None, x: Array) -> tuple[Array, None]:
        return self.apply(params, x), None

    def grad(self, params: None, residuals: None, dy: Array) -> tuple[None, Array]:
        return None, dy * dy.dtype.type(self.factor)


def _matmul(features: int) -> Dense:
    """The book's ``MatMul`` with its ``0.01 · randn`` weight."""
    return Dense(features, use_bias=False, w_init=initializers.normal(0.01))


def simple_cbow(vocab: int, hidden: int) -> Graph:
    """The book's ``SimpleCBOW`` (window 1): ``s = ½(c₀ W_in + c₁ W_in) W_out``.

    Input: the one-hot rows of the two context words, a tuple ``((N, V), (N, V))``
    (``in_shape ((V,), (V,))``); output: the scores ``(N, V)`` of the target. Both input
    nodes use ``W_in`` (``(V, H)``); ``W_out`` is ``(H, V)``; both start as ``0.01 · randn``.
    """
    return Graph(
        inputs=("c0", "c1"),
        nodes=(
            Node("in", _matmul(hidden), "c0"),
            Node("in1", _matmul(hidden), "c1"),
            Node("sum", FanInSum(), ("in", "in1")),
            Node("h", _Scale(0.5), "sum"),
            Node("out", _matmul(vocab), "h"),
        ),
        outputs="out",
        shared=(Share("in1", "in"),),
    )


def simple_skip_gram(vocab: int, hidden: int) -> Graph:
    """The book's ``SimpleSkipGram`` (window 1): ``s = (t W_in) W_out``.

    Input: the target's one-hot rows ``(N, V)``; output: the scores ``(N, V)`` of each
    context word. Train it with ``softmax_cross_entropy(s, onehot(c₀) + onehot(c₁))``, the
    sum of the book's two losses.
    """
    return Graph(
        inputs="target",
        nodes=(Node("in", _matmul(hidden), "target"), Node("out", _matmul(vocab), "in")),
        outputs="out",
    )


def cbow(vocab: int, hidden: int, window: int) -> Graph:
    """The book's ``CBOW`` with negative sampling (chapter 4).

    **Forward**: ``h = (1/2w) Σ_c W_in[contexts[:, c]]``, ``y[n, s] = W_out[ids[n, s]] · h[n]``.

    Input: ``(contexts, ids)``: context ids ``(N, 2w)`` and the ids to score ``(N, 1 + K)``
    (the target, then ``K`` negatives); output: their scores ``(N, 1 + K)``. ``W_in`` and
    ``W_out`` are both ``(V, H)``, ``0.01 · randn``.
    """
    return Graph(
        inputs=("contexts", "ids"),
        nodes=(
            Node("in", Embedding(vocab, hidden), "contexts"),
            Node("sum", Sum(), "in"),
            Node("h", _Scale(1 / (2 * window)), "sum"),
            Node("out", EmbeddingDot(vocab, hidden), ("h", "ids")),
        ),
        outputs="out",
    )


def skip_gram(vocab: int, hidden: int) -> Graph:
    """The book's ``SkipGram`` with negative sampling (chapter 4).

    **Forward**: ``h = W_in[target]``, ``y[n, c, s] = W_out[ids[n, c, s]] · h[n]``.

    Input: ``(target, ids)``: target ids ``(N,)`` and, for each of the ``2w`` contexts,
    the ids to score ``(N, 2w, 1 + K)`` (the context word, then ``K`` negatives); output:
    their scores ``(N, 2w, 1 + K)``. The book's loss, one negative-sampling loss per
    context added up, is :data:`fnn.losses.negative_sampling_loss` over all of them.
    """
    return Graph(
        inputs=("target", "ids"),
        nodes=(
            Node("in", Embedding(vocab, hidden), "target"),
            Node("out", EmbeddingDot(vocab, hidden), ("in", "ids")),
        ),
        outputs="out",
    )


def cbow_in_shape(window: int, negatives: int) -> tuple[Shape, Shape]:
    """``in_shape`` of :func:`cbow`: ``((2w,), (1 + K,))``."""
    return (2 * window,), (1 + negatives,)


def skip_gram_in_shape(window: int, negatives: int) -> tuple[Shape, Shape]:
    """``in_shape`` of :func:`skip_gram`: ``((), (2w, 1 + K))``."""
    return (), (2 * window, 1 + negatives)


def word_vectors(params: GraphParams) -> Array:
    """The word vectors ``W_in`` ``(V, H)`` of any of these models (the book's ``word_vecs``)."""
    w: Array = params["in"].w
    return w


class WordVectors(NamedTuple):
    """Word vectors with their vocabulary (the book's ``cbow_params.pkl``).

    Attributes:
        word_vecs: ``(V, H)``, row ``i`` for id ``i``.
        word_to_id: Each word's id.
        id_to_word: The inverse mapping.
    """

    word_vecs: Array
    word_to_id: dict[str, int]
    id_to_word: dict[int, str]


def load_cbow_params(path: str | os.PathLike[str], dtype: str | None = "float32") -> WordVectors:
    """The book's published CBOW vectors (``cbow_params.pkl``: PTB, window 5, H = 100), read safely.

    The file is read with :func:`fnn.io.load_pickle` (no code runs). The book saved the
    vectors as float16; ``dtype`` casts them (``None`` keeps float16).

    Raises:
        FormatError: the file is not a dict with ``word_vecs`` ``(V, H)``, ``word_to_id`` and
            ``id_to_word`` of ``V`` words each, inverse to each other.
        FileNotFoundError: ``path`` does not exist.
    """
    data = load_pickle(path, dtype=dtype)
    if not (isinstance(data, dict) and {"word_vecs", "word_to_id", "id_to_word"} <= set(data)):
        got = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise FormatError(
            f"load_cbow_params: {path}: expected a dict with word_vecs, word_to_id and id_to_word, got {got}"
        )
    vecs, word_to_id, id_to_word = data["word_vecs"], data["word_to_id"], data["id_to_word"]
    vocab = len(word_to_id)
    if (
        getattr(vecs, "ndim", 0) != 2
        or vecs.shape[0] != vocab
        or {i: w for w, i in word_to_id.items()} != id_to_word
    ):
        raise FormatError(
            f"load_cbow_params: {path}: word_vecs of shape {getattr(vecs, 'shape', None)} "
            "and vocabularies of "
            f"{vocab} and {len(id_to_word)} words do not fit (expected (V, H), two inverse dicts of V words)"
        )
    return WordVectors(vecs, word_to_id, id_to_word)
