"""Downloading against a real HTTP server on 127.0.0.1: fallback between mirrors, checksums, atomicity.

Downloads and checksums are host work; only ``load_mnist``'s result lives on the backend under test.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from fnn import DataError
from fnn.datasets import MNIST_FILES, MNIST_SHA256, download_file, load_mnist, sha256_of
from tests.helpers import host, http_server

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
LABELS = "t10k-labels-idx1-ubyte.gz"  # canonical: its digest is the one in MNIST_SHA256


@pytest.fixture(scope="module")
def data_dir() -> Path:
    if not all((DATA / name).is_file() for name in MNIST_FILES.values()):
        pytest.fail(f"the offline MNIST files are missing from {DATA}; see shared/data/README.md")
    return DATA


class _Handler(http.server.BaseHTTPRequestHandler):
    """``/good/F`` serves F; ``/bad/F`` F with one byte flipped; ``/short/F`` half of F; else 404.

    ``/drip-body/F`` sends the headers of F, then its bytes one at a time, 20 a second;
    ``/drip-headers/F`` sends a status line, then header bytes at that pace: each read
    gets a byte long before any per-read timeout, so only a total deadline ends them.
    ``/to-ftp/F`` redirects to ``ftp://127.0.0.1:9/F``.
    """

    root: Path

    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        _, mode, name = self.path.split("/", 2)
        file = self.root / name
        if mode.startswith("drip-") and file.is_file():
            self._drip(mode, file.read_bytes())
            return
        if mode == "to-ftp":
            self.send_response(302)
            self.send_header("Location", f"ftp://127.0.0.1:9/{name}")
            self.end_headers()
            return
        if mode not in ("good", "bad", "short") or not file.is_file():
            self.send_error(404, "Not Found")
            return
        body = bytearray(file.read_bytes())
        if mode == "bad":
            body[len(body) // 2] ^= 0xFF
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(bytes(body[: len(body) // 2] if mode == "short" else body))

    def _drip(self, mode: str, body: bytes) -> None:
        if mode == "drip-body":
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
        else:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            body = b"x" * len(body)
        try:
            for i in range(len(body)):
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:  # the client gave up and closed the connection
            pass

    def log_message(self, format: str, *args: object) -> None:  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[str]:
    with http_server(type("Handler", (_Handler,), {"root": data_dir})) as url:
        yield url


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_falls_back_past_a_404_and_a_corrupt_mirror(server: str, data_dir: Path, tmp_path: Path) -> None:
    mirrors = [f"{server}/missing/", f"{server}/bad/", f"{server}/good/"]
    target = download_file(LABELS, tmp_path / "mnist", mirrors, sha256=MNIST_SHA256[LABELS], progress=False)
    assert target == tmp_path / "mnist" / LABELS
    assert target.read_bytes() == (data_dir / LABELS).read_bytes()
    assert sha256_of(target) == MNIST_SHA256[LABELS]
    assert _leftovers(tmp_path / "mnist") == []  # no temporary file left behind
    umask = os.umask(0o022)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary file, not mkstemp's 0600


def test_every_mirror_failing_lists_each_reason_and_leaves_nothing(server: str, tmp_path: Path) -> None:
    closed = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    dead = f"http://127.0.0.1:{closed.server_address[1]}/"
    closed.server_close()  # nothing listens there any more
    mirrors = [f"{server}/missing/", f"{server}/bad/", f"{server}/short/", dead]
    with pytest.raises(DataError) as info:
        download_file(LABELS, tmp_path, mirrors, sha256=MNIST_SHA256[LABELS], timeout=5, progress=False)
    message = str(info.value)
    assert f"could not download {LABELS} into {tmp_path}; mirrors tried:" in message
    assert f"{server}/missing/{LABELS}: HTTP 404 Not Found" in message
    assert (
        f"{server}/bad/{LABELS}: checksum mismatch: expected sha256 {MNIST_SHA256[LABELS]}, got " in message
    )
    assert f"{server}/short/{LABELS}: " in message
    assert f"{dead}{LABELS}: network error: " in message
    assert f"put it in {tmp_path}" in message and "FNN_DATA_DIR" in message
    assert list(tmp_path.iterdir()) == []  # neither the corrupt file nor a temporary file


def test_incomplete_download_is_caught_without_a_checksum(server: str, tmp_path: Path) -> None:
    with pytest.raises(
        DataError, match=r"short/t10k-labels-idx1-ubyte\.gz: (incomplete download|IncompleteRead)"
    ):
        download_file(LABELS, tmp_path, [f"{server}/short/"], sha256=None, progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mode", ["drip-body", "drip-headers"])
def test_a_dripping_mirror_is_abandoned_at_the_deadline(server: str, tmp_path: Path, mode: str) -> None:
    mirrors = [f"{server}/{mode}/", f"{server}/good/"]
    target = download_file(LABELS, tmp_path, mirrors, sha256=None, timeout=5, deadline=0.5, progress=False)
    assert target.read_bytes() == (DATA / LABELS).read_bytes()  # from the next mirror
    with pytest.raises(DataError) as info:
        download_file(LABELS, tmp_path / "again", mirrors[:1], sha256=None, timeout=5, deadline=0.5)
    assert f"{server}/{mode}/{LABELS}: not complete within the deadline of 0.5 s" in str(info.value)
    assert list((tmp_path / "again").iterdir()) == []  # no partial file


@pytest.mark.parametrize(
    ("name", "seconds"), [("timeout", 0), ("deadline", -1.0), ("deadline", float("nan"))]
)
def test_limits_must_be_positive_seconds(tmp_path: Path, name: str, seconds: float) -> None:
    limits = {name: seconds}
    with pytest.raises(ValueError, match=f"download_file: `{name}` must be a positive number of seconds"):
        download_file(LABELS, tmp_path, ["http://127.0.0.1:9/"], sha256=None, progress=False, **limits)
    assert list(tmp_path.iterdir()) == []


def test_a_redirect_to_ftp_is_refused(server: str, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"to-ftp/t10k-labels-idx1-ubyte\.gz: network error: unknown url"):
        download_file(LABELS, tmp_path, [f"{server}/to-ftp/"], sha256=None, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_only_http_mirrors_are_accepted(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"file:///etc/t10k-labels-idx1-ubyte\.gz: only http:// and https://"):
        download_file(LABELS, tmp_path, ["file:///etc/"], sha256=None, progress=False)


def test_no_mirrors_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"mirrors tried:\n  \(no mirrors were given\)"):
        download_file(LABELS, tmp_path, [], sha256=None, progress=False)


def test_offline_load_lists_the_missing_files_the_directory_and_the_fix(
    data_dir: Path, tmp_path: Path
) -> None:
    closed = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    offline = f"http://127.0.0.1:{closed.server_address[1]}/"
    closed.server_close()  # nothing listens there: as good as no network
    root = tmp_path / "mnist"
    root.mkdir()
    (root / LABELS).write_bytes((data_dir / LABELS).read_bytes())
    with pytest.raises(DataError) as info:
        load_mnist(root, mirrors=[offline], cache=False, progress=False)
    message = str(info.value)
    missing = [name for name in MNIST_FILES.values() if name != LABELS]
    assert message.startswith(f"MNIST files missing from {root}: {', '.join(missing)}.\n")
    assert f"{offline}train-images-idx3-ubyte.gz: network error: " in message
    assert f"put it in {root} (or pass `root=` / set FNN_DATA_DIR" in message
    assert sorted(p.name for p in root.iterdir()) == [LABELS]


def test_load_mnist_downloads_missing_files_then_loads(
    server: str, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The local training files are a 5,000-image subset, so the digests checked are those of the served files.
    checksums = {
        name: hashlib.sha256((data_dir / name).read_bytes()).hexdigest() for name in MNIST_FILES.values()
    }
    root = tmp_path / "mnist"
    (train, test) = load_mnist(
        root,
        mirrors=[f"{server}/bad/", f"{server}/good/"],
        checksums=checksums,
        cache_dir=tmp_path / "parsed",
        progress=True,
    )
    assert sorted(p.name for p in root.iterdir()) == sorted(MNIST_FILES.values())
    assert train[0].shape == (5000, 784) and test[0].shape == (10000, 784)
    assert np.bincount(host(train[1])).tolist() == [500] * 10  # counted on the host
    progress = capsys.readouterr().err  # tqdm's bar, one per downloaded file
    assert all(name in progress for name in MNIST_FILES.values()) and "B/s" in progress


def test_load_mnist_rejects_a_download_that_fails_the_canonical_digest(server: str, tmp_path: Path) -> None:
    # The served training images are the subset, whose digest is not the canonical one.
    with pytest.raises(DataError, match=r"could not download train-images-idx3-ubyte\.gz") as info:
        load_mnist(tmp_path, mirrors=[f"{server}/good/"], cache=False, progress=False)
    assert f"expected sha256 {MNIST_SHA256['train-images-idx3-ubyte.gz']}" in str(info.value)
    assert str(info.value).startswith(
        f"MNIST files missing from {tmp_path}: {', '.join(MNIST_FILES.values())}.\n"
    )
    assert not (tmp_path / "train-images-idx3-ubyte.gz").exists()
    assert _leftovers(tmp_path) == []
