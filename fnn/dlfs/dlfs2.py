"""The language models of "Deep Learning from Scratch 2" (chapters 5-6) as fnn graphs; its published weights.

Each model is a :class:`~fnn.Graph` that maps ``(ids, state)`` to ``(logits, state)``:

- ``ids``: word ids ``(N, T)`` (any integer dtype);
- ``state``: the recurrent state the window starts from; :func:`zero_state` gives the
  zeros that start (or reset) a stream, and the state a window returns is the one the
  next window of the same streams starts from (truncated backprop through time: pass it
  on, and ignore its gradient);
- ``logits``: unnormalized scores ``(N, T, V)`` of the next word. The softmax belongs
  to the loss (:data:`fnn.losses.time_softmax_cross_entropy`) or to sampling
  (:func:`fnn.text.generate`).

The models, with the book's initializations (``0.01·randn`` embeddings, LeCun-normal
``randn/√fan_in`` recurrent and output weights, zero biases):

======================  ====================================================  ========================
builder                 layers                                                state
======================  ====================================================  ========================
:func:`simple_rnnlm`    Embedding → RNN (tanh) → Dense over time (ch. 5)      ``h``
:func:`rnnlm`           Embedding → LSTM → Dense over time (ch. 6)            ``(h, c)``
:func:`better_rnnlm`    Embedding → dropout → LSTM → dropout → LSTM →         ``((h₁, c₁), (h₂, c₂))``
                        dropout → Dense, weight: the embedding's transpose
======================  ====================================================  ========================

The book's LSTM orders its four gate blocks f, g, i, o along the ``4H`` axis, as
:class:`fnn.LSTM` does, and its affine weights are ``(in, out)`` as fnn's ``Dense``:
the published ``Rnnlm.pkl`` loads without any reordering (:func:`rnnlm_params`). The
book's ``TimeDropout`` is inverted (it scales kept units by ``1/(1 − ratio)``), like
:class:`fnn.Dropout`, so inference is the identity in both.

>>> import fnn
>>> model = rnnlm(vocab=50, wordvec=8, hidden=6)
>>> params = model.init(fnn.random.key(0), rnnlm_in_shape(model, time_size=5))
>>> ids = fnn.backend().xp.zeros((2, 5), dtype="int64")
>>> logits, state = model.apply(params, (ids, zero_state(model, 2)))
>>> logits.shape, state[0].shape
((2, 5, 50), (2, 6))
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import attrs

from fnn import initializers
from fnn.backend import Backend, backend_of, resolve
from fnn.errors import ShapeError
from fnn.io import load_pickle
from fnn.layers.core import Layer
from fnn.layers.dense import Dense, DenseParams
from fnn.layers.dropout import Dropout
from fnn.layers.embedding import Embedding, EmbeddingParams
from fnn.layers.graph import Graph, GraphParams, Node, Share
from fnn.layers.recurrent import GRU, LSTM, RNN, LSTMParams
from fnn.metrics import perplexity
from fnn.typing import Array, ShapeTree

__all__ = [
    "simple_rnnlm",
    "rnnlm",
    "better_rnnlm",
    "rnnlm_in_shape",
    "zero_state",
    "rnnlm_params",
    "load_rnnlm",
    "eval_perplexity",
]

PTB_VOCAB = 10000
"""The size of the book's Penn Treebank vocabulary."""


def _tuple_identity() -> Graph:
    """A graph with no nodes that returns its 2-tuple input: inside a graph it names the
    entries of a tuple value (splitting ``state`` into each layer's) or joins two values."""
    return Graph(("first", "second"), (), ("first", "second"))


def _output_layer(vocab: int) -> Dense:
    return Dense(vocab, w_init=initializers.lecun_normal())


