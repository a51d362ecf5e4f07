"""Runs the whole suite once per backend named in ``FNN_TEST_BACKENDS``.

``FNN_TEST_BACKENDS=numpy,cupy pytest`` runs every test under NumPy, then every
test under CuPy; the default is ``numpy`` alone. Each run sets ``FNN_BACKEND``, so
``fnn.backend(dtype=...)`` and ``fnn.default_backend()`` in tests (and in the
examples and docs they run) compute on that backend. A backend that cannot run
here (CuPy not installed, no GPU) is skipped with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import fnn

BACKENDS = tuple(name.strip() for name in os.environ.get("FNN_TEST_BACKENDS", "numpy").split(",") if name.strip())


def _unusable(name: str) -> str | None:
    """Why backend ``name`` cannot run here, or ``None`` when it can."""
    try:
        fnn.backend(name)  # type: ignore[arg-type]
    except fnn.BackendError as error:
        return str(error)
    return None


@pytest.fixture(scope="session", params=BACKENDS, autouse=True)
def backend_name(request: pytest.FixtureRequest) -> Iterator[str]:
    """The backend this run of the suite computes on (session-scoped, so tests group by backend)."""
    name: str = request.param
    reason = _unusable(name)
    if reason is not None:
        pytest.skip(f"backend {name!r} unavailable: {reason}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FNN_BACKEND", name)
        yield name
