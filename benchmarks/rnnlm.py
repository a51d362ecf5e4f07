"""The chapter 6 LSTM language model as a benchmark: the training step and PTB test perplexity.

*Deep Learning from Scratch 2*, chapter 6: ``Embedding(V, D) → LSTM(H) → Dense(V)`` with
softmax cross entropy at every step, ``V = 10,000``, ``D = H = 100``; a training step is one
window of ``batch 20 × time 35`` ids with the LSTM's state carried from the previous
window (truncated BPTT), the gradients clipped to global norm ``0.25`` and one SGD step
with learning rate ``20`` (the book's settings). Inference is the perplexity over the
PTB test set in ``batch 10 × time 35`` windows with carried state (the book's
``eval_perplexity``).

The GEMM floor (:class:`RnnlmFloor`, :class:`PerplexityFloor`) is only the matrix products,
into outputs allocated once, as in :mod:`benchmarks.floor`. With ``M = N·T`` rows: the
affine layer's ``(M, H)·(H, V)`` forward and its ``dW = hᵀ dy``, ``dh = dy Wᵀ``; the LSTM's
input projection ``(M, D)·(D, 4H)``, one ``(N, H)·(H, 4H)`` product per step forward and
one ``(N, 4H)·(4H, H)`` per step backward, ``dWx``, ``dWh`` and ``dX`` (the embedding needs
it). Not counted: the embedding, gates, loss, clipping, update and every allocation.
Inference counts the forward products only.

Every implementation (fnn here, the book-style NumPy code in
:mod:`benchmarks.textbook_rnnlm`, PyTorch in :mod:`benchmarks.others`) starts from the same
parameters, given as the book's flat list ``[embed W (V, D), Wx (D, 4H), Wh (H, 4H),
b (4H,), affine W (H, V), affine b (V,)]`` (gate blocks f, g, i, o), float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

import fnn
from benchmarks import textbook_rnnlm
from fnn.backend import to_numpy

__all__ = [
    "RnnlmWorkload",
    "CH6",
    "LR",
    "MAX_NORM",
    "init_params",
    "make_window",
    "make_corpus",
    "ptb_ids",
    "fnn_model",
    "fnn_params",
    "to_canonical",
    "FnnRnnlmStep",
    "TextbookRnnlmStep",
    "FnnPerplexity",
    "TextbookPerplexity",
    "RnnlmFloor",
    "PerplexityFloor",
]

NDArray = np.ndarray[Any, Any]
Params = list[NDArray]

LR = 20.0
"""The book's SGD learning rate for the chapter 6 model."""

MAX_NORM = 0.25
"""The book's gradient clipping: global norm at most 0.25."""


@dataclass(frozen=True)
class RnnlmWorkload:
    """Sizes of the language model and its windows.

    Attributes:
        vocab: ``V``.
        dim: ``D``, the embedding width.
        hidden: ``H``, the LSTM width.
        batch: Streams per training window.
        time: Window length (training and evaluation).
        eval_batch: Streams per evaluation window.
    """

    vocab: int = 10_000
    dim: int = 100
    hidden: int = 100
    batch: int = 20
    time: int = 35
    eval_batch: int = 10

    def describe(self) -> str:
        return f"LSTM LM V={self.vocab:,} D={self.dim} H={self.hidden}"


CH6 = RnnlmWorkload()


def init_params(w: RnnlmWorkload, seed: int = 1) -> Params:
    """The book's initialization (``randn/100`` embedding, ``randn/√fan_in`` weights), with small
    random biases instead of zeros so that the bias paths are checked too; float32."""
    rng = np.random.default_rng(seed)
    v, d, h = w.vocab, w.dim, w.hidden

    def normal(shape: tuple[int, ...], scale: float) -> NDArray:
        out: NDArray = (rng.standard_normal(shape) * scale).astype(np.float32)
        return out

    return [
        normal((v, d), 0.01),
        normal((d, 4 * h), 1 / np.sqrt(d)),
        normal((h, 4 * h), 1 / np.sqrt(h)),
        normal((4 * h,), 0.1),
        normal((h, v), 1 / np.sqrt(h)),
        normal((v,), 0.1),
    ]


