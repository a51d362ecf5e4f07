"""Text generation with the published LSTM language model (DLfS 2, ch. 7).

The book's ``Rnnlm.pkl`` (trained on PTB, test perplexity 136) writes 100 words after
the start word ``you``: each word is sampled from the model's softmax over the next
word, skipping ``<unk>`` and ``N`` as the book does, and fed back in, the LSTM state
carried from call to call (one model call per word, :func:`fnn.text.generate`). The
same ``--seed`` gives the same text; ``--greedy`` always takes the most likely word
(which soon repeats itself). ``<eos>`` is printed as the end of a sentence.

``--params`` generates from params saved by ``examples/dlfs2_ch06_rnnlm.py`` instead.

Run: ``python examples/dlfs2_ch07_generate.py --start you --length 100 --seed 0``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn
from examples.dlfs2_ch06_rnnlm import PTB_DIR, RNNLM_PKL
from fnn import dlfs
from fnn.datasets import load_ptb
from fnn.text import generate


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Generate text with the LSTM language model of DLfS 2.")
    parser.add_argument("--start", default="you", help="the start word(s), separated by spaces")
    parser.add_argument("--length", type=int, default=100, help="how many words to generate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--greedy", action="store_true", help="take the most likely word instead of sampling")
    parser.add_argument("--params", type=Path, default=None, help="params saved by dlfs2_ch06_rnnlm.py")
    args = parser.parse_args(argv)
    b = fnn.backend(dtype="float32")
    root = PTB_DIR if PTB_DIR.is_dir() else None
    _, word_to_id, id_to_word = load_ptb("train", root, download=root is None, progress=False)
    model = dlfs.rnnlm()
    params = dlfs.load_rnnlm(RNNLM_PKL, b)
    if args.params is not None:
        params = fnn.io.load(args.params, params)
    start = [word_to_id[word] for word in args.start.split()]
    skip = [word_to_id["<unk>"], word_to_id["N"]]
    key = None if args.greedy else fnn.random.key(args.seed)
    ids = generate(model, params, dlfs.zero_state(model, 1, b), start, args.length, key=key, skip_ids=skip)
    text = " ".join(id_to_word[i] for i in start + ids).replace(" <eos>", ".\n")
    print(text)
    return {"ids": ids, "text": text}


if __name__ == "__main__":
    main()
