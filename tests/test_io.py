"""Tests of fnn.io: the .npz format, atomic writes, checks against `like`, and the restricted unpickler.

Model params and optimizer states are made on the backend under test (``FNN_BACKEND``):
saving them copies them to the host, loading without ``like`` gives NumPy arrays and
loading with ``like`` puts them where ``like``'s leaves are. The file format itself,
the hand-written ``.npz`` files and the book's pickles are host (NumPy) data.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

import fnn
from fnn import io
from tests.helpers import host

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def mlp_params(dtype: str = "float32") -> Any:
    model = fnn.sequential(fnn.Dense(4), fnn.relu, fnn.Dense(3, use_bias=False))
    return model.init(fnn.random.key(0), (2,), fnn.backend(dtype=dtype))


def leaves_equal(a: Any, b: Any) -> bool:
    """Same leaves: the same types (so the same device), dtypes and values."""
    la, lb = fnn.tree.leaves(a), fnn.tree.leaves(b)
    return len(la) == len(lb) and all(
        type(x) is type(y)
        and np.array_equal(host(x), host(y))
        and getattr(x, "dtype", None) == getattr(y, "dtype", None)
        for x, y in zip(la, lb)
    )


def on_host(tree: Any) -> Any:
    """``tree`` with its array leaves copied to the host: what ``io.load`` without ``like`` gives back."""
    return fnn.tree.map(lambda leaf: host(leaf) if hasattr(leaf, "dtype") else leaf, tree)


# --- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_model_params(tmp_path: Path, dtype: str) -> None:
    params = mlp_params(dtype)
    path = io.save(tmp_path / "p.npz", params)
    assert path == tmp_path / "p.npz"
    hosted, placed = io.load(path), io.load(path, like=params)
    assert all(isinstance(leaf, np.ndarray) for leaf in fnn.tree.leaves(hosted))  # without `like`: NumPy
    assert leaves_equal(hosted, on_host(params))
    assert leaves_equal(placed, params)  # with `like`: arrays of like's backend (CuPy for CuPy params)
    for loaded in (hosted, placed):
        assert fnn.tree.structure(loaded) == fnn.tree.structure(params)
        assert isinstance(loaded[0], fnn.DenseParams) and loaded[1] is None and loaded[2].b is None


def test_round_trip_containers_scalars_and_optimizer_state(tmp_path: Path) -> None:
    tree = {  # host data of every kind the format keeps (NumPy: integer, bool and complex arrays)
        "list": [np.arange(3, dtype=np.int16), np.array(True)],
        "none": None,
        "scalars": (1, 2.5, False),
        "nested": {"empty": (), "c": np.zeros((2, 0), np.complex64)},
    }
    io.save(tmp_path / "t.npz", tree)
    loaded = io.load(tmp_path / "t.npz")
    assert loaded["scalars"] == (1, 2.5, False) and type(loaded["scalars"][0]) is int
    assert leaves_equal(loaded, tree)
    opt = fnn.optim.adamw(0.1)
    params = mlp_params()
    state = opt.init(params)
    _, state = opt.update(fnn.tree.map(lambda p: p + 1, params), state, params)
    io.save(tmp_path / "s.npz", state)
    assert leaves_equal(io.load(tmp_path / "s.npz", like=state), state)
    assert leaves_equal(io.load(tmp_path / "s.npz"), on_host(state))
    assert io.load(tmp_path / "s.npz")[0].count == 1


def test_the_file_is_a_plain_npz_with_a_json_description(tmp_path: Path) -> None:
    params = mlp_params()
    io.save(tmp_path / "p.npz", params)
    with np.load(tmp_path / "p.npz", allow_pickle=False) as data:
        assert sorted(data.files) == ["__fnn__", "leaf_0", "leaf_1", "leaf_2"]
        for i, leaf in enumerate((params[0].w, params[0].b, params[2].w)):  # host copies of the leaves
            assert data[f"leaf_{i}"].dtype == np.float32
            np.testing.assert_array_equal(data[f"leaf_{i}"], host(leaf))
        meta = json.loads(bytes(data["__fnn__"]).decode())
    assert meta["format"] == "fnn.params" and meta["version"] == io.FORMAT_VERSION
    assert [leaf["path"] for leaf in meta["leaves"]] == ["[0].w", "[0].b", "[2].w"]
    assert meta["structure"]["children"][0]["type"] == "fnn.layers.dense:DenseParams"


@attrs.frozen
class UserParams:
    w: Any
    scale: Any


class Pair(typing.NamedTuple):
    left: Any
    right: Any


def test_user_classes_load_only_once_registered(tmp_path: Path) -> None:
    # Host leaves on purpose: a NumPy array and a NumPy scalar (restored as a NumPy scalar).
    params = (UserParams(np.ones(2), np.float32(3)), Pair(np.zeros(1), None))
    io.save(tmp_path / "u.npz", params)
    with pytest.raises(
        fnn.FormatError, match=r"u.npz: the file names class '(tests\.)?test_io:UserParams'.*fnn.io.register"
    ):
        io.load(tmp_path / "u.npz")
    io.register(UserParams)
    io.register(Pair)
    loaded = io.load(tmp_path / "u.npz")
    assert isinstance(loaded[0], UserParams) and isinstance(loaded[1], Pair) and loaded[1].right is None
    assert leaves_equal(loaded, params)
    with pytest.raises(TypeError, match="expected an attrs class or a named tuple"):
        io.register(dict)


# --- atomic writes ---------------------------------------------------------------------------------


def test_a_failed_write_leaves_the_old_file_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.npz"
    old = mlp_params()
    io.save(path, old)
    original = path.read_bytes()

    def half_write(file: Any, *args: Any, **kwargs: Any) -> None:
        file.write(b"PK\x03\x04 half a zip archive")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", half_write)
    with pytest.raises(OSError, match="disk full"):
        io.save(path, mlp_params("float64"))
    monkeypatch.undo()
    assert path.read_bytes() == original
    assert leaves_equal(io.load(path, like=old), old)
    assert os.listdir(tmp_path) == ["p.npz"]  # no temporary file left behind

    def no_rename(src: Any, dst: Any) -> None:
        raise OSError("rename failed")

    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(OSError, match="rename failed"):
        io.save(path, mlp_params("float64"))
    assert path.read_bytes() == original and os.listdir(tmp_path) == ["p.npz"]


def test_a_new_file_follows_the_umask(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        io.save(tmp_path / "p.npz", mlp_params())
    finally:
        os.umask(mask)
    assert (tmp_path / "p.npz").stat().st_mode & 0o777 == 0o644


# --- loading into `like` -----------------------------------------------------------------------------


def test_like_names_the_first_mismatch(tmp_path: Path) -> None:
    path = io.save(tmp_path / "p.npz", mlp_params())
    deeper = fnn.sequential(fnn.Dense(4), fnn.relu, fnn.Dense(3, use_bias=False), fnn.Dense(2))
    with pytest.raises(
        fnn.StructureError,
        match=r"at the root: the file has a tuple of length 3, `like` has a tuple of length 4",
    ):
        io.load(path, like=deeper.init(fnn.random.key(0), (2,)))
    with_bias = fnn.sequential(fnn.Dense(4), fnn.relu, fnn.Dense(3)).init(fnn.random.key(0), (2,))
    with pytest.raises(fnn.StructureError, match=r"at \[2\]\.b: the file has None, `like` has an array"):
        io.load(path, like=with_bias)
    wider = fnn.sequential(fnn.Dense(5), fnn.relu, fnn.Dense(3, use_bias=False)).init(fnn.random.key(0), (2,))
    with pytest.raises(
        fnn.ShapeError, match=r"leaf \[0\]\.w has shape \(2, 4\) in the file, `like` has \(2, 5\)"
    ):
        io.load(path, like=wider)
    with pytest.raises(
        fnn.DTypeError, match=r"leaf \[0\]\.w has dtype float32 in the file, `like` has float64"
    ):
        io.load(path, like=mlp_params("float64"))
    with pytest.raises(
        fnn.StructureError,
        match=r"at \[0\]: the file has DenseParams with fields \['w', 'b'\], `like` has a dict",
    ):
        io.load(path, like=({"w": 1, "b": 2}, None, mlp_params()[2]))


# --- bad and unsafe files -------------------------------------------------------------------------------


def write_npz(path: Path, meta: Any, **arrays: Any) -> Path:
    arrays["__fnn__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def test_unreadable_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        io.load(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(fnn.FormatError, match="unreadable or corrupt"):
        io.load(tmp_path / "junk.npz")
    with open(tmp_path / "plain.npz", "wb") as f:
        np.savez(f, a=np.zeros(2))
    with pytest.raises(fnn.FormatError, match="not an fnn params file"):
        io.load(tmp_path / "plain.npz")
    np.save(tmp_path / "single.npy", np.zeros(2))
    with pytest.raises(fnn.FormatError, match="not an fnn params file"):
        io.load(tmp_path / "single.npy")
    leaf = {"kind": "leaf"}
    newer = write_npz(
        tmp_path / "newer.npz", {"format": "fnn.params", "version": 99, "structure": leaf, "leaves": []}
    )
    with pytest.raises(fnn.FormatError, match=r"version 99; this fnn reads versions 1..1"):
        io.load(newer)


def test_loading_never_unpickles(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    meta = {
        "format": "fnn.params",
        "version": 1,
        "structure": {"kind": "leaf"},
        "leaves": [{"path": "", "dtype": "|O", "shape": [1], "python": None}],
    }
    evil = np.empty(1, dtype=object)
    evil[0] = Evil(marker)  # unpickling this array would run `touch marker`
    path = write_npz(tmp_path / "obj.npz", meta, leaf_0=evil)
    with pytest.raises(
        fnn.FormatError, match=r"obj\.npz: unreadable or corrupt fnn params file .*allow_pickle"
    ):
        io.load(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "name",
    [
        "os:system",
        "builtins:eval",
        "fnn.io:save",
        "fnn.io:_registry",
        "fnn.layers.dense:DenseParams.w",
        "fnn.layers.dense:Dense",
        "numpy:ndarray",
    ],
)
def test_class_names_resolve_only_to_fnn_attrs_classes(tmp_path: Path, name: str) -> None:
    structure = {
        "kind": "attrs",
        "type": name,
        "keys": ["w", "b"],
        "children": [{"kind": "leaf"}, {"kind": "none"}],
    }
    meta = {
        "format": "fnn.params",
        "version": 1,
        "structure": structure,
        "leaves": [{"path": ".w", "dtype": "<f4", "shape": [1], "python": None}],
    }
    path = write_npz(tmp_path / "evil.npz", meta, leaf_0=np.zeros(1, np.float32))
    with pytest.raises(fnn.FormatError, match="names class|has fields"):
        io.load(path)


def test_unsaveable_trees(tmp_path: Path) -> None:
    with pytest.raises(fnn.StructureError, match=r"the leaf at \['k'\] is a Key"):
        io.save(tmp_path / "k.npz", {"k": fnn.random.key(0)})
    with pytest.raises(fnn.StructureError, match="has a key 3; keys must be strings"):
        io.save(tmp_path / "d.npz", {3: np.zeros(1)})
    with pytest.raises(fnn.StructureError, match="dtype <U1"):
        io.save(tmp_path / "s.npz", [np.array(["a"])])
    assert os.listdir(tmp_path) == []


# --- the book's pickles ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dlfs() -> Path:
    path = DATA / "dlfs"
    assert path.is_dir(), f"the book's weights are missing: expected {path} (see ../shared/data/README.md)"
    return path


@pytest.mark.parametrize(
    ("name", "shapes", "dtype"),
    [
        (
            "sample_weight.pkl",
            {"W1": (784, 50), "b1": (50,), "W2": (50, 100), "b2": (100,), "W3": (100, 10), "b3": (10,)},
            "float32",
        ),
        (
            "simple_convnet_params.pkl",
            {"W1": (30, 1, 5, 5), "b1": (30,), "W2": (4320, 100), "b2": (100,), "W3": (100, 10), "b3": (10,)},
            "float64",
        ),
        (
            "deep_convnet_params.pkl",
            {
                "W1": (16, 1, 3, 3),
                "W2": (16, 16, 3, 3),
                "W3": (32, 16, 3, 3),
                "W4": (32, 32, 3, 3),
                "W5": (64, 32, 3, 3),
                "W6": (64, 64, 3, 3),
                "W7": (1024, 50),
                "W8": (50, 10),
                **{f"b{i}": (n,) for i, n in enumerate((16, 16, 32, 32, 64, 64, 50, 10), start=1)},
            },
            "float64",
        ),
    ],
)
def test_the_books_pickles(dlfs: Path, name: str, shapes: dict[str, tuple[int, ...]], dtype: str) -> None:
    weights = io.load_pickle_arrays(dlfs / name)
    assert {k: v.shape for k, v in weights.items()} == shapes
    assert all(v.dtype == dtype and np.isfinite(v).all() for v in weights.values())


class Evil:
    """Unpickling this runs a shell command that creates ``marker`` (if the unpickler lets it)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


