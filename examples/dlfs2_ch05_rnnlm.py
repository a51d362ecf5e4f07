"""The simple RNN language model on the first 1,000 words of PTB (DLfS 2, ch. 5).

The book's settings (``ch05/train_custom_loop.py``): the first 1,000 words of the
training set (a vocabulary of the 418 ids that occur there), ``fnn.dlfs.simple_rnnlm``
with D = H = 100, 10 streams × windows of 5 words (truncated BPTT, the state carried
from window to window), plain SGD with learning rate 0.1, 100 epochs of 19 windows.
It prints ``| epoch 1 | perplexity 418.17``-style lines (the mean over the epoch's
windows) and plots them (``out/dlfs2_ch05_rnnlm_perplexity.png``). The perplexity
falls from about the vocabulary size (a uniform guess) to single digits: the model
memorizes this short text. ``--epochs`` shortens the run (100 epochs take about 3 s on one core).

Run: ``python examples/dlfs2_ch05_rnnlm.py``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn
from examples.dlfs2_ch06_rnnlm import plot_perplexity, ptb
from fnn import dlfs
from fnn.datasets import TBPTTBatches


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="The simple RNN language model of DLfS 2, ch. 5.")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--words", type=int, default=1000, help="train on this prefix of PTB's training set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out"), help="directory for the plot")
    args = parser.parse_args(argv)
    b = fnn.backend(dtype="float32")
    corpus = b.xp.asarray(ptb("train")[: args.words])
    vocab = int(corpus.max()) + 1
    model = dlfs.simple_rnnlm(vocab, wordvec=100, hidden=100)
    params = model.init(fnn.random.key(args.seed), dlfs.rnnlm_in_shape(model, time_size=5), b)
    optimizer = fnn.optim.sgd(0.1)
    opt_state = optimizer.init(params)
    loss = fnn.losses.time_softmax_cross_entropy
    windows = TBPTTBatches(corpus, batch_size=10, time_size=5)
    state = dlfs.zero_state(model, 10, b)
    perplexities = []
    for epoch in range(args.epochs):
        total = 0.0
        for xs, ts in windows.epoch(epoch):
            (logits, state), residuals, _ = model.forward_train(params, None, (xs, state), None)
            total += float(loss(logits, ts))
            grads, _ = model.grad(params, residuals, (loss.grad(logits, ts), None))
            updates, opt_state = optimizer.update(grads, opt_state, params)
            params = fnn.optim.apply_updates(params, updates)
        perplexities.append(float(np.exp(total / windows.steps_per_epoch)))
        print(f"| epoch {epoch + 1} | perplexity {perplexities[-1]:.2f}")
    args.out.mkdir(parents=True, exist_ok=True)
    plot = args.out / "dlfs2_ch05_rnnlm_perplexity.png"
    epochs = list(range(1, args.epochs + 1))
    plot_perplexity(plot, epochs, perplexities, f"SimpleRnnlm on the first {args.words} PTB words", "epoch")
    return {"vocab": vocab, "perplexities": perplexities, "params": params, "plot": plot}


if __name__ == "__main__":
    main()
