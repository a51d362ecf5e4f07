"""Every registered layer on inputs of unusual memory layout gives what the C-contiguous copy gives.

Layouts: C order, Fortran order (``np.asfortranarray``, or a MATLAB-style ``(H, W, N)``
stack turned into NCHW with ``raw.T[:, None]``), negative strides on every axis, a
non-contiguous slice, and a read-only array (NumPy only: CuPy arrays have no
write flag). For each: the training forward pass, the new state, ``apply``, and the
gradients (``dparams`` and ``dx``) equal those of the C-contiguous copy, and the input is
not mutated. ``dy`` gets the same layouts in ``grad``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import fnn
from fnn.backend import array_module, as_strided, is_cupy_array
from fnn.typing import Array
from tests.helpers import assert_allclose, assert_array_equal, host
from tests.layer_registry import CASES, LayerCase


def _fortran(x: Array) -> Array:
    result: Array = array_module(x).asfortranarray(x)
    return result


def _negative(x: Array) -> Array:
    flip = (slice(None, None, -1),) * x.ndim
    result: Array = array_module(x).ascontiguousarray(x[flip])[flip]
    return result


def _sliced(x: Array) -> Array:
    xp = array_module(x)
    wide = xp.zeros((*x.shape[:-1], 2 * x.shape[-1]), dtype=x.dtype)
    wide[..., 1::2] = x
    result: Array = wide[..., 1::2]
    return result


def _read_only(x: Array) -> Array:
    if is_cupy_array(x):
        pytest.skip("CuPy arrays have no write flag")
    copy = x.copy()
    copy.flags.writeable = False
    result: Array = copy
    return result


LAYOUTS: dict[str, Callable[[Array], Array]] = {
    "c_order": lambda x: x.copy(),
    "fortran": _fortran,
    "negative_strides": _negative,
    "sliced": _sliced,
    "read_only": _read_only,
}


def test_the_layouts_are_what_they_say() -> None:
    x = fnn.backend(dtype="float64").asarray(np.arange(24.0).reshape(2, 3, 4))
    made = {name: make(x) for name, make in LAYOUTS.items()}
    assert made["c_order"].flags.c_contiguous
    assert made["fortran"].flags.f_contiguous and not made["fortran"].flags.c_contiguous
    assert all(s < 0 for s in made["negative_strides"].strides)
    assert not made["sliced"].flags.c_contiguous and not made["sliced"].flags.f_contiguous
    for y in made.values():
        assert_array_equal(y, x)


def _run(layer: fnn.Layer[Any], params: Any, state: Any, x: Array, dy: Array) -> Any:
    y, residuals, new_state = layer.forward_train(params, state, x, fnn.random.key(7))
    inference = layer.apply_stateful(params, new_state, x) if state is not None else layer.apply(params, x)
    dparams, dx = layer.grad(params, residuals, dy)
    return y, new_state, inference, dparams, dx


def _assert_close(actual: Any, desired: Any) -> None:
    assert fnn.tree.structure(actual) == fnn.tree.structure(desired)
    for a, d in zip(fnn.tree.leaves(actual), fnn.tree.leaves(desired)):
        scale = float(np.abs(host(d)).max()) if d.size else 0.0
        # Summation order may follow the memory layout (BLAS kernels, pairwise sums): last-bit differences.
        assert_allclose(a, d, rtol=1e-12, atol=1e-13 * scale)


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_odd_input_layouts_give_the_c_order_results(case: LayerCase, layout: str) -> None:
    b = fnn.backend(dtype="float64")
    layer = case.make()
    params = layer.init(fnn.random.key(0), case.in_shape, b)
    state = layer.init_state(case.in_shape, b)
    x = b.asarray(case.draw((case.batch, *case.in_shape), seed=1))
    dy = b.asarray(case.draw((case.batch, *layer.out_shape(case.in_shape)), seed=2))
    expected = _run(layer, params, state, x, dy)
    odd_x = LAYOUTS[layout](x)
    before = odd_x.copy()
    _assert_close(_run(layer, params, state, odd_x, dy), expected)
    assert_array_equal(odd_x, before)
    odd_dy = LAYOUTS[layout](dy)
    _assert_close(_run(layer, params, state, x, odd_dy), expected)
    assert_array_equal(odd_dy, dy)


@pytest.mark.parametrize("config", [dict(kernel_size=3), dict(kernel_size=5, padding=2), dict(kernel_size=(1, 3))])
def test_conv_on_a_matlab_style_mnist_stack(config: dict[str, Any]) -> None:
    """A ``(28, 28, N)`` stack as NCHW by ``raw.T[:, None]`` is Fortran-ordered: stride 1 read past it."""
    b = fnn.backend(dtype="float32")
    raw = b.asarray(np.random.default_rng(0).random((28, 28, 100)))
    x = raw.T[:, None]
    assert x.flags.f_contiguous and not x.flags.c_contiguous
    layer = fnn.Conv2D(8, **config)
    params = layer.init(fnn.random.key(0), (1, 28, 28), b)
    y, residuals = layer.forward(params, x)
    y_c, residuals_c = layer.forward(params, x.copy())
    assert_allclose(y, y_c, rtol=1e-5, atol=1e-6)
    dy = b.ones(y.shape)
    (dparams, dx), (dparams_c, dx_c) = layer.grad(params, residuals, dy), layer.grad(params, residuals_c, dy)
    assert_allclose(dparams.w, dparams_c.w, rtol=1e-4)
    assert_allclose(dx, dx_c, rtol=1e-5, atol=1e-6)


def test_as_strided_refuses_a_view_outside_the_array() -> None:
    x = fnn.backend(dtype="float64").asarray(np.arange(12.0).reshape(3, 4))
    xf = array_module(x).asfortranarray(x)
    # rows of 4 read as runs: fine in C order, outside the buffer in Fortran order
    assert_array_equal(as_strided(x, (2, 5), (32, 8)), [[0, 1, 2, 3, 4], [4, 5, 6, 7, 8]])
    with pytest.raises(fnn.ShapeError, match=r"as_strided: a view of shape \(2, 5\) and strides \(8, 24\) reaches bytes \[0, 112\) of an array of shape \(3, 4\) and strides \(8, 24\) that spans \[0, 96\)"):
        as_strided(xf, (2, 5), (8, 24))
    negative = x[::-1, ::-1]
    assert_array_equal(as_strided(negative, (3, 2), (-32, -8)), [[11, 10], [7, 6], [3, 2]])
    with pytest.raises(fnn.ShapeError, match=r"reaches bytes \[-104, 8\) .* spans \[-88, 8\)"):
        as_strided(negative, (4, 2), (-32, -8))
    assert as_strided(x[:0], (0, 3), (8, 8)).shape == (0, 3)
