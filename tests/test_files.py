"""atomic_write: the target is replaced whole or not at all, and no temporary file stays behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from fnn.errors import PathError
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


def test_temp_files_of_killed_writers_go_and_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "file.bin"
    stale = [tmp_path / ".file.bin.0123456789ab.part", tmp_path / ".file.bin.ba9876543210.part"]
    kept = [
        tmp_path / ".file.bin.0123456789ab.tmp",  # another suffix: another kind of writer
        tmp_path / ".file.bin.notes",
        tmp_path / ".other.bin.0123456789ab.part",
        tmp_path / ".file.bin.0123456789abc.part",
    ]
    for path in stale + kept:
        path.write_bytes(b"left behind")  # no process holds them: their writers are gone
    with atomic_write(target, ".part") as f:
        f.write(b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["file.bin"] + [p.name for p in kept])


def test_a_live_writers_temp_file_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "file.bin"
    with atomic_write(target) as first:
        first.write(b"first")
        with atomic_write(target) as second:  # a concurrent writer of the same target
            second.write(b"second")
        assert target.read_bytes() == b"second"
    assert target.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]


def test_paths_that_cannot_be_written(tmp_path: Path) -> None:
    with pytest.raises(PathError, match="write: the path is empty"):
        with atomic_write(""):
            pass
    with pytest.raises(PathError, match="is a directory"):
        with atomic_write(tmp_path):
            pass
    with pytest.raises(PathError, match=r"cannot write .*file\.bin: the directory .*nowhere does not exist"):
        with atomic_write(tmp_path / "nowhere" / "file.bin"):
            pass
    assert list(tmp_path.iterdir()) == []
