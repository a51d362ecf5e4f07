"""The extended layer contract: tuple inputs and outputs, integer inputs, combinators, composites."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np
import pytest

import fnn
from fnn.typing import Array, ShapeTree

F64 = fnn.backend(dtype="float64")


def normal(seed: int, shape: tuple[int, ...]) -> Array:
    return fnn.random.normal(fnn.random.key(seed), shape, F64)


@attrs.frozen(eq=False)
class LookupParams:
    w: Array


@attrs.frozen
class Lookup(fnn.Layer[LookupParams]):
    """A minimal embedding: integer ids ``(N, ...)`` to rows of a table ``w: (V, D)``; its ``dx`` is ``None``."""

    integer_input: ClassVar[bool] = True

    vocab: int
    dim: int

    def init(self, key: fnn.random.Key, in_shape: ShapeTree, backend: fnn.Backend | None = None) -> LookupParams:
        return LookupParams(fnn.random.normal(key, (self.vocab, self.dim), backend))

    def out_shape(self, in_shape: ShapeTree) -> ShapeTree:
        return (*in_shape, self.dim)

    def forward(self, params: LookupParams, x: Array) -> tuple[Array, Array]:
        return params.w[x], x

    def grad(self, params: LookupParams, residuals: Array, dy: Array) -> tuple[LookupParams, None]:
        table = np.zeros_like(params.w)
        np.add.at(table, residuals, dy)
        return LookupParams(table), None


def check_shapes(model: fnn.Layer[Any], params: Any, x: Any, in_shape: ShapeTree, state: Any = None) -> None:
    """``out_shape`` promises what ``apply`` and ``forward`` deliver."""
    promised = model.out_shape(in_shape)
    y = model.apply(params, x) if state is None else model.apply_stateful(params, state, x)
    actual = fnn.tree.map(lambda a: tuple(a.shape[1:]), y)
    assert actual == promised


# --- combinators: values, shapes, gradients ---------------------------------------


def test_parallel_maps_each_entry_and_its_gradients_check() -> None:
    model = fnn.parallel(fnn.Dense(2), fnn.tanh)
    in_shape = ((3,), (4,))
    params = model.init(fnn.random.key(0), in_shape, F64)
    x = (normal(1, (5, 3)), normal(2, (5, 4)))
    y = model.apply(params, x)
    np.testing.assert_allclose(y[0], x[0] @ params[0].w)
    np.testing.assert_allclose(y[1], np.tanh(x[1]))
    check_shapes(model, params, x, in_shape)
    fnn.check_grads(model, params, x)


def test_fan_out_then_sum_adds_the_branches_and_sums_gradients_at_the_fan_out() -> None:
    f, g = fnn.Dense(4), fnn.sequential(fnn.Dense(4), fnn.tanh)
    model = fnn.sequential(fnn.FanOut(2), fnn.parallel(f, g), fnn.FanInSum())
    params = model.init(fnn.random.key(0), (3,), F64)
    x = normal(1, (6, 3))
    expected = f.apply(params[1][0], x) + g.apply(params[1][1], x)
    np.testing.assert_allclose(model.apply(params, x), expected)
    check_shapes(model, params, x, (3,))
    fnn.check_grads(model, params, x)
    # dx is the sum of both branches' dx: the fan-out's backward
    _, residuals = model.forward(params, x)
    dy = normal(2, (6, 4))
    _, dx = model.grad(params, residuals, dy)
    _, dx_f = f.grad(params[1][0], x, dy)
    _, dx_g = g.grad(params[1][1], g.forward(params[1][1], x)[1], dy)
    np.testing.assert_allclose(dx, dx_f + dx_g)


def test_fan_in_concat_joins_along_the_axis_and_splits_the_gradient() -> None:
    model = fnn.sequential(fnn.FanOut(2), fnn.parallel(fnn.Dense(2), fnn.Dense(3)), fnn.FanInConcat())
    params = model.init(fnn.random.key(0), (4,), F64)
    x = normal(1, (5, 4))
    y = model.apply(params, x)
    assert y.shape == (5, 5)
    np.testing.assert_allclose(y[:, 2:], x @ params[1][1].w)
    check_shapes(model, params, x, (4,))
    fnn.check_grads(model, params, x)
    first = fnn.FanInConcat(axis=0)
    assert first.out_shape(((2, 3), (4, 3))) == (6, 3)
    xs = (normal(2, (2, 2, 3)), normal(3, (2, 4, 3)))
    fnn.check_grads(first, None, xs)


def test_residual_adds_the_input_and_its_gradient_goes_around_and_through() -> None:
    body = fnn.sequential(fnn.Dense(3), fnn.tanh)
    model = fnn.residual(body)
    params = model.init(fnn.random.key(0), (3,), F64)
    x = normal(1, (4, 3))
    np.testing.assert_allclose(model.apply(params, x), x + body.apply(params, x))
    check_shapes(model, params, x, (3,))
    fnn.check_grads(model, params, x)


def test_nested_compositions_check_gradients() -> None:
    block = fnn.residual(fnn.sequential(fnn.Dense(4), fnn.relu, fnn.Dense(4)))
    model = fnn.sequential(
        fnn.Dense(4),
        block,
        fnn.FanOut(3),
        fnn.parallel(fnn.residual(fnn.tanh), fnn.sequential(fnn.Dense(2), fnn.sigmoid), fnn.identity),
        fnn.FanInConcat(),
        fnn.Dense(2),
    )
    params = model.init(fnn.random.key(0), (3,), F64)
    x = normal(1, (5, 3)) + 0.7  # away from ReLU's kink
    check_shapes(model, params, x, (3,))
    fnn.check_grads(model, params, x)


def test_tuple_outputs_flow_through_sequential_with_dy_of_the_same_structure() -> None:
    model = fnn.sequential(fnn.Dense(3), fnn.FanOut(2), fnn.parallel(fnn.Dense(2), fnn.tanh))
    params = model.init(fnn.random.key(0), (4,), F64)
    x = normal(1, (2, 4))
    assert model.out_shape((4,)) == ((2,), (3,))
    y, residuals = model.forward(params, x)
    dparams, dx = model.grad(params, residuals, (np.ones_like(y[0]), np.zeros_like(y[1])))
    assert dx.shape == x.shape
    fnn.check_grads(model, params, x)


# --- integer inputs ----------------------------------------------------------------


def test_integer_inputs_have_no_gradient_and_the_model_checks() -> None:
    model = fnn.sequential(Lookup(7, 3), fnn.Dense(2), fnn.tanh)
    assert model.integer_input
    params = model.init(fnn.random.key(0), (), F64)
    ids = np.array([0, 3, 3, 6, 1])  # 3 twice: its row's gradient accumulates
    y, residuals = model.forward(params, ids)
    _, dx = model.grad(params, residuals, np.ones_like(y))
    assert dx is None
    grads = model.param_grad(params, residuals, np.ones_like(y))  # the first-layer shortcut
    np.testing.assert_allclose(grads[0].w, model.grad(params, residuals, np.ones_like(y))[0][0].w)
    fnn.check_grads(model, params, ids)


def test_tuple_of_integer_and_float_inputs_checks_with_none_for_the_ids() -> None:
    model = fnn.sequential(fnn.parallel(Lookup(5, 3), fnn.Dense(3)), fnn.FanInSum(), fnn.tanh)
    params = model.init(fnn.random.key(0), ((), (4,)), F64)
    x = (np.array([1, 4, 1]), normal(1, (3, 4)))
    _, residuals = model.forward(params, x)
    _, dx = model.grad(params, residuals, np.ones((3, 3)))
    assert dx[0] is None and dx[1].shape == (3, 4)
    fnn.check_grads(model, params, x)


def test_float_layers_still_refuse_integer_inputs() -> None:
    model = fnn.sequential(fnn.tanh)
    with pytest.raises(fnn.DTypeError, match=r"layer 0 \(tanh\): expected a float array, got int64"):
        model.apply((None,), np.array([[1, 2]]))


# --- state and keys through combinators ----------------------------------------------


def test_parallel_forwards_state_and_splits_keys_among_stochastic_branches() -> None:
    model = fnn.parallel(fnn.BatchNorm(), fnn.Dropout(0.5), fnn.Dense(2))
    in_shape = ((3,), (4,), (3,))
    assert model.stochastic and model.has_state
    params = model.init(fnn.random.key(0), in_shape, F64)
    state = model.init_state(in_shape, F64)
    assert state[1] is None and state[2] is None
    x = (normal(1, (8, 3)) + 2.0, np.ones((8, 4)), normal(2, (8, 3)))
    y, _, new_state = model.forward_train(params, state, x, fnn.random.key(5))
    assert np.all(new_state[0].mean > 0.1)  # the running mean moved toward the batch's 2.0
    dropped = fnn.Dropout(0.5).forward_train(None, None, x[1], fnn.random.split(fnn.random.key(5), 1)[0])[0]
    np.testing.assert_array_equal(y[1], dropped)  # the only stochastic branch gets the only split
    inferred = model.apply_stateful(params, new_state, x)
    np.testing.assert_allclose(inferred[1], x[1])
    check_shapes(model, params, x, in_shape, new_state)
    fnn.check_grads(model, params, x, state=state, key=fnn.random.key(5))


def test_residual_forwards_batch_norm_state() -> None:
    model = fnn.residual(fnn.sequential(fnn.Dense(3), fnn.BatchNorm()))
    params = model.init(fnn.random.key(0), (3,), F64)
    state = model.init_state((3,), F64)
    x = normal(1, (6, 3))
    _, _, new_state = model.forward_train(params, state, x)
    assert not np.allclose(new_state[1].var, state[1].var)
    y, same = model.apply_with_state(params, new_state, x)
    assert same is new_state or fnn.tree.map(lambda a, b: bool(np.all(a == b)), same, new_state)
    fnn.check_grads(model, params, x, state=state)


# --- errors --------------------------------------------------------------------------


def test_errors_name_the_failing_branch() -> None:
    model = fnn.parallel(fnn.Dense(3), fnn.Dense(2))
    with pytest.raises(fnn.ShapeError, match=r"branch 1 \(Dense\(features=2\)\): expected inputs of 1 axis"):
        model.init(fnn.random.key(0), ((4,), ()))
    params = model.init(fnn.random.key(0), ((4,), (5,)))
    x = (np.ones((2, 4), np.float32), np.ones((2, 6), np.float32))
    with pytest.raises(fnn.ShapeError, match=r"branch 1 \(Dense\(features=2\)\): expected input of shape \(N, 5\), got \(2, 6\)"):
        model.apply(params, x)
    with pytest.raises(fnn.ShapeError, match=r"parallel\(.*\): expected the input as a tuple of 2 entries \(one per branch\), got ndarray"):
        model.apply(params, x[0])
    with pytest.raises(fnn.ShapeError, match=r"parallel\(.*\): expected `in_shape` as a tuple of 2 input shapes"):
        model.init(fnn.random.key(0), (4,))
    nested = fnn.sequential(fnn.FanOut(2), model)
    with pytest.raises(fnn.ShapeError, match=r"layer 1 \(parallel\(Dense\(features=3\), Dense\(features=2\)\)\): branch 0 \(Dense\(features=3\)\): .*got in_shape \(\)"):
        nested.init(fnn.random.key(0), ())


def test_merge_errors_name_the_shapes() -> None:
    with pytest.raises(fnn.ShapeError, match=r"FanInSum\(\): input 1 has shape \(4,\) but input 0 has \(3,\)"):
        fnn.FanInSum().out_shape(((3,), (4,)))
    with pytest.raises(fnn.ShapeError, match=r"FanInConcat\(axis=-1\): input 1 has shape \(3,\) but input 0 has \(2,\)"):
        fnn.FanInConcat().out_shape(((2, 5), (3, 5)))
    with pytest.raises(fnn.ShapeError, match=r"residual\(Dense\(features=4\)\): the body maps \(3,\) to \(4,\).*projection"):
        fnn.residual(fnn.Dense(4)).init(fnn.random.key(0), (3,))
    with pytest.raises(ValueError, match="`copies` must be a positive integer, got 0"):
        fnn.FanOut(0)
    with pytest.raises(TypeError, match="residual: 3 is not an fnn layer"):
        fnn.residual(3)  # type: ignore[arg-type]


# --- in_shape enters as a tuple of integers (issue 13) --------------------------------


def test_init_with_an_int_in_shape_names_the_argument_and_the_fix() -> None:
    model = fnn.sequential(fnn.Dense(3), fnn.relu)
    with pytest.raises(fnn.ShapeError, match=r"`in_shape` must be a tuple of sizes .* got 5; write \(5,\) for a single axis"):
        model.init(fnn.random.key(0), 5)  # type: ignore[arg-type]
    with pytest.raises(fnn.ShapeError, match=r"got 5; write \(5,\)"):
        model.init_state(5)  # type: ignore[arg-type]
    with pytest.raises(fnn.ShapeError, match=r"got 5; write \(5,\)"):
        model.out_shape(5)  # type: ignore[arg-type]


def test_non_integer_sizes_are_refused_not_truncated() -> None:
    with pytest.raises(fnn.ShapeError, match=r"`in_shape` must hold integer sizes, got 5.7 in \(5.7,\); sizes are never rounded"):
        fnn.sequential(fnn.Dense(3)).init(fnn.random.key(0), (5.7,))
    with pytest.raises(fnn.ShapeError, match=r"Dense\(features=3\): `in_shape` must hold integer sizes, got 5.7"):
        fnn.Dense(3).init(fnn.random.key(0), (5.7,))  # type: ignore[arg-type]
    with pytest.raises(fnn.ShapeError, match=r"got True"):
        fnn.Dense(3).init(fnn.random.key(0), (True,))
    assert fnn.Dense(3).init(fnn.random.key(0), (np.int64(4),)).w.shape == (4, 3)


# --- wrappers keep the contract -------------------------------------------------------


@attrs.frozen
class NaiveWrapper(fnn.Layer[Any]):
    """A wrapper written from the four methods only: it cannot forward state or keys."""

    inner: fnn.Layer[Any]

    def init(self, key: fnn.random.Key, in_shape: ShapeTree, backend: fnn.Backend | None = None) -> Any:
        return self.inner.init(key, in_shape, backend)

    def out_shape(self, in_shape: ShapeTree) -> ShapeTree:
        return self.inner.out_shape(in_shape)

    def forward(self, params: Any, x: Array) -> tuple[Array, Any]:
        return self.inner.forward(params, x)

    def grad(self, params: Any, residuals: Any, dy: Array) -> tuple[Any, Array]:
        return self.inner.grad(params, residuals, dy)


@attrs.frozen
class Scaled(fnn.Composite[Any]):
    """The same wrapper on :class:`fnn.Composite`: ``y = 2 · inner(x)``, state and keys forwarded."""

    inner: fnn.Layer[Any]

    @property
    def children(self) -> tuple[fnn.Layer[Any], ...]:
        return (self.inner,)

    def init(self, key: fnn.random.Key, in_shape: ShapeTree, backend: fnn.Backend | None = None) -> Any:
        return self.inner.init(key, in_shape, backend)

    def init_state(self, in_shape: ShapeTree, backend: fnn.Backend | None = None) -> Any:
        return self.inner.init_state(in_shape, backend)

    def out_shape(self, in_shape: ShapeTree) -> ShapeTree:
        return self.inner.out_shape(in_shape)

    def forward_train(self, params: Any, state: Any, x: Any, key: fnn.random.Key | None = None) -> tuple[Any, Any, Any]:
        y, residuals, new_state = self.train_child(0, params, state, x, key)
        return 2 * y, residuals, new_state

    def apply_with_state(self, params: Any, state: Any, x: Any) -> tuple[Any, Any]:
        y, new_state = self.infer_child(0, params, state, x)
        return 2 * y, new_state

    def grad(self, params: Any, residuals: Any, dy: Any) -> tuple[Any, Any]:
        return self.inner.grad(params, residuals, 2 * dy)


def test_a_naive_wrapper_of_batch_norm_raises_instead_of_dropping_its_state() -> None:
    wrapped = NaiveWrapper(fnn.sequential(fnn.Dense(3), fnn.BatchNorm()))
    params = wrapped.init(fnn.random.key(0), (3,), F64)
    x = normal(1, (4, 3))
    message = r"NaiveWrapper\(.*\) wraps Sequential\(2 layers\), which has state .* subclass fnn.Composite"
    with pytest.raises(fnn.StateError, match=message):
        wrapped.init_state((3,))
    with pytest.raises(fnn.StateError, match=message):
        wrapped.forward_train(params, None, x)
    with pytest.raises(fnn.StateError, match=message):
        fnn.value_and_grad(fnn.sequential(wrapped), fnn.losses.mse)((params,), x, x)


def test_a_naive_wrapper_of_dropout_raises_instead_of_misreporting_the_key() -> None:
    wrapped = NaiveWrapper(fnn.Dropout(0.5))
    x = normal(1, (4, 3))
    with pytest.raises(fnn.StateError, match=r"wraps Dropout\(rate=0.5\), which draws random numbers.*fnn.Composite"):
        fnn.value_and_grad(wrapped, fnn.losses.mse)(None, x, x, key=fnn.random.key(0))


def test_a_naive_wrapper_of_stateless_layers_still_works() -> None:
    wrapped = NaiveWrapper(fnn.Dense(2))
    params = wrapped.init(fnn.random.key(0), (3,), F64)
    assert wrapped.init_state((3,)) is None
    fnn.check_grads(wrapped, params, normal(1, (4, 3)))


def test_a_composite_wrapper_forwards_state_and_keys() -> None:
    wrapped = Scaled(fnn.sequential(fnn.Dense(3), fnn.BatchNorm(), fnn.Dropout(0.5)))
    assert wrapped.stochastic and wrapped.has_state
    params = wrapped.init(fnn.random.key(0), (3,), F64)
    state = wrapped.init_state((3,), F64)
    x = normal(1, (8, 3))
    y, _, new_state = wrapped.forward_train(params, state, x, fnn.random.key(1))
    inner_y, _, inner_state = wrapped.inner.forward_train(params, state, x, fnn.random.key(1))
    np.testing.assert_allclose(y, 2 * inner_y)
    np.testing.assert_allclose(new_state[1].mean, inner_state[1].mean)
    np.testing.assert_allclose(wrapped.apply_stateful(params, new_state, x), 2 * wrapped.inner.apply_stateful(params, new_state, x))
    fnn.check_grads(wrapped, params, x, state=state, key=fnn.random.key(1))
    model = fnn.sequential(fnn.Dense(3), wrapped)
    model_params = model.init(fnn.random.key(0), (3,), F64)
    result = fnn.fit(
        model, fnn.losses.mse, fnn.optim.sgd(0.01), model_params, x, x, epochs=1, batch_size=4,
        key=fnn.random.key(2), state=model.init_state((3,), F64), progress=False,
    )
    assert result.state is not None and not np.allclose(result.state[1][1].mean, 0.0)


def test_residual_adds_tuple_inputs_entry_by_entry() -> None:
    model = fnn.residual(fnn.parallel(fnn.Dense(3), fnn.tanh))
    params = model.init(fnn.random.key(0), ((3,), (2,)), F64)
    x = (normal(1, (4, 3)), normal(2, (4, 2)))
    y = model.apply(params, x)
    np.testing.assert_allclose(y[1], x[1] + np.tanh(x[1]))
    fnn.check_grads(model, params, x)
    with pytest.raises(fnn.ShapeError, match=r"residual\(FanOut\(copies=2\)\): the body maps \(3,\) to \(\(3,\), \(3,\)\)"):
        fnn.residual(fnn.FanOut(2)).init(fnn.random.key(0), (3,))
