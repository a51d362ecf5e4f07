"""Downloading data files: a list of mirrors, SHA-256 verification, atomic writes and a progress bar.

:func:`download_file` tries each mirror in turn. A file is streamed into a temporary
file in the target directory while its SHA-256 is computed; only a file whose
digest matches is moved into place (``os.replace``, atomic on one file system),
so the directory never holds a partial or corrupt file under the real name. A
network error, an HTTP error or a checksum mismatch moves on to the next mirror;
when every mirror fails, a :class:`fnn.DataError` lists each URL tried and why,
and how to put the file in place by hand.

Only the standard library (``urllib``) is used; the progress bar is ``tqdm``'s.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from fnn.errors import DataError
from fnn.files import atomic_write

__all__ = ["download_file", "sha256_of", "mirror_url"]

_CHUNK = 1 << 16


def sha256_of(path: str | os.PathLike[str]) -> str:
    """The hexadecimal SHA-256 digest of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def mirror_url(mirror: str, filename: str) -> str:
    """The URL of ``filename`` on ``mirror`` (a base URL, with or without the final slash).

    >>> mirror_url("https://example.org/mnist", "t10k-labels-idx1-ubyte.gz")
    'https://example.org/mnist/t10k-labels-idx1-ubyte.gz'
    """
    return mirror.rstrip("/") + "/" + filename


def _stream(response: BinaryIO, out: BinaryIO, total: int | None, label: str, progress: bool) -> str:
    digest = hashlib.sha256()
    with tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=label,
        disable=not progress,
        leave=False,
    ) as bar:
        for chunk in iter(lambda: response.read(_CHUNK), b""):
            out.write(chunk)
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


def _fetch(
    url: str, directory: Path, filename: str, sha256: str | None, timeout: float, progress: bool
) -> Path:
    """Download ``url`` to ``directory/filename`` atomically, or raise with the reason."""
    if not url.startswith(("http://", "https://")):
        raise ValueError("only http:// and https:// mirrors are supported")
    target = directory / filename
    with (
        atomic_write(target, ".part") as out,
        urllib.request.urlopen(url, timeout=timeout) as response,
    ):
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        digest = _stream(response, out, total, filename, progress)
        size = out.tell()
        if total is not None and size != total:
            raise ValueError(f"incomplete download: {size} of {total} bytes")
        if sha256 is not None and digest != sha256.lower():
            raise ValueError(f"checksum mismatch: expected sha256 {sha256.lower()}, got {digest}")
    return target


def _reason(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return f"network error: {error.reason}"
    if isinstance(error, (OSError, http.client.HTTPException)):
        return f"{type(error).__name__}: {error}"
    return str(error)


def download_file(
    filename: str,
    directory: str | os.PathLike[str],
    mirrors: Sequence[str],
    *,
    sha256: str | None,
    timeout: float = 30.0,
    progress: bool = True,
) -> Path:
    """Download ``filename`` into ``directory`` from the first mirror that serves it intact.

    Args:
        filename: The file's name on the mirrors and in ``directory``.
        directory: Where to put it (created if missing).
        mirrors: Base URLs (``http://`` or ``https://``), tried in order.
        sha256: The expected hexadecimal SHA-256 digest; ``None`` skips the check
            (the length is still checked against ``Content-Length``).
        timeout: Seconds to wait for each connection and read.
        progress: Show a ``tqdm`` progress bar on standard error.

    Returns:
        The path of the downloaded file, ``directory/filename``.

    Raises:
        DataError: every mirror failed (each URL and its reason are listed), or
            ``mirrors`` is empty, or the directory cannot be created.
    """
    target_dir = Path(directory)
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"cannot create the data directory {target_dir}: {error.strerror or error}") from None
    failures: list[str] = []
    for mirror in mirrors:
        url = mirror_url(mirror, filename)
        try:
            return _fetch(url, target_dir, filename, sha256, timeout, progress)
        except (OSError, ValueError, http.client.HTTPException) as error:  # URLError, timeouts: OSError
            failures.append(f"  {url}: {_reason(error)}")
            if isinstance(error, urllib.error.HTTPError):
                error.close()  # an HTTPError holds the response open
    tried = "\n".join(failures) if failures else "  (no mirrors were given)"
    raise DataError(
        f"could not download {filename} into {target_dir}; mirrors tried:\n{tried}\n"
        f"To provide it by hand, download {filename} yourself (from a URL above or another mirror), "
        "check its SHA-256"
        + (f" ({sha256})" if sha256 else "")
        + f", and put it in {target_dir} (or pass `root=` / set FNN_DATA_DIR to a directory that holds it)."
    )
