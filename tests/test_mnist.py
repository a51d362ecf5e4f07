"""load_mnist on the offline files, the strict IDX parser and the parsed ``.npy`` cache.

``load_mnist`` gives arrays of the backend under test (``FNN_BACKEND``); the IDX
parser, the gzip checks and the ``.npy`` cache work on the host (NumPy) by design.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import fnn
from fnn import DataError
from fnn.datasets import MNIST_FILES, load_mnist, mnist_root, parse_idx, read_idx
from fnn.datasets import idx as idx_module
from fnn.datasets import mnist as mnist_module
from fnn.typing import Array
from tests.helpers import assert_array_equal, host

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def data_dir() -> Path:
    if not all((DATA / name).is_file() for name in MNIST_FILES.values()):
        pytest.fail(f"the offline MNIST files are missing from {DATA}; see shared/data/README.md")
    return DATA


@pytest.fixture(scope="module")
def mnist(data_dir: Path, backend_name: str) -> tuple[tuple[Array, Array], tuple[Array, Array]]:
    """The offline MNIST on the backend under test (made again for each backend of the run)."""
    return load_mnist(data_dir, download=False, cache=False)


def _idx(dims: tuple[int, ...], data: bytes, code: int = 8) -> bytes:
    return bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims) + data


def _write(path: Path, raw: bytes, compress: bool = True) -> Path:
    path.write_bytes(gzip.compress(raw, mtime=0) if compress else raw)
    return path


def _tiny_root(root: Path, n_train: int = 3, n_test: int = 2, labels: bytes | None = None) -> Path:
    """Four small, valid MNIST files: image k is filled with the value k, label k is k % 10."""
    root.mkdir(parents=True, exist_ok=True)
    for part, n in (("train", n_train), ("t10k", n_test)):
        pixels = np.repeat(np.arange(n, dtype=np.uint8), 784).tobytes()
        _write(root / f"{part}-images-idx3-ubyte.gz", _idx((n, 28, 28), pixels))
        _write(root / f"{part}-labels-idx1-ubyte.gz", _idx((n,), labels or bytes(k % 10 for k in range(n))))
    return root


# --- the offline files ---------------------------------------------------------------------------


def test_canonical_test_set(mnist: tuple[tuple[Array, Array], tuple[Array, Array]]) -> None:
    _, (x_test, t_test) = mnist
    b = fnn.backend()
    assert isinstance(x_test, b.xp.ndarray) and isinstance(t_test, b.xp.ndarray)  # on the backend under test
    assert x_test.shape == (10000, 784) and x_test.dtype == np.float32
    assert float(x_test.min()) == 0.0 and float(x_test.max()) == 1.0
    assert t_test.shape == (10000,) and t_test.dtype == np.int64
    assert np.bincount(host(t_test)).tolist() == TEST_COUNTS
    assert t_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # the well-known first test digits


def test_training_subset_loads_with_the_count_from_its_header(
    mnist: tuple[tuple[Array, Array], tuple[Array, Array]],
) -> None:
    (x_train, t_train), _ = mnist
    assert x_train.shape == (5000, 784) and x_train.dtype == np.float32
    assert np.bincount(host(t_train)).tolist() == [500] * 10


def test_raw_images_nchw_and_one_hot(
    data_dir: Path, mnist: tuple[tuple[Array, Array], tuple[Array, Array]]
) -> None:
    _, (x_raw, t_hot) = load_mnist(
        data_dir, normalize=False, flatten=False, one_hot_label=True, download=False, cache=False
    )
    assert x_raw.shape == (10000, 1, 28, 28) and x_raw.dtype == np.uint8
    assert isinstance(x_raw, fnn.backend().xp.ndarray) and isinstance(t_hot, fnn.backend().xp.ndarray)
    assert int(x_raw.max()) == 255
    assert_array_equal(x_raw.reshape(10000, 784) / np.float32(255), mnist[1][0])
    assert t_hot.shape == (10000, 10) and t_hot.dtype == np.float32
    assert_array_equal(t_hot.argmax(axis=1), mnist[1][1])
    assert t_hot.sum(axis=0).tolist() == TEST_COUNTS


def test_dtype_and_backend_choose_the_float_dtype(tmp_path: Path) -> None:
    root = _tiny_root(tmp_path / "mnist")
    (x, _), _ = load_mnist(root, dtype="float64", cache=False)
    assert x.dtype == np.float64
    b = fnn.backend(dtype="float64")
    (x, t), _ = load_mnist(root, one_hot_label=True, backend=b, cache=False)
    assert x.dtype == np.float64 and t.dtype == np.float64
    assert isinstance(x, b.xp.ndarray) and isinstance(t, b.xp.ndarray)
    assert x[:, 0].tolist() == [0.0, 1 / 255, 2 / 255]
    with pytest.raises(fnn.DTypeError, match=r"`dtype` must be one of"):
        load_mnist(root, dtype="int32", cache=False)


def test_missing_files_without_download_say_what_and_where(tmp_path: Path) -> None:
    _write(tmp_path / "t10k-labels-idx1-ubyte.gz", _idx((1,), b"\x01"))
    with pytest.raises(DataError) as info:
        load_mnist(tmp_path, download=False)
    message = str(info.value)
    assert (
        f"MNIST files missing from {tmp_path}: train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
        "t10k-images-idx3-ubyte.gz." in message
    )
    assert "download=True" in message and "FNN_DATA_DIR" in message


def test_root_from_argument_environment_or_user_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FNN_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert mnist_root() == tmp_path / "xdg" / "fnn" / "mnist"
    assert mnist_module.default_cache_dir() == tmp_path / "xdg" / "fnn" / "mnist" / "parsed"
    monkeypatch.setenv("FNN_DATA_DIR", str(tmp_path / "data"))
    assert mnist_root() == tmp_path / "data"
    _tiny_root(tmp_path / "data" / "mnist")
    assert mnist_root() == tmp_path / "data" / "mnist"  # a data directory with an mnist/ subdirectory
    assert mnist_root(tmp_path / "elsewhere") == tmp_path / "elsewhere"
    (x, _), _ = load_mnist(cache=False)
    assert x.shape == (3, 784)


# --- generated bad files -------------------------------------------------------------------------

IMAGE = bytes(784)


@pytest.mark.parametrize(
    ("name", "raw", "match"),
    [
        (
            "short.gz",
            b"\x00\x00",
            r"short\.gz: not an IDX file: 2 bytes, too short for the 4-byte magic number",
        ),
        (
            "labels-as-images.gz",
            _idx((1,), b"\x00"),
            r"bad magic number 0x00000801, expected 0x00000803 \(images\)",
        ),
        (
            "float.gz",
            _idx((1, 28, 28), IMAGE, code=0x0D),
            r"bad magic number 0x00000d03, expected 0x00000803",
        ),
        (
            "header.gz",
            _idx((2, 28, 28), b"")[:9],
            r"header\.gz: truncated IDX header: 3 dimensions need 16 bytes",
        ),
        (
            "cut.gz",
            _idx((2, 28, 28), IMAGE),
            r"cut\.gz: truncated IDX file: the header promises 1568 bytes of data "
            r"\(shape \(2, 28, 28\)\), found 784",
        ),
        ("long.gz", _idx((1, 28, 28), IMAGE + b"xx"), r"long\.gz: IDX file has 2 bytes after the data"),
        ("small.gz", _idx((1, 14, 14), bytes(196)), r"small\.gz: images are 14x14, expected 28x28"),
    ],
)
def test_bad_image_files(tmp_path: Path, name: str, raw: bytes, match: str) -> None:
    path = _write(tmp_path / name, raw)
    with pytest.raises(DataError, match=match) as info:
        idx_module.read_images(path)
    assert str(path) in str(info.value)  # every message names the file


@pytest.mark.parametrize(
    ("name", "raw", "match"),
    [
        (
            "images-as-labels.gz",
            _idx((1, 28, 28), IMAGE),
            r"bad magic number 0x00000803, expected 0x00000801 \(labels\)",
        ),
        (
            "eleven.gz",
            _idx((2,), b"\x03\x0b"),
            r"eleven\.gz: label 11 is out of range: labels must lie in 0\.\.9",
        ),
    ],
)
def test_bad_label_files(tmp_path: Path, name: str, raw: bytes, match: str) -> None:
    path = _write(tmp_path / name, raw)
    with pytest.raises(DataError, match=match):
        idx_module.read_labels(path)


def test_bad_gzip_streams(tmp_path: Path) -> None:
    good = gzip.compress(_idx((3,), b"\x01\x02\x03"))
    cut = tmp_path / "cut.gz"
    cut.write_bytes(good[:-12])
    with pytest.raises(DataError, match=r"cut\.gz: corrupt or truncated gzip data: Compressed file ended"):
        read_idx(cut)
    garbled = tmp_path / "garbled.gz"
    garbled.write_bytes(good[:10] + b"\xff" * 20 + good[30:])
    with pytest.raises(DataError, match=r"garbled\.gz: corrupt or truncated gzip data: "):
        read_idx(garbled)
    plain = _write(tmp_path / "plain.gz", _idx((3,), b"\x01\x02\x03"), compress=False)
    with pytest.raises(
        DataError, match=r"plain\.gz: not a gzip file \(it does not start with the gzip magic"
    ):
        read_idx(plain)
    with pytest.raises(DataError, match=r"nowhere\.gz: file not found"):
        read_idx(tmp_path / "nowhere.gz")


def test_uncompressed_idx_is_read_by_content() -> None:
    assert parse_idx(_idx((2, 2), b"\x01\x02\x03\x04"), name="m").tolist() == [[1, 2], [3, 4]]


def test_image_and_label_counts_must_agree(tmp_path: Path) -> None:
    root = _tiny_root(tmp_path / "mnist")
    _write(root / "t10k-labels-idx1-ubyte.gz", _idx((3,), b"\x00\x01\x02"))
    cache = tmp_path / "parsed"
    with pytest.raises(
        DataError,
        match=r"image and label counts disagree: .*t10k-images-idx3-ubyte\.gz holds 2 "
        r"images, .*t10k-labels-idx1-ubyte\.gz holds 3 labels",
    ):
        load_mnist(root, cache_dir=cache)


def test_a_corrupt_file_leaves_nothing_in_the_cache(tmp_path: Path) -> None:
    root = _tiny_root(tmp_path / "mnist")
    _write(root / "train-images-idx3-ubyte.gz", _idx((3, 28, 28), IMAGE))  # truncated
    cache = tmp_path / "parsed"
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: truncated IDX file"):
        load_mnist(root, cache_dir=cache)
    assert not cache.exists() or list(cache.iterdir()) == []


# --- the parsed cache ----------------------------------------------------------------------------


def _refuse_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> Array:
        raise AssertionError("parsed the IDX file although the cache holds it")

    monkeypatch.setattr(idx_module, "read_images", refuse)
    monkeypatch.setattr(idx_module, "read_labels", refuse)


def test_second_load_comes_from_the_npy_cache(
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mnist: tuple[tuple[Array, Array], tuple[Array, Array]],
) -> None:
    cache = tmp_path / "parsed"
    first = load_mnist(data_dir, cache_dir=cache)
    files = sorted(p.name for p in cache.iterdir())
    assert len(files) == 4 and all(f.endswith(".npy") for f in files)
    assert np.load(cache / files[0], allow_pickle=False).dtype == np.uint8  # plain arrays, no pickle
    _refuse_parsing(monkeypatch)
    second = load_mnist(data_dir, cache_dir=cache)
    for a, b, c in zip(first[0] + first[1], second[0] + second[1], mnist[0] + mnist[1]):
        assert_array_equal(a, c)
        assert_array_equal(b, c)
    assert sorted(p.name for p in cache.iterdir()) == files  # nothing rewritten, no temporary file


def test_a_changed_source_invalidates_its_cache_entry(tmp_path: Path) -> None:
    root = _tiny_root(tmp_path / "mnist")
    cache = tmp_path / "parsed"
    assert load_mnist(root, cache_dir=cache)[1][1].tolist() == [0, 1]
    _write(root / "t10k-labels-idx1-ubyte.gz", _idx((2,), b"\x07\x08"))
    assert load_mnist(root, cache_dir=cache)[1][1].tolist() == [7, 8]
    assert len(list(cache.glob("t10k-labels-idx1-ubyte.*.npy"))) == 1  # the stale entry is gone
    assert len(list(cache.iterdir())) == 4


@pytest.mark.parametrize("content", ["garbage", "pickle"])
def test_a_bad_cache_entry_is_ignored_and_replaced(
    tmp_path: Path, content: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tiny_root(tmp_path / "mnist")
    cache = tmp_path / "parsed"
    load_mnist(root, cache_dir=cache)
    entry = next(cache.glob("t10k-labels-idx1-ubyte.*.npy"))
    if content == "garbage":
        entry.write_bytes(b"not an npy file")
    else:  # an object array needs pickle to load: it must be refused, never executed
        with open(entry, "wb") as f:
            np.save(f, np.array([None, 1], dtype=object), allow_pickle=True)
    assert load_mnist(root, cache_dir=cache)[1][1].tolist() == [0, 1]
    assert np.load(entry, allow_pickle=False).tolist() == [0, 1]


def test_an_unwritable_cache_only_costs_speed(tmp_path: Path) -> None:
    root = _tiny_root(tmp_path / "mnist")
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    (x, _), _ = load_mnist(root, cache_dir=blocker / "parsed")  # cannot be created: a file is in the way
    assert x.shape == (3, 784)


def test_the_default_cache_lives_in_the_user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    root = _tiny_root(tmp_path / "mnist")
    load_mnist(root)
    assert len(list((tmp_path / "xdg" / "fnn" / "mnist" / "parsed").glob("*.npy"))) == 4
    assert sorted(os.listdir(root)) == sorted(MNIST_FILES.values())  # nothing written beside the user's files
    shutil.rmtree(tmp_path / "xdg")


def _alter(kind: str, array: Array) -> Array:
    """``array`` (a parsed cache entry) changed as a disk fault, a tool or a person might change it."""
    if kind == "cropped":  # images of 28x27 pixels: no longer rows of 784
        cropped: Array = np.ascontiguousarray(array[:, :, :27])
        return cropped
    changed: Array = array.copy()
    if kind == "label out of range":
        changed[1] = 200
    elif kind == "label in range":
        changed[1] = 5
    else:
        changed[1, 3, 4] ^= 1
    return changed


@pytest.mark.parametrize(
    ("entry", "kind"),
    [
        ("t10k-labels-idx1-ubyte", "label out of range"),
        ("t10k-labels-idx1-ubyte", "label in range"),
        ("t10k-images-idx3-ubyte", "pixel"),
        ("t10k-images-idx3-ubyte", "cropped"),
    ],
)
def test_an_altered_cache_entry_is_never_returned(tmp_path: Path, entry: str, kind: str) -> None:
    root = _tiny_root(tmp_path / "mnist")
    cache = tmp_path / "parsed"
    expected = load_mnist(root, cache_dir=cache, normalize=False, flatten=False)
    (file,) = cache.glob(f"{entry}.*.npy")
    written = np.load(file, allow_pickle=False)
    with open(file, "wb") as f:
        np.save(f, _alter(kind, written), allow_pickle=False)
    again = load_mnist(root, cache_dir=cache, normalize=False, flatten=False)
    for a, b in zip(expected[0] + expected[1], again[0] + again[1]):
        assert_array_equal(a, b)
    assert np.array_equal(np.load(file, allow_pickle=False), written)  # parsed again and rewritten
    assert len(list(cache.iterdir())) == 4


def test_a_gzip_bomb_is_refused_without_inflating_it(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.gz"  # 3 labels promised, 50 MB of zeros after them: 50 kB compressed
    bomb.write_bytes(gzip.compress(_idx((3,), bytes(50_000_000)), compresslevel=1, mtime=0))
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"bomb\.gz: IDX file has more than 1048576 bytes after the data"):
            read_idx(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000  # inflated to 1 MiB past the promise, not to 50 MB


def test_a_header_whose_size_overflows_64_bits_is_a_data_error() -> None:
    dims = (65536, 65536, 65536, 65536)  # 2**64 bytes: an int64 product wraps around to 0
    with pytest.raises(DataError, match=r"m: truncated IDX file: the header promises 18446744073709551616"):
        parse_idx(_idx(dims, b""), name="m")


def test_a_header_promising_more_than_a_gzip_file_can_hold(tmp_path: Path) -> None:
    liar = _write(tmp_path / "liar.gz", _idx((60000, 28, 28), b"\x00" * 10))
    with pytest.raises(DataError, match=r"liar\.gz: the IDX header promises 47040000 bytes .* more than a"):
        read_idx(liar)
