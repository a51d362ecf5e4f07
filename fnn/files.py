"""Atomic file writes: every file fnn writes goes to a temporary file, then is renamed.

A crash or an error mid-write leaves the previous file (or none) in place, never a
half-written one, and no temporary file behind.

>>> import tempfile, pathlib
>>> target = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
>>> with atomic_write(target) as f:
...     _ = f.write(b"written whole or not at all")
>>> target.read_bytes()
b'written whole or not at all'
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import BinaryIO, Iterator

__all__ = ["atomic_write"]


def _create_temp(target: Path, suffix: str) -> tuple[int, Path]:
    """A new hidden file ``.name.<random><suffix>`` beside ``target``, open for writing.

    Unlike :func:`tempfile.mkstemp` (mode 0600) its permissions follow the umask, as
    those of any new file, so the renamed file is as readable as ``open`` would make it.
    """
    while True:
        tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}{suffix}"
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:  # pragma: no cover - a 48-bit name collision
            continue


@contextlib.contextmanager
def atomic_write(target: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[BinaryIO]:
    """A binary file whose contents replace ``target`` only when the ``with`` block succeeds.

    The data goes to a hidden temporary file in ``target``'s directory; on success it
    is flushed, fsynced and renamed over ``target`` (``os.replace``, atomic on POSIX
    and Windows); on any exception the temporary file is removed and ``target`` is
    untouched. Raising inside the block (a failed checksum, say) is how a caller
    rejects what it wrote.
    """
    path = Path(target)
    fd, tmp = _create_temp(path, suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