class EvilEval:
    def __reduce__(self) -> tuple[Any, ...]:
        return (eval, ("1 + 1",))


def test_a_malicious_pickle_is_refused_without_running(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"W1": np.zeros(2), "b1": Evil(marker)}))
    with pytest.raises(fnn.FormatError, match=r"refused to load global (posix|nt|os)\.system"):
        io.load_pickle_arrays(path)
    assert not marker.exists()
    path.write_bytes(pickle.dumps(EvilEval(), protocol=4))
    with pytest.raises(fnn.FormatError, match=r"refused to load global builtins\.eval"):
        io.load_pickle_arrays(path)
    # protocol 2 with a codec other than Latin-1
    path.write_bytes(b"\x80\x02c_codecs\nencode\nq\x00X\x03\x00\x00\x00abcX\x05\x00\x00\x00rot13\x86R.")
    with pytest.raises(fnn.FormatError, match="refused _codecs.encode with encoding 'rot13'"):
        io.load_pickle_arrays(path)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_pickles_of_arrays_in_every_protocol(tmp_path: Path, protocol: int) -> None:
    arrays: dict[str, Any] = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.zeros(3, np.int64)}
    (tmp_path / "a.pkl").write_bytes(pickle.dumps(arrays, protocol=protocol))
    loaded = io.load_pickle_arrays(tmp_path / "a.pkl")
    assert loaded.keys() == arrays.keys()
    assert all(np.array_equal(loaded[k], v) for k, v in arrays.items())


