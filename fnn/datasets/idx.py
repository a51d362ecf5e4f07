"""A strict reader of the IDX format of MNIST (optionally gzip-compressed).

An IDX file is a 4-byte magic number ``00 00 TT DD`` (``TT`` the element type,
``0x08`` for unsigned bytes; ``DD`` the number of dimensions), then ``DD``
big-endian ``uint32`` sizes, then the elements in C order. MNIST images have the
magic ``0x00000803`` (``N x 28 x 28`` bytes), labels ``0x00000801`` (``N`` bytes).

The reader checks everything it can before trusting the data: the gzip stream,
the magic number, the number of dimensions, and that the byte length equals what
the header promises. Any failure raises :class:`fnn.DataError` naming the file.
Nothing is ever executed from a file, and a gzip file is decompressed no further
than its header promises (plus at most 1 MiB, to count what follows), so a file
that would inflate far beyond it (a "zip bomb") cannot fill the memory.

>>> import gzip
>>> data = bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1])
>>> parse_idx(data, name="labels").tolist()
[7, 2, 1]
>>> parse_idx(data[:-1], name="labels")
Traceback (most recent call last):
...
fnn.errors.DataError: labels: truncated IDX file: the header promises 3 bytes of data (shape (3,)), found 2
"""

from __future__ import annotations

import gzip
import io
import math
import os
import zlib
from pathlib import Path

import numpy as np

from fnn.errors import DataError
from fnn.typing import Array

__all__ = [
    "IMAGES_MAGIC",
    "LABELS_MAGIC",
    "parse_idx",
    "read_idx",
    "read_images",
    "read_labels",
    "check_counts",
]

IMAGES_MAGIC = 0x00000803
"""Magic number of an IDX file of unsigned-byte images (3 dimensions)."""

LABELS_MAGIC = 0x00000801
"""Magic number of an IDX file of unsigned-byte labels (1 dimension)."""

_UBYTE = 0x08
_GZIP_MAGIC = b"\x1f\x8b"


def parse_idx(data: bytes, *, name: str, magic: int | None = None) -> Array:
    """The array stored in the (uncompressed) IDX bytes ``data``.

    Args:
        data: The whole file, decompressed.
        name: What to call the file in error messages (its path).
        magic: The magic number required (:data:`IMAGES_MAGIC` or
            :data:`LABELS_MAGIC`); ``None`` accepts any unsigned-byte IDX file.

    Returns:
        A read-only ``uint8`` NumPy array of the shape stored in the header.

    Raises:
        DataError: the header is short, the magic number or element type is wrong,
            or the data is shorter or longer than the header promises.
    """
    if len(data) < 4:
        raise DataError(f"{name}: not an IDX file: {len(data)} bytes, too short for the 4-byte magic number")
    found = int.from_bytes(data[:4], "big")
    if magic is not None and found != magic:
        raise DataError(
            f"{name}: bad magic number 0x{found:08x}, expected 0x{magic:08x} "
            f"({'images' if magic == IMAGES_MAGIC else 'labels'}); "
            "the file is corrupt or is not the file its name says"
        )
    if data[0] != 0 or data[1] != 0 or data[2] != _UBYTE:
        raise DataError(
            f"{name}: bad magic number 0x{found:08x}: expected 0x0000 08 DD (unsigned bytes, DD dimensions)"
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise DataError(
            f"{name}: truncated IDX header: {ndim} dimensions need {header} bytes, found {len(data)}"
        )
    shape = _shape(data, ndim)
    expected = math.prod(shape)  # Python integers: a product past 2**63 must not wrap around
    actual = len(data) - header
    if actual < expected:
        raise DataError(
            f"{name}: truncated IDX file: the header promises {expected} bytes of data (shape {shape}), "
            f"found {actual}"
        )
    if actual > expected:
        raise DataError(
            f"{name}: IDX file has {actual - expected} bytes after the data its header promises "
            f"(shape {shape}, {expected} bytes); the file is corrupt"
        )
    result: Array = np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)
    return result


