"""Calls ``mypy --strict`` must reject; never run, only type-checked.

Each line carries the error code mypy must report. ``warn_unused_ignores`` (part of
``--strict``) turns a line that stops failing into an error, so these checks
cannot silently pass.
"""

from __future__ import annotations

import numpy as np

import fnn


def rejected_calls() -> None:
    key = fnn.random.key(0)
    params = fnn.Dense(3).init(key, (2,))
    x = np.ones((1, 2), dtype=np.float32)
    fnn.Dense("3")  # type: ignore[arg-type]
    fnn.Dense(3).init(0, (2,))  # type: ignore[arg-type]
    fnn.backend("torch")  # type: ignore[arg-type]
    fnn.Dense(3).apply(params, x, 1)  # type: ignore[call-arg]
    fnn.relu.apply(params, x)  # type: ignore[arg-type]
    fnn.Dense(3).grad(None, x, x)  # type: ignore[arg-type]
    fnn.losses.mse(x)  # type: ignore[call-arg]
