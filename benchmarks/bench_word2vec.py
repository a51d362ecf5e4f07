"""CBOW with negative sampling, one training step: fnn against book-style NumPy code and PyTorch.

The workload of the issue: PTB's vocabulary (10,000 words), window 5 (10 context ids),
hidden 100, batch 100, 5 negatives, Adam (η = 0.001, β = (0.9, 0.999), ε = 1e-8). One step =
draw the negatives, forward, backward, Adam update of both ``(V, H)`` matrices. Timings are
taken in one process, the implementations taking turns within each round, on the same batch
and from the same initial weights; nothing is asserted here (tests/test_word2vec.py checks
that the book's code computes fnn's loss and gradients, and that PyTorch takes fnn's step).

Negatives: fnn and PyTorch draw theirs inside the timed step with fnn's
:class:`~fnn.text.UnigramSampler` and the same key, so they train on identical batches (the
sampler costs about 0.02 ms of a step); the book's code uses its own sampler, below.

The book-style baseline (:class:`BookCBOW`, written here in the book's manner, not copied):
layer objects keep their inputs on ``self``; the negative-sampling loss loops over
``1 + K`` ``EmbeddingDot`` layers; the embeddings' backward fills ``dW`` with
``numpy.add.at``; the CPU sampler draws each row's negatives with
``choice(V, K, replace=False, p)`` after zeroing the target's probability (a Python loop
over the batch); Adam updates every entry of both matrices in place.

PyTorch (:class:`TorchCBOW`, timed when it is installed): two ``nn.Embedding(V, H,
sparse=False)``, ``h`` the mean of the context rows, scores the dot products with ``W_out``'s
rows, ``binary_cross_entropy_with_logits`` summed over the pairs and divided by the batch,
``torch.optim.Adam``, ``torch.set_num_threads(1)``. Before timing, one step of fnn and of
PyTorch from the same weights must agree (:func:`agreement`: loss to 1e-5 relative, both
updated matrices to 1e-6 absolute, a thousandth of Adam's first step); otherwise the run stops.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_word2vec.py`` (``--steps``,
``--rounds`` to change the timed steps per round and the rounds).

Recorded (2026-11-29, the 2-core shared box under a load average of 11–18 from other
jobs, torch 2.13.0+cpu, one BLAS and one torch thread, best of 5 rounds × 10 steps, fresh
processes alternating between the code before (3e4bae3) and after the fused Adam)::

    agreement after one step: loss rel 0, max |ΔW_in| 8.8e-08, max |ΔW_out| 2.9e-07

                 fnn ms/step   torch ms/step   fnn / torch   fnn page faults/step
    before       28.7–44.9     19.3–28.5       1.28–1.59     2,400–4,200   (5 processes)
    after        16.1–21.0     19.0–27.8       0.74–0.98     40–790        (7 processes)
    + embedding  10.6–12.1     14.6–15.7       0.68–0.83     40–600        (2, load 6)

The book's code took 3.4–3.9× fnn's time after (1.8–2.4× before). The same comparison in
process CPU time (``time.process_time``, which leaves out the time other jobs hold the
core): fnn 9.9–12.6 → 6.8–7.0 ms a step, fnn / torch 1.06–1.43 → 0.77–0.93.

Targets: at least 2× faster than the book's code, and within 1.3× of PyTorch: both met in
every process tried. What changed is Adam (``fnn.optim.adam`` is one fused transform,
:func:`fnn.optim.transforms.adam_with_learning_rate`): fnn's update is functional, so
every step allocates new ``(10000, 100)`` arrays (4 MB each: Adam's moments, the updates,
the new weights, the dense gradients), and glibc hands such arrays back to the OS or
keeps them depending on its dynamic thresholds in that process; each page it gives back
is faulted in again on the next step. The chain ``scale_by_adam`` → ``scale_by_learning_rate``
made four fresh arrays per matrix in 12 passes; the fused rule makes three (new ``m``,
``v`` and the update, ``−η`` folded into its arithmetic) in 11 in-place passes, and the
faults fell from 2,400–4,200 to 40–790 a step. PyTorch updates its weights and moments in
place. With the allocator told to keep freed memory (``MALLOC_MMAP_THRESHOLD_=1073741824
MALLOC_TRIM_THRESHOLD_=4294967296``, a documented option: fnn never sets it) fnn has no
faults to speak of (about 100 a step) and takes the same 0.8–0.9× of PyTorch's time.

The last row adds the embedding gradient that copies the rows of ids seen once and sums
only repeated ids' rows (``value_and_grad`` 1.34–1.46 → 0.80–0.93 ms of CPU time).

Of fnn's step measured part by part (CPU time, one thread): ``value_and_grad`` 0.8 ms,
Adam's ``update`` 3.0 ms (it was 3.5 ms, and more with the faults; over every entry of the
two dense ``(10000, 100)`` matrices, as PyTorch with ``sparse=False`` and the book do,
although a batch touches few rows: Adam's moments decay on every row, so only a dense
update gives Adam's answer), ``apply_updates`` 0.4 ms. A PTB epoch is 9,295 steps: about
110 s with fnn on one core before this change on a quiet machine (11.8 ms a step over 1,500
steps of ``examples/dlfs2_ch04_word2vec.py --epochs 1 --max-iters 1500``, extrapolated; 10
epochs in about 18 minutes); at the 6.8–7.0 ms of CPU time a benchmark step now takes, the
steps of an epoch need about 65 s (the example's own timing on the loaded box, 26 ms a
step, was the other jobs' share of the core) (the book's "half a day" for 10 epochs is its
per-row sampler and add.at-based layers on an older machine).
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from typing import Any, Callable

import numpy as np

import fnn
from fnn import dlfs
from fnn.text import UnigramSampler

NDArray = np.ndarray[Any, Any]
VOCAB, HIDDEN, WINDOW, BATCH, NEGATIVES = 10_000, 100, 5, 100, 5


class BookEmbedding:
    def __init__(self, w: NDArray) -> None:
        self.w, self.dw, self.idx = w, np.zeros_like(w), np.zeros(0, np.int64)

    def forward(self, idx: NDArray) -> NDArray:
        self.idx = idx
        rows: NDArray = self.w[idx]
        return rows

    def backward(self, dout: NDArray) -> None:
        self.dw[...] = 0
        np.add.at(self.dw, self.idx, dout)


class BookEmbeddingDot:
    def __init__(self, embed: BookEmbedding) -> None:
        self.embed, self.cache = embed, (np.zeros(0), np.zeros(0))

    def forward(self, h: NDArray, idx: NDArray) -> NDArray:
        target_w = self.embed.forward(idx)
        self.cache = (h, target_w)
        out: NDArray = np.sum(target_w * h, axis=1)
        return out

    def backward(self, dout: NDArray) -> NDArray:
        h, target_w = self.cache
        dout = dout.reshape(dout.shape[0], 1)
        self.embed.backward(dout * h)
        dh: NDArray = dout * target_w
        return dh


def book_sample(rng: np.random.Generator, p: NDArray, target: NDArray, k: int) -> NDArray:
    """The book's CPU sampler: per row, the target's probability zeroed, K draws without replacement."""
    negatives = np.zeros((target.shape[0], k), dtype=np.int64)
    for i in range(target.shape[0]):
        q = p.copy()
        q[target[i]] = 0
        negatives[i] = rng.choice(len(p), size=k, replace=False, p=q / q.sum())
    return negatives


class BookCBOW:
    """The book's CBOW (chapter 4) with its NegativeSamplingLoss, dW summed over the shared layers."""

    def __init__(self, w_in: NDArray, w_out: NDArray) -> None:
        self.w_in, self.w_out = w_in, w_out
        self.in_layers = [BookEmbedding(w_in) for _ in range(2 * WINDOW)]
        self.dots = [BookEmbeddingDot(BookEmbedding(w_out)) for _ in range(1 + NEGATIVES)]

    def loss_and_grads(self, contexts: NDArray, ids: NDArray) -> tuple[float, list[NDArray]]:
        h: NDArray = np.sum([layer.forward(contexts[:, i]) for i, layer in enumerate(self.in_layers)], axis=0)
        h /= len(self.in_layers)
        loss, dh = 0.0, np.zeros_like(h)
        n = contexts.shape[0]
        for j, dot in enumerate(self.dots):
            score = dot.forward(h, ids[:, j])
            y = 1 / (1 + np.exp(-score))
            t = 1.0 if j == 0 else 0.0
            loss += float(-np.mean(t * np.log(y + 1e-7) + (1 - t) * np.log(1 - y + 1e-7)))
            dh += dot.backward((y - t) / n)
        dh /= len(self.in_layers)
        for layer in self.in_layers:
            layer.backward(dh)
        return loss, [
            _summed([layer.dw for layer in self.in_layers]),
            _summed([dot.embed.dw for dot in self.dots]),
        ]