def _one_layer_lm(recurrent: Layer[Any], vocab: int, wordvec: int) -> Graph:
    return Graph(
        ("ids", "state"),
        (
            Node("embed", Embedding(vocab, wordvec), "ids"),
            Node(("hs", "final"), recurrent, ("embed", "state")),
            Node("logits", _output_layer(vocab), "hs"),
        ),
        ("logits", "final"),
    )


def simple_rnnlm(vocab: int = PTB_VOCAB, wordvec: int = 100, hidden: int = 100) -> Graph:
    """The book's ``SimpleRnnlm`` (chapter 5): Embedding → RNN (tanh) → Dense over time.

    Maps ``(ids (N, T), h (N, H))`` to ``(logits (N, T, V), h_T (N, H))``.

    Args:
        vocab: ``V``, the number of words.
        wordvec: ``D``, the embedding size.
        hidden: ``H``, the RNN's state size.
    """
    return _one_layer_lm(RNN(hidden, return_state=True), vocab, wordvec)


def rnnlm(vocab: int = PTB_VOCAB, wordvec: int = 100, hidden: int = 100) -> Graph:
    """The book's ``Rnnlm`` (chapter 6): Embedding → LSTM → Dense over time.

    Maps ``(ids (N, T), (h, c))`` to ``(logits (N, T, V), (h_T, c_T))``, each state array
    ``(N, H)``. The defaults are the book's PTB model (``Rnnlm.pkl``: V = 10,000,
    D = H = 100).

    Args:
        vocab: ``V``, the number of words.
        wordvec: ``D``, the embedding size.
        hidden: ``H``, the LSTM's state size.
    """
    return _one_layer_lm(LSTM(hidden, return_state=True), vocab, wordvec)


def better_rnnlm(
    vocab: int = PTB_VOCAB, wordvec: int = 650, hidden: int = 650, dropout: float = 0.5
) -> Graph:
    """The book's ``BetterRnnlm`` (chapter 6): two LSTM layers, time dropout, weight tying.

    ``embed → dropout → LSTM₁ → dropout → LSTM₂ → dropout → logits = h Wₑᵀ + b``: the
    output weight is the embedding table ``Wₑ (V, D)`` transposed (a :class:`~fnn.Share`
    with ``transpose=True``), so the params hold it once and its gradient is the sum of
    both uses, ``dWₑ = dW_embed + dW_outᵀ``; ``params["logits"].w`` is ``None``. Tying
    needs ``wordvec == hidden``.

    Maps ``(ids (N, T), ((h₁, c₁), (h₂, c₂)))`` to ``(logits (N, T, V), ((h₁, c₁), (h₂, c₂)))``
    (the final states).
    Dropout draws from the key of ``forward_train``; ``apply`` is deterministic.

    Args:
        vocab: ``V``, the number of words.
        wordvec: ``D``, the embedding size (the book: 650).
        hidden: ``H``, each LSTM's state size; must equal ``wordvec``.
        dropout: The probability of dropping a unit (the book: 0.5).

    Raises:
        ShapeError: ``wordvec != hidden`` (the tied weight could not serve both uses).
    """
    if wordvec != hidden:
        raise ShapeError(
            f"better_rnnlm: weight tying uses the embedding table (V, wordvec) transposed as the "
            f"output weight (hidden, V), so wordvec must equal hidden; got wordvec={wordvec}, hidden={hidden}"
        )
    return Graph(
        ("ids", "state"),
        (
            Node(("state1", "state2"), _tuple_identity(), "state"),
            Node("embed", Embedding(vocab, wordvec), "ids"),
            Node("drop0", Dropout(dropout), "embed"),
            Node(("hs1", "final1"), LSTM(hidden, return_state=True), ("drop0", "state1")),
            Node("drop1", Dropout(dropout), "hs1"),
            Node(("hs2", "final2"), LSTM(hidden, return_state=True), ("drop1", "state2")),
            Node("drop2", Dropout(dropout), "hs2"),
            Node("logits", _output_layer(vocab), "drop2"),
            Node("final", _tuple_identity(), ("final1", "final2")),
        ),
        ("logits", "final"),
        shared=(Share("logits.w", "embed.w", transpose=True),),
    )


