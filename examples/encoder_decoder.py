"""An encoder-decoder toy: learn to reverse a string of digits (the shape of DLfS 2, ch. 7).

The source is ``LENGTH`` random digits, the target the same digits reversed
(``31415 → 51413``). The model is the book's seq2seq:

- the **encoder** embeds the source digits and runs an LSTM over them; only its final
  state ``(h, c)`` is kept;
- the **decoder** embeds its own input, runs an LSTM that *starts from the encoder's
  state*, and a dense layer maps each hidden state to scores over the ten digits.

In training the decoder reads the target shifted right behind a start symbol ``_``
(teacher forcing), and the loss is the softmax cross entropy at every step. At
inference the decoder starts from ``_`` and feeds each predicted digit back in
(greedy decoding), one step at a time, carrying its state.

Run: ``python examples/encoder_decoder.py`` (``--steps 300`` is enough for about 95% of
strings exactly right; the test runs that).
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
class Seq2seqParams:
    """The params of :class:`Seq2seq`, one field per part."""

    encoder_embed: fnn.EmbeddingParams
    encoder: fnn.LSTMParams
    decoder_embed: fnn.EmbeddingParams
    decoder: fnn.LSTMParams
    output: fnn.DenseParams


@attrs.frozen
class Seq2seq(fnn.Layer[Seq2seqParams]):
    """The seq2seq model: ``(source, decoder_input)`` ids ``(N, T)`` → logits ``(N, T, DIGITS)``."""

    dim: int
    hidden: int

    @property
    def parts(self) -> tuple[fnn.Embedding, fnn.LSTM, fnn.Embedding, fnn.LSTM, fnn.Dense]:
        return (
            fnn.Embedding(VOCAB, self.dim),
            fnn.LSTM(self.hidden, return_sequences=False, return_state=True),
            fnn.Embedding(VOCAB, self.dim),
            fnn.LSTM(self.hidden),
            fnn.Dense(DIGITS),
        )

    def init(self, key: fnn.random.Key, in_shape: Any, backend: fnn.Backend | None = None) -> Seq2seqParams:
        (steps,), _ = in_shape
        keys = fnn.random.split(key, 5)
        embed, encoder, decoder_embed, decoder, output = self.parts
        state = ((self.hidden,), (self.hidden,))
        return Seq2seqParams(
            embed.init(keys[0], (steps,), backend),
            encoder.init(keys[1], (steps, self.dim), backend),
            decoder_embed.init(keys[2], (steps,), backend),
            decoder.init(keys[3], ((steps, self.dim), state), backend),
            output.init(keys[4], (self.hidden,), backend),
        )

    def out_shape(self, in_shape: Any) -> Any:
        _, (steps,) = in_shape
        return (steps, DIGITS)

    def forward(self, params: Seq2seqParams, x: Any) -> tuple[Array, Any]:
        source, decoder_input = x
        embed, encoder, decoder_embed, decoder, output = self.parts
        e, r_embed = embed.forward(params.encoder_embed, source)
        (_, state), r_encoder = encoder.forward(params.encoder, e)
        d, r_decoder_embed = decoder_embed.forward(params.decoder_embed, decoder_input)
        hs, r_decoder = decoder.forward(params.decoder, (d, state))
        n, steps, hidden = hs.shape
        logits, r_output = output.forward(params.output, hs.reshape(n * steps, hidden))
        residuals = (r_embed, r_encoder, r_decoder_embed, r_decoder, r_output)
        return logits.reshape(n, steps, DIGITS), residuals

    def grad(self, params: Seq2seqParams, residuals: Any, dy: Array) -> tuple[Seq2seqParams, Any]:
        embed, encoder, decoder_embed, decoder, output = self.parts
        r_embed, r_encoder, r_decoder_embed, r_decoder, r_output = residuals
        n, steps, _ = dy.shape
        g_output, dhs = output.grad(params.output, r_output, dy.reshape(n * steps, DIGITS))
        g_decoder, (dd, d_state) = decoder.grad(params.decoder, r_decoder, dhs.reshape(n, steps, self.hidden))
        g_decoder_embed, _ = decoder_embed.grad(params.decoder_embed, r_decoder_embed, dd)
        g_encoder, de = encoder.grad(params.encoder, r_encoder, (None, d_state))
        g_embed, _ = embed.grad(params.encoder_embed, r_embed, de)
        grads = Seq2seqParams(g_embed, g_encoder, g_decoder_embed, g_decoder, g_output)
        return grads, (None, None)


def greedy_decode(model: Seq2seq, params: Seq2seqParams, source: Array) -> Array:
    """Answer ``source`` without teacher forcing: from ``_``, feed each predicted digit back in.

    The encoder runs once; the decoder then runs one step at a time, carrying its state.
    """
    embed, encoder, decoder_embed, _, output = model.parts
    stepper = fnn.LSTM(model.hidden, return_state=True)  # the decoder's params, returning the state too
    _, state = encoder.apply(params.encoder, embed.apply(params.encoder_embed, source))
    xp = fnn.array_module(source)
    previous = xp.full((source.shape[0], 1), START, dtype=xp.int64)
    answer = []
    for _ in range(source.shape[1]):
        inputs = decoder_embed.apply(params.decoder_embed, previous)
        hs, state = stepper.apply(params.decoder, (inputs, state))
        previous = output.apply(params.output, hs[:, 0]).argmax(axis=1)[:, None]
        answer.append(previous)
    digits: Array = xp.concatenate(answer, axis=1)
    return digits


def text(ids: Array) -> str:
    return "".join("_" if int(i) == START else str(int(i)) for i in fnn.to_numpy(ids))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train the reverser, print the loss and the exact-match accuracy, and decode a few strings."""
    parser = argparse.ArgumentParser(description="Reverse digit strings with an LSTM encoder-decoder.")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--length", type=int, default=5)
    parser.add_argument("--dim", type=int, default=16, help="embedding size")
    parser.add_argument("--hidden", type=int, default=64, help="LSTM state size")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    backend = fnn.default_backend()  # NumPy, or CuPy under FNN_BACKEND=cupy
    init_key, data_key, test_key = fnn.random.split(fnn.random.key(args.seed), 3)
    model = Seq2seq(args.dim, args.hidden)
    params = model.init(init_key, ((args.length,), (args.length,)), backend)
    optimizer = fnn.optim.adam(args.lr)
    opt_state = optimizer.init(params)
    step_fn = fnn.value_and_grad(model, SequenceCrossEntropy())
    test_source, _, test_target = make_batch(test_key, 1000, args.length, backend)

    def exact_match() -> float:
        return float((greedy_decode(model, params, test_source) == test_target).all(axis=1).mean())

    start = time.perf_counter()
    losses = []
    for step in range(1, args.steps + 1):
        batch_key = fnn.random.fold_in(data_key, step)
        source, decoder_input, target = make_batch(batch_key, args.batch_size, args.length, backend)
        loss, grads = step_fn(params, (source, decoder_input), target)
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