def _summed(grads: list[NDArray]) -> NDArray:
    """The book's ``remove_duplicate``: a shared weight's gradients added in place into the first."""
    total = grads[0]
    for g in grads[1:]:
        total += g
    return total


class BookAdam:
    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999) -> None:
        self.lr, self.beta1, self.beta2, self.iter = lr, beta1, beta2, 0
        self.m: list[NDArray] = []
        self.v: list[NDArray] = []

    def update(self, params: list[NDArray], grads: list[NDArray]) -> None:
        if not self.m:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        self.iter += 1
        lr_t = self.lr * np.sqrt(1 - self.beta2**self.iter) / (1 - self.beta1**self.iter)
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m += (1 - self.beta1) * (g - m)
            v += (1 - self.beta2) * (g**2 - v)
            p -= lr_t * m / (np.sqrt(v) + 1e-7)


def workload(seed: int = 0) -> tuple[NDArray, NDArray, NDArray, NDArray, NDArray]:
    """A corpus with Zipf-like counts, a batch of contexts and targets, and both initial matrices."""
    rng = np.random.default_rng(seed)
    corpus = np.minimum(rng.zipf(1.3, size=200_000) - 1, VOCAB - 1)
    contexts = rng.integers(0, VOCAB, size=(BATCH, 2 * WINDOW))
    target = rng.integers(0, VOCAB, size=BATCH)
    w_in = (0.01 * rng.standard_normal((VOCAB, HIDDEN))).astype(np.float32)
    w_out = (0.01 * rng.standard_normal((VOCAB, HIDDEN))).astype(np.float32)
    return corpus, contexts, target, w_in, w_out