def test_pickles_that_are_not_dicts_of_numeric_arrays(tmp_path: Path) -> None:
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps([np.zeros(2)]))
    with pytest.raises(fnn.FormatError, match="expected a dict of arrays, got list"):
        io.load_pickle_arrays(path)
    path.write_bytes(pickle.dumps({"w": np.array([1, "a"], dtype=object)}))
    with pytest.raises(fnn.FormatError, match="entry 'w' is not a numeric array"):
        io.load_pickle_arrays(path)
    path.write_bytes(pickle.dumps({1: np.zeros(1)}))
    with pytest.raises(fnn.FormatError, match="expected string keys"):
        io.load_pickle_arrays(path)
    path.write_bytes(b"\x80\x03}q\x00")  # truncated
    with pytest.raises(fnn.FormatError, match="not a readable pickle"):
        io.load_pickle_arrays(path)


# --- hostile files, killed writers and paths that name no file ----------------------------------


def test_a_deeply_nested_file_is_a_format_error(tmp_path: Path) -> None:
    depth = 3000
    structure = '{"kind": "tuple", "children": [' * depth + '{"kind": "leaf"}' + "]}" * depth
    meta = '{"format": "fnn.params", "version": 1, "leaves": [], "structure": ' + structure + "}"
    path = tmp_path / "deep.npz"
    with open(path, "wb") as f:
        np.savez(f, __fnn__=np.frombuffer(meta.encode(), dtype=np.uint8))
    with pytest.raises(fnn.FormatError, match=r"deep\.npz: corrupt fnn params file \(.* nested too deeply\)"):
        io.load(path)