def ptb_ids(split: Literal["train", "test"]) -> NDArray | None:
    """PTB's ids for ``split`` from the offline copies beside the project (``../shared/data/ptb``) or
    ``FNN_DATA_DIR``, without downloading; ``None`` when neither has them."""
    local = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "ptb"
    for root in (local, None):
        try:
            corpus = fnn.datasets.load_ptb(split, root, download=False, progress=False).corpus
        except (fnn.errors.DataError, OSError):
            continue
        return np.asarray(to_numpy(corpus), dtype=np.int64)
    return None


def make_corpus(w: RnnlmWorkload, length: int, seed: int = 2) -> NDArray:
    """Random ids ``(length,)`` in ``0 .. V-1`` (for tests and when PTB is missing)."""
    out: NDArray = np.random.default_rng(seed).integers(0, w.vocab, length)
    return out


def make_window(w: RnnlmWorkload, corpus: NDArray) -> tuple[NDArray, NDArray]:
    """The first training window ``(xs, ts)``, each ``(batch, time)`` int64, of ``corpus``."""
    xs, ts = fnn.datasets.TBPTTBatches(corpus, w.batch, w.time).window(0)
    return np.asarray(xs), np.asarray(ts)


def fnn_model(w: RnnlmWorkload) -> fnn.Sequential:
    """``Embedding → LSTM(stateful) → Dense``, the book's Rnnlm in fnn."""
    return fnn.sequential(
        fnn.Embedding(w.vocab, w.dim), fnn.LSTM(w.hidden, stateful=True), fnn.Dense(w.vocab)
    )


def fnn_params(params: Params) -> tuple[Any, ...]:
    """The canonical list as :func:`fnn_model`'s params (copies; fnn's LSTM layout is the book's)."""
    e, wx, wh, b, aw, ab = (p.copy() for p in params)
    return (fnn.EmbeddingParams(e), fnn.LSTMParams(wx, wh, b), fnn.DenseParams(aw, ab))


def to_canonical(tree: Any) -> Params:
    return [np.array(to_numpy(leaf)) for leaf in fnn.tree.leaves(tree)]


class FnnRnnlmStep:
    """fnn's step: ``value_grad_and_state`` (state carried), ``chain(clip_by_global_norm, sgd)``, apply."""

    name = "fnn"

    def __init__(self, w: RnnlmWorkload, params: Params, xs: NDArray, ts: NDArray) -> None:
        self.model = fnn_model(w)
        self.params = fnn_params(params)
        self.state = self.model.init_state((w.time,))
        self.step_fn = fnn.value_grad_and_state(self.model, fnn.losses.time_softmax_cross_entropy)
        self.optimizer = fnn.optim.chain(fnn.optim.clip_by_global_norm(MAX_NORM), fnn.optim.sgd(LR))
        self.opt_state = self.optimizer.init(self.params)
        self.xs, self.ts = xs, ts
        self.loss: Any = None

    def step(self) -> None:
        self.loss, grads, self.state = self.step_fn(self.params, self.state, self.xs, self.ts)
        updates, self.opt_state = self.optimizer.update(grads, self.opt_state, self.params)
        self.params = fnn.optim.apply_updates(self.params, updates)

    def result(self) -> tuple[float, Params]:
        return float(self.loss), to_canonical(self.params)


class TextbookRnnlmStep:
    """The book's trainer step: ``forward``, ``backward``, ``clip_grads``, ``SGD.update`` in place."""

    name = "textbook"

    def __init__(self, w: RnnlmWorkload, params: Params, xs: NDArray, ts: NDArray) -> None:
        self.model = textbook_rnnlm.Rnnlm(params)
        self.optimizer = textbook_rnnlm.SGD(LR)
        self.xs, self.ts = xs, ts
        self.loss: Any = None

    def step(self) -> None:
        self.loss = self.model.forward(self.xs, self.ts)
        self.model.backward()
        textbook_rnnlm.clip_grads(self.model.grads, MAX_NORM)
        self.optimizer.update(self.model.params, self.model.grads)

    def result(self) -> tuple[float, Params]:
        return float(self.loss), [p.copy() for p in self.model.params]


