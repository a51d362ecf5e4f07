"""The second book's seq2seq training steps for the suite: fnn, the book-style NumPy code, PyTorch.

Two workloads (the book's settings, :data:`ADDITION` and :data:`DATES`): ``seq2seq`` on
addition (V = 13, questions of 7 and answers of 5 characters, D = 16, H = 128) and
``attention`` on dates (V = 59, 29 and 11 characters, D = 16, H = 256), batch 128, random
ids. One step is the forward pass, the time softmax cross entropy, the backward pass and
an SGD update (learning rate :data:`benchmarks.bench_seq2seq.LR`; :data:`CHECK_LR` in
the agreement check) of every parameter, as
:func:`benchmarks.bench_seq2seq.fnn_step` does it.

Every stepper's :meth:`result` gives the loss and the parameters as the book's flat list
``[enc embed, enc Wx, Wh, b, dec embed, dec Wx, Wh, b, affine W, b]`` (gates f, g, i, o).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks import bench_seq2seq, others
from benchmarks.others import _book_gates_to_torch, _torch_gates_to_book

NDArray = np.ndarray[Any, Any]
Params = list[NDArray]


@dataclass(frozen=True)
class Seq2seqWorkload:
    name: str
    attention: bool
    vocab: int
    question: int
    answer: int
    wordvec: int
    hidden: int
    batch: int

    def describe(self) -> str:
        kind = "attention seq2seq" if self.attention else "seq2seq"
        return (
            f"{kind} V={self.vocab}, D={self.wordvec}, H={self.hidden}, batch {self.batch}, "
            f"{self.question} → {self.answer} ids, SGD step"
        )

    def setup(self) -> tuple[Any, Any, NDArray, NDArray]:
        """fnn's model, its float32 params and one batch ``(xs, ts)`` of random ids."""
        return bench_seq2seq.workload(
            self.attention, self.vocab, self.question, self.answer, self.wordvec, self.hidden, self.batch
        )


ADDITION = Seq2seqWorkload("seq2seq", False, 13, 7, 5, 16, 128, 128)
DATES = Seq2seqWorkload("attention", True, 59, 29, 11, 16, 256, 128)


class FnnSeq2seqStep:
    """:func:`benchmarks.bench_seq2seq.fnn_step`: ``forward``, loss, ``param_grad``, SGD."""

    name = "fnn"

    def __init__(self, model: Any, params: Any, xs: NDArray, ts: NDArray, lr: float) -> None:
        self.model, self.params, self.xs, self.ts = model, params, xs, ts
        self.update = bench_seq2seq.fnn_step(model, lr)
        self.loss = float("nan")

    def step(self) -> None:
        self.loss, self.params = self.update(self.params, self.xs, self.ts)

    def result(self) -> tuple[float, Params]:
        return self.loss, bench_seq2seq.book_params(self.model, self.params)


class BookSeq2seqStep:
    """The book-style layers of :class:`benchmarks.bench_seq2seq.BookSeq2seq`, updated in place."""

    name = "textbook"

    def __init__(
        self, model: Any, params: Any, xs: NDArray, ts: NDArray, attention: bool, lr: float
    ) -> None:
        self.book = bench_seq2seq.BookSeq2seq(bench_seq2seq.book_params(model, params), attention, lr)
        self.xs, self.ts = xs, ts
        self.loss = float("nan")

    def step(self) -> None:
        self.loss = self.book.step(self.xs, self.ts)

    def result(self) -> tuple[float, Params]:
        return self.loss, [p.copy() for p in self.book.params]


