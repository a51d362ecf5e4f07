"""An encoder-decoder toy: learn to reverse a string of digits (the shape of DLfS 2, ch. 7).

The source is ``--length`` random digits, the target the same digits reversed
(``31415 → 51413``). The model is the book's seq2seq:

- the **encoder** embeds the source digits and runs an LSTM over them; only its final
  state ``(h, c)`` is kept;
- the **decoder** embeds its own input, runs an LSTM that *starts from the encoder's
  state*, and a dense layer maps each hidden state to scores over the ten digits.

It is written as an ``fnn.Graph``: named values wired through layers, the book's
computational graph. The backward pass runs each node's hand-derived gradient in
reverse; the decoder LSTM's gradient of its initial state flows into the encoder.

In training the decoder reads the target shifted right behind a start symbol ``_``
(teacher forcing), and the loss is the softmax cross entropy at every step
(:class:`SequenceCrossEntropy`); Adam with gradient clipping and a cosine-decaying
learning rate trains it. At inference the decoder starts from ``_`` and feeds each
predicted digit back in (greedy decoding), one step at a time, carrying its state.

Run: ``python examples/encoder_decoder.py`` (a few seconds on one core; ``--steps 300``, which
the test runs, already reverses over 99% of new strings exactly).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn
from fnn import Node
from fnn.typing import Array

DIGITS = 10
START = DIGITS
"""The id of the start symbol ``_`` (after the ten digits)."""
VOCAB = DIGITS + 1


def make_batch(key: fnn.random.Key, n: int, length: int, backend: fnn.Backend) -> tuple[Array, Array, Array]:
    """``(source, decoder_input, target)``, integer ids of shape ``(n, length)`` each.

    ``target`` is ``source`` reversed; ``decoder_input`` is ``target`` shifted right
    behind the start symbol (teacher forcing): ``_5141`` for the target ``51413``.
    """
    xp = backend.xp
    draws = fnn.random.uniform(key, (n, length), backend.with_dtype("float64"))
    source = xp.minimum((draws * DIGITS).astype(xp.int64), DIGITS - 1)
    target = source[:, ::-1].copy()
    decoder_input = xp.concatenate([xp.full((n, 1), START, dtype=xp.int64), target[:, :-1]], axis=1)
    return source, decoder_input, target


class SequenceCrossEntropy(fnn.losses.Loss):
    """Softmax cross entropy at every step: logits ``(N, T, C)``, integer targets ``(N, T)``.

    ``ℓ = (1/(N·T)) Σₙₜ [log Σ_c e^{zₙₜc} − zₙₜ,tₙₜ]``: fnn's softmax cross entropy over
    the ``N·T`` steps as rows, so the gradient is its fused ``(softmax(z) − onehot(t))/(N·T)``.
    """

    accepts_labels = True

    def compute(self, y: Array, t: Array) -> tuple[Array, Array]:
        n, steps, classes = y.shape
        value, dy = fnn.losses.softmax_cross_entropy.compute(y.reshape(n * steps, classes), t.reshape(-1))
        return value, dy.reshape(y.shape)


@attrs.frozen
class TimeDistributed(fnn.Composite[Any]):
    """``layer`` applied at every step of a sequence: ``(N, T, ·) → (N, T, ·)``.

    The steps become rows, ``(N·T, ·)``, for ``layer`` and are split again after it
    (forward and backward alike). This branch's ``Dense`` takes ``(N, D)`` only; where
    ``Dense`` maps the last axis of ``(N, T, D)`` itself, this wrapper is not needed.
    """

    layer: fnn.Layer[Any]

    @property
    def children(self) -> tuple[fnn.Layer[Any], ...]:
        return (self.layer,)

    def out_shape(self, in_shape: Any) -> Any:
        steps, *rest = in_shape
        return (steps, *self.layer.out_shape(tuple(rest)))

    def init(self, key: fnn.random.Key, in_shape: Any, backend: fnn.Backend | None = None) -> Any:
        return self.layer.init(key, tuple(in_shape[1:]), backend)

    def init_state(self, in_shape: Any, backend: fnn.Backend | None = None) -> Any:
        return None

    def forward_train(self, params: Any, state: Any, x: Array, key: fnn.random.Key | None = None) -> Any:
        y, residuals, _ = self.train_child(0, params, None, _rows(x), None)
        return _steps(y, x.shape[1]), residuals, state

    def apply_with_state(self, params: Any, state: Any, x: Array) -> tuple[Array, Any]:
        y, _ = self.infer_child(0, params, None, _rows(x))
        return _steps(y, x.shape[1]), state

    def grad(self, params: Any, residuals: Any, dy: Array) -> tuple[Any, Array]:
        dparams, dx = self.layer.grad(params, residuals, _rows(dy))
        return dparams, _steps(dx, dy.shape[1])


def _rows(x: Array) -> Array:
    rows: Array = x.reshape(x.shape[0] * x.shape[1], *x.shape[2:])
    return rows


def _steps(rows: Array, steps: int) -> Array:
    x: Array = rows.reshape(rows.shape[0] // steps, steps, *rows.shape[1:])
    return x


def build_model(dim: int, hidden: int) -> fnn.Graph:
    """The seq2seq graph: ``(source, decoder_input)`` ids ``(N, T)`` → logits ``(N, T, DIGITS)``."""
    return fnn.Graph(
        inputs=("source", "decoder_input"),
        nodes=(
            Node("source_vectors", fnn.Embedding(VOCAB, dim), "source"),
            # The encoder returns (h_T, (h_T, c_T)): only the state is read.
            Node(
                ("encoded", "state"),
                fnn.LSTM(hidden, return_sequences=False, return_state=True),
                "source_vectors",
            ),
            Node("decoder_vectors", fnn.Embedding(VOCAB, dim), "decoder_input"),
            Node("hs", fnn.LSTM(hidden), ("decoder_vectors", "state")),  # starts from the encoder's state
            Node("logits", TimeDistributed(fnn.Dense(DIGITS)), "hs"),
        ),
        outputs="logits",
    )


def greedy_decode(model: fnn.Graph, params: dict[str, Any], source: Array) -> Array:
    """Answer ``source`` without teacher forcing: from ``_``, feed each predicted digit back in.

    The encoder runs once; the decoder then runs one step at a time, carrying its state.
    The graph's params are a dict by node name, so each part is run with its own.
    """
    layers = {node.name: node.layer for node in model.nodes}
    source_vectors = layers["source_vectors"].apply(params["source_vectors"], source)
    _, state = layers["encoded"].apply(params["encoded"], source_vectors)
    hidden = params["hs"].wh.shape[0]
    stepper = fnn.LSTM(hidden, return_state=True)  # the decoder's params, also returning the state
    xp = fnn.array_module(source)
    previous = xp.full((source.shape[0], 1), START, dtype=xp.int64)
    answer = []
    for _ in range(source.shape[1]):
        vectors = layers["decoder_vectors"].apply(params["decoder_vectors"], previous)
        hs, state = stepper.apply(params["hs"], (vectors, state))
        previous = layers["logits"].apply(params["logits"], hs).argmax(axis=2)
        answer.append(previous)
    digits: Array = xp.concatenate(answer, axis=1)
    return digits


def text(ids: Array) -> str:
    """A row of ids as the digits it spells (``_`` for the start symbol)."""
    return "".join("_" if int(i) == START else str(int(i)) for i in fnn.to_numpy(ids))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train the reverser, print the loss and the exact-match accuracy, and decode a few strings."""
    parser = argparse.ArgumentParser(description="Reverse digit strings with an LSTM encoder-decoder.")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--length", type=int, default=5)
    parser.add_argument("--dim", type=int, default=16, help="embedding size")
    parser.add_argument("--hidden", type=int, default=64, help="LSTM state size")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    backend = fnn.default_backend()  # NumPy, or CuPy under FNN_BACKEND=cupy
    init_key, data_key, test_key = fnn.random.split(fnn.random.key(args.seed), 3)
    model = build_model(args.dim, args.hidden)
    params = model.init(init_key, ((args.length,), (args.length,)), backend)
    # Adam with the book's gradient clipping (norm 5) and a learning rate decaying to 0 (cosine).
    schedule = fnn.optim.cosine_decay(args.lr, args.steps)
    optimizer = fnn.optim.chain(fnn.optim.clip_by_global_norm(5.0), fnn.optim.adam(schedule))
    opt_state = optimizer.init(params)
    loss_fn = SequenceCrossEntropy()
    test_source, _, test_target = make_batch(test_key, 1000, args.length, backend)

    def exact_match() -> float:
        return float((greedy_decode(model, params, test_source) == test_target).all(axis=1).mean())

    start = time.perf_counter()
    losses = []
    for step in range(1, args.steps + 1):
        batch_key = fnn.random.fold_in(data_key, step)
        source, decoder_input, target = make_batch(batch_key, args.batch_size, args.length, backend)
        logits, residuals = model.forward(params, (source, decoder_input))
        loss, dlogits = loss_fn.value_and_grad(logits, target)
        grads = model.param_grad(params, residuals, dlogits)  # each node's grad, in reverse order
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = fnn.optim.apply_updates(params, updates)
        losses.append(float(loss))
        if step % 100 == 0 or step == args.steps:
            mean_loss = sum(losses[-100:]) / len(losses[-100:])
            print(f"| step {step:>4} | loss {mean_loss:.4f} | exact match {exact_match():.3f}")
    seconds = time.perf_counter() - start
    accuracy = exact_match()
    print(
        f"trained {args.steps} steps in {seconds:.1f} s: {accuracy:.1%} of 1,000 new strings reversed exactly"
    )
    answers = greedy_decode(model, params, test_source[:5])
    for source, answer in zip(test_source[:5], answers):
        print(f"{text(source)} -> {text(answer)}")
    return {"params": params, "losses": losses, "accuracy": accuracy, "model": model}


if __name__ == "__main__":
    main()