def _recurrent_layers(model: Graph) -> list[RNN | LSTM | GRU]:
    layers = [node.layer for node in model.nodes if isinstance(node.layer, (RNN, LSTM, GRU))]
    if not layers:
        raise ShapeError(
            f"{model!r}: has no recurrent layer, so it has no state; build it with rnnlm() and its kin"
        )
    return layers


def _state_tree(model: Graph, leaf: Any) -> Any:
    """The model's state structure with ``leaf(H)`` for each array."""
    states = [
        (leaf(layer.hidden), leaf(layer.hidden)) if isinstance(layer, LSTM) else leaf(layer.hidden)
        for layer in _recurrent_layers(model)
    ]
    return states[0] if len(states) == 1 else tuple(states)


def rnnlm_in_shape(model: Graph, time_size: int) -> ShapeTree:
    """The ``in_shape`` to ``init`` a language model of this module with: ``((T,), state shapes)``."""
    return ((time_size,), _state_tree(model, lambda h: (h,)))


def zero_state(model: Graph, batch: int, backend: Backend | None = None) -> Any:
    """The all-zero state of ``batch`` streams: a fresh start (the book's ``reset_state``).

    Args:
        model: A model of this module (its recurrent layers give the structure and sizes).
        batch: ``N``, the number of streams.
        backend: Where and in which dtype (default: the default backend); use the params'.

    Returns:
        ``h`` (RNN), ``(h, c)`` (LSTM), or a tuple of those for stacked layers (in the order
        of the graph's nodes), each ``(N, H)``.

    Raises:
        ShapeError: ``model`` has no RNN, LSTM or GRU node.
    """
    b = resolve(backend)
    return _state_tree(model, lambda h: b.zeros((batch, h)))


BOOK_RNNLM_SHAPES = (
    "embedding (V, D)",
    "LSTM Wx (D, 4H)",
    "LSTM Wh (H, 4H)",
    "LSTM b (4H,)",
    "affine W (H, V)",
    "affine b (V,)",
)
"""What each of the six arrays of the book's ``Rnnlm`` parameter list is, in order."""


def rnnlm_params(arrays: Sequence[Array], backend: Backend | None = None) -> GraphParams:
    """The params of :func:`rnnlm` from the book's list of six arrays (``Rnnlm.pkl``'s layout).

    The list is ``[embedding (V, D), Wx (D, 4H), Wh (H, 4H), b (4H,), W (H, V), b (V,)]``.
    The gate blocks are f, g, i, o in both the book and :class:`fnn.LSTM` and affine
    weights are ``(in, out)`` in both, so no array is reordered; each is cast to the
    backend's dtype (the file holds float16) and checked against the sizes ``V``,
    ``D``, ``H`` read from the embedding and ``Wh``.

    Args:
        arrays: The six arrays, in the book's order.
        backend: Where the params live and their dtype (default: the default backend).

    Returns:
        Params for ``rnnlm(V, D, H)``.

    Raises:
        ShapeError: not six arrays, or an array of the wrong shape (a transposed weight,
            another model's list); the message names the array and both shapes.
    """
    if len(arrays) != len(BOOK_RNNLM_SHAPES):
        raise ShapeError(
            f"rnnlm_params: expected the book's Rnnlm parameter list of {len(BOOK_RNNLM_SHAPES)} arrays "
            f"({', '.join(BOOK_RNNLM_SHAPES)}), got {len(arrays)} arrays"
        )
    embed, wx, wh, b_lstm, w_out, b_out = arrays
    vocab, wordvec = _shape(embed, 0, 2), _shape(embed, 1, 2)
    hidden = _shape(wh, 0, 2)
    gates = 4 * hidden
    expected = ((vocab, wordvec), (wordvec, gates), (hidden, gates), (gates,), (hidden, vocab), (vocab,))
    for i, (array, shape) in enumerate(zip(arrays, expected)):
        if tuple(array.shape) != shape:
            hint = "; it looks transposed" if tuple(array.shape) == shape[::-1] else ""
            raise ShapeError(
                f"rnnlm_params: array {i} ({BOOK_RNNLM_SHAPES[i]}) must have shape {shape} for "
                f"V={vocab}, D={wordvec}, H={hidden} (read from the embedding and Wh), got "
                f"{tuple(array.shape)}{hint}"
            )
    bk = resolve(backend)
    return {
        "embed": EmbeddingParams(bk.asarray(embed)),
        "hs": LSTMParams(bk.asarray(wx), bk.asarray(wh), bk.asarray(b_lstm)),
        "logits": DenseParams(bk.asarray(w_out), bk.asarray(b_out)),
    }


