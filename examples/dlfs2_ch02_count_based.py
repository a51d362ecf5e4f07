"""Count-based word vectors (DLfS 2, ch. 2): the toy corpus, then PTB.

The toy corpus "You say goodbye and I say hello." (``ch02/count_method_small.py``): its
co-occurrence matrix (window 1), PPMI matrix (printed with 3 significant digits as the
book does), cos(you, i) = 0.7071067691154799, the words most similar to "you", and the
2-D plot of its SVD vectors (``out/dlfs2_ch02_svd.png``, the book's figure 2-11; the
singular values come in equal pairs, so which basis of each pair LAPACK returns, and so
the picture, may be rotated against the book's).

PTB (``ch02/count_method_big.py``): co-occurrence with window 2 over the 929,589 training
words, PPMI (vectorised: seconds instead of the book's double loop over 10⁸ entries),
a randomized SVD to 100 dimensions, and the nearest words of you, year, car and toyota.
``--ptb-words`` uses a prefix of PTB instead (its own vocabulary of the words in it).

Run: ``python examples/dlfs2_ch02_count_based.py``
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
from examples.dlfs2_ch04_word2vec import DATA, QUERIES
from fnn.datasets import load_ptb
from fnn.text import (
    co_occurrence,
    cosine_similarity,
    format_scores,
    most_similar,
    ppmi,
    preprocess,
    randomized_svd,
)

TOY = "You say goodbye and I say hello."


def toy(out: Path) -> dict[str, Any]:
    corpus, word_to_id, id_to_word = preprocess(TOY)
    c = co_occurrence(corpus, len(word_to_id), window=1)
    w = ppmi(c)
    similarity = cosine_similarity(c[word_to_id["you"]], c[word_to_id["i"]])
    print("covariance matrix")
    print(c)
    print("-" * 50)
    print("PPMI")
    with np.printoptions(precision=3):
        print(w)
    print(similarity)
    print(format_scores("\n[query] you", most_similar("you", word_to_id, id_to_word, c)))
    u, s, vt = np.linalg.svd(w)
    plot = out / "dlfs2_ch02_svd.png"
    plot_words(plot, u[:, :2], id_to_word)
    return {"co_matrix": c, "ppmi": w, "cos_you_i": similarity, "u": u, "plot": plot}


def plot_words(path: Path, points: Any, id_to_word: dict[int, str]) -> None:
    """Each word at its 2-D vector, labelled (the book's figure 2-11)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(points[:, 0], points[:, 1], alpha=0.5)
    for i, word in id_to_word.items():
        ax.annotate(word, (points[i, 0], points[i, 1]))
    ax.set_title("SVD of the toy corpus' PPMI matrix: the first two columns of U")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def ptb_vectors(words: int | None) -> dict[str, Any]:
    root = DATA / "ptb" if (DATA / "ptb").is_dir() else None
    corpus, word_to_id, id_to_word = load_ptb("train", root, download=root is None, progress=False)
    corpus = np.asarray(corpus)[:words]
    if words is not None:  # the vocabulary of the prefix, numbered in order of id
        kept, corpus = np.unique(corpus, return_inverse=True)
        word_to_id = {id_to_word[int(v)]: i for i, v in enumerate(kept)}
        id_to_word = {i: w for w, i in word_to_id.items()}
    start = time.perf_counter()
    print("counting co-occurrence ...")
    c = co_occurrence(corpus, len(word_to_id), window=2)
    print("calculating PPMI ...")
    w = ppmi(c)
    print("calculating SVD ...")
    u, _, _ = randomized_svd(w, 100, key=fnn.random.key(0))
    seconds = time.perf_counter() - start
    near = {q: most_similar(q, word_to_id, id_to_word, u) for q in QUERIES if q in word_to_id}
    for query, scores in near.items():
        print(format_scores(f"\n[query] {query}", scores))
    return {"vectors": u, "most_similar": near, "seconds": seconds}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Count-based word vectors of DLfS 2, ch. 2.")
    parser.add_argument("--ptb-words", type=int, default=None, help="use a prefix of PTB (default: all)")
    parser.add_argument("--out", type=Path, default=Path("out"), help="directory for the plot")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    return {"toy": toy(args.out), "ptb": ptb_vectors(args.ptb_words)}


if __name__ == "__main__":
    main()
