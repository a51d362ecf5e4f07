"""value_and_grad, numerical_grad and check_grads on models, including a deliberately wrong gradient."""

from __future__ import annotations

import math
import re
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnn
from fnn.typing import Array, Shape
from tests.helpers import assert_allclose, assert_array_equal, host


def f64() -> fnn.Backend:
    """The backend under test in float64 (read at test time: the suite sets FNN_BACKEND per run)."""
    return fnn.backend(dtype="float64")


def test_value_and_grad_matches_numerical_grad_on_a_model() -> None:
    model = fnn.sequential(fnn.Dense(4), fnn.sigmoid, fnn.Dense(3))
    b = f64()
    params = model.init(fnn.random.key(0), (2,), b)
    x = fnn.random.normal(fnn.random.key(1), (5, 2), b)
    t = b.asarray([0, 2, 1, 1, 0], dtype="int64")
    loss = fnn.losses.softmax_cross_entropy
    value, grads = fnn.value_and_grad(model, loss)(params, x, t)
    assert float(value) == pytest.approx(float(loss(model.apply(params, x), t)), rel=1e-12)
    numeric = fnn.numerical_grad(lambda p: loss(model.apply(p, x), t), params, eps=1e-6)
    for g, n in zip(fnn.tree.leaves(grads), fnn.tree.leaves(numeric)):
        assert_allclose(g, n, rtol=1e-6, atol=1e-9)
    only_grads = fnn.grad(model, loss)(params, x, t)
    for g, h in zip(fnn.tree.leaves(grads), fnn.tree.leaves(only_grads)):
        assert_array_equal(g, h)


def test_numerical_grad_of_the_course_and_no_mutation() -> None:
    b = f64()
    x = {"x": b.asarray([3.0]), "y": b.asarray([1.0, 2.0])}
    before = fnn.tree.map(lambda a: a.copy(), x)
    g = fnn.numerical_grad(lambda p: float((p["x"] ** 2).sum()), x)
    assert float(g["x"][0]) == pytest.approx(6.0, abs=1e-6)
    f2 = lambda p: float(2 * p["y"][0] + 3 * p["y"][0] * p["y"][1] + p["y"][1] ** 3)
    g2 = fnn.numerical_grad(f2, x)
    assert_allclose(g2["y"], [8.0, 15.0], atol=1e-6)
    for old, new in zip(fnn.tree.leaves(before), fnn.tree.leaves(x)):
        assert_array_equal(old, new)


@attrs.frozen
class DenseWrapper(fnn.Layer[fnn.DenseParams]):
    """A dense layer as a user's own layer: the base of the deliberately broken ones below."""

    inner: fnn.Dense = fnn.Dense(3)

    def init(
        self, key: fnn.random.Key, in_shape: Shape, backend: fnn.Backend | None = None
    ) -> fnn.DenseParams:
        return self.inner.init(key, in_shape, backend)

    def out_shape(self, in_shape: Shape) -> Shape:
        return self.inner.out_shape(in_shape)

    def forward(self, params: fnn.DenseParams, x: Array) -> tuple[Array, Any]:
        return self.inner.forward(params, x)

    def grad(self, params: fnn.DenseParams, residuals: Any, dy: Array) -> tuple[fnn.DenseParams, Array]:
        return self.inner.grad(params, residuals, dy)


@attrs.frozen
class WrongDense(DenseWrapper):
    """A dense layer whose weight gradient forgets to transpose: the bug check_grads must catch."""

    def grad(self, params: fnn.DenseParams, residuals: Any, dy: Array) -> tuple[fnn.DenseParams, Array]:
        dparams, dx = self.inner.grad(params, residuals, dy)
        return fnn.DenseParams(dparams.w * 1.01, dparams.b), dx


def test_a_deliberately_wrong_gradient_is_caught_and_located() -> None:
    layer = WrongDense()
    b = f64()
    params = layer.init(fnn.random.key(0), (2,), b)
    x = fnn.random.normal(fnn.random.key(1), (4, 2), b)
    with pytest.raises(
        fnn.GradCheckError, match=r"WrongDense.*gradient wrong at \['params'\]\.w\[\d, \d\]: hand-derived"
    ):
        fnn.check_grads(layer, params, x)
    model = fnn.sequential(fnn.Dense(2), layer)
    with pytest.raises(fnn.GradCheckError, match=r"gradient wrong at \['params'\]\[1\]\.w"):
        fnn.check_grads(model, model.init(fnn.random.key(0), (2,), b), x)


