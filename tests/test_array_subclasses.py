"""``numpy.matrix`` and masked arrays are refused wherever fnn takes a user's array.

On a matrix ``*`` is a matrix product and ``x[i]`` stays 2-D; a masked array's mask
would be dropped without a word. Layers (every registered case, through the shared
checks of ``fnn.layers.core``), losses, ``numerical_grad`` and ``check_grads``
refuse both with a :class:`fnn.DTypeError` that names the argument and the fix.
These are NumPy's subclasses, so the tests run on NumPy whatever the backend under test.
"""

from __future__ import annotations

import re
import warnings
from typing import Any, Callable

import numpy as np
import pytest

import fnn
from fnn.losses import Loss
from fnn.typing import Array
from tests.layer_registry import CASES, LayerCase


def matrix_error(name: str) -> str:
    return rf"`{name}` is a numpy\.matrix, on which `\*` is a matrix product; pass a plain array: np\.asarray\({name}\)"


def masked_error(name: str) -> str:
    return rf"`{name}` is a masked array, whose mask fnn would ignore; fill the masked entries \({name}\.filled\(value\)\)"


def matrix(a: Array) -> Any:
    """``a`` as a ``numpy.matrix`` (NumPy warns that the class is discouraged: that is the point)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return np.asmatrix(a)


def masked(a: Array) -> Any:
    """``a`` as a masked array with its first element masked."""
    mask = np.zeros(a.shape, dtype=bool)
    mask.flat[0] = True
    return np.ma.masked_array(a, mask=mask)


# An empty sequential has no layer to check its input: it returns it unchanged, computing nothing.
LAYER_CASES = [case for case in CASES if case.name != "sequential_empty"]


def subclassed_inputs(case: LayerCase) -> list[tuple[Callable[[Array], Any], str]]:
    """The subclasses that can hold the case's input: a matrix only for 2-D ``(N, D)`` input."""
    kinds: list[tuple[Callable[[Array], Any], str]] = [(masked, masked_error("x"))]
    if len(case.in_shape) == 1:
        kinds.append((matrix, matrix_error("x")))
    return kinds


@pytest.mark.parametrize("case", LAYER_CASES, ids=[case.name for case in LAYER_CASES])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_layer_refuses_matrix_and_masked_input(case: LayerCase, dtype: str) -> None:
    b = fnn.backend("numpy", dtype)
    layer = case.make()
    params = layer.init(fnn.random.key(0), case.in_shape, b)
    state = layer.init_state(case.in_shape, b)
    x = fnn.random.normal(fnn.random.key(1), (case.batch, *case.in_shape), b)
    for make, message in subclassed_inputs(case):
        bad = make(x)
        with pytest.raises(fnn.DTypeError, match=message):
            layer.apply_stateful(params, state, bad)
        with pytest.raises(fnn.DTypeError, match=message):
            layer.forward_train(params, state, bad, fnn.random.key(2))


def test_a_sequential_names_the_layer_that_refused() -> None:
    model = fnn.sequential(fnn.Dense(3), fnn.relu)
    b = fnn.backend("numpy", "float64")
    params = model.init(fnn.random.key(0), (2,), b)
    with pytest.raises(fnn.DTypeError, match=r"Dense\(features=3\).*numpy\.matrix"):
        model.apply(params, matrix(np.ones((4, 2))))


LOSSES: list[tuple[Loss, Array]] = [
    (fnn.losses.mse, np.full((2, 3), 0.25)),
    (fnn.losses.mae, np.full((2, 3), 0.25)),
    (fnn.losses.rmse, np.full((2, 3), 0.25)),
    (fnn.losses.huber, np.full((2, 3), 0.25)),
    (fnn.losses.binary_cross_entropy, np.full((2, 3), 0.25)),
    (fnn.losses.sigmoid_binary_cross_entropy, np.full((2, 3), 0.25)),
    (fnn.losses.categorical_cross_entropy, np.eye(3)[[0, 2]]),
    (fnn.losses.softmax_cross_entropy, np.eye(3)[[0, 2]]),
]


@pytest.mark.parametrize(("loss", "t"), LOSSES, ids=[repr(loss) for loss, _ in LOSSES])
def test_every_loss_refuses_matrix_and_masked_arrays(loss: Loss, t: Array) -> None:
    y = np.array([[0.2, 0.3, 0.5], [0.1, 0.6, 0.3]])
    for make, message in ((matrix, matrix_error), (masked, masked_error)):
        for name, args in (("y", (make(y), t)), ("t", (y, make(t)))):
            expected = re.escape(f"{loss!r}: ") + message(name)
            with pytest.raises(fnn.DTypeError, match=expected):
                loss(*args)
            with pytest.raises(fnn.DTypeError, match=expected):
                loss.grad(*args)
    labels = np.array([0, 2])
    if loss.accepts_labels:
        with pytest.raises(fnn.DTypeError, match=rf"{loss!r}: `t` is a masked array"):
            loss(y, np.ma.masked_array(labels, mask=[False, True]))


def test_numerical_grad_and_check_grads_refuse_them() -> None:
    w = np.array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(fnn.DTypeError, match=r"numerical_grad: `params\['w'\]` is a numpy\.matrix"):
        fnn.numerical_grad(lambda p: float((p["w"] * p["w"]).sum()), {"w": matrix(w)})
    with pytest.raises(fnn.DTypeError, match=r"numerical_grad: `params` is a masked array"):
        fnn.numerical_grad(lambda p: float(p.sum()), masked(w))
    layer = fnn.Dense(2)
    b = fnn.backend("numpy", "float64")
    params = layer.init(fnn.random.key(0), (2,), b)
    with pytest.raises(fnn.DTypeError, match=r"check_grads: `x` is a numpy\.matrix"):
        fnn.check_grads(layer, params, matrix(w))
    with pytest.raises(fnn.DTypeError, match=r"check_grads: `params\.w` is a masked array"):
        fnn.check_grads(layer, fnn.DenseParams(masked(params.w), params.b), w)
    with pytest.raises(fnn.DTypeError, match=r"check_grads: `y` is a numpy\.matrix"):
        fnn.check_grads(fnn.losses.mse, matrix(w), w)


def test_a_memory_mapped_input_is_accepted(tmp_path: Any) -> None:
    """``np.memmap`` (``np.load(..., mmap_mode="r")``) computes like a plain array, so it passes."""
    model = fnn.sequential(fnn.Dense(3), fnn.relu, fnn.Dense(2))
    b = fnn.backend("numpy", "float32")
    params = model.init(fnn.random.key(0), (4,), b)
    x = np.asarray(fnn.random.normal(fnn.random.key(1), (5, 4), b))
    np.save(tmp_path / "x.npy", x)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    assert isinstance(mapped, np.memmap)
    np.testing.assert_array_equal(model.apply(params, mapped), model.apply(params, x))
    loss = fnn.losses.mse
    assert float(loss(mapped, x)) == 0.0
