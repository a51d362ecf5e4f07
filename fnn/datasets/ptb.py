"""Penn Treebank (PTB) language-model text: find or download it, verify it, and read it as word ids.

The word-level PTB of Mikolov's preprocessing (10,000-word vocabulary, rare words as
``<unk>``, numbers as ``N``), as *Deep Learning from Scratch 2* uses it (its
``dataset/ptb.py``): three text files, one sentence per line.

Where the files are looked for (the *root*), as for MNIST:

1. the ``root`` argument;
2. else the environment variable ``FNN_DATA_DIR`` (the directory holding the files,
   or a data directory with a ``ptb/`` subdirectory holding them);
3. else a per-user cache, ``$XDG_CACHE_HOME/fnn/ptb`` (``~/.cache/fnn/ptb``).

A missing file is downloaded (``download=True``) from :data:`PTB_MIRRORS` (the
``tomsercu/lstm`` repository the book downloads from) through
:func:`fnn.datasets.download_file`: streamed into a temporary file, verified against
:data:`PTB_SHA256`, moved into place atomically. A file already on disk is read as
it is. The text is for research use (LDC): fnn never ships it.

**Reading, as the book does.** Each line end becomes the word ``<eos>`` (the book
replaces ``"\\n"`` by ``"<eos>"`` in the whole text and splits on whitespace), so a
split has as many ids as words plus lines: 887,521 + 42,068 = 929,589 for
``ptb.train.txt``. The vocabulary is built over the training file in order of first
occurrence (``aer`` is 0, ``banknote`` 1, …, ``<eos>`` 24), so the book's published
weights line up; the validation and test files use the training vocabulary.
Loading any split reads the training file for the vocabulary (about 0.4 s).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

from fnn.backend import Backend, resolve
from fnn.datasets import download as dl
from fnn.errors import DataError
from fnn.typing import Array

__all__ = ["PTB", "PTB_FILES", "PTB_MIRRORS", "PTB_SHA256", "load_ptb", "ptb_root"]

Split = Literal["train", "valid", "val", "test"]

PTB_FILES: Mapping[str, str] = {
    "train": "ptb.train.txt",
    "valid": "ptb.valid.txt",
    "test": "ptb.test.txt",
}
"""The three files of PTB, by split."""

PTB_SHA256: Mapping[str, str] = {
    "ptb.train.txt": "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
    "ptb.valid.txt": "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
    "ptb.test.txt": "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
}
"""SHA-256 digests of the three files, checked on every download."""

PTB_MIRRORS: tuple[str, ...] = ("https://raw.githubusercontent.com/tomsercu/lstm/master/data/",)
"""Base URLs serving the files, tried in order (the one the book's loader uses)."""

EOS = "<eos>"
"""The word that stands for a line end."""


class PTB(NamedTuple):
    """One split of PTB as word ids, with the vocabulary; unpacks like the book's ``load_data``.

    Attributes:
        corpus: The split's word ids, shape ``(W,)``, ``int64``, in file order.
        word_to_id: The training vocabulary, word to id (first-occurrence order).
        id_to_word: Its inverse, id to word.
    """

    corpus: Array
    word_to_id: dict[str, int]
    id_to_word: dict[int, str]


def _user_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fnn"


def ptb_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The directory PTB is read from: ``root``, else ``FNN_DATA_DIR``, else ``~/.cache/fnn/ptb``.

    ``FNN_DATA_DIR`` may name the PTB directory itself or a data directory whose
    ``ptb/`` subdirectory holds the files; the per-user directory follows
    ``XDG_CACHE_HOME``.

    >>> str(ptb_root("/data/ptb"))
    '/data/ptb'
    """
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("FNN_DATA_DIR")
    if env:
        path = Path(env).expanduser()
        nested = path / "ptb"
        if nested.is_dir() and not any((path / f).exists() for f in PTB_FILES.values()):
            return nested
        return path
    return _user_cache() / "ptb"


def _ensure_file(
    directory: Path, name: str, download: bool, mirrors: Sequence[str], checksums: Mapping[str, str],
    progress: bool,
) -> Path:
    path = directory / name
    if path.is_file():
        return path
    if not download:
        raise DataError(
            f"PTB file {name} is missing from {directory}.\n"
            "Pass download=True to fetch it, or put the files "
            f"({', '.join(PTB_FILES.values())}) in that directory by hand, "
            "or pass `root=` / set FNN_DATA_DIR to a directory that holds them."
        )
    return dl.download_file(name, directory, mirrors, sha256=checksums.get(name), progress=progress)


def _words(path: Path) -> list[str]:
    """The words of ``path`` with each line end as ``<eos>``, exactly as the book's loader splits them."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not a PTB text file (not UTF-8: {error})") from None
    return text.replace("\n", EOS).strip().split()


def _vocabulary(words: list[str]) -> dict[str, int]:
    """Each distinct word's id, in order of first occurrence (dicts keep insertion order)."""
    return {word: i for i, word in enumerate(dict.fromkeys(words))}


def _ids(words: list[str], word_to_id: dict[str, int], path: Path) -> Array:
    try:
        return np.fromiter(map(word_to_id.__getitem__, words), dtype=np.int64, count=len(words))
    except KeyError as error:
        raise DataError(
            f"{path}: the word {error.args[0]!r} is not in the training file's vocabulary; "
            "PTB's validation and test files use only training words, so this file is not PTB's"
        ) from None


def load_ptb(
    split: Split = "train",
    root: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    backend: Backend | None = None,
    mirrors: Sequence[str] = PTB_MIRRORS,
    checksums: Mapping[str, str] = PTB_SHA256,
    progress: bool = True,
) -> PTB:
    """One split of PTB as ``(corpus, word_to_id, id_to_word)``: the book's ``ptb.load_data(split)``.

    Args:
        split: ``"train"``, ``"valid"`` (the book also accepts ``"val"``; so does this) or ``"test"``.
        root: Directory of the three text files (see the module docstring for the default).
        download: Download missing files; ``False`` raises instead.
        backend: Where the ids live (default: the default backend); ids are ``int64``
            whatever the backend's float dtype.
        mirrors: Base URLs to download from, tried in order.
        checksums: SHA-256 digests by file name that downloads must match.
        progress: Show a progress bar while downloading.

    Returns:
        A :class:`PTB`: ``corpus`` of shape ``(W,)`` (929,589 ids for ``"train"``,
        73,760 for ``"valid"``, 82,430 for ``"test"``) and the training vocabulary of
        10,000 words both ways.

    Raises:
        ValueError: ``split`` is not one of the three.
        DataError: a file is missing and cannot be downloaded, is not UTF-8 text, or
            (validation and test) holds a word the training file does not.

    >>> import os
    >>> if os.path.isdir("../shared/data/ptb"):  # the offline copies, beside the project
    ...     corpus, word_to_id, id_to_word = load_ptb("train", "../shared/data/ptb", download=False)
    ...     assert corpus[:3].tolist() == [0, 1, 2] and id_to_word[0] == "aer"
    """
    if split == "val":
        split = "valid"
    if split not in PTB_FILES:
        raise ValueError(f"load_ptb: `split` must be 'train', 'valid' or 'test', got {split!r}")
    directory = ptb_root(root)
    train_path = _ensure_file(directory, PTB_FILES["train"], download, mirrors, checksums, progress)
    train_words = _words(train_path)
    word_to_id = _vocabulary(train_words)
    if split == "train":
        path, words = train_path, train_words
    else:
        path = _ensure_file(directory, PTB_FILES[split], download, mirrors, checksums, progress)
        words = _words(path)
    ids = _ids(words, word_to_id, path)
    corpus = resolve(backend).asarray(ids, dtype=np.int64)
    return PTB(corpus, word_to_id, {i: word for word, i in word_to_id.items()})
