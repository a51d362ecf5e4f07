"""load_ptb on the offline PTB files (the book's counts, ids and vocabulary), its download path and errors."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import fnn
from fnn import DataError
from fnn.datasets import PTB_FILES, PTB_SHA256, load_ptb, ptb_root, sha256_of
from tests.helpers import host, serving

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ptb"


@pytest.fixture(scope="module")
def data_dir() -> Path:
    if not all((DATA / name).is_file() for name in PTB_FILES.values()):
        pytest.fail(f"the offline PTB files are missing from {DATA}; see shared/data/README.md")
    return DATA


@pytest.fixture(scope="module")
def train(data_dir: Path, backend_name: str) -> fnn.datasets.PTB:
    return load_ptb("train", data_dir, download=False)


def test_offline_files_are_the_canonical_ones(data_dir: Path) -> None:
    assert {name: sha256_of(data_dir / name) for name in PTB_FILES.values()} == dict(PTB_SHA256)


def test_train_split_has_the_books_length_first_ids_and_vocabulary(train: fnn.datasets.PTB) -> None:
    corpus, word_to_id, id_to_word = train
    assert corpus.shape == (887_521 + 42_068,) and corpus.dtype == np.int64  # words + one <eos> per line
    ids = host(corpus)
    assert ids[:10].tolist() == list(range(10))  # the book: aer banknote berlitz … with ids 0, 1, 2, …
    assert [id_to_word[i] for i in range(3)] == ["aer", "banknote", "berlitz"]
    assert len(word_to_id) == len(id_to_word) == 10_000 and int(ids.max()) == 9_999
    assert word_to_id["<eos>"] == 24 and id_to_word[24] == "<eos>"  # the first line has 24 words
    assert int((ids == 24).sum()) == 42_068
    assert all(id_to_word[i] == w for w, i in word_to_id.items())
    # first-occurrence order: the first appearance of id k comes after that of id k - 1
    firsts = np.full(10_000, -1)
    firsts[ids[::-1]] = np.arange(len(ids))[::-1]
    assert (np.diff(firsts) > 0).all()


@pytest.mark.parametrize(("split", "words", "lines"), [("valid", 70_390, 3_370), ("test", 78_669, 3_761)])
def test_valid_and_test_use_the_training_vocabulary(
    data_dir: Path, train: fnn.datasets.PTB, split: str, words: int, lines: int
) -> None:
    corpus, word_to_id, _ = load_ptb(split, data_dir, download=False)  # type: ignore[arg-type]
    assert corpus.shape == (words + lines,)
    assert word_to_id == train.word_to_id
    first_line = (data_dir / PTB_FILES[split]).read_text().split("\n")[0].split()
    assert host(corpus[: len(first_line) + 1]).tolist() == [word_to_id[w] for w in first_line + ["<eos>"]]


def test_val_is_an_alias_of_valid(data_dir: Path) -> None:
    assert host(load_ptb("val", data_dir, download=False).corpus).shape == (73_760,)


def test_an_unknown_split_is_refused() -> None:
    with pytest.raises(ValueError, match=r"`split` must be 'train', 'valid' or 'test', got 'dev'"):
        load_ptb("dev")  # type: ignore[arg-type]


def test_line_ends_become_eos_as_in_the_books_loader(tmp_path: Path) -> None:
    (tmp_path / "ptb.train.txt").write_text(" a b \n b c \n")
    (tmp_path / "ptb.test.txt").write_text(" c a \n")
    corpus, word_to_id, _ = load_ptb("train", tmp_path, download=False)
    assert word_to_id == {"a": 0, "b": 1, "<eos>": 2, "c": 3}
    assert host(corpus).tolist() == [0, 1, 2, 1, 3, 2]
    assert host(load_ptb("test", tmp_path, download=False).corpus).tolist() == [3, 0, 2]


def test_a_word_outside_the_training_vocabulary_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "ptb.train.txt").write_text(" a b \n")
    (tmp_path / "ptb.valid.txt").write_text(" a zebra \n")
    with pytest.raises(DataError, match=r"ptb\.valid\.txt: the word 'zebra' is not in the training file's vocab"):
        load_ptb("valid", tmp_path, download=False)


def test_a_file_that_is_not_text_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "ptb.train.txt").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(DataError, match=r"ptb\.train\.txt: not a PTB text file \(not UTF-8"):
        load_ptb("train", tmp_path, download=False)


def test_offline_load_names_the_missing_file_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"(?s)PTB file ptb\.train\.txt is missing from .*download=True.*FNN_DATA_DIR"):
        load_ptb("test", tmp_path, download=False)


def test_root_search_follows_fnn_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data" / "ptb").mkdir(parents=True)
    monkeypatch.setenv("FNN_DATA_DIR", str(tmp_path / "data"))
    assert ptb_root() == tmp_path / "data" / "ptb"  # a data directory with a ptb/ subdirectory
    monkeypatch.setenv("FNN_DATA_DIR", str(tmp_path / "flat"))
    assert ptb_root() == tmp_path / "flat"  # the PTB directory itself
    monkeypatch.delenv("FNN_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert ptb_root() == tmp_path / "cache" / "fnn" / "ptb"
    assert ptb_root(tmp_path / "mine") == tmp_path / "mine"


@pytest.fixture(scope="module")
def mirrors(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local HTTP server with ``/good/`` (the files) and ``/bad/`` (each file with one byte changed)."""
    site = tmp_path_factory.mktemp("site")
    shutil.copytree(data_dir, site / "good")
    (site / "bad").mkdir()
    for name in PTB_FILES.values():
        body = bytearray((data_dir / name).read_bytes())
        body[len(body) // 2] ^= 0x01
        (site / "bad" / name).write_bytes(bytes(body))

    with serving(site) as url:
        yield url


def test_download_verifies_the_digest_and_falls_back_to_the_next_mirror(mirrors: str, tmp_path: Path) -> None:
    root = tmp_path / "ptb"
    corpus, word_to_id, _ = load_ptb("test", root, mirrors=[f"{mirrors}/bad/", f"{mirrors}/good/"], progress=False)
    assert corpus.shape == (82_430,) and len(word_to_id) == 10_000
    assert sorted(p.name for p in root.iterdir()) == ["ptb.test.txt", "ptb.train.txt"]  # no partial files
    assert all(sha256_of(root / name) == PTB_SHA256[name] for name in ("ptb.test.txt", "ptb.train.txt"))


def test_a_download_failing_the_digest_everywhere_leaves_nothing(mirrors: str, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"could not download ptb\.train\.txt") as info:
        load_ptb("train", tmp_path, mirrors=[f"{mirrors}/bad/"], progress=False)
    assert f"expected sha256 {PTB_SHA256['ptb.train.txt']}" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_the_vocabulary_is_the_books_own(train: fnn.datasets.PTB) -> None:
    # The book saved its PTB vocabulary with the CBOW vectors of chapter 4: fnn's must equal it, id for id.
    saved = fnn.io.load_pickle(DATA.parent / "dlfs2" / "cbow_params.pkl")
    assert saved["word_to_id"] == train.word_to_id and saved["id_to_word"] == train.id_to_word
