"""MNIST: find or download the four IDX files, verify them, parse them and cache the parsed arrays.

Where the files are looked for (the *root*):

1. the ``root`` argument;
2. else the environment variable ``FNN_DATA_DIR`` (the directory holding the four
   files, or a data directory with an ``mnist/`` subdirectory holding them);
3. else a per-user cache, ``$XDG_CACHE_HOME/fnn/mnist`` (``~/.cache/fnn/mnist``).

When files are missing there and may not be downloaded, the error names the
directory and which of these three steps chose it.

Missing files are downloaded (``download=True``) from :data:`MNIST_MIRRORS` and
verified against the canonical SHA-256 digests in :data:`MNIST_SHA256` (see
:mod:`fnn.datasets.download`). Files already present are *not* checked against
those digests, so a subset or a re-packed copy placed by hand loads as it is;
they are validated as IDX files instead (magic numbers, dimensions, byte lengths,
image and label counts, label range), and the item count comes from the header.

The parsed arrays are cached as ``.npy`` files (loaded with ``allow_pickle=False``)
named after the SHA-256 of their source file, so a changed source is parsed
again, and copies of one file found under different roots share one entry. The
name also holds the SHA-256 of the parsed array (its dtype, shape and bytes),
which is checked on every load: an entry altered in any way (a label, a pixel, its
shape) is parsed again from the source and rewritten. The check costs a hash of
the arrays: a cached load of the full data set takes about 60 ms instead of 30 ms
(parsing takes about 300 ms). They
are written atomically into ``cache_dir``, by default ``parsed/`` under the
per-user MNIST directory (beside downloaded files), never into a ``root`` the user
points at, which may be a shared or read-only data set. If the cache cannot be
written, loading still works, only slower.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from fnn.backend import Backend, resolve
from fnn.datasets import download as dl
from fnn.datasets import idx
from fnn.datasets.encoding import one_hot
from fnn.errors import DataError
from fnn.files import atomic_write
from fnn.typing import Array, DTypeLike

__all__ = [
    "MNIST_FILES",
    "MNIST_MIRRORS",
    "MNIST_SHA256",
    "default_cache_dir",
    "default_root",
    "load_mnist",
    "mnist_root",
]

MNIST_FILES: Mapping[str, str] = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
"""The four files of MNIST, by role."""

MNIST_SHA256: Mapping[str, str] = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
"""Canonical SHA-256 digests of the four files, checked on every download."""

MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
"""Base URLs serving the canonical MNIST files, tried in order."""


def _user_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fnn"


def default_root() -> Path:
    """The per-user MNIST directory: ``$XDG_CACHE_HOME/fnn/mnist``, else ``~/.cache/fnn/mnist``."""
    return _user_cache() / "mnist"


def mnist_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The directory MNIST is read from: ``root``, else ``FNN_DATA_DIR``, else :func:`default_root`.

    ``FNN_DATA_DIR`` may name the MNIST directory itself or a data directory whose
    ``mnist/`` subdirectory holds the files.

    >>> str(mnist_root("/data/mnist"))
    '/data/mnist'
    """
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("FNN_DATA_DIR")
    if env:
        path = Path(env).expanduser()
        nested = path / "mnist"
        if nested.is_dir() and not any((path / f).exists() for f in MNIST_FILES.values()):
            return nested
        return path
    return default_root()


def _why_root(root: str | os.PathLike[str] | None) -> str:
    """Which step of :func:`mnist_root`'s search chose the directory, for error messages."""
    if root is not None:
        return "the `root` argument"
    if os.environ.get("FNN_DATA_DIR"):
        return f"from FNN_DATA_DIR={os.environ['FNN_DATA_DIR']}"
    return "the per-user cache, used because no `root` was given and FNN_DATA_DIR is not set"


def _ensure_files(
    root: Path, why: str, download: bool, mirrors: Sequence[str], checksums: Mapping[str, str], progress: bool
) -> dict[str, Path]:
    paths = {role: root / name for role, name in MNIST_FILES.items()}
    missing = [name for name in MNIST_FILES.values() if not (root / name).is_file()]
    if missing and not download:
        raise DataError(
            f"MNIST files missing from {root}: {', '.join(missing)}.\n"
            f"That directory is {why}. Pass download=True to fetch them, or put the four files "
            f"({', '.join(MNIST_FILES.values())}) in that directory by hand, "
            "or pass `root=` / set FNN_DATA_DIR to a directory that holds them."
        )
    for name in missing:
        try:
            dl.download_file(name, root, mirrors, sha256=checksums.get(name), progress=progress)
        except DataError as error:  # offline, or no mirror serves it intact: say what is still missing
            still = [n for n in MNIST_FILES.values() if not (root / n).is_file()]
            raise DataError(f"MNIST files missing from {root}: {', '.join(still)}.\n{error}") from None
    return paths


def default_cache_dir() -> Path:
    """Where parsed ``.npy`` copies are kept by default: ``parsed/`` under :func:`default_root`."""
    return default_root() / "parsed"


def _digest(array: Array) -> str:
    """The first 20 hex digits of the SHA-256 of ``array``'s dtype, shape and bytes."""
    digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()[:20]


