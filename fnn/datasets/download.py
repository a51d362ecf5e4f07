"""Downloading data files: a list of mirrors, SHA-256 verification, atomic writes and a progress bar.

:func:`download_file` tries each mirror in turn. A file is streamed into a temporary
file in the target directory while its SHA-256 is computed; only a file whose
digest matches is moved into place (``os.replace``, atomic on one file system),
so the directory never holds a partial or corrupt file under the real name. A
network error, an HTTP error or a checksum mismatch moves on to the next mirror;
when every mirror fails, a :class:`fnn.DataError` lists each URL tried and why,
and how to put the file in place by hand.

Two limits keep a download from hanging: ``timeout`` bounds each connection and
each read, and ``deadline`` bounds a whole attempt (one mirror, from the request to
the last byte). When the deadline passes, a watchdog shuts down the attempt's
sockets, which wakes a read blocked on a server that sends a byte now and then,
and the next mirror is tried. Only ``http://`` and ``https://`` are fetched, a
redirect included: a mirror that redirects to ``ftp://`` fails.

Only the standard library (``urllib``) is used; the progress bar is ``tqdm``'s.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import math
import os
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

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


class _Deadline:
    """A watchdog that shuts down the sockets of one download attempt once ``seconds`` have passed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def connection(self, cls: type[http.client.HTTPConnection]) -> Any:
        """A factory of ``cls`` connections whose sockets, TLS handshake included, this deadline watches."""

        def make(host: str, **kwargs: Any) -> http.client.HTTPConnection:
            connection = cls(host, **kwargs)
            create = connection._create_connection  # type: ignore[attr-defined]  # the socket factory

            def create_watched(*args: Any, **kw: Any) -> socket.socket:
                sock: socket.socket = create(*args, **kw)
                self.watch(sock)
                return sock

            connection._create_connection = create_watched  # type: ignore[attr-defined]
            return connection

        return make

    def opener(self) -> urllib.request.OpenerDirector:
        """A ``urllib`` opener of HTTP and HTTPS only (redirects too), its connections watched."""
        deadline = self

        class HTTPHandler(urllib.request.HTTPHandler):
            def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
                return self.do_open(deadline.connection(http.client.HTTPConnection), req)

        class HTTPSHandler(urllib.request.HTTPSHandler):
            def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
                return self.do_open(deadline.connection(http.client.HTTPSConnection), req)

        opener = urllib.request.OpenerDirector()  # without build_opener's FTP, file and data handlers
        for handler in (
            urllib.request.ProxyHandler(),
            urllib.request.UnknownHandler(),  # a redirect to ftp:// (which no deadline watches) fails
            HTTPHandler(),
            HTTPSHandler(),
            urllib.request.HTTPDefaultErrorHandler(),
            urllib.request.HTTPRedirectHandler(),
            urllib.request.HTTPErrorProcessor(),
        ):
            opener.add_handler(handler)
        return opener


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)  # wakes a read blocked on it in another thread


def _fetch(
    url: str,
    target: Path,
    sha256: str | None,
    *,
    timeout: float,
    deadline: _Deadline,
    progress: bool,
) -> Path:
    """Download ``url`` to ``target`` atomically, or raise with the reason."""
    if not url.startswith(("http://", "https://")):
        raise ValueError("only http:// and https:// mirrors are supported")
    with (
        atomic_write(target, ".part") as out,
        deadline.opener().open(url, timeout=timeout) as response,
    ):
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        digest = _stream(response, out, total, target.name, progress)
        size = out.tell()
        if deadline.expired:  # the watchdog cut the stream: what came may look like a whole file
            raise TimeoutError(f"not complete within the deadline of {deadline.seconds:g} s")
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
    deadline: float = 600.0,
    progress: bool = True,
) -> Path:
    """Download ``filename`` into ``directory`` from the first mirror that serves it intact.

    Args:
        filename: The file's name on the mirrors and in ``directory``.
        directory: Where to put it (created if missing).
        mirrors: Base URLs (``http://`` or ``https://``), tried in order.
        sha256: The expected hexadecimal SHA-256 digest; ``None`` skips the check
            (the length is still checked against ``Content-Length``).
        timeout: Seconds to wait for each connection and each read.
        deadline: Seconds one attempt (one mirror) may take in all, from the request
            to the last byte; a mirror still sending then is abandoned for the next.
            The default, 10 minutes, lets a 10 MB file come at 17 kB/s.
        progress: Show a ``tqdm`` progress bar on standard error.

    Returns:
        The path of the downloaded file, ``directory/filename``.

    Raises:
        ValueError: ``timeout`` or ``deadline`` is not a positive number of seconds.
        DataError: every mirror failed (each URL and its reason are listed), or
            ``mirrors`` is empty, or the directory cannot be created.
    """
    for name, seconds in (("timeout", timeout), ("deadline", deadline)):
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds < math.inf:
            raise ValueError(f"download_file: `{name}` must be a positive number of seconds, got {seconds!r}")
    target_dir = Path(directory)
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"cannot create the data directory {target_dir}: {error.strerror or error}") from None
    failures: list[str] = []
    for mirror in mirrors:
        url = mirror_url(mirror, filename)
        with _Deadline(deadline) as watchdog:
            try:
                return _fetch(
                    url, target_dir / filename, sha256, timeout=timeout, deadline=watchdog, progress=progress
                )
            except (OSError, ValueError, http.client.HTTPException) as error:  # URLError, timeouts: OSError
                late = f"not complete within the deadline of {deadline:g} s"
                failures.append(f"  {url}: {late if watchdog.expired else _reason(error)}")
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