def test_directional_check_catches_a_wrong_gradient_on_large_inputs() -> None:
    layer = WrongDense(fnn.Dense(40))
    b = f64()
    params = layer.init(fnn.random.key(0), (30,), b)
    x = fnn.random.normal(fnn.random.key(1), (8, 30), b)
    fnn.check_grads(fnn.Dense(40), params, x)  # 1,480 elements: directional mode, passes
    with pytest.raises(fnn.GradCheckError, match="directional derivative 0"):
        fnn.check_grads(layer, params, x)


def test_check_grads_with_a_loss() -> None:
    model = fnn.sequential(fnn.Dense(3), fnn.tanh, fnn.Dense(2), fnn.softmax)
    b = f64()
    params = model.init(fnn.random.key(2), (3,), b)
    x = fnn.random.normal(fnn.random.key(3), (4, 3), b)
    t = b.asarray([0, 1, 1, 0], dtype="int64")
    fnn.check_grads(model, params, x, loss=fnn.losses.categorical_cross_entropy, t=t)
    with pytest.raises(ValueError, match="give both `loss` and `t`, or neither"):
        fnn.check_grads(model, params, x, loss=fnn.losses.mse)
    with pytest.raises(ValueError, match="give both `loss` and `t`, or neither"):
        fnn.check_grads(model, params, x, t=t)


def test_check_grads_misuse() -> None:
    b = f64()
    y, t = b.asarray([[0.5, 1.0]]), b.asarray([[0.0, 2.0]])
    with pytest.raises(TypeError, match=r"check_grads: expected an fnn layer or loss, got <function relu"):
        fnn.check_grads(fnn.functional.relu, None, y)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"`loss`, `t` only apply to a layer target; for the loss mse"):
        fnn.check_grads(fnn.losses.mse, y, t, loss=fnn.losses.mse, t=t)
    with pytest.raises(ValueError, match=r"`eps` must be positive and finite, got 0"):
        fnn.check_grads(fnn.losses.mse, y, t, eps=0)


def test_numerical_grad_uses_the_step_it_takes() -> None:
    b = f64()
    x = b.asarray([0.3, -1.7, 2.5])
    g = fnn.numerical_grad(lambda p: (p**3).sum(), x)
    assert_allclose(g, 3 * host(x) ** 2, rtol=1e-7)
    assert g.dtype == np.float64
    g32 = fnn.numerical_grad(lambda p: (p**2).sum(), x.astype("float32"), eps=1e-2)
    assert g32.dtype == np.float32
    assert_allclose(g32, 2 * host(x), rtol=1e-3)
    with pytest.raises(
        ValueError, match=r"0.5 ± 0.0001 rounds to 0.5 in float16; use a larger eps or float64"
    ):
        fnn.numerical_grad(lambda p: p.sum(), b.asarray([0.5], dtype="float16"))


def test_numerical_grad_refuses_steps_that_give_no_derivative() -> None:
    b = f64()
    total = lambda p: float(sum(leaf.sum() for leaf in fnn.tree.leaves(p)))
    params = {"w": b.asarray([1.0, 2.0]), "b": b.asarray([[0.5, 0.5], [0.5, 0.5]], dtype="float16")}
    with pytest.raises(ValueError, match=r"`params\['b'\]\[0, 0\]`: 0.5 ± 0.0001 rounds to 0.5 in float16"):
        fnn.numerical_grad(total, params)
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match=rf"`params\['w'\]\[1\]` is {bad}; central differences need finite"):
            fnn.numerical_grad(total, {"w": b.asarray([1.0, bad])})
    with pytest.raises(ValueError, match=r"`params\[0\]`: 65504.0 ± 100.0 overflows float16; use float64"):
        fnn.numerical_grad(total, b.asarray([65504.0], dtype="float16"), eps=100.0)
    for eps in (float("nan"), 0.0, -1e-4):
        with pytest.raises(ValueError, match=rf"numerical_grad: `eps` must be positive and finite, got {eps}"):
            fnn.numerical_grad(total, params, eps=eps)


ELEMENTWISE = [fnn.sigmoid, fnn.tanh, fnn.identity, fnn.ELU(0.5)]
NORMALIZING = [fnn.softmax, fnn.log_softmax]