class FnnPerplexity:
    name = "fnn"

    def __init__(self, w: RnnlmWorkload, params: Params, corpus: NDArray) -> None:
        self.w, self.model, self.params, self.corpus = w, fnn_model(w), fnn_params(params), corpus

    def run(self) -> float:
        return fnn.metrics.perplexity(
            self.model, self.params, self.corpus, batch_size=self.w.eval_batch, time_size=self.w.time
        )


class TextbookPerplexity:
    name = "textbook"

    def __init__(self, w: RnnlmWorkload, params: Params, corpus: NDArray) -> None:
        self.w, self.model, self.corpus = w, textbook_rnnlm.Rnnlm(params), corpus

    def run(self) -> float:
        return textbook_rnnlm.eval_perplexity(self.model, self.corpus, self.w.eval_batch, self.w.time)


class RnnlmFloor:
    """The matrix products of one training step (see the module docstring)."""

    name = "floor"

    def __init__(self, w: RnnlmWorkload, params: Params, xs: NDArray, ts: NDArray) -> None:
        self.p = params
        self.buffers = _floor_buffers(w, w.batch, params)

    def step(self) -> None:
        _floor_forward(self.p, self.buffers)
        b, (_, wx, wh, _, aw, _) = self.buffers, self.p
        np.matmul(b["hs"].T, b["dy"], out=b["daw"])
        np.matmul(b["dy"], aw.T, out=b["dhs"])
        for t in range(b["z"].shape[0] - 1, -1, -1):
            np.matmul(b["dz"][t], wh.T, out=b["dh"])
        dz = b["dz"].reshape(-1, wx.shape[1])
        np.matmul(b["x"].T, dz, out=b["dwx"])
        np.matmul(b["hs"].T, dz, out=b["dwh"])
        np.matmul(dz, wx.T, out=b["dx"])


class PerplexityFloor:
    """The forward products of every evaluation window over ``corpus``."""

    name = "floor"

    def __init__(self, w: RnnlmWorkload, params: Params, corpus: NDArray) -> None:
        self.p = params
        self.buffers = _floor_buffers(w, w.eval_batch, params)
        self.windows = (len(corpus) - 1) // (w.eval_batch * w.time)

    def run(self) -> None:
        for _ in range(self.windows):
            _floor_forward(self.p, self.buffers)


def _floor_buffers(w: RnnlmWorkload, n: int, params: Params) -> dict[str, NDArray]:
    rng = np.random.default_rng(3)
    m, f = n * w.time, np.float32

    def rand(*shape: int) -> NDArray:
        return rng.standard_normal(shape, dtype=f)

    return {
        "x": rand(m, w.dim),
        "z": np.empty((w.time, n, 4 * w.hidden), f),
        "zt": np.empty((n, 4 * w.hidden), f),
        "hs": rand(m, w.hidden),
        "logits": np.empty((m, w.vocab), f),
        "dy": rand(m, w.vocab),
        "daw": np.empty((w.hidden, w.vocab), f),
        "dhs": np.empty((m, w.hidden), f),
        "dz": rand(w.time, n, 4 * w.hidden),
        "dh": np.empty((n, w.hidden), f),
        "dwx": np.empty((w.dim, 4 * w.hidden), f),
        "dwh": np.empty((w.hidden, 4 * w.hidden), f),
        "dx": np.empty((m, w.dim), f),
    }


def _floor_forward(params: Params, b: dict[str, NDArray]) -> None:
    _, wx, wh, _, aw, _ = params
    steps, n, width = b["z"].shape
    np.matmul(b["x"], wx, out=b["z"].reshape(steps * n, width))
    hs = b["hs"].reshape(n, steps, -1)
    for t in range(steps):
        np.matmul(hs[:, t], wh, out=b["zt"])
    np.matmul(b["hs"], aw, out=b["logits"])