class TorchSeq2seqStep:
    """PyTorch (eager): two ``nn.LSTM``; the decoder starts from the encoder's last ``h`` and
    a zero cell; with attention, dot-product scores over the encoder states, softmax over
    the source positions, the weighted sum, and the affine reads ``[context, hidden]``;
    ``cross_entropy``, ``backward``, ``torch.optim.SGD.step()``. Each LSTM's bias goes into
    ``bias_ih``; ``bias_hh`` stays zero and frozen."""

    name = "torch"

    def __init__(self, book: Params, xs: NDArray, ts: NDArray, attention: bool, lr: float) -> None:
        torch, reason = others.load("torch")
        assert torch is not None, reason
        self.torch, self.attention = torch, attention
        self.enc_embed, self.dec_embed, self.affine_w, self.affine_b = (
            torch.from_numpy(book[k].copy()).requires_grad_() for k in (0, 4, 8, 9)
        )
        self.encoder, self.decoder = (self._lstm(*book[k : k + 3]) for k in (1, 5))
        self.xs = torch.from_numpy(xs.astype(np.int64))
        self.decoder_xs = torch.from_numpy(ts[:, :-1].astype(np.int64))
        self.targets = torch.from_numpy(ts[:, 1:].astype(np.int64)).reshape(-1)
        self.params = [self.enc_embed, self.dec_embed, self.affine_w, self.affine_b]
        for lstm in (self.encoder, self.decoder):
            self.params += [lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0]
        self.optimizer = torch.optim.SGD(self.params, lr=lr)
        self.loss: Any = None

    def _lstm(self, wx: NDArray, wh: NDArray, b: NDArray) -> Any:
        torch = self.torch
        lstm = torch.nn.LSTM(wx.shape[0], wh.shape[0], batch_first=True)
        with torch.no_grad():
            lstm.weight_ih_l0.copy_(torch.from_numpy(_book_gates_to_torch(wx).T.copy()))
            lstm.weight_hh_l0.copy_(torch.from_numpy(_book_gates_to_torch(wh).T.copy()))
            lstm.bias_ih_l0.copy_(torch.from_numpy(_book_gates_to_torch(b)))
            lstm.bias_hh_l0.zero_()
        lstm.bias_hh_l0.requires_grad_(False)
        return lstm

    def step(self) -> None:
        torch = self.torch
        self.optimizer.zero_grad(set_to_none=True)
        enc_hs, (h, _) = self.encoder(self.enc_embed[self.xs])
        dec_hs, _ = self.decoder(self.dec_embed[self.decoder_xs], (h, torch.zeros_like(h)))
        out = dec_hs
        if self.attention:
            weights = torch.softmax(torch.bmm(dec_hs, enc_hs.transpose(1, 2)), dim=2)
            out = torch.cat((torch.bmm(weights, enc_hs), dec_hs), dim=2)
        logits = out @ self.affine_w + self.affine_b
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), self.targets)
        loss.backward()
        self.optimizer.step()
        self.loss = loss

    def result(self) -> tuple[float, Params]:
        def arr(t: Any) -> NDArray:
            out: NDArray = t.detach().numpy().copy()
            return out

        lstms = [
            [
                _torch_gates_to_book(arr(lstm.weight_ih_l0).T),
                _torch_gates_to_book(arr(lstm.weight_hh_l0).T),
                _torch_gates_to_book(arr(lstm.bias_ih_l0) + arr(lstm.bias_hh_l0)),
            ]
            for lstm in (self.encoder, self.decoder)
        ]
        return float(self.loss.detach()), [
            arr(self.enc_embed), *lstms[0], arr(self.dec_embed), *lstms[1],
            arr(self.affine_w), arr(self.affine_b),
        ]


CHECK_LR = 10.0
"""The agreement check's learning rate. At the benchmark's 0.01 the attention decoder's
``Wh`` moves by about 7 float32 ulps of its entries, so rounding ``θ - lr·g`` differently
(PyTorch's SGD fuses it) alone makes updates differ by 1 ulp, 2%; at 10 the update spans
thousands of ulps and the check compares the gradients' float32 agreement instead."""


def steppers(
    w: Seq2seqWorkload, names: list[str] | None = None, lr: float = bench_seq2seq.LR
) -> tuple[Params, list[Any]]:
    """The book-layout params before the step and ``[fnn, textbook, torch (when importable)]``
    from them on the same batch, SGD with rate ``lr`` (``names`` restricts the others)."""
    model, params, xs, ts = w.setup()
    book = bench_seq2seq.book_params(model, params)
    impls: list[Any] = [BookSeq2seqStep(model, params, xs, ts, w.attention, lr)]
    if not others.load("torch")[1]:
        impls.append(TorchSeq2seqStep(book, xs, ts, w.attention, lr))
    impls = [i for i in impls if names is None or i.name in names]
    return book, [FnnSeq2seqStep(model, params, xs, ts, lr), *impls]