@st.composite
def random_models(draw: st.DrawFn) -> tuple[fnn.Sequential, int]:
    """A random model and its input width; (log-)softmax only over two or more
    features, since over one it is constant and would put a following Maxout on a tie."""
    d = width = draw(st.integers(1, 4))
    layers: list[fnn.Layer[Any]] = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["dense", "act", "maxout", "nested"]))
        if kind == "dense":
            width = draw(st.integers(1, 4))
            layers.append(fnn.Dense(width, use_bias=draw(st.booleans())))
        elif kind == "act":
            layers.append(draw(st.sampled_from(ELEMENTWISE + (NORMALIZING if width > 1 else []))))
        elif kind == "maxout":
            width = draw(st.integers(1, 3))
            layers.append(fnn.Maxout(width, pieces=draw(st.integers(2, 3))))
        else:
            width = draw(st.integers(2, 3))
            inner = fnn.sequential(fnn.Dense(width), draw(st.sampled_from(ELEMENTWISE + NORMALIZING)))
            layers.append(inner)
    return fnn.sequential(*layers), d


@settings(max_examples=40, deadline=None, derandomize=True)
@given(case=random_models(), n=st.integers(1, 3), seed=st.integers(0, 1000))
def test_random_sequential_compositions_pass_check_grads(
    case: tuple[fnn.Sequential, int], n: int, seed: int
) -> None:
    model, d = case
    b = f64()  # read per example; the backend fixture is session-scoped, so hypothesis allows it
    params = model.init(fnn.random.key(seed), (d,), b)
    z = fnn.random.normal(fnn.random.key(seed + 1), (n, d), b)
    # |x| ≥ 0.5: near zero, with zero biases, every Maxout piece is near zero too and
    # two of them can lie within the numerical step of each other (a kink, not a bug).
    x = z + 0.5 * b.xp.sign(z)
    fnn.check_grads(model, params, x, rtol=1e-4, atol=1e-7)


SHAPED_LAYERS = [
    lambda k: fnn.Dense(k),
    lambda k: fnn.Dense(k, use_bias=False),
    lambda k: fnn.Maxout(k, pieces=2),
    lambda k: fnn.sigmoid,
    lambda k: fnn.tanh,
    lambda k: fnn.softmax,
    lambda k: fnn.log_softmax,
    lambda k: fnn.identity,
    lambda k: fnn.ELU(0.5),
    lambda k: fnn.PReLU(),
    lambda k: fnn.Repeat(k),
]


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    make=st.sampled_from(SHAPED_LAYERS),
    k=st.integers(1, 4),
    d=st.integers(1, 5),
    n=st.integers(1, 4),
    seed=st.integers(0, 1000),
)
def test_layers_pass_check_grads_over_shapes(make: Any, k: int, d: int, n: int, seed: int) -> None:
    layer: fnn.Layer[Any] = make(k)
    b = f64()
    params = layer.init(fnn.random.key(seed), (d,), b)
    x = fnn.random.normal(fnn.random.key(seed + 1), (n, d), b)
    x = x + 0.1 * b.xp.sign(x)  # PReLU's kink at zero stays out of reach of the differences
    fnn.check_grads(layer, params, x, rtol=1e-5, atol=1e-8)


@attrs.frozen
class PoisonedDense(DenseWrapper):
    """A dense layer that puts ``value`` (NaN or an infinity) where ``where`` says: the
    first weight gradient (``"one"``), all of ``dx`` (``"dx"``) or the output (``"forward"``)."""

    where: str = "one"
    value: float = float("nan")

    def forward(self, params: fnn.DenseParams, x: Array) -> tuple[Array, Any]:
        y, residuals = self.inner.forward(params, x)
        return (y * self.value if self.where == "forward" else y), residuals

    def grad(self, params: fnn.DenseParams, residuals: Any, dy: Array) -> tuple[fnn.DenseParams, Array]:
        dparams, dx = self.inner.grad(params, residuals, dy)
        if self.where == "one":
            w = dparams.w.copy()
            w[0, 0] = self.value
            dparams = fnn.DenseParams(w, dparams.b)
        elif self.where == "dx":
            dx = dx * self.value
        return dparams, dx


NON_FINITE_CAUSE = {
    "one": "the hand-derived gradient is not finite",
    "dx": "the hand-derived gradient is not finite",
    "forward": "the forward pass is not finite near this point",
}


