"""The character-level toy problems of "Deep Learning from Scratch 2" (ch. 7-8): addition and dates.

Each line of the file is one example, a question and its answer, the answer starting
with ``_`` (the decoder's start symbol):

- ``addition.txt``: ``"16+75  _91  "``, a question padded to 7 characters and an answer
  padded to 5 (50,000 lines);
- ``date.txt``: ``"september 27, 1994           _1994-09-27"``, a date in many formats
  padded to 29 characters and the ISO date (50,000 lines).

**Read as the book's** ``dataset/sequence.load_data`` **does**, so that its published
weights line up:

- the vocabulary numbers the characters in order of first occurrence, reading each
  line's question and then its answer, line by line (``'1' → 0, '6' → 1, '+' → 2, …``
  for addition);
- the split shuffles the line indices with NumPy's legacy generator seeded with 1984
  (``numpy.random.seed(1984); numpy.random.shuffle(indices)``, here through an own
  ``RandomState(1984)``, which draws the same permutation without touching the
  global one) and keeps the last 10% (``N // 10`` lines) as the test set;
- ``reverse=True`` reverses each question (the book's ``x[:, ::-1]``, ch. 7's
  "reversed input" and every model of ch. 8).

**Where the files come from.** As PTB (:mod:`fnn.datasets.ptb`): the ``root`` argument,
else ``FNN_DATA_DIR`` (the directory itself, or a data directory whose ``dlfs2/``
holds the files), else ``~/.cache/fnn/dlfs2``; a missing file is downloaded from the
book's repository (MIT licence) and checked against :data:`TOY_SEQUENCE_SHA256`. fnn
does not ship the files (1.3 MB together): one data path for every data set keeps the
package small and the provenance in one place, and the checksum makes a download as
trustworthy as a bundled copy.

>>> import os
>>> if os.path.isdir("../shared/data/dlfs2"):  # the offline copies, beside the project
...     data = load_addition("../shared/data/dlfs2", download=False)
...     assert data.x_train.shape == (45000, 7) and data.t_test.shape == (5000, 5)
...     assert "".join(data.id_to_char[i] for i in range(4)) == "16+7"
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from fnn.backend import Backend, resolve
from fnn.datasets import download as dl
from fnn.errors import DataError
from fnn.typing import Array

__all__ = [
    "TOY_SEQUENCE_MIRRORS",
    "TOY_SEQUENCE_SHA256",
    "CharSequences",
    "load_addition",
    "load_char_sequences",
    "load_date",
    "toy_sequences_root",
]

TOY_SEQUENCE_SHA256: dict[str, str] = {
    "addition.txt": "34e0746f5014c11311c9452ee9050bf14e38eca44ec4aaf4d81eba2b38674009",
    "date.txt": "62e66a301ce8537868e725512d2a45663fc366526b7e42028cb703bda2b1c79a",
}
"""SHA-256 digests of the two files, checked on every download."""

TOY_SEQUENCE_MIRRORS: tuple[str, ...] = (
    "https://raw.githubusercontent.com/oreilly-japan/deep-learning-from-scratch-2/master/dataset/",
)
"""Base URLs serving the files, tried in order (the book's repository)."""

SPLIT_SEED = 1984
"""The seed of the book's shuffle before the train/test split."""

START = "_"
"""The character that starts every answer: the decoder's start symbol."""


class CharSequences(NamedTuple):
    """A toy data set as character ids, split as the book splits it.

    Attributes:
        x_train: Questions ``(N_train, Q)``, ``int64`` (reversed with ``reverse=True``).
        t_train: Answers ``(N_train, A)``, ``int64``, each starting with the id of ``_``.
        x_test: Test questions ``(N // 10, Q)``.
        t_test: Test answers ``(N // 10, A)``.
        char_to_id: The vocabulary, character to id (the book's order).
        id_to_char: Its inverse, id to character.
    """

    x_train: Array
    t_train: Array
    x_test: Array
    t_test: Array
    char_to_id: dict[str, int]
    id_to_char: dict[int, str]


def toy_sequences_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The directory the files are read from: ``root``, else ``FNN_DATA_DIR``, else ``~/.cache/fnn/dlfs2``.

    ``FNN_DATA_DIR`` may name the directory itself or a data directory whose ``dlfs2/``
    subdirectory holds the files; the per-user directory follows ``XDG_CACHE_HOME``.

    >>> str(toy_sequences_root("/data/dlfs2"))
    '/data/dlfs2'
    """
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("FNN_DATA_DIR")
    if env:
        path = Path(env).expanduser()
        nested = path / "dlfs2"
        if nested.is_dir() and not any((path / f).exists() for f in TOY_SEQUENCE_SHA256):
            return nested
        return path
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fnn" / "dlfs2"


def _lines(path: Path) -> list[tuple[str, str]]:
    """Each line as ``(question, answer)``, split at its first ``_`` (the answer keeps it)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not a text file (not UTF-8: {error})") from None
    pairs = []
    for number, line in enumerate(text.splitlines(), start=1):
        cut = line.find(START)
        if cut < 0:
            raise DataError(
                f"{path}, line {number}: no {START!r} between question and answer in {line!r}; "
                "every line must read question_answer (the book's format)"
            )
        pairs.append((line[:cut], line[cut:]))
    if not pairs:
        raise DataError(f"{path}: the file holds no lines")
    return pairs


def _ids(texts: list[str], char_to_id: dict[str, int], path: Path, what: str) -> np.ndarray:
    lengths = {len(s) for s in texts}
    if len(lengths) != 1:
        raise DataError(
            f"{path}: every {what} must have the same (padded) length, got lengths {sorted(lengths)}"
        )
    return np.array([[char_to_id[c] for c in s] for s in texts], dtype=np.int64).reshape(len(texts), -1)


def load_char_sequences(
    name: str,
    root: str | os.PathLike[str] | None = None,
    *,
    reverse: bool = False,
    download: bool = True,
    backend: Backend | None = None,
    mirrors: Sequence[str] = TOY_SEQUENCE_MIRRORS,
    progress: bool = True,
) -> CharSequences:
    """Read a ``question_answer`` file as the book's ``sequence.load_data(name)`` and ``get_vocab()``.

    Args:
        name: The file name (``"addition.txt"``, ``"date.txt"``, or an own file of the
            same format under ``root``; only the two are downloaded).
        root: Directory of the files (see the module docstring for the default).
        reverse: Reverse every question (``x[:, ::-1]``), as the book's ch. 7-8 models read it.
        download: Download a missing file; ``False`` raises instead.
        backend: Where the ids live (default: the default backend); always ``int64``.
        mirrors: Base URLs to download from, tried in order.
        progress: Show a progress bar while downloading.

    Returns:
        A :class:`CharSequences`; the test set is the last ``N // 10`` lines after the
        book's shuffle (seed 1984).

    Raises:
        DataError: the file is missing (and not downloaded), not UTF-8, empty, has a line
            without ``_``, or questions (answers) of different lengths.
    """
    directory = toy_sequences_root(root)
    path = directory / name
    if not path.is_file():
        if not download or name not in TOY_SEQUENCE_SHA256:
            raise DataError(
                f"{name} is missing from {directory}.\n"
                + ("Pass download=True to fetch it, or put" if name in TOY_SEQUENCE_SHA256 else "Put")
                + " the file in that directory, or pass `root=` / set FNN_DATA_DIR to a directory "
                "that holds it."
            )
        path = dl.download_file(name, directory, mirrors, sha256=TOY_SEQUENCE_SHA256[name], progress=progress)
    pairs = _lines(path)
    char_to_id: dict[str, int] = {}
    for question, answer in pairs:
        for c in question + answer:
            char_to_id.setdefault(c, len(char_to_id))
    x = _ids([q for q, _ in pairs], char_to_id, path, "question")
    t = _ids([a for _, a in pairs], char_to_id, path, "answer")
    indices = np.arange(len(x))
    np.random.RandomState(SPLIT_SEED).shuffle(indices)
    x, t = x[indices], t[indices]
    if reverse:
        x = x[:, ::-1]
    cut = len(x) - len(x) // 10
    xp = resolve(backend)
    return CharSequences(
        xp.asarray(x[:cut], dtype=np.int64),
        xp.asarray(t[:cut], dtype=np.int64),
        xp.asarray(x[cut:], dtype=np.int64),
        xp.asarray(t[cut:], dtype=np.int64),
        char_to_id,
        {i: c for c, i in char_to_id.items()},
    )


def load_addition(
    root: str | os.PathLike[str] | None = None,
    *,
    reverse: bool = False,
    download: bool = True,
    backend: Backend | None = None,
    progress: bool = True,
) -> CharSequences:
    """The addition problems (ch. 7): questions ``(·, 7)``, answers ``(·, 5)``, 13 characters.

    45,000 training and 5,000 test lines. See :func:`load_char_sequences`.
    """
    return load_char_sequences(
        "addition.txt", root, reverse=reverse, download=download, backend=backend, progress=progress
    )


def load_date(
    root: str | os.PathLike[str] | None = None,
    *,
    reverse: bool = False,
    download: bool = True,
    backend: Backend | None = None,
    progress: bool = True,
) -> CharSequences:
    """The date formats (ch. 8): questions ``(·, 29)``, answers ``(·, 11)``, 59 characters.

    45,000 training and 5,000 test lines. See :func:`load_char_sequences`.
    """
    return load_char_sequences(
        "date.txt", root, reverse=reverse, download=download, backend=backend, progress=progress
    )