def _shape(array: Array, axis: int, ndim: int) -> int:
    shape = tuple(getattr(array, "shape", ()))
    if len(shape) != ndim:
        raise ShapeError(f"rnnlm_params: expected a {ndim}-D array, got shape {shape}")
    return int(shape[axis])


def load_rnnlm(path: str | os.PathLike[str], backend: Backend | None = None) -> GraphParams:
    """Read the book's ``Rnnlm.pkl`` safely (no code runs) as params of :func:`rnnlm`.

    Args:
        path: The pickle (``../shared/data/dlfs2/Rnnlm.pkl``).
        backend: Where the params live and their dtype (float16 in the file is cast to it).

    Raises:
        FormatError: the file is not a plain pickle of arrays (see :func:`fnn.io.load_pickle`).
        ShapeError: it does not hold the book's six ``Rnnlm`` arrays (see :func:`rnnlm_params`).
    """
    value = load_pickle(path)
    if not isinstance(value, (list, tuple)):
        raise ShapeError(
            f"load_rnnlm: {os.fspath(path)!r} holds a {type(value).__name__}, not the book's list of arrays"
        )
    return rnnlm_params(value, backend)


@attrs.frozen
class _StateAsLayerState:
    """A model of this module seen through :mod:`fnn.metrics`'s carried-state interface:
    ``apply_with_state(params, state, xs)`` is ``model.apply(params, (xs, state))``."""

    model: Graph

    def init_state(self, in_shape: tuple[int, ...], backend: Backend | None = None) -> Any:
        raise NotImplementedError("eval_perplexity always passes the zero state")  # pragma: no cover

    def apply_with_state(self, params: Any, state: Any, x: Any) -> tuple[Any, Any]:
        logits, new_state = self.model.apply(params, (x, state))
        return logits, new_state


def eval_perplexity(
    model: Graph, params: GraphParams, corpus: Array, *, batch_size: int = 10, time_size: int = 35
) -> float:
    """The book's ``eval_perplexity``: ``exp`` of the mean window loss over a corpus, state carried.

    :func:`fnn.metrics.perplexity` for a model of this module, starting from the zero
    state (the book's ``reset_state``): ``batch_size`` streams at evenly spaced offsets,
    windows of ``time_size`` continuing each stream, the state carried from window to
    window, ``perplexity = exp((1/K) Σₖ Lₖ)`` with ``Lₖ`` the mean cross entropy of
    window ``k``'s ``N·T`` next-word predictions. Memory is one window's logits.

    Args:
        model: A model of this module.
        params: Its params (their dtype is the dtype of the computation).
        corpus: Word ids ``(C,)``, on the params' backend.
        batch_size: ``N`` (the book: 10).
        time_size: ``T`` (the book: 35).

    Returns:
        The perplexity, a float.

    Raises:
        ShapeError: ``corpus`` is not 1-D or is shorter than one window.
    """
    state = zero_state(model, batch_size, backend_of(params["embed"].w))
    return perplexity(
        _StateAsLayerState(model), params, corpus, batch_size=batch_size, time_size=time_size, state=state
    )