def _shape(header: bytes, ndim: int) -> tuple[int, ...]:
    return tuple(int.from_bytes(header[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))


_MAX_DEFLATE_RATIO = 1032
"""No deflate stream inflates more than about 1032 times (258-byte matches of 2 bits each)."""


_MAX_EXTRA = 1 << 20
"""Bytes past the header's promise that :func:`_gunzip` inflates to report how many there are."""


def _gunzip(path: Path, raw: bytes) -> bytes:
    """The IDX file in the gzip data ``raw``, inflated no further than its header promises plus 1 MiB."""
    with gzip.GzipFile(fileobj=io.BytesIO(raw)) as f:
        data = f.read(4)
        if len(data) < 4:
            return data  # parse_idx names what is missing
        data += f.read(4 * data[3])
        if len(data) < 4 + 4 * data[3]:
            return data
        promised = math.prod(_shape(data, data[3]))
        if promised > _MAX_DEFLATE_RATIO * len(raw):
            raise DataError(
                f"{path}: the IDX header promises {promised} bytes of data (shape {_shape(data, data[3])}), "
                f"more than a gzip file of {len(raw)} bytes can hold; the file is corrupt"
            )
        chunks = [data]
        left = promised + _MAX_EXTRA + 1
        while left > 0:
            chunk = f.read(min(left, 1 << 24))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            left -= len(chunk)
    raise DataError(
        f"{path}: IDX file has more than {_MAX_EXTRA} bytes after the data its header promises "
        f"(shape {_shape(data, data[3])}, {promised} bytes); the file is corrupt"
    )


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read: {error.strerror or error}") from None
    if raw[:2] != _GZIP_MAGIC:
        if path.suffix == ".gz":
            raise DataError(f"{path}: not a gzip file (it does not start with the gzip magic bytes 1f 8b)")
        return raw
    try:
        return _gunzip(path, raw)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: corrupt or truncated gzip data: {error}") from None


def read_idx(path: str | os.PathLike[str], *, magic: int | None = None) -> Array:
    """The array in the IDX file at ``path`` (gzip-compressed or not, decided by its content).

    Args:
        path: The file.
        magic: The magic number required, as for :func:`parse_idx`.

    Returns:
        A read-only ``uint8`` array of the shape in the file's header.

    Raises:
        DataError: the file is missing, unreadable, not valid gzip, or not a valid IDX file.
    """
    p = Path(path)
    return parse_idx(_read_bytes(p), name=str(p), magic=magic)


def read_images(path: str | os.PathLike[str], *, size: tuple[int, int] | None = (28, 28)) -> Array:
    """The images of an IDX image file: ``uint8`` of shape ``(N, rows, cols)``.

    Args:
        path: The file.
        size: The required ``(rows, cols)``; ``None`` accepts any.

    Raises:
        DataError: the file is invalid, not an image file, or its images are not ``size``.
    """
    images = read_idx(path, magic=IMAGES_MAGIC)
    if size is not None and images.shape[1:] != size:
        raise DataError(
            f"{path}: images are {images.shape[1]}x{images.shape[2]}, expected {size[0]}x{size[1]}"
        )
    return images


def read_labels(path: str | os.PathLike[str], *, num_classes: int | None = 10) -> Array:
    """The labels of an IDX label file: ``uint8`` of shape ``(N,)``.

    Args:
        path: The file.
        num_classes: Labels must lie in ``0 .. num_classes - 1``; ``None`` accepts any byte.

    Raises:
        DataError: the file is invalid, not a label file, or holds a label out of range.
    """
    labels = read_idx(path, magic=LABELS_MAGIC)
    if num_classes is not None and labels.size and int(labels.max()) >= num_classes:
        raise DataError(
            f"{path}: label {int(labels.max())} is out of range: labels must lie in 0..{num_classes - 1}"
        )
    return labels


def check_counts(images: Array, labels: Array, images_name: str, labels_name: str) -> None:
    """Raise :class:`fnn.DataError` unless there are as many labels as images.

    >>> check_counts(np.zeros((2, 28, 28)), np.zeros(3), "a.gz", "b.gz")
    Traceback (most recent call last):
    ...
    fnn.errors.DataError: image and label counts disagree: a.gz holds 2 images, b.gz holds 3 labels
    """
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"image and label counts disagree: {images_name} holds {images.shape[0]} images, "
            f"{labels_name} holds {labels.shape[0]} labels"
        )
