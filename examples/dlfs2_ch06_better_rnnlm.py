"""The improved LSTM language model on Penn Treebank (DLfS 2, ch. 6): two layers, dropout, weight tying.

``fnn.dlfs.better_rnnlm()``: embedding (V = 10,000, D = 650) → dropout 0.5 → LSTM 650 →
dropout → LSTM 650 → dropout → output layer whose weight is the embedding table
transposed. The book's schedule: each epoch trains on the whole training set (windows
of 20 × 35, SGD with learning rate 20, gradients clipped to global norm 0.25, the
state starting at zero), then measures the validation perplexity; the params are kept
(``out/better_rnnlm.fnn``) when it improved, and otherwise the learning rate is
divided by 4. The book trains 40 epochs and reaches a test perplexity of about 75.

A window (forward and backward) takes about 0.75 s on one core at H = 650, so an epoch
(1,327 windows) takes about 17 minutes and the book's 40 epochs about 11 hours; the
full run was not made here. ``--epochs``, ``--max-iters`` (windows per epoch), ``--hidden`` (D = H) and
``--eval-words`` (a prefix of the validation and test sets) make a short run, e.g.
``python examples/dlfs2_ch06_better_rnnlm.py --epochs 2 --max-iters 50 --hidden 100``.
It prints the book's log lines and ``valid perplexity: X`` per epoch, the final test
perplexity, and plots the validation perplexity per epoch (``out/dlfs2_ch06_better_rnnlm.png``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn
from examples.dlfs2_ch06_rnnlm import plot_perplexity, ptb, train_lm
from fnn import dlfs
from fnn.datasets import TBPTTBatches


def next_learning_rate(lr: float, perplexity: float, best: float) -> float:
    """The book's schedule: keep ``lr`` while the validation perplexity improves, else ``lr / 4``."""
    return lr if perplexity < best else lr / 4.0


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="The improved LSTM language model of DLfS 2, ch. 6, on PTB.")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--max-iters", type=int, default=10**9, help="windows per epoch (default: all, 1327)")
    parser.add_argument("--hidden", type=int, default=650, help="D = H (tied weights need them equal)")
    parser.add_argument("--lr", type=float, default=20.0)
    parser.add_argument("--eval-words", type=int, default=None, help="evaluate on a prefix of valid/test")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out"), help="directory for the plot and the params")
    args = parser.parse_args(argv)
    b = fnn.backend(dtype="float32")
    train = b.xp.asarray(ptb("train"))
    valid = b.xp.asarray(ptb("valid")[: args.eval_words])
    test = b.xp.asarray(ptb("test")[: args.eval_words])
    model = dlfs.better_rnnlm(wordvec=args.hidden, hidden=args.hidden)
    params = model.init(fnn.random.key(args.seed), dlfs.rnnlm_in_shape(model, time_size=35), b)
    windows = TBPTTBatches(train, batch_size=20, time_size=35)
    args.out.mkdir(parents=True, exist_ok=True)
    saved = args.out / "better_rnnlm.fnn"
    lr, best, best_params, valid_perplexities, rates = args.lr, float("inf"), params, [], []
    for epoch in range(args.epochs):
        rates.append(lr)
        optimizer = fnn.optim.chain(fnn.optim.clip_by_global_norm(0.25), fnn.optim.sgd(lr))
        key = fnn.random.fold_in(fnn.random.key(args.seed + 1), epoch)
        params, _ = train_lm(model, params, optimizer, windows, epochs=1, max_iters=args.max_iters, key=key)
        perplexity = dlfs.eval_perplexity(model, params, valid)
        print(f"valid perplexity: {perplexity}")
        lr = next_learning_rate(lr, perplexity, best)
        if perplexity < best:
            best, best_params = perplexity, params
            fnn.io.save(saved, params)
        valid_perplexities.append(perplexity)
        print("-" * 50)
    test_perplexity = dlfs.eval_perplexity(model, best_params, test)
    print(f"test perplexity: {test_perplexity}")
    plot = args.out / "dlfs2_ch06_better_rnnlm.png"
    epochs = list(range(1, len(valid_perplexities) + 1))
    plot_perplexity(plot, epochs, valid_perplexities, "BetterRnnlm on PTB: validation perplexity", "epoch")
    return {
        "valid_perplexities": valid_perplexities,
        "learning_rates": rates,
        "test_perplexity": test_perplexity,
        "params": best_params,
        "saved": saved,
        "plot": plot,
    }


if __name__ == "__main__":
    main()
