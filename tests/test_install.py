"""A user's own code type-checks against fnn, from the user's own directory.

Type-checking model code is one of the things fnn is for, so ``mypy --strict``
run on a user's file outside the project tree must see fnn's types:

- with fnn as source (``MYPYPATH``), fnn itself has no error under the user's
  ``--strict`` (where CuPy, optional and untyped, is not installed);
- after the README's install (``pip install -e '.[dev]'``, what CI runs), mypy
  finds fnn with no help: the editable install is a path mypy follows, not an
  import hook it cannot. The dev setup that puts fnn on ``PYTHONPATH`` without
  installing it has nothing to check here, and that test says so when it skips.

The user file carries one line mypy must reject: with ``warn_unused_ignores``
(part of ``--strict``) a fnn whose types mypy cannot see, or sees as ``Any``,
fails the check instead of passing it.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

USER_CODE = '''\
import fnn

model = fnn.sequential(fnn.Dense(10), fnn.relu, fnn.Dense(3))
params = model.init(fnn.random.key(0), (2,))
x, t = fnn.datasets.spiral(fnn.random.key(1))
loss, grads = fnn.value_and_grad(model, fnn.losses.softmax_cross_entropy)(params, x, t)
optimizer = fnn.optim.adam(1e-3)
updates, state = optimizer.update(grads, optimizer.init(params), params)
params = fnn.optim.apply_updates(params, updates)
value: float = float(loss)
wrong: int = fnn.random.key(0)  # type: ignore[assignment]
'''


def mypy_strict_on_user_code(tmp_path: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """``mypy --strict`` on a user's file in ``tmp_path``, with neither ``PYTHONPATH`` nor ``MYPYPATH`` inherited."""
    (tmp_path / "train.py").write_text(USER_CODE, encoding="utf-8")
    env = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "MYPYPATH")}
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "train.py"],
        cwd=tmp_path,
        env=env | extra_env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_fnn_as_source_passes_a_users_strict_check(tmp_path: Path) -> None:
    result = mypy_strict_on_user_code(tmp_path, MYPYPATH=str(ROOT))
    assert result.returncode == 0, result.stdout + result.stderr


def fnn_is_installed() -> bool:
    """Whether pip installed fnn into this environment.

    The ``fnn.egg-info`` that the install leaves in the checkout is on ``sys.path``
    too (and can come first), so every distribution named fnn is looked at.
    """
    distributions = importlib.metadata.distributions(name="fnn")
    return any(d.read_text("direct_url.json") is not None for d in distributions)  # written by pip (PEP 610)


@pytest.mark.skipif(
    not fnn_is_installed(),
    reason="fnn is not installed here (only on PYTHONPATH): the README's `pip install -e` is what this checks",
)
def test_mypy_finds_the_installed_fnn_from_a_users_directory(tmp_path: Path) -> None:
    result = mypy_strict_on_user_code(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
