"""word2vec with negative sampling on PTB (DLfS 2, ch. 4), or the book's published vectors.

``--published`` only evaluates the book's ``cbow_params.pkl`` (``ch04/eval.py``): the
nearest words of you, year, car and toyota, and the analogies king:man = queen:?,
take:took = go:?, car:cars = child:?, good:better = bad:?, printed as the book prints them
(the answers: woman, went, children, more).

Without it, it trains CBOW with the book's settings (``ch04/train.py``): window 5,
hidden 100, batch 100, 5 negatives drawn from the unigram distribution to the 0.75,
Adam (learning rate 0.001), 10 epochs over the shuffled training set of 929,579
contexts (9,295 steps an epoch). It prints ``| epoch 1 |  iter 1 / 9295 | time 0[s] |
loss 4.16``-style lines (the mean loss since the last line), plots the loss
(``out/dlfs2_ch04_word2vec_loss.png``), saves the word vectors with ``fnn.io.save`` and
prints the queries for them. ``--words`` trains on a prefix of PTB and ``--max-iters``
stops each epoch early, for a short run. ``--skip-gram`` trains the skip-gram model.

Measured on one core of a 2-core box (``OPENBLAS_NUM_THREADS=1``, ``--epochs 1
--max-iters 1500``): 11.8 ms a step, so an epoch of 9,295 steps takes about 110 s and the
book's 10 epochs about 18 minutes (the book: "about half a day" on a CPU with its code).
The loss falls from 4.16 (``6 log 2``: scores near 0) to 2.5 in those 1,500 steps.

Run: ``python examples/dlfs2_ch04_word2vec.py --published`` or
``python examples/dlfs2_ch04_word2vec.py --epochs 1 --max-iters 500``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn
from examples.dlfs2_ch06_rnnlm import ptb
from fnn import dlfs
from fnn.datasets import load_ptb
from fnn.text import UnigramSampler, analogy, contexts_and_targets, format_scores, most_similar

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PUBLISHED = DATA / "dlfs2" / "cbow_params.pkl"
QUERIES = ("you", "year", "car", "toyota")
ANALOGIES = (
    ("king", "man", "queen"),
    ("take", "took", "go"),
    ("car", "cars", "child"),
    ("good", "better", "bad"),
)


def evaluate(vectors: Any, word_to_id: dict[str, int], id_to_word: dict[int, str]) -> dict[str, Any]:
    """Print the book's queries and analogies for ``vectors``; return the lists printed."""
    near = {q: most_similar(q, word_to_id, id_to_word, vectors) for q in QUERIES if q in word_to_id}
    for query, scores in near.items():
        print(format_scores(f"\n[query] {query}", scores))
    print("-" * 50)
    answers = {}
    for a, b, c in ANALOGIES:
        if {a, b, c} <= set(word_to_id):
            answers[f"{a}:{b} = {c}:?"] = analogy(a, b, c, word_to_id, id_to_word, vectors)
            print(format_scores(f"\n[analogy] {a}:{b} = {c}:?", answers[f"{a}:{b} = {c}:?"]))
    return {"most_similar": near, "analogies": answers}


def train(args: argparse.Namespace) -> dict[str, Any]:
    b = fnn.backend(dtype="float32")
    corpus = np.asarray(ptb("train"))[: args.words]
    vocab = int(corpus.max()) + 1
    contexts, target = (b.xp.asarray(a) for a in contexts_and_targets(corpus, args.window))  # to the device
    sampler = UnigramSampler.from_corpus(b.xp.asarray(corpus), negatives=5)
    if args.skip_gram:
        model, in_shape = dlfs.skip_gram(vocab, args.hidden), dlfs.skip_gram_in_shape(args.window, 5)
    else:
        model, in_shape = dlfs.cbow(vocab, args.hidden, args.window), dlfs.cbow_in_shape(args.window, 5)
    key = fnn.random.key(args.seed)
    params = model.init(fnn.random.fold_in(key, 0), in_shape, b)
    optimizer = fnn.optim.adam(0.001)
    opt_state = optimizer.init(params)
    step = fnn.value_and_grad(model, fnn.losses.negative_sampling_loss)
    steps = min(len(target) // args.batch, args.max_iters)
    losses, total, count, start = [], 0.0, 0, time.perf_counter()
    for epoch in range(args.epochs):
        order = fnn.random.permutation(fnn.random.fold_in(key, 2 * epoch + 1), len(target), b)
        for i in range(steps):
            batch = order[i * args.batch : (i + 1) * args.batch]
            draw = fnn.random.fold_in(fnn.random.fold_in(key, 2 * epoch + 2), i)
            if args.skip_gram:
                ids, labels = sampler.pairs(draw, contexts[batch])
                x = (target[batch], ids)
            else:
                ids, labels = sampler.pairs(draw, target[batch])
                x = (contexts[batch], ids)
            value, grads = step(params, x, labels)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            params = fnn.optim.apply_updates(params, updates)
            total, count = total + float(value), count + 1
            if (i + 1) % args.eval_interval == 0 or i + 1 == steps:
                losses.append(total / count)
                elapsed = time.perf_counter() - start
                print(
                    f"| epoch {epoch + 1} |  iter {i + 1} / {steps} | time {elapsed:.0f}[s] "
                    f"| loss {losses[-1]:.2f}"
                )
                total, count = 0.0, 0
    seconds = time.perf_counter() - start
    args.out.mkdir(parents=True, exist_ok=True)
    plot = args.out / "dlfs2_ch04_word2vec_loss.png"
    plot_loss(plot, [args.eval_interval * (k + 1) for k in range(len(losses))], losses)
    saved = fnn.io.save(args.out / "dlfs2_ch04_word_vecs.npz", dlfs.word_vectors(params))
    root = DATA / "ptb" if (DATA / "ptb").is_dir() else None
    words = load_ptb("train", root, download=root is None, progress=False)
    word_to_id = {w: i for w, i in words.word_to_id.items() if i < vocab}  # PTB's ids: first-occurrence order
    result = evaluate(dlfs.word_vectors(params), word_to_id, {i: w for w, i in word_to_id.items()})
    return {**result, "losses": losses, "params": params, "plot": plot, "saved": saved,
            "seconds_per_step": seconds / (args.epochs * steps), "steps_per_epoch": len(target) // args.batch}


def plot_loss(path: Path, iters: list[int], losses: list[float]) -> None:
    """The loss against the step (the mean over each interval between printed lines)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(iters, losses, marker="o", markersize=3)
    ax.set_xlabel("iteration (within each epoch)")
    ax.set_ylabel("loss")
    ax.set_title("word2vec with negative sampling on PTB")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="word2vec with negative sampling (DLfS 2, ch. 4).")
    parser.add_argument("--published", action="store_true", help="only evaluate the book's cbow_params.pkl")
    parser.add_argument("--skip-gram", action="store_true", help="train skip-gram instead of CBOW")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--max-iters", type=int, default=10**9, help="steps per epoch (default: all, 9295)")
    parser.add_argument("--words", type=int, default=None, help="train on this prefix of PTB's training set")
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--eval-interval", type=int, default=1000, help="steps between progress lines")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, default=Path("out"), help="directory for the plot and the vectors"
    )
    args = parser.parse_args(argv)
    if args.published:
        return evaluate(*dlfs.load_cbow_params(PUBLISHED))
    return train(args)


if __name__ == "__main__":
    main()
