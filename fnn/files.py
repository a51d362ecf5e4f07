"""Atomic file writes: every file fnn writes goes to a temporary file, then is renamed.

A crash or an error mid-write leaves the previous file (or none) in place, never a
half-written one, and no temporary file behind: a writer that was killed outright
(``SIGKILL``, a power cut) cannot remove its temporary file, so the next write of
the same target removes it. A live writer holds a lock on its temporary file
(``flock``, released by the system when its process dies), so a concurrent writer
never removes it; on Windows, where an open file cannot be deleted, the attempt
simply fails for a live writer. On a file system without ``flock`` nothing is removed.

>>> import tempfile, pathlib
>>> target = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
>>> with atomic_write(target) as f:
...     _ = f.write(b"written whole or not at all")
>>> target.read_bytes()
b'written whole or not at all'
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import secrets
import sys
from pathlib import Path
from typing import BinaryIO, Iterator

from fnn.errors import PathError

if sys.platform != "win32":
    import fcntl

__all__ = ["atomic_write", "file_path"]

_TOKEN = 12  # hexadecimal digits of a temporary file's random part


def file_path(path: str | os.PathLike[str], action: str) -> Path:
    """``path`` as a :class:`~pathlib.Path`, refused when it cannot name a file.

    Args:
        path: The path given by the user.
        action: What is being done, for the message (``"save"``, ``"load"``).

    Raises:
        PathError: ``path`` is empty or an existing directory.

    >>> file_path("", "save")
    Traceback (most recent call last):
    ...
    fnn.errors.PathError: save: the path is empty; name a file, such as 'params.npz'
    """
    if os.fspath(path) in ("", b""):
        raise PathError(f"{action}: the path is empty; name a file, such as 'params.npz'")
    result = Path(path)
    if result.is_dir():
        raise PathError(
            f"{action}: {result} is a directory; name a file in it, such as {result / 'params.npz'}"
        )
    return result


def _temp_name(target: Path, token: str, suffix: str) -> Path:
    return target.parent / f".{target.name}.{token}{suffix}"


def _create_temp(target: Path, suffix: str) -> tuple[int, Path]:
    """A new hidden file ``.name.<random><suffix>`` beside ``target``, open for writing and locked.

    Unlike :func:`tempfile.mkstemp` (mode 0600) its permissions follow the umask, as
    those of any new file, so the renamed file is as readable as ``open`` would make it.
    """
    while True:
        tmp = _temp_name(target, secrets.token_hex(_TOKEN // 2), suffix)
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:  # pragma: no cover - a 48-bit name collision
            continue
        if sys.platform != "win32":
            with contextlib.suppress(OSError):  # a file system without locks: then no writer removes it
                fcntl.flock(fd, fcntl.LOCK_EX)  # marks the file as live until it is closed
        if os.fstat(fd).st_nlink:
            return fd, tmp
        os.close(fd)  # pragma: no cover - another writer removed it before the lock: take a new name


def _remove_if_dead(tmp: Path) -> None:
    """Remove the temporary file ``tmp`` unless a live writer holds it."""
    if sys.platform == "win32":
        with contextlib.suppress(OSError):  # fails while its writer has it open
            tmp.unlink()
        return
    try:
        fd = os.open(tmp, os.O_RDONLY)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while its writer lives
        tmp.unlink(missing_ok=True)
    except OSError:
        return
    finally:
        os.close(fd)


def _remove_stale_temps(target: Path, suffix: str) -> None:
    """Remove the temporary files of ``target`` (with ``suffix``) left by writers that were killed."""
    name = re.compile(re.escape(f".{target.name}.") + f"[0-9a-f]{{{_TOKEN}}}" + re.escape(suffix))
    for tmp in target.parent.glob(f".{glob.escape(target.name)}.*{glob.escape(suffix)}"):
        if name.fullmatch(tmp.name):
            _remove_if_dead(tmp)


@contextlib.contextmanager
def atomic_write(target: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[BinaryIO]:
    """A binary file whose contents replace ``target`` only when the ``with`` block succeeds.

    The data goes to a hidden temporary file in ``target``'s directory; on success it
    is flushed, fsynced and renamed over ``target`` (``os.replace``, atomic on POSIX
    and Windows); on any exception the temporary file is removed and ``target`` is
    untouched. Raising inside the block (a failed checksum, say) is how a caller
    rejects what it wrote. Temporary files of ``target`` left by killed writers are
    removed first (see the module docstring).

    Raises:
        PathError: ``target`` is empty, a directory, or in a directory that does not exist.
    """
    path = file_path(target, "write")
    if not path.parent.is_dir():
        raise PathError(
            f"write: cannot write {path}: the directory {path.parent} does not exist; "
            "create it first (pathlib.Path(...).mkdir(parents=True))"
        )
    _remove_stale_temps(path, suffix)
    fd, tmp = _create_temp(path, suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
            if sys.platform != "win32":
                os.replace(tmp, path)  # while locked, so no other writer takes it for a dead one's
        if sys.platform == "win32":
            os.replace(tmp, path)  # Windows cannot rename an open file
    finally:
        tmp.unlink(missing_ok=True)
