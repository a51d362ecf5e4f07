"""Params are checked against the layer that uses them: class, bias presence and every leaf's shape.

Each wrong params value goes through the inference pass, the training pass and the
backward pass (``grad`` and ``param_grad``): each must raise an fnn error that names the
layer and the leaf, never return a silently different result or a raw NumPy error.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import fnn
from tests.helpers import assert_array_equal


def f32() -> fnn.Backend:
    return fnn.backend()


def ones(*shape: int) -> Any:
    return f32().ones(shape)


def test_params_of_another_model_name_the_layer_and_the_leaf() -> None:
    wide = fnn.sequential(fnn.Dense(4), fnn.relu, fnn.Dense(3))
    narrow = fnn.sequential(fnn.Dense(4), fnn.relu, fnn.Dense(2))
    params = wide.init(fnn.random.key(0), (5,))
    x = ones(2, 5)
    message = r"^layer 2 \(Dense\(features=2\)\): params\.w has shape \(4, 3\), expected \(4, 2\); were these params made by init of another layer\?$"
    with pytest.raises(fnn.ShapeError, match=message):
        narrow.apply(params, x)
    with pytest.raises(fnn.ShapeError, match=message):
        narrow.forward(params, x)
    _, residuals = wide.forward(params, x)
    with pytest.raises(fnn.ShapeError, match=message):
        narrow.grad(params, residuals, ones(2, 2))
    with pytest.raises(fnn.ShapeError, match=message):
        narrow.param_grad(params, residuals, ones(2, 2))
    with pytest.raises(fnn.ShapeError, match=message):
        fnn.value_and_grad(narrow, fnn.losses.mse)(params, x, ones(2, 2))


Case = tuple[fnn.Layer[Any], tuple[int, ...], Callable[[Any], Any], type[Exception], str]


def _dense_params(w: tuple[int, ...], b: tuple[int, ...] | None) -> Any:
    return fnn.DenseParams(f32().zeros(w), None if b is None else f32().zeros(b))


def _list_weights(params: Any) -> Any:
    return fnn.DenseParams([[0.0] * 4] * 3, params.b)  # type: ignore[arg-type]


WRONG: list[Case] = [
    (fnn.Dense(4), (3,), lambda p: _dense_params((3, 4), (1,)), fnn.ShapeError, r"^Dense\(features=4\): params\.b has shape \(1,\), expected \(4,\)"),
    (fnn.Dense(4), (3,), lambda p: _dense_params((3, 4), (2, 4)), fnn.ShapeError, r"^Dense\(features=4\): params\.b has shape \(2, 4\), expected \(4,\)"),
    (fnn.Dense(4), (3,), lambda p: _dense_params((3, 4, 1), (4,)), fnn.ShapeError, r"^Dense\(features=4\): params\.w has shape \(3, 4, 1\), expected \(\?, 4\)"),
    (fnn.Dense(4), (3,), lambda p: (p.w, p.b), fnn.StructureError, r"^Dense\(features=4\): expected params of type DenseParams, got tuple; pass the params this layer's init returned"),
    (fnn.Dense(4), (3,), lambda p: None, fnn.StructureError, r"^Dense\(features=4\): expected params of type DenseParams, got NoneType"),
    (fnn.Dense(4), (3,), lambda p: _dense_params((3, 4), None), fnn.StructureError, r"^Dense\(features=4\): params\.b is None, expected an array of shape \(4,\)"),
    (fnn.Dense(4, use_bias=False), (3,), lambda p: _dense_params((3, 4), (4,)), fnn.StructureError, r"^Dense\(features=4, use_bias=False\): params\.b is an array of shape \(4,\), expected None"),
    (fnn.Dense(4), (3,), _list_weights, fnn.DTypeError, r"^Dense\(features=4\): params\.w is a list, expected an array of shape \(\?, 4\)"),
    (fnn.Maxout(2, pieces=3), (3,), lambda p: _dense_params((3, 4), (4,)), fnn.ShapeError, r"^Maxout\(features=2, pieces=3\): params\.w has shape \(3, 4\), expected \(3, 6\)"),
    (fnn.Conv2D(2, 3), (1, 5, 5), lambda p: fnn.Conv2DParams(f32().zeros((2, 1, 3, 2)), p.b), fnn.ShapeError, r"^Conv2D\(filters=2, kernel_size=\(3, 3\)\): params\.w has shape \(2, 1, 3, 2\), expected \(2, 1, 3, 3\)"),
    (fnn.Conv2D(2, 3), (1, 5, 5), lambda p: fnn.Conv2DParams(p.w, f32().zeros((1,))), fnn.ShapeError, r"^Conv2D\(filters=2, kernel_size=\(3, 3\)\): params\.b has shape \(1,\), expected \(2,\)"),
    (fnn.Conv2D(2, 3), (1, 5, 5), lambda p: fnn.Conv2DParams(f32().zeros((3, 1, 3, 3)), f32().zeros((3,))), fnn.ShapeError, r"params\.w has shape \(3, 1, 3, 3\), expected \(2, 1, 3, 3\)"),
    (fnn.Conv2D(2, 3), (1, 5, 5), lambda p: _dense_params((3, 4), (4,)), fnn.StructureError, r"expected params of type Conv2DParams, got DenseParams"),
    (fnn.BatchNorm(), (3,), lambda p: fnn.BatchNormParams(p.gamma, f32().zeros((1,))), fnn.ShapeError, r"^BatchNorm\(momentum=0\.9, eps=1e-05\): params\.beta has shape \(1,\), expected \(3,\)"),
    (fnn.BatchNorm(), (3,), lambda p: fnn.BatchNormParams(f32().ones((3, 1)), p.beta), fnn.ShapeError, r"params\.gamma has shape \(3, 1\), expected \((\?|3),\)"),
    (fnn.LayerNorm(), (2, 3), lambda p: fnn.LayerNormParams(p.gamma, f32().zeros((3,))), fnn.ShapeError, r"^LayerNorm\(eps=1e-05\): params\.beta has shape \(3,\), expected \(2, 3\)"),
    (fnn.LayerNorm(), (2, 3), lambda p: [p.gamma, p.beta], fnn.StructureError, r"expected params of type LayerNormParams, got list"),
    (fnn.LayerNorm(), (2, 3), lambda p: fnn.LayerNormParams(p.gamma.tolist(), p.beta), fnn.DTypeError, r"^LayerNorm\(eps=1e-05\): params\.gamma is a list, expected an array"),
    (fnn.BatchNorm(), (3,), lambda p: fnn.BatchNormParams(p.gamma.tolist(), p.beta), fnn.DTypeError, r"^BatchNorm\(momentum=0\.9, eps=1e-05\): params\.gamma is a list, expected an array of shape \((\?|3),\)"),
    (fnn.PReLU(), (3,), lambda p: fnn.PReLUParams(f32().zeros((1, 3))), fnn.ShapeError, r"^PReLU\(init_alpha=0\.25\): params\.alpha has shape \(1, 3\), expected \(\?,\)"),
    (fnn.PReLU(), (3,), lambda p: p.alpha, fnn.StructureError, r"expected params of type PReLUParams, got ndarray"),
]


@pytest.mark.parametrize("case", WRONG, ids=[f"{type(c[0]).__name__}-{i}" for i, c in enumerate(WRONG)])
def test_wrong_params_raise_naming_layer_and_leaf_in_every_pass(case: Case) -> None:
    layer, in_shape, corrupt, error, message = case
    params = layer.init(fnn.random.key(0), in_shape, f32())
    state = layer.init_state(in_shape, f32())
    x = f32().asarray(np.random.default_rng(0).standard_normal((2, *in_shape)))
    wrong = corrupt(params)
    y, residuals, _ = layer.forward_train(params, state, x)
    dy = f32().ones(y.shape)
    before = fnn.tree.map(lambda a: a.copy(), (params, x))
    with pytest.raises(error, match=message):
        if state is None:
            layer.apply(wrong, x)
        else:
            layer.apply_stateful(wrong, state, x)
    with pytest.raises(error, match=message):
        layer.forward_train(wrong, state, x)
    with pytest.raises(error, match=message):
        layer.grad(wrong, residuals, dy)
    with pytest.raises(error, match=message):
        layer.param_grad(wrong, residuals, dy)
    for a, b in zip(fnn.tree.leaves(before), fnn.tree.leaves((params, x))):
        assert_array_equal(a, b)


def test_params_for_other_inputs_in_the_backward_pass() -> None:
    """Params whose input size differs from the forward pass's input are refused by grad too."""
    layer = fnn.Dense(2)
    params = layer.init(fnn.random.key(0), (3,), f32())
    other = layer.init(fnn.random.key(0), (4,), f32())
    _, residuals = layer.forward(params, ones(5, 3))
    with pytest.raises(fnn.ShapeError, match=r"^Dense\(features=2\): params\.w has shape \(4, 2\), expected \(3, 2\)"):
        layer.param_grad(other, residuals, ones(5, 2))
    conv = fnn.Conv2D(2, 3)
    p1, p2 = conv.init(fnn.random.key(0), (1, 5, 5), f32()), conv.init(fnn.random.key(0), (2, 5, 5), f32())
    _, conv_residuals = conv.forward(p1, ones(1, 1, 5, 5))
    with pytest.raises(fnn.ShapeError, match=r"params\.w has shape \(2, 2, 3, 3\), expected \(2, 1, 3, 3\)"):
        conv.grad(p2, conv_residuals, ones(1, 2, 3, 3))


