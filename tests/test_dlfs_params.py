"""The book's weight converters refuse arrays the network cannot use, transposed affine weights first."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import fnn
from fnn import dlfs


def simple_weights() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    shapes = {"W1": (30, 1, 5, 5), "b1": (30,), "W2": (4320, 100), "b2": (100,), "W3": (100, 10), "b3": (10,)}
    return {name: rng.standard_normal(shape) * 0.01 for name, shape in shapes.items()}


def deep_weights() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    shapes: dict[str, tuple[int, ...]] = {}
    channels = 1
    for i, filters in enumerate((16, 16, 32, 32, 64, 64), start=1):
        shapes[f"W{i}"], shapes[f"b{i}"] = (filters, channels, 3, 3), (filters,)
        channels = filters
    shapes.update({"W7": (1024, 50), "b7": (50,), "W8": (50, 10), "b8": (10,)})
    return {name: rng.standard_normal(shape) * 0.01 for name, shape in shapes.items()}


def test_well_shaped_weights_convert_and_run() -> None:
    x = fnn.backend().zeros((2, 1, 28, 28))
    assert dlfs.simple_convnet().apply(dlfs.simple_convnet_params(simple_weights()), x).shape == (2, 10)
    assert dlfs.deep_convnet().apply(dlfs.deep_convnet_params(deep_weights()), x).shape == (2, 10)


TRANSPOSED = [
    (dlfs.simple_convnet_params, "W2", r"^book weights: `W2` has shape \(100, 4320\), expected \(\?, 100\); it looks transposed: pass its \.T"),
    (dlfs.simple_convnet_params, "W3", r"^book weights: `W3` has shape \(10, 100\), expected \(100, 10\); it looks transposed"),
    (dlfs.deep_convnet_params, "W7", r"^book weights: `W7` has shape \(50, 1024\), expected \(\?, 50\); it looks transposed"),
    (dlfs.deep_convnet_params, "W8", r"^book weights: `W8` has shape \(10, 50\), expected \(50, 10\); it looks transposed"),
]


@pytest.mark.parametrize("convert, name, match", TRANSPOSED, ids=[name for _, name, _ in TRANSPOSED])
def test_a_transposed_affine_weight_is_refused(convert: Any, name: str, match: str) -> None:
    weights = simple_weights() if convert is dlfs.simple_convnet_params else deep_weights()
    weights[name] = weights[name].T
    with pytest.raises(fnn.ShapeError, match=match):
        convert(weights)


def test_simple_convnet_params_refuse_mismatched_biases_and_kernels() -> None:
    weights = simple_weights()
    weights["b2"] = np.zeros((1, 100))
    with pytest.raises(fnn.ShapeError, match=r"^book weights: `b2` has shape \(1, 100\), expected \(\?,\)$"):
        dlfs.simple_convnet_params(weights)
    weights = simple_weights()
    weights["W3"] = np.zeros((50, 10))
    with pytest.raises(fnn.ShapeError, match=r"^book weights: `W3` has shape \(50, 10\), expected \(100, 10\)$"):
        dlfs.simple_convnet_params(weights)
    weights = simple_weights()
    weights["W1"] = np.zeros((30, 25))
    with pytest.raises(fnn.ShapeError, match=r"^book weights: `W1` has shape \(30, 25\), expected \(\?, \?, \?, \?\)$"):
        dlfs.simple_convnet_params(weights)