class FnnCBOW:
    """fnn's CBOW (:func:`fnn.dlfs.cbow`), :data:`~fnn.losses.negative_sampling_loss` and Adam, from copies
    of ``w_in``, ``w_out``."""

    def __init__(self, w_in: NDArray, w_out: NDArray, window: int) -> None:
        vocab, hidden = w_in.shape
        self.params: Any = {
            "in": fnn.EmbeddingParams(w_in.copy()),
            "sum": None,
            "h": None,
            "out": fnn.EmbeddingParams(w_out.copy()),
        }
        self.optimizer = fnn.optim.adam(0.001)
        self.state = self.optimizer.init(self.params)
        self.value_and_grad = fnn.value_and_grad(
            dlfs.cbow(vocab, hidden, window), fnn.losses.negative_sampling_loss
        )

    def step(self, contexts: NDArray, ids: NDArray, labels: NDArray) -> float:
        value, grads = self.value_and_grad(self.params, (contexts, ids), labels)
        updates, self.state = self.optimizer.update(grads, self.state, self.params)
        self.params = fnn.optim.apply_updates(self.params, updates)
        return float(value)

    def weights(self) -> tuple[NDArray, NDArray]:
        return self.params["in"].w, self.params["out"].w


class TorchCBOW:
    """The same model in PyTorch: two ``nn.Embedding(V, H, sparse=False)``, the same loss,
    ``torch.optim.Adam``.

    ``h = mean of W_in[contexts]``, scores ``W_out[ids] · h``, loss the sum over each row's
    ``1 + K`` pairs of ``binary_cross_entropy_with_logits``, averaged over the batch.
    """

    def __init__(self, w_in: NDArray, w_out: NDArray) -> None:
        import torch

        self.torch = torch
        vocab, hidden = w_in.shape
        self.w_in = torch.nn.Embedding(vocab, hidden, sparse=False)
        self.w_out = torch.nn.Embedding(vocab, hidden, sparse=False)
        with torch.no_grad():
            self.w_in.weight.copy_(torch.from_numpy(w_in))
            self.w_out.weight.copy_(torch.from_numpy(w_out))
        params = [self.w_in.weight, self.w_out.weight]
        self.optimizer = torch.optim.Adam(params, lr=0.001, betas=(0.9, 0.999), eps=1e-8)

    def step(self, contexts: NDArray, ids: NDArray, labels: NDArray) -> float:
        torch = self.torch
        h = self.w_in(torch.from_numpy(contexts)).mean(dim=1)
        scores = (self.w_out(torch.from_numpy(ids)) * h[:, None, :]).sum(dim=-1)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            scores, torch.from_numpy(labels), reduction="sum"
        ) / len(ids)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return float(loss.item())

    def weights(self) -> tuple[NDArray, NDArray]:
        return self.w_in.weight.detach().numpy(), self.w_out.weight.detach().numpy()