_STUCK_SAVE = """
import sys
import numpy as np
from fnn import io

def savez_until_told(f, **arrays):  # io.save's write, stopped halfway until a line arrives
    f.write(b"PK half an archive")
    f.flush()
    print("writing", flush=True)
    sys.stdin.readline()
    f.seek(0)
    f.truncate()
    real_savez(f, **arrays)

real_savez, np.savez = np.savez, savez_until_told
io.save(sys.argv[1], {"w": np.full(3, 7.0)})
"""


def _stuck_save(target: Path) -> subprocess.Popen[str]:
    """A process whose ``io.save(target, ...)`` has written half its temporary file and waits."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    process = subprocess.Popen(
        [sys.executable, "-c", _STUCK_SAVE, str(target)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
    )
    assert process.stdout is not None and process.stdout.readline() == "writing\n"
    return process


def _hidden(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir() if p.name.startswith(".")}


def test_a_save_killed_with_sigkill_leaves_no_temp_after_the_next_save(tmp_path: Path) -> None:
    target = tmp_path / "params.npz"
    killed = _stuck_save(target)
    killed.send_signal(signal.SIGKILL)
    killed.communicate()
    assert killed.returncode == -signal.SIGKILL
    (dead,) = _hidden(tmp_path)
    live = _stuck_save(target)  # a concurrent save that is still running: its file must survive
    (alive,) = _hidden(tmp_path) - {dead}
    try:
        io.save(target, {"w": np.zeros(3)})
        assert _hidden(tmp_path) == {alive}
        assert io.load(target)["w"].tolist() == [0.0, 0.0, 0.0]
    finally:
        live.communicate("\n")
    assert live.returncode == 0
    assert io.load(target)["w"].tolist() == [7.0, 7.0, 7.0]  # the live save finished, then replaced it
    assert _hidden(tmp_path) == set()


def test_paths_that_name_no_file_are_clear_errors(tmp_path: Path) -> None:
    params = {"w": np.zeros(2)}
    with pytest.raises(fnn.errors.PathError, match=r"save: the path is empty; name a file"):
        io.save("", params)
    with pytest.raises(fnn.errors.PathError, match=r"save: .* is a directory; name a file in it"):
        io.save(tmp_path, params)
    with pytest.raises(OSError, match=r"the directory .*missing does not exist; create it first"):
        io.save(tmp_path / "missing" / "params.npz", params)
    with pytest.raises(fnn.errors.PathError, match="load: the path is empty"):
        io.load("")
    with pytest.raises(fnn.errors.PathError, match="load: .* is a directory"):
        io.load(tmp_path)
    with pytest.raises(fnn.errors.PathError, match="load_pickle_arrays: .* is a directory"):
        io.load_pickle_arrays(tmp_path)
    assert list(tmp_path.iterdir()) == []
