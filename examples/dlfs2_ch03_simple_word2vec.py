"""The simple CBOW (or skip-gram) of DLfS 2, ch. 3, on "You say goodbye and I say hello."

The book's settings (``ch03/train.py``): window 1, hidden 5, batch 3, Adam (learning rate
0.001), 1,000 epochs over the 6 (contexts, target) examples, shuffled each epoch. The model
is :func:`fnn.dlfs.simple_cbow`: its two input layers share one weight ``W_in``. It prints
``| epoch 100 | loss 1.86``-style lines (the mean loss of every 100th epoch), plots the
loss per epoch (``out/dlfs2_ch03_simple_word2vec_loss.png``) and prints each word's vector
(a row of ``W_in``), as the book does. ``--skip-gram`` trains
:func:`fnn.dlfs.simple_skip_gram` (its loss: the two contexts' losses added).

Run: ``python examples/dlfs2_ch03_simple_word2vec.py``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn
from fnn import dlfs
from fnn.datasets import one_hot
from fnn.text import contexts_and_targets, preprocess

TOY = "You say goodbye and I say hello."


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="The simple word2vec models of DLfS 2, ch. 3.")
    parser.add_argument("--skip-gram", action="store_true", help="train SimpleSkipGram instead of SimpleCBOW")
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out"), help="directory for the plot")
    args = parser.parse_args(argv)
    corpus, word_to_id, id_to_word = preprocess(TOY)
    vocab = len(word_to_id)
    contexts, target = contexts_and_targets(corpus, window=1)
    b = fnn.backend("numpy", "float32")
    hot = one_hot(contexts, vocab, b)
    in_shape: fnn.typing.ShapeTree
    if args.skip_gram:
        model, in_shape = dlfs.simple_skip_gram(vocab, hidden=5), (vocab,)
        x: Any = one_hot(target, vocab, b)
        t = hot.sum(axis=1)  # softmax CE against both contexts' one-hots: loss1 + loss2
    else:
        model, in_shape = dlfs.simple_cbow(vocab, hidden=5), ((vocab,), (vocab,))
        x, t = (hot[:, 0], hot[:, 1]), target
    key = fnn.random.key(args.seed)
    params = model.init(fnn.random.fold_in(key, 0), in_shape, b)
    optimizer = fnn.optim.adam(0.001)
    opt_state = optimizer.init(params)
    step = fnn.value_and_grad(model, fnn.losses.softmax_cross_entropy)
    losses = []
    for epoch in range(args.epochs):
        order = np.asarray(fnn.random.permutation(fnn.random.fold_in(key, epoch + 1), len(target)))
        total = 0.0
        for batch in (order[:3], order[3:]):
            xb = tuple(a[batch] for a in x) if isinstance(x, tuple) else x[batch]
            value, grads = step(params, xb, t[batch])
            updates, opt_state = optimizer.update(grads, opt_state, params)
            params = fnn.optim.apply_updates(params, updates)
            total += float(value)
        losses.append(total / 2)
        if (epoch + 1) % 100 == 0:
            print(f"| epoch {epoch + 1} | loss {losses[-1]:.2f}")
    vectors = dlfs.word_vectors(params)
    for word_id, word in id_to_word.items():
        print(word, vectors[word_id])
    args.out.mkdir(parents=True, exist_ok=True)
    plot = args.out / "dlfs2_ch03_simple_word2vec_loss.png"
    plot_loss(plot, losses, "SimpleSkipGram" if args.skip_gram else "SimpleCBOW")
    return {"losses": losses, "vectors": vectors, "plot": plot, "params": params}


def plot_loss(path: Path, losses: list[float], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(range(1, len(losses) + 1), losses)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(f"{title} on the toy corpus")
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