def agreement(
    w_in: NDArray, w_out: NDArray, contexts: NDArray, ids: NDArray, labels: NDArray
) -> dict[str, float]:
    """One step of fnn and of PyTorch from the same weights and batch: the loss's relative
    difference and each updated matrix's largest absolute difference."""
    ours, theirs = FnnCBOW(w_in, w_out, contexts.shape[1] // 2), TorchCBOW(w_in, w_out)
    loss, torch_loss = ours.step(contexts, ids, labels), theirs.step(contexts, ids, labels)
    diffs = [float(np.max(np.abs(a - b))) for a, b in zip(ours.weights(), theirs.weights())]
    return {"loss": abs(loss - torch_loss) / abs(torch_loss), "w_in": diffs[0], "w_out": diffs[1]}


def sampled_stepper(
    model: FnnCBOW | TorchCBOW, corpus: NDArray, contexts: NDArray, target: NDArray
) -> Callable[[int], float]:
    """Step ``i``: fnn's sampler draws the negatives with key ``i`` (the same ones for every model), then one
    step."""
    sampler = UnigramSampler.from_corpus(corpus, NEGATIVES, vocab=VOCAB)

    def step(i: int) -> float:
        ids, labels = sampler.pairs(fnn.random.key(i), target)
        return model.step(contexts, ids, labels)

    return step


def fnn_stepper(
    corpus: NDArray, contexts: NDArray, target: NDArray, w_in: NDArray, w_out: NDArray
) -> Callable[[int], float]:
    return sampled_stepper(FnnCBOW(w_in, w_out, WINDOW), corpus, contexts, target)


def torch_stepper(
    corpus: NDArray, contexts: NDArray, target: NDArray, w_in: NDArray, w_out: NDArray
) -> Callable[[int], float]:
    return sampled_stepper(TorchCBOW(w_in, w_out), corpus, contexts, target)


def book_stepper(
    corpus: NDArray, contexts: NDArray, target: NDArray, w_in: NDArray, w_out: NDArray
) -> Callable[[int], float]:
    model = BookCBOW(w_in.copy(), w_out.copy())
    counts = np.bincount(corpus, minlength=VOCAB).astype(np.float64)
    p = counts**0.75 / np.sum(counts**0.75)
    rng = np.random.default_rng(0)
    adam = BookAdam()

    def step(i: int) -> float:
        ids = np.concatenate([target[:, None], book_sample(rng, p, target, NEGATIVES)], axis=1)
        loss, grads = model.loss_and_grads(contexts, ids)
        adam.update([model.w_in, model.w_out], grads)
        return loss

    return step


def interleaved_best(
    steppers: dict[str, Callable[[int], float]], steps: int, rounds: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Best seconds per step of each stepper over ``rounds`` rounds, the steppers taking turns
    within each round, and each one's page faults per step (fresh memory from the OS). Before a
    PyTorch round, 0.1 s of rest lets OpenBLAS's spinning threads settle."""
    best = dict.fromkeys(steppers, float("inf"))
    faults = dict.fromkeys(steppers, 0.0)
    for step in steppers.values():
        step(0)
    for r in range(rounds):
        for name, step in steppers.items():
            if name == "torch":
                time.sleep(0.1)
            faulted = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            start = time.perf_counter()
            for i in range(steps):
                step(1 + r * steps + i)
            best[name] = min(best[name], (time.perf_counter() - start) / steps)
            faults[name] += (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faulted) / (steps * rounds)
    return best, faults


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(
        description="CBOW negative-sampling step: fnn vs book-style NumPy vs PyTorch."
    )
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    corpus, contexts, target, w_in, w_out = data = workload()
    steppers = {"fnn": fnn_stepper(*data), "book": book_stepper(*data)}
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: timing fnn and the book's code only")
    else:
        torch.set_num_threads(1)
        sampler = UnigramSampler.from_corpus(corpus, NEGATIVES, vocab=VOCAB)
        ids, labels = sampler.pairs(fnn.random.key(0), target)
        diffs = agreement(w_in, w_out, contexts, ids, labels)
        print(
            "fnn vs torch after one step: loss rel {loss:.1e}, max |dW_in| {w_in:.1e}, "
            "max |dW_out| {w_out:.1e}".format(**diffs)
        )
        if not (diffs["loss"] < 1e-5 and diffs["w_in"] < 1e-6 and diffs["w_out"] < 1e-6):
            raise SystemExit("fnn and PyTorch disagree: not timing them")
        steppers["torch"] = torch_stepper(*data)
    times, faults = interleaved_best(steppers, args.steps, args.rounds)
    for name, seconds in times.items():
        ratio = "" if name == "fnn" else f" ({seconds / times['fnn']:.2f}x fnn)"
        print(f"{name:5s} {seconds * 1e3:.1f} ms/step{ratio}, {faults[name]:.0f} page faults/step")
    print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return times


if __name__ == "__main__":
    main()
