"""fnn.io.load_pickle: the second volume's pickles (lists of float16 arrays, dicts with vocabularies), safely."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import fnn
from fnn import io

DLFS2 = Path(__file__).resolve().parents[2] / "shared" / "data" / "dlfs2"


@pytest.fixture(scope="module")
def dlfs2() -> Path:
    assert DLFS2.is_dir(), f"the book's second-volume files are missing: expected {DLFS2} (see ../shared/data/README.md)"
    return DLFS2


@pytest.mark.parametrize(
    ("name", "shapes"),
    [
        ("Rnnlm.pkl", [(10000, 100), (100, 400), (100, 400), (400,), (100, 10000), (10000,)]),
        (
            "AttentionSeq2seq.pkl",
            [(59, 16), (16, 1024), (256, 1024), (1024,)] * 2 + [(512, 59), (59,)],
        ),
    ],
)
def test_the_books_lists_of_float16_arrays(dlfs2: Path, name: str, shapes: list[tuple[int, ...]]) -> None:
    weights = io.load_pickle(dlfs2 / name)
    assert isinstance(weights, list) and [w.shape for w in weights] == shapes
    assert all(w.dtype == np.float16 and np.isfinite(w).all() for w in weights)
    cast = io.load_pickle(dlfs2 / name, dtype="float32")
    assert all(c.dtype == np.float32 and np.array_equal(c, w) for c, w in zip(cast, weights))  # exact: f16 ⊂ f32


def test_the_cbow_dict_with_its_vocabularies(dlfs2: Path) -> None:
    params = io.load_pickle(dlfs2 / "cbow_params.pkl", dtype="float64")
    assert sorted(params) == ["id_to_word", "word_to_id", "word_vecs"]
    assert params["word_vecs"].shape == (10000, 100) and params["word_vecs"].dtype == np.float64
    word_to_id, id_to_word = params["word_to_id"], params["id_to_word"]
    assert len(word_to_id) == len(id_to_word) == 10000
    assert all(type(k) is str and type(v) is int for k, v in word_to_id.items())
    assert all(id_to_word[i] == w for w, i in word_to_id.items())
    assert [id_to_word[i] for i in range(3)] == ["aer", "banknote", "berlitz"]


class Evil:
    """Unpickling this runs a shell command that creates ``marker`` (if the unpickler lets it)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def test_a_malicious_pickle_is_refused_without_running(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps([np.zeros(2, np.float16), {"word_to_id": {"a": 0}, "x": Evil(marker)}]))
    with pytest.raises(fnn.FormatError, match=r"evil\.pkl: refused to load global (posix|nt|os)\.system"):
        io.load_pickle(path)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_plain_data_round_trips_in_every_protocol(tmp_path: Path, protocol: int) -> None:
    shared = np.arange(4, dtype=np.float16)
    data: Any = {"ws": [shared, shared, np.arange(3)], 7: ("a", 1.5, None, True), "s": np.float16(2.5)}
    (tmp_path / "a.pkl").write_bytes(pickle.dumps(data, protocol=protocol))
    loaded = io.load_pickle(tmp_path / "a.pkl", dtype="float32")
    assert loaded[7] == ("a", 1.5, None, True) and loaded["ws"][2].dtype == np.arange(3).dtype  # ints kept
    assert loaded["ws"][0].dtype == np.float32 and loaded["ws"][0] is loaded["ws"][1]  # shared stays shared
    assert loaded["s"] == 2.5 and loaded["s"].dtype == np.float32


def test_what_is_not_plain_data_is_refused_with_its_place(tmp_path: Path) -> None:
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps([np.zeros(1), {"v": {1, 2}}]))
    with pytest.raises(fnn.FormatError, match=r"x\.pkl: the file\[1\]\['v'\] is a set; the file may hold only lists"):
        io.load_pickle(path)
    path.write_bytes(pickle.dumps({"w": np.array([1, "a"], dtype=object)}))
    with pytest.raises(fnn.FormatError, match=r"the file\['w'\] is an array of dtype object, not a numeric one"):
        io.load_pickle(path)
    path.write_bytes(pickle.dumps({(1, 2): 0}))
    with pytest.raises(fnn.FormatError, match=r"the file has the key \(1, 2\); keys must be strings or ints"):
        io.load_pickle(path)
    loop: list[Any] = []
    loop.append(loop)
    path.write_bytes(pickle.dumps(loop))
    with pytest.raises(fnn.FormatError, match=r"the file\[0\] contains itself; plain data has no cycles"):
        io.load_pickle(path)
    path.write_bytes(b"\x80\x03]q\x00")  # truncated
    with pytest.raises(fnn.FormatError, match="not a readable pickle"):
        io.load_pickle(path)
    with pytest.raises(fnn.DTypeError, match=r"`dtype` must be a float dtype such as 'float32', got int32"):
        io.load_pickle(path, dtype="int32")


def test_shared_references_are_converted_once(tmp_path: Path) -> None:
    nested: Any = [np.ones(1, np.float16)]
    for _ in range(60):  # 2**60 paths through 60 shared lists: a walk that follows each path never ends
        nested = [nested, nested]
    (tmp_path / "dag.pkl").write_bytes(pickle.dumps(nested))
    loaded = io.load_pickle(tmp_path / "dag.pkl", dtype="float32")
    assert loaded[0] is loaded[1]