@pytest.mark.parametrize("where", ["one", "dx", "forward"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("mode", ["every element", "random directions"])
@pytest.mark.parametrize("nested", [False, True])
def test_check_grads_never_passes_nan_or_infinity(where: str, value: float, mode: str, nested: bool) -> None:
    d, features = (2, 3) if mode == "every element" else (30, 40)  # 1,480 elements: directional

    def wrap(layer: fnn.Layer[Any]) -> fnn.Layer[Any]:
        return fnn.sequential(fnn.tanh, fnn.sequential(layer)) if nested else layer

    model: fnn.Layer[Any] = wrap(PoisonedDense(fnn.Dense(features), where, value))
    b = f64()
    params = model.init(fnn.random.key(0), (d,), b)
    x = fnn.random.normal(fnn.random.key(1), (4, d), b)
    located = r"gradient wrong at \['(params|x)'\]" if mode == "every element" else "directional derivative 0"
    cause = NON_FINITE_CAUSE[where]
    if mode == "random directions" and where == "dx" and math.isinf(value):
        cause = "(the hand-derived gradient|the forward pass) is not finite"  # ±inf summed: NaN
    with pytest.raises(fnn.GradCheckError, match=rf"{located}.*a NaN or infinity never passes: {cause}"):
        fnn.check_grads(model, params, x)
    fnn.check_grads(wrap(fnn.Dense(features)), params, x)  # the same check passes without the poison


class NaNGradientMSE(fnn.losses.MSE):
    """Mean squared error whose gradient is NaN in one element."""

    def compute(self, y: Array, t: Array) -> tuple[Array, Array]:
        value, grad = super().compute(y, t)
        grad[0, 0] = np.nan
        return value, grad


def test_check_grads_of_a_loss_never_passes_nan() -> None:
    y, t = f64().asarray([[0.5, 1.0], [2.0, -1.0]]), f64().asarray([[0.0, 2.0], [1.0, 0.0]])
    fnn.check_grads(fnn.losses.mse, y, t)
    with pytest.raises(fnn.GradCheckError, match=r"gradient wrong at \['y'\]\[0, 0\]: hand-derived nan"):
        fnn.check_grads(NaNGradientMSE(), y, t)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"rtol": float("nan")}, "`rtol` must be non-negative and finite, got nan"),
        ({"atol": float("inf")}, "`atol` must be non-negative and finite, got inf"),
        ({"rtol": -1e-5}, "`rtol` must be non-negative and finite, got -1e-05"),
        ({"eps": float("nan")}, "`eps` must be positive and finite, got nan"),
        ({"eps": float("inf")}, "`eps` must be positive and finite, got inf"),
        ({"directions": 0}, "`directions` must be a positive int, got 0"),
    ],
)
def test_check_grads_refuses_settings_that_pass_anything(setting: dict[str, Any], message: str) -> None:
    y, t = f64().asarray([[0.5, 1.0]]), f64().asarray([[0.0, 2.0]])
    with pytest.raises(ValueError, match=rf"check_grads: {re.escape(message)}"):
        fnn.check_grads(NaNGradientMSE(), y, t, **setting)


def test_numerical_grad_refuses_leaves_that_are_not_float_arrays() -> None:
    square = lambda p: float(sum((leaf**2).sum() for leaf in fnn.tree.leaves(p)))
    b = f64()
    with pytest.raises(
        fnn.DTypeError,
        match=r"numerical_grad: `params\['w'\]\[1\]` must be a float array to be differentiated, "
        r"got int64; convert it with \.astype\('float64'\)",
    ):
        fnn.numerical_grad(square, {"w": [b.asarray([1.0]), b.asarray([3, 4], dtype="int64")]})
    with pytest.raises(fnn.DTypeError, match=r"`params` must be a float array to be differentiated, got bool"):
        fnn.numerical_grad(square, b.xp.asarray([True, False]))
    with pytest.raises(fnn.DTypeError, match=r"`params\.b` must be a float array to be differentiated, got float"):
        fnn.numerical_grad(square, fnn.DenseParams(b.asarray([1.0]), 2.0))  # type: ignore[arg-type]
    assert_allclose(fnn.numerical_grad(square, b.asarray([3.0, 4.0])), [6.0, 8.0], rtol=1e-8)


def test_check_grads_refuses_integer_inputs() -> None:
    b = f64()
    layer = fnn.Dense(2)
    params = layer.init(fnn.random.key(0), (2,), b)
    with pytest.raises(fnn.DTypeError, match=r"Dense\(features=2\): expected a float array, got int64"):
        fnn.check_grads(layer, params, b.asarray([[1, 2]], dtype="int64"))  # ids only for integer_input layers
    with pytest.raises(fnn.DTypeError, match=r"check_grads: `x` must be a float array to be differentiated, got bool"):
        fnn.check_grads(layer, params, b.asarray([[1, 0]], dtype="bool"))
    with pytest.raises(fnn.DTypeError, match=r"check_grads: `y` must be a float array to be differentiated, got int64"):
        fnn.check_grads(fnn.losses.mse, b.asarray([[1, 2]], dtype="int64"), b.asarray([[1.0, 2.0]]))
