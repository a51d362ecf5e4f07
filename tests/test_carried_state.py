"""Carried state: a recurrent layer's carry as an explicit input/output and as layer state.

``Leaky`` is the smallest recurrent layer that follows the contract a real one (RNN,
LSTM) follows: ``h_t = a·h_{t−1} + x_t W`` over ``(N, T, D)``. It takes ``xs`` or
``(xs, h0)`` (a differentiable initial state), returns ``hs`` or ``(hs, h_T)`` with
``return_state=True``, and with ``stateful=True`` keeps the carry as layer state:
``forward_train`` returns it as the new state (no gradient crosses the window
boundary: truncated BPTT) and ``apply_with_state`` returns it in inference.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

import fnn
from fnn import Node
from fnn.backend import resolve
from fnn.typing import Array, ShapeTree
from tests.test_composition import F64, normal

DECAY = 0.5


@attrs.frozen
class Leaky(fnn.Layer[fnn.DenseParams]):
    """``h_t = DECAY · h_{t−1} + x_t W``; ``hs = (h_1 … h_T)``.

    Backward through time: ``g_t = dhs_t + DECAY · g_{t+1}`` (with ``g_{T+1} = dh_T`` from
    the returned state), ``dx_t = g_t Wᵀ``, ``dW = Σ_t x_tᵀ g_t``, ``dh0 = DECAY · g_1``.
    """

    features: int
    return_state: bool = False
    stateful: bool = False

    def init(self, key: fnn.random.Key, in_shape: ShapeTree, backend: fnn.Backend | None = None) -> fnn.DenseParams:
        d = self._xs_shape(in_shape)[1]
        return fnn.DenseParams(fnn.random.normal(key, (d, self.features), backend), None)

    def _xs_shape(self, in_shape: ShapeTree) -> tuple[int, ...]:
        return in_shape[0] if isinstance(in_shape[0], tuple) else in_shape

    def out_shape(self, in_shape: ShapeTree) -> ShapeTree:
        hs = (self._xs_shape(in_shape)[0], self.features)
        return (hs, (self.features,)) if self.return_state else hs

    def init_state(self, in_shape: ShapeTree, backend: fnn.Backend | None = None) -> Any:
        """The zero carry with batch axis 1 (it broadcasts to any batch), or ``None`` unless stateful."""
        return resolve(backend).zeros((1, self.features)) if self.stateful else None

    def _run(self, params: fnn.DenseParams, xs: Array, h: Array) -> Array:
        projected = xs @ params.w  # all time steps in one product
        hs = np.empty(projected.shape, projected.dtype)
        for t in range(xs.shape[1]):
            h = DECAY * h + projected[:, t]
            hs[:, t] = h
        return hs

    def _split(self, x: Any) -> tuple[Array, Array | None]:
        return (x[0], x[1]) if isinstance(x, tuple) else (x, None)

    def _outputs(self, hs: Array) -> Any:
        return (hs, hs[:, -1]) if self.return_state else hs

    def forward(self, params: fnn.DenseParams, x: Any) -> tuple[Any, Any]:
        xs, h0 = self._split(x)
        hs = self._run(params, xs, np.zeros((1, self.features)) if h0 is None else h0)
        return self._outputs(hs), (xs, h0 is not None, xs.shape[0])

    def forward_train(self, params: fnn.DenseParams, state: Any, x: Any, key: fnn.random.Key | None = None) -> tuple[Any, Any, Any]:
        if not self.stateful:
            return (*self.forward(params, x), state)
        hs = self._run(params, x, state)
        return self._outputs(hs), (x, False, x.shape[0]), hs[:, -1].copy()

    def apply_with_state(self, params: fnn.DenseParams, state: Any, x: Any) -> tuple[Any, Any]:
        y, _, new_state = self.forward_train(params, state, x)
        return y, new_state

    def grad(self, params: fnn.DenseParams, residuals: Any, dy: Any) -> tuple[fnn.DenseParams, Any]:
        xs, given_h0, _ = residuals
        dhs, dh_last = dy if self.return_state else (dy, None)
        g_next = np.zeros_like(dhs[:, 0]) if dh_last is None else dh_last
        g = np.empty_like(dhs)
        for t in range(dhs.shape[1] - 1, -1, -1):
            g_next = dhs[:, t] + (DECAY * g_next if t < dhs.shape[1] - 1 else g_next)
            g[:, t] = g_next
        dw = np.einsum("ntd,ntf->df", xs, g)
        dxs = g @ params.w.T
        return fnn.DenseParams(dw, None), (dxs, DECAY * g[:, 0]) if given_h0 else dxs


def test_the_initial_state_is_a_differentiable_input() -> None:
    """Encoder → decoder: the decoder starts from the encoder's last state; gradients reach the encoder."""
    model = fnn.Graph(
        ("src", "tgt"),
        (
            Node(("enc_hs", "enc_h"), Leaky(3, return_state=True), "src"),
            Node("dec_hs", Leaky(3), ("tgt", "enc_h")),
            Node("y", fnn.tanh, "dec_hs"),
        ),
        "y",
    )
    in_shape = ((4, 2), (3, 2))
    assert model.out_shape(in_shape) == (3, 3)
    params = model.init(fnn.random.key(0), in_shape, F64)
    x = (normal(1, (2, 4, 2)), normal(2, (2, 3, 2)))
    fnn.check_grads(model, params, x)
    _, residuals = model.forward(params, x)
    grads, _ = model.grad(params, residuals, np.ones((2, 3, 3)))
    assert np.abs(grads["enc_hs"].w).sum() > 0  # the encoder learns from the decoder's loss


def test_truncated_bptt_threads_the_carry_through_fit_without_a_gradient_across_windows() -> None:
    model = fnn.sequential(Leaky(2, stateful=True), fnn.tanh)
    params = model.init(fnn.random.key(0), (3, 2), F64)
    state = model.init_state((3, 2), F64)
    windows = normal(1, (4, 3, 2))  # one stream of 4 windows of 3 steps, fed in order
    # one step per window (batch 1: one stream); a negligible lr, so only the carry moves
    result = fnn.fit(
        model, fnn.losses.mse, fnn.optim.sgd(1e-12), params, windows, np.zeros((4, 3, 2)),
        key=fnn.random.key(0), epochs=1, batch_size=1, shuffle=False, state=state, progress=False,
    )
    whole = Leaky(2).apply(params[0], windows.reshape(1, 12, 2))  # the 12 steps in one run
    np.testing.assert_allclose(result.state[0], whole[:, -1], rtol=1e-9)
    # within a window the carry is a constant: the gradient is that of a fresh window
    # started from the carried state, and check_grads (which holds state fixed) agrees
    carried = (np.asarray(whole[:, 2]), None)
    fnn.check_grads(model, params, windows[1][None], state=carried)


def test_inference_returns_the_new_carry_so_generation_runs_one_step_at_a_time() -> None:
    model = fnn.sequential(Leaky(2, stateful=True))
    params = model.init(fnn.random.key(0), (5, 3), F64)
    xs = normal(1, (2, 5, 3))
    whole, _ = model.apply_with_state(params, model.init_state((5, 3), F64), xs)
    state = model.init_state((1, 3), F64)  # reset: a fresh zero carry
    steps = []
    for t in range(5):
        y, state = model.apply_with_state(params, state, xs[:, t : t + 1])
        steps.append(y)
    np.testing.assert_allclose(np.concatenate(steps, axis=1), whole)
