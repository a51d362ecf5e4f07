"""The shared layer harness: every case of ``layer_registry.CASES`` × float32/float64 ×
contiguous/non-contiguous inputs, on the backend under test (``FNN_BACKEND``).

Each case checks: the promised output shape is the actual one; ``apply`` equals the
training forward pass (for deterministic layers without state); ``check_grads``
passes in float64; float32 stays float32; nothing mutates its inputs; the same key
gives the same bits.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest

import fnn
from fnn.typing import Array
from tests.helpers import assert_allclose, assert_array_equal
from tests.layer_registry import CASES, INTEGER_INPUT_LAYERS, TUPLE_IO_LAYERS, LayerCase

DTYPES = ["float32", "float64"]


def make_input(case: LayerCase, b: fnn.Backend, contiguous: bool = True, seed: int = 1) -> Array:
    """The case's test input on ``b``: drawn on the host as the case says, optionally as a strided view."""
    shape = (case.batch, *case.in_shape)
    wide = shape[:-1] + (shape[-1] * 2,)
    x = b.asarray(case.draw(wide, seed))
    return x[..., ::2] if not contiguous else b.asarray(x[..., ::2].copy())


def setup(case: LayerCase, dtype: str) -> tuple[fnn.Layer[Any], Any, Any, fnn.Backend]:
    b = fnn.backend(dtype=dtype)  # the backend under test (FNN_BACKEND), read at test time
    layer = case.make()
    params = layer.init(fnn.random.key(0), case.in_shape, b)
    state = layer.init_state(case.in_shape, b)
    return layer, params, state, b


def train_forward(layer: fnn.Layer[Any], params: Any, state: Any, x: Array) -> tuple[Array, Any, Any]:
    return layer.forward_train(params, state, x, fnn.random.key(7))


def copies(tree: Any) -> Any:
    return fnn.tree.map(lambda a: a.copy(), tree)


def assert_same(a: Any, b: Any) -> None:
    for u, v in zip(fnn.tree.leaves(a), fnn.tree.leaves(b)):
        assert_array_equal(u, v)


ids = [case.name for case in CASES]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("contiguous", [True, False], ids=["contiguous", "strided"])
@pytest.mark.parametrize("case", CASES, ids=ids)
def test_shapes_and_forward_agree(case: LayerCase, dtype: str, contiguous: bool) -> None:
    layer, params, state, b = setup(case, dtype)
    x = make_input(case, b, contiguous)
    y, _, _ = train_forward(layer, params, state, x)
    assert y.shape == (case.batch, *layer.out_shape(case.in_shape))
    assert y.dtype == np.dtype(dtype)
    inference = layer.apply_stateful(params, state, x) if state is not None else layer.apply(params, x)
    assert inference.shape == y.shape and inference.dtype == y.dtype
    if state is None and not layer.stochastic:
        assert_array_equal(inference, y)
        assert_array_equal(layer.forward(params, x)[0], y)
    if not contiguous:
        y_contiguous, _, _ = train_forward(layer, params, state, x.copy())
        rtol = 1e-6 if dtype == "float32" else 1e-12
        # CuPy orders a reduction by the input's memory layout, so a strided input's sums (LayerNorm's
        # mean) may differ from a contiguous one's in the last bits; an output that nearly cancels to
        # zero then misses rtol of itself (seen: 7.7e-9 at 1.0e-3 in float32). On CuPy, rtol also
        # applies to the output's scale; NumPy keeps the elementwise bound alone.
        atol = 0.0 if b.name == "numpy" else rtol * float(abs(y_contiguous).max())
        assert_allclose(y, y_contiguous, rtol=rtol, atol=atol)


@pytest.mark.parametrize("contiguous", [True, False], ids=["contiguous", "strided"])
@pytest.mark.parametrize("case", CASES, ids=ids)
def test_check_grads(case: LayerCase, contiguous: bool) -> None:
    layer, params, state, b = setup(case, "float64")
    x = make_input(case, b, contiguous)
    fnn.check_grads(layer, params, x, state=state, key=fnn.random.key(7), rtol=case.rtol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=ids)
def test_gradients_keep_dtype_and_inputs(case: LayerCase, dtype: str) -> None:
    layer, params, state, b = setup(case, dtype)
    x = make_input(case, b)
    before = copies((params, state, x))
    y, residuals, new_state = train_forward(layer, params, state, x)
    dy = b.asarray(np.random.default_rng(3).standard_normal(y.shape))
    dy_before = dy.copy()
    dparams, dx = layer.grad(params, residuals, dy)
    assert dx.shape == x.shape and dx.dtype == np.dtype(dtype)
    assert_same(layer.param_grad(params, residuals, dy), dparams)
    assert fnn.tree.structure(dparams) == fnn.tree.structure(params)
    for g, p in zip(fnn.tree.leaves(dparams), fnn.tree.leaves(params)):
        assert g.shape == p.shape and g.dtype == p.dtype
    for s in fnn.tree.leaves(new_state):
        assert s.dtype == np.dtype(dtype)
    assert_same(before, (params, state, x))
    assert_array_equal(dy, dy_before)


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_same_key_same_bits(case: LayerCase) -> None:
    layer, params, state, b = setup(case, "float32")
    _, params_again, _, _ = setup(case, "float32")
    assert_same(params, params_again)
    x = make_input(case, b)
    first = train_forward(layer, params, state, x)
    second = train_forward(layer, params, state, x)
    assert_same((first[0], first[2]), (second[0], second[2]))


def public_layer_classes() -> set[type]:
    found: set[type] = set()
    for name in fnn.layers.__all__:
        obj = getattr(fnn.layers, name)
        cls = obj if inspect.isclass(obj) else type(obj)
        if inspect.isclass(cls) and issubclass(cls, fnn.Layer) and not inspect.isabstract(cls):
            if cls is not fnn.layers.Activation:
                found.add(cls)
    return found


def test_registry_covers_every_public_layer() -> None:
    covered = {type(case.make()) for case in CASES}
    missing = sorted(
        cls.__name__ for cls in public_layer_classes() - covered - TUPLE_IO_LAYERS - INTEGER_INPUT_LAYERS
    )
    assert not missing, f"layers without a case in tests/layer_registry.py: {missing}"
