"""A missing MNIST says where fnn looked and why there: the step of the documented search that chose it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fnn.datasets import load_mnist
from fnn.errors import DataError


def test_the_user_cache_is_named_as_the_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FNN_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    expected = (
        rf"MNIST files missing from {re.escape(str(tmp_path / 'cache' / 'fnn' / 'mnist'))}: .*\n"
        r"That directory is the per-user cache, used because no `root` was given and FNN_DATA_DIR is not set\. "
        r"Pass download=True to fetch them"
    )
    with pytest.raises(DataError, match=expected):
        load_mnist(download=False)


def test_fnn_data_dir_is_named_when_it_chose(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FNN_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match=rf"That directory is from FNN_DATA_DIR={re.escape(str(tmp_path))}\. "):
        load_mnist(download=False)


def test_the_root_argument_is_named_when_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FNN_DATA_DIR", str(tmp_path / "elsewhere"))
    with pytest.raises(DataError, match=r"That directory is the `root` argument\. "):
        load_mnist(tmp_path, download=False)
