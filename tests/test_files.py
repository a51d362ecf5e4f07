"""atomic_write: the target is replaced whole or not at all, and no temporary file stays behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from fnn.files import atomic_write


def test_success_replaces_the_target(tmp_path: Path) -> None:
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")
    with atomic_write(target) as f:
        f.write(b"new contents")
    assert target.read_bytes() == b"new contents"
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]


def test_an_error_mid_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")
    with pytest.raises(ValueError, match="checksum mismatch"):
        with atomic_write(target, ".part") as f:
            f.write(b"half of it")
            raise ValueError("checksum mismatch")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]


def test_permissions_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "shared.bin") as f:
            f.write(b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "shared.bin").stat().st_mode) == 0o644
