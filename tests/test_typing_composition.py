"""Typing tests for composition: ``sequential`` and the combinators keep their children's params types.

Checked by ``mypy --strict`` and run by pytest. The lines marked ``# type: ignore[...]``
must be rejected (``warn_unused_ignores`` makes a line that stops failing an error);
they sit in functions that are type-checked but never called.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

import fnn


def test_sequential_params_are_a_precise_tuple() -> None:
    key = fnn.random.key(0)
    model = fnn.sequential(fnn.Dense(4), fnn.relu, fnn.BatchNorm(), fnn.Dense(2))
    assert_type(model, fnn.Sequential[tuple[fnn.DenseParams, None, fnn.BatchNormParams, fnn.DenseParams]])
    params = model.init(key, (3,))
    assert_type(params, tuple[fnn.DenseParams, None, fnn.BatchNormParams, fnn.DenseParams])
    assert_type(params[0].w, fnn.typing.Array)
    assert_type(params[2].gamma, fnn.typing.Array)
    nested = fnn.sequential(model, fnn.Dense(1))
    nested_params = nested.init(key, (3,))
    assert_type(nested_params[0][3], fnn.DenseParams)
    assert nested_params[0][3].w.shape == (4, 2)


def test_long_or_unpacked_sequentials_fall_back_to_any_tuple() -> None:
    layers: list[fnn.Layer[Any]] = [fnn.Dense(2), fnn.relu]
    assert_type(fnn.sequential(*layers), fnn.Sequential[tuple[Any, ...]])
    nine = fnn.sequential(*(fnn.Dense(2) for _ in range(9)))
    assert_type(nine.init(fnn.random.key(0), (2,)), tuple[Any, ...])
    bare: fnn.Sequential = fnn.sequential(fnn.Dense(2))  # the bare name still annotates any sequential
    assert bare.init(fnn.random.key(0), (2,))[0].w.shape == (2, 2)


def test_combinators_keep_params_types() -> None:
    key = fnn.random.key(0)
    branches = fnn.parallel(fnn.Dense(2), fnn.relu)
    assert_type(branches.init(key, ((3,), (3,))), tuple[fnn.DenseParams, None])
    block = fnn.residual(fnn.sequential(fnn.Dense(3), fnn.relu))
    assert_type(block.init(key, (3,)), tuple[fnn.DenseParams, None])
    graph = fnn.Graph("x", (fnn.Node("y", fnn.Dense(2), "x"),), "y")
    assert_type(graph.init(key, (3,)), dict[str, Any])


def rejected_composition() -> None:
    """Never called: each marked line must fail type checking."""
    key = fnn.random.key(0)
    params = fnn.sequential(fnn.Dense(4), fnn.relu, fnn.Dense(2)).init(key, (3,))
    params[0].W  # type: ignore[attr-defined]
    params[1].w  # type: ignore[attr-defined]
    params[3]  # type: ignore[misc]
    fnn.residual(fnn.Dense(3)).init(key, (3,)).gamma  # type: ignore[attr-defined]
    fnn.parallel(fnn.Dense(2), fnn.Dense(3)).init(key, ((1,), (1,)))[0].bias  # type: ignore[attr-defined]
    fnn.sequential(fnn.Dense(2), "relu")  # type: ignore[call-overload]