def test_batch_norm_state_of_another_layer() -> None:
    layer = fnn.BatchNorm()
    params = layer.init(fnn.random.key(0), (3,), f32())
    other_state = layer.init_state((4,), f32())
    with pytest.raises(fnn.ShapeError, match=r"^BatchNorm\(momentum=0\.9, eps=1e-05\): state\.mean has shape \(4,\), expected \(3,\); was this state made by init_state of another layer\?"):
        layer.forward_train(params, other_state, ones(2, 3))
    with pytest.raises(fnn.ShapeError, match=r"state\.mean has shape \(4,\), expected \(3,\)"):
        layer.apply_stateful(params, other_state, ones(2, 3))


def test_check_params_fills_wildcards_from_the_actual_shape() -> None:
    from fnn.layers.param_checks import check_leaf

    layer = fnn.Dense(2)
    with pytest.raises(fnn.ShapeError, match=r"^Dense\(features=2\): params\.w has shape \(7, 3\), expected \(7, 2\)"):
        check_leaf(layer, "w", np.zeros((7, 3)), (-1, 2))
    with pytest.raises(fnn.ShapeError, match=r"^Dense\(features=2\): params\.w has shape \(7,\), expected \(\?, 2\)"):
        check_leaf(layer, "w", np.zeros((7,)), (-1, 2))
    check_leaf(layer, "w", np.zeros((7, 2)), (-1, 2))
    check_leaf(layer, "b", None, None)
