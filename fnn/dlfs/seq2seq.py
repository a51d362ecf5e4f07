"""The sequence-to-sequence models of "Deep Learning from Scratch 2" (ch. 7-8) as fnn graphs.

Each model is a :class:`~fnn.Graph` mapping ``(question, decoder_input)`` ids, shapes
``(N, Q)`` and ``(N, A)``, to the decoder's logits ``(N, A, V)``; three nodes:

- ``"encoder"``: Embedding → LSTM over the question (from the zero state);
- ``"start"``: the decoder's first state ``(h, 0)``: the encoder's last hidden state
  and a zero cell (the book passes only ``h``; its ``set_state(h)`` leaves ``c`` at zero);
- ``"decoder"``: Embedding → LSTM from that state → (attention) → Dense over time,
  itself a graph mapping ``(ids, [encoded,] state)`` to ``(logits, state[, weights])``
  so that generation can run it one step at a time, carrying the state.

======================  ===================================================================
builder                 decoder
======================  ===================================================================
:func:`seq2seq`         reads only its start state ``h`` (ch. 7)
:func:`peeky_seq2seq`   ``h`` also joins every step's input ``[h, x_t]`` and the output
                        layer's input ``[h, h_t]`` (ch. 7, "peeky")
:func:`attention_seq2seq`  the encoder returns all states ``hs``; each step's context
                        ``c_t = Σ_j a_tj hs_j`` (:class:`fnn.Attention`) and the output
                        layer reads ``[c_t, h_t]`` (ch. 8)
======================  ===================================================================

Training is teacher forcing: the answer ``t = "_91  "`` gives the decoder input
``t[:, :-1]`` and the target ``t[:, 1:]`` (:func:`teacher_forcing`), and the loss is
:data:`fnn.losses.time_softmax_cross_entropy`. :func:`generate` answers greedily from
the start symbol, as the book's ``generate``; the gradients of every model are the
composition of its layers' hand-derived ones (checked numerically in the tests).

The book's initializations: ``0.01·randn`` embeddings, ``randn/√fan_in`` LSTM and
output weights, zero biases.

>>> import fnn
>>> model = seq2seq(vocab=13, wordvec=4, hidden=6)
>>> params = model.init(fnn.random.key(0), ((7,), (4,)))
>>> questions = fnn.backend().xp.zeros((2, 7), dtype="int64")
>>> generate(model, params, questions, start_id=6, length=4).shape
(2, 4)
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import attrs

from fnn import initializers
from fnn.backend import Backend, array_module, resolve
from fnn.errors import ArgumentError, ShapeError
from fnn.io import load_pickle
from fnn.layers.attention import Attention
from fnn.layers.combinators import FanInConcat
from fnn.layers.core import Layer, ParameterFreeLayer, check_float_input, check_shape_tree, is_shape
from fnn.layers.dense import Dense, DenseParams
from fnn.layers.embedding import Embedding, EmbeddingParams
from fnn.layers.graph import Graph, GraphParams, Node
from fnn.layers.recurrent import LSTM, LSTMParams
from fnn.typing import Array, ArrayTree, ShapeTree

__all__ = [
    "seq2seq",
    "peeky_seq2seq",
    "attention_seq2seq",
    "teacher_forcing",
    "generate",
    "attention_weights",
    "attention_seq2seq_params",
    "load_attention_seq2seq",
]


@attrs.frozen
class StartState(ParameterFreeLayer):
    """The decoder's first LSTM state from the encoder's output: ``(h, 0)``.

    **Forward**: ``h`` ``(N, H)`` → ``(h, zeros)``; with ``last_step=True`` the input is
    all encoder states ``hs`` ``(N, S, H)`` and ``h = hs[:, −1]``.

    **Backward (VJP)**: ``dh`` passes to ``h`` (to ``hs[:, −1]``, zeros elsewhere); the
    zero cell is a constant, so its gradient stops here.
    """

    last_step: bool = attrs.field(default=False, kw_only=True)
    holds_no_layers = True

    def out_shape(self, in_shape: ShapeTree) -> ShapeTree:
        shape = check_shape_tree(repr(self), in_shape)
        ndim = 2 if self.last_step else 1
        if not is_shape(shape) or len(shape) != ndim:
            raise ShapeError(
                f"{self!r}: expected `in_shape` {'(S, H)' if self.last_step else '(H,)'}, got {in_shape!r}"
            )
        return ((shape[-1],), (shape[-1],))

    def apply(self, params: None, x: ArrayTree) -> ArrayTree:
        check_float_input(self, x)
        h = x[:, -1] if self.last_step else x
        if h.ndim != 2:
            raise ShapeError(
                f"{self!r}: expected {'(N, S, H)' if self.last_step else '(N, H)'}, got {tuple(x.shape)}"
            )
        return (h, array_module(h).zeros_like(h))

    def forward(self, params: None, x: ArrayTree) -> tuple[ArrayTree, tuple[int, ...]]:
        return self.apply(params, x), tuple(x.shape)

    def grad(self, params: None, residuals: tuple[int, ...], dy: ArrayTree) -> tuple[None, Array]:
        dh = dy[0]
        if not self.last_step:
            return None, dh
        dhs = array_module(dh).zeros(residuals, dh.dtype)
        dhs[:, -1] = dh
        return None, dhs


@attrs.frozen
class Peek(ParameterFreeLayer):
    """The peeky decoder's join: ``(h, xs) → [h, x_t]`` at every step (``h`` first, the book's order).

    **Forward**: ``h`` ``(N, H)`` and ``xs`` ``(N, T, D)`` → ``(N, T, H + D)`` with
    ``y_t = [h, x_t]``.

    **Backward (VJP)**: ``h`` is read at every step, so ``dh = Σ_t dy_t[:H]`` (the Repeat
    node's sum); ``dx_t = dy_t[H:]``.
    """

    holds_no_layers = True

    def out_shape(self, in_shape: ShapeTree) -> ShapeTree:
        shapes = check_shape_tree(repr(self), in_shape)
        if is_shape(shapes) or len(shapes) != 2 or len(shapes[0]) != 1 or len(shapes[1]) != 2:
            raise ShapeError(f"{self!r}: expected `in_shape` ((H,), (T, D)) for (h, xs), got {in_shape!r}")
        (hidden,), (steps, dim) = shapes
        return (steps, hidden + dim)

    def apply(self, params: None, x: ArrayTree) -> ArrayTree:
        if not isinstance(x, tuple) or len(x) != 2:
            raise ShapeError(f"{self!r}: expected the pair (h, xs), got {type(x).__name__}")
        h, xs = x
        check_float_input(self, h)
        check_float_input(self, xs)
        if h.ndim != 2 or xs.ndim != 3 or h.shape[0] != xs.shape[0]:
            raise ShapeError(
                f"{self!r}: expected h (N, H) and xs (N, T, D) with the same N, "
                f"got {tuple(h.shape)} and {tuple(xs.shape)}"
            )
        xp = array_module(xs)
        repeated = xp.broadcast_to(h[:, None], (xs.shape[0], xs.shape[1], h.shape[1]))
        y: Array = xp.concatenate((repeated, xs), axis=2)
        return y

    def forward(self, params: None, x: ArrayTree) -> tuple[ArrayTree, int]:
        return self.apply(params, x), int(x[0].shape[1])

    def grad(self, params: None, residuals: int, dy: ArrayTree) -> tuple[None, tuple[Array, Array]]:
        return None, (dy[:, :, :residuals].sum(axis=1), dy[:, :, residuals:])


def _encoder(vocab: int, wordvec: int, hidden: int, all_states: bool) -> Graph:
    return Graph(
        "ids",
        (
            Node("embed", Embedding(vocab, wordvec), "ids"),
            Node("lstm", LSTM(hidden, return_sequences=all_states), "embed"),
        ),
        "lstm",
    )


def _output_layer(vocab: int) -> Dense:
    return Dense(vocab, w_init=initializers.lecun_normal())


def _model(encoder: Graph, decoder: Graph, last_step: bool) -> Graph:
    decoder_outputs = ("decoder", "decoder_state", "attention_weights")[: len(decoder.outputs)]
    reads_encoded = "encoded" in decoder.inputs
    decoder_inputs = ("decoder_input", "encoder", "start") if reads_encoded else ("decoder_input", "start")
    return Graph(
        ("question", "decoder_input"),
        (
            Node("encoder", encoder, "question"),
            Node("start", StartState(last_step=last_step), "encoder"),
            Node(decoder_outputs, decoder, decoder_inputs),
        ),
        "decoder",
    )


def seq2seq(vocab: int, wordvec: int = 16, hidden: int = 128) -> Graph:
    """The book's ``Seq2seq`` (ch. 7): the encoder's last ``h`` starts the decoder's LSTM.

    Maps ``(question (N, Q), decoder_input (N, A))`` ids to logits ``(N, A, V)``; the
    defaults are the book's addition settings (D = 16, H = 128).

    Args:
        vocab: ``V``, the number of characters.
        wordvec: ``D``, the embedding size.
        hidden: ``H``, the LSTMs' state size.
    """
    decoder = Graph(
        ("ids", "state"),
        (
            Node("embed", Embedding(vocab, wordvec), "ids"),
            Node(("lstm", "lstm_state"), LSTM(hidden, return_state=True), ("embed", "state")),
            Node("affine", _output_layer(vocab), "lstm"),
        ),
        ("affine", "lstm_state"),
    )
    return _model(_encoder(vocab, wordvec, hidden, all_states=False), decoder, last_step=False)


def peeky_seq2seq(vocab: int, wordvec: int = 16, hidden: int = 128) -> Graph:
    """The book's ``PeekySeq2seq`` (ch. 7): the encoder's ``h`` also joins every decoder input and output.

    The decoder LSTM reads ``[h, x_t]`` (``D + H`` wide) and the output layer
    ``[h, h_t]`` (``2H`` wide), in the book's order. Shapes as :func:`seq2seq`.
    """
    decoder = Graph(
        ("ids", "encoded", "state"),
        (
            Node("embed", Embedding(vocab, wordvec), "ids"),
            Node("peek_in", Peek(), ("encoded", "embed")),
            Node(("lstm", "lstm_state"), LSTM(hidden, return_state=True), ("peek_in", "state")),
            Node("peek_out", Peek(), ("encoded", "lstm")),
            Node("affine", _output_layer(vocab), "peek_out"),
        ),
        ("affine", "lstm_state"),
    )
    return _model(_encoder(vocab, wordvec, hidden, all_states=False), decoder, last_step=False)


def attention_seq2seq(vocab: int, wordvec: int = 16, hidden: int = 256) -> Graph:
    """The book's ``AttentionSeq2seq`` (ch. 8): attention over all encoder states at each decoder step.

    The encoder returns ``hs`` ``(N, Q, H)``; the decoder starts from ``hs[:, −1]``, and
    at each step :class:`fnn.Attention` gives the context ``c_t``; the output layer
    reads ``[c_t, h_t]`` (``2H`` wide: context first, the book's order). The decoder
    also returns the attention weights ``(N, A, Q)`` (:func:`attention_weights`). The
    defaults are the book's date settings (D = 16, H = 256).
    """
    decoder = Graph(
        ("ids", "encoded", "state"),
        (
            Node("embed", Embedding(vocab, wordvec), "ids"),
            Node(("lstm", "lstm_state"), LSTM(hidden, return_state=True), ("embed", "state")),
            Node(("attention", "weights"), Attention(return_weights=True), ("encoded", "lstm")),
            Node("concat", FanInConcat(), ("attention", "lstm")),
            Node("affine", _output_layer(vocab), "concat"),
        ),
        ("affine", "lstm_state", "weights"),
    )
    return _model(_encoder(vocab, wordvec, hidden, all_states=True), decoder, last_step=True)


def teacher_forcing(answers: Array) -> tuple[Array, Array]:
    """``(decoder_input, target) = (t[:, :-1], t[:, 1:])`` for answers ``t`` starting with ``_``.

    >>> import numpy as np
    >>> teacher_forcing(np.array([[6, 7, 0, 5, 5]]))
    (array([[6, 7, 0, 5]]), array([[7, 0, 5, 5]]))
    """
    if getattr(answers, "ndim", None) != 2 or answers.shape[1] < 2:
        raise ShapeError(
            f"teacher_forcing: expected answers (N, A) with A ≥ 2 (the start symbol and at least one "
            f"character), got shape {tuple(getattr(answers, 'shape', ()))}"
        )
    return answers[:, :-1], answers[:, 1:]


def _parts(model: Graph, where: str) -> tuple[Layer[Any], Layer[Any], Graph]:
    layers = {node.name: node.layer for node in model.nodes}
    decoder = layers.get("decoder")
    if not {"encoder", "start"} <= layers.keys() or not isinstance(decoder, Graph):
        raise ArgumentError(
            f"{where}: expected a model built by seq2seq, peeky_seq2seq or attention_seq2seq "
            f"(nodes 'encoder', 'start', 'decoder'), got a graph with nodes {sorted(layers)}"
        )
    return layers["encoder"], layers["start"], decoder


def _decoder_input(decoder: Graph, ids: Array, encoded: Array, state: Any) -> tuple[Any, ...]:
    return (ids, encoded, state) if "encoded" in decoder.inputs else (ids, state)


def generate(model: Graph, params: GraphParams, questions: Array, start_id: int, length: int) -> Array:
    """Greedy answers ``(N, length)``: from ``start_id``, feed each most likely character back in.

    The book's ``model.generate(question, start_id, length)`` for a whole batch: the
    encoder reads the questions once; the decoder then runs one step at a time from
    the start state, carrying its ``(h, c)``, and each step's ``argmax`` (the first
    maximum, as NumPy's) is the next step's input.

    Args:
        model: A model of this module.
        params: Its params.
        questions: ``(N, Q)`` ids (reversed if the model was trained on reversed questions).
        start_id: The id of ``_``.
        length: How many characters to generate (the answer's length without ``_``).

    Raises:
        ArgumentError: ``model`` is not one of this module's.
        ValueError: ``length`` is not a positive int.
    """
    encoder, start, decoder = _parts(model, "generate")
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise ValueError(
            f"generate: `length` must be a positive int (characters to generate), got {length!r}"
        )
    encoded = encoder.apply(params["encoder"], questions)
    state = start.apply(None, encoded)
    xp = array_module(encoded)
    ids = xp.full((questions.shape[0], 1), start_id, dtype=xp.int64)
    answer = []
    for _ in range(length):
        out = decoder.apply(params["decoder"], _decoder_input(decoder, ids, encoded, state))
        logits, state = out[0], out[1]
        ids = logits.argmax(axis=2)
        answer.append(ids)
    result: Array = xp.concatenate(answer, axis=1)
    return result


def attention_weights(model: Graph, params: GraphParams, questions: Array, decoder_input: Array) -> Array:
    """The attention weights ``(N, A, Q)`` of an :func:`attention_seq2seq` reading ``decoder_input``.

    Row ``t`` of example ``n`` is the softmax over the question's positions at decoder
    step ``t`` (teacher forcing: the decoder reads ``decoder_input``, as the book's
    attention maps do).

    Raises:
        ArgumentError: ``model`` is not an :func:`attention_seq2seq`.
    """
    encoder, start, decoder = _parts(model, "attention_weights")
    if len(decoder.outputs) != 3:
        raise ArgumentError("attention_weights: the model has no attention; build it with attention_seq2seq")
    encoded = encoder.apply(params["encoder"], questions)
    out = decoder.apply(params["decoder"], (decoder_input, encoded, start.apply(None, encoded)))
    weights: Array = out[2]
    return weights


BOOK_ATTENTION_SEQ2SEQ_SHAPES = (
    "encoder embedding (V, D)",
    "encoder LSTM Wx (D, 4H)",
    "encoder LSTM Wh (H, 4H)",
    "encoder LSTM b (4H,)",
    "decoder embedding (V, D)",
    "decoder LSTM Wx (D, 4H)",
    "decoder LSTM Wh (H, 4H)",
    "decoder LSTM b (4H,)",
    "affine W (2H, V)",
    "affine b (V,)",
)
"""What each of the ten arrays of the book's ``AttentionSeq2seq`` parameter list is, in order."""


def attention_seq2seq_params(arrays: Sequence[Array], backend: Backend | None = None) -> GraphParams:
    """The params of :func:`attention_seq2seq` from the book's list of ten arrays.

    The list (``AttentionSeq2seq.pkl``) is the encoder's embedding, ``Wx``, ``Wh``,
    ``b``, the decoder's, then the output layer's ``W (2H, V)`` and ``b``. The gate
    blocks (f, g, i, o) and the ``(in, out)`` affine layout are fnn's, and the affine
    reads ``[context, h]`` in both, so nothing is reordered; each array is cast to the
    backend's dtype (the file holds float16; the book casts to float32).

    Raises:
        ShapeError: not ten arrays, or one of the wrong shape for the ``V``, ``D``, ``H``
            read from the encoder's embedding and ``Wh``.
    """
    if len(arrays) != len(BOOK_ATTENTION_SEQ2SEQ_SHAPES):
        raise ShapeError(
            f"attention_seq2seq_params: expected the book's AttentionSeq2seq list of 10 arrays "
            f"({', '.join(BOOK_ATTENTION_SEQ2SEQ_SHAPES)}), got {len(arrays)} arrays"
        )
    shapes = [tuple(getattr(a, "shape", ())) for a in arrays]
    if len(shapes[0]) != 2 or len(shapes[2]) != 2:
        raise ShapeError(
            "attention_seq2seq_params: the encoder embedding and Wh must be 2-D, "
            f"got {shapes[0]} and {shapes[2]}"
        )
    (vocab, wordvec), hidden = shapes[0], shapes[2][0]
    lstm = ((vocab, wordvec), (wordvec, 4 * hidden), (hidden, 4 * hidden), (4 * hidden,))
    expected = (*lstm, *lstm, (2 * hidden, vocab), (vocab,))
    for i, (shape, want) in enumerate(zip(shapes, expected)):
        if shape != want:
            raise ShapeError(
                f"attention_seq2seq_params: array {i} ({BOOK_ATTENTION_SEQ2SEQ_SHAPES[i]}) must have shape "
                f"{want} for V={vocab}, D={wordvec}, H={hidden} (read from the encoder), got {shape}"
            )
    bk = resolve(backend)
    a = [bk.asarray(array) for array in arrays]
    return {
        "encoder": {"embed": EmbeddingParams(a[0]), "lstm": LSTMParams(a[1], a[2], a[3])},
        "start": None,
        "decoder": {
            "embed": EmbeddingParams(a[4]),
            "lstm": LSTMParams(a[5], a[6], a[7]),
            "attention": None,
            "concat": None,
            "affine": DenseParams(a[8], a[9]),
        },
    }


def load_attention_seq2seq(path: str | os.PathLike[str], backend: Backend | None = None) -> GraphParams:
    """Read the book's ``AttentionSeq2seq.pkl`` safely (no code runs) as params of :func:`attention_seq2seq`.

    Raises:
        FormatError: the file is not a plain pickle (see :func:`fnn.io.load_pickle`).
        ShapeError: it does not hold the book's ten arrays (see :func:`attention_seq2seq_params`).
    """
    value = load_pickle(path)
    if not isinstance(value, (list, tuple)):
        raise ShapeError(
            f"load_attention_seq2seq: {os.fspath(path)!r} holds a {type(value).__name__}, "
            "not the book's list of arrays"
        )
    return attention_seq2seq_params(value, backend)