def _load_cached(directory: Path, prefix: str, ndim: int) -> Array | None:
    """The array of the entry ``prefix.<digest>.npy`` in ``directory`` whose contents have that digest.

    An entry that cannot be read, or whose dtype, number of dimensions or digest is
    not what was written, is passed over (and replaced when the source is parsed again).
    """
    for file in directory.glob(f"{glob.escape(prefix)}.*.npy"):
        try:
            array: Array = np.load(file, allow_pickle=False)
        except (OSError, ValueError):
            continue
        if array.dtype == np.uint8 and array.ndim == ndim and file.name == f"{prefix}.{_digest(array)}.npy":
            return array
    return None


def _save_cached(array: Array, directory: Path, name: str, stem: str) -> None:
    """Write ``directory/name`` atomically and drop older entries of the same file.

    A failure (a read-only or missing directory, a full disk) only skips caching.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with atomic_write(directory / name) as out:
            np.save(out, array, allow_pickle=False)
    except OSError:
        return
    for stale in directory.glob(f"{stem}.*.npy"):  # parsed copies of earlier versions of the source
        if stale.name != name:
            with contextlib.suppress(OSError):
                stale.unlink()


def _parse(path: Path, kind: Literal["images", "labels"], cache_dir: Path | None) -> Array:
    """The parsed contents of ``path``, from the ``.npy`` cache when it holds this version of the file."""
    ndim = 3 if kind == "images" else 1
    if cache_dir is not None:
        stem = path.name.removesuffix(".gz")
        prefix = f"{stem}.{dl.sha256_of(path)[:20]}"
        cached = _load_cached(cache_dir, prefix, ndim)
        if cached is not None:
            return cached
    parsed = idx.read_images(path) if kind == "images" else idx.read_labels(path)
    array: Array = parsed.copy()  # the parser returns a read-only view of the file's bytes
    if cache_dir is not None:
        _save_cached(array, cache_dir, f"{prefix}.{_digest(array)}.npy", stem)
    return array


def load_mnist(
    root: str | os.PathLike[str] | None = None,
    *,
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    download: bool = True,
    dtype: DTypeLike | None = None,
    backend: Backend | None = None,
    mirrors: Sequence[str] = MNIST_MIRRORS,
    checksums: Mapping[str, str] = MNIST_SHA256,
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> tuple[tuple[Array, Array], tuple[Array, Array]]:
    """MNIST as ``(x_train, t_train), (x_test, t_test)``, with the conventions of DLfS (ch. 3).

    Shapes:
        ``x``: ``(N, 784)`` with ``flatten`` (C order over the 28x28 pixels), else
        ``(N, 1, 28, 28)``. ``t``: ``(N,)`` ``int64`` labels, or ``(N, 10)`` one-hot.
        ``N`` is read from the files (60,000 and 10,000 for the canonical files).

    Args:
        root: Directory of the four ``.gz`` IDX files (see the module docstring for
            the default).
        normalize: Pixels as floats in ``[0, 1]`` (``value / 255``) in the backend's
            dtype; ``False`` keeps the raw ``uint8`` values 0..255.
        flatten: Rows of 784 pixels; ``False`` gives NCHW images.
        one_hot_label: One-hot labels in the float dtype instead of ``int64`` labels.
        download: Download missing files; ``False`` raises instead.
        dtype: Float dtype of normalized images and one-hot labels, overriding the backend's.
        backend: Where the arrays live (default: the default backend).
        mirrors: Base URLs to download from, tried in order.
        checksums: SHA-256 digests by file name that downloads must match (a
            name missing from it is downloaded unverified).
        cache: Keep and reuse parsed ``.npy`` copies of the files.
        cache_dir: Where to keep them (default: :func:`default_cache_dir`).
        progress: Show a progress bar while downloading.

    Returns:
        ``((x_train, t_train), (x_test, t_test))``.

    Raises:
        DataError: a file is missing and cannot be downloaded, or a file is
            truncated, corrupt or inconsistent (the message names the file).
    """
    b = resolve(backend)
    if dtype is not None:
        b = b.with_dtype(dtype)
    directory = mnist_root(root)
    paths = _ensure_files(directory, _why_root(root), download, mirrors, checksums, progress)
    parsed_dir = (default_cache_dir() if cache_dir is None else Path(cache_dir)) if cache else None
    splits = []
    for part in ("train", "test"):
        images = _parse(paths[f"{part}_images"], "images", parsed_dir)
        labels = _parse(paths[f"{part}_labels"], "labels", parsed_dir)
        idx.check_counts(images, labels, str(paths[f"{part}_images"]), str(paths[f"{part}_labels"]))
        shape = (len(images), 784) if flatten else (len(images), 1, 28, 28)
        if normalize:
            pixels = images.reshape(shape).astype(b.dtype)
            pixels /= b.dtype.type(255)
            x = b.asarray(pixels)
        else:
            x = b.asarray(images.reshape(shape), dtype=np.uint8)
        t = one_hot(labels, 10, b) if one_hot_label else b.asarray(labels, dtype=np.int64)
        splits.append((x, t))
    return splits[0], splits[1]
