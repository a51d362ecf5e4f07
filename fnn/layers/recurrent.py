"""Recurrent layers over whole sequences: ``RNN`` (tanh), ``LSTM`` and ``GRU`` (the book's Time* layers).

Each reads a batch of sequences ``xs: (N, T, D)`` and runs one cell over the ``T`` steps.
What is shared, and how carried state works:

- **Input**: ``xs``, or ``(xs, state)`` to start from a given state instead of zeros:
  ``state`` is ``h0: (N, H)`` for :class:`RNN` and :class:`GRU`, ``(h0, c0)`` for :class:`LSTM`. The
  given state is an ordinary, differentiable input: :meth:`~fnn.Layer.grad` returns
  ``(dxs, dstate)``, so a decoder that starts from an encoder's final state sends its
  gradient back into the encoder.
- **Output**: ``hs: (N, T, H)`` (all hidden states) or, with ``return_sequences=False``,
  only the last ``h_T: (N, H)``; with ``return_state=True`` the pair ``(output, final
  state)``, where the final state has the structure of the initial one.
- **Carried state (truncated backprop through time)**: feed window ``k``'s final state
  as window ``k + 1``'s initial state and ignore its gradient: running the windows one
  after another computes exactly what one run over the whole sequence computes, and
  the gradients are those of each window alone.
- **The carry as layer state** (``stateful=True``): ``init_state(in_shape)`` is the zero
  carry ``(1, H)`` (it broadcasts to any batch; call it again to reset),
  ``forward_train(params, state, xs)`` starts from ``state`` and returns the final carry
  (a copy) as the new state, and ``apply_with_state`` does the same in inference. Layer
  state gets no gradient, which is truncated BPTT, so ``fnn.fit(..., state=...,
  shuffle=False)`` over windows in stream order trains a language model, and generation
  feeds one step per call. A stateful layer takes ``xs`` only.

The input projection of all time steps is one matrix product, ``X Wx + b`` over the
``N·T`` rows; only ``h Wh`` and the elementwise cell run step by step. Backprop through
time walks the steps in reverse and stores each step's pre-activation gradient ``dz``,
so the weight gradients are again single matrix products over all steps:
``dWx = Xᵀ dZ``, ``dWh = H₋ᵀ dZ`` (``H₋`` the states entering each step), ``db = Σ dZ``,
``dX = dZ Wxᵀ``. Internally the steps are stored time-major, ``(T, N, ·)``.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar, Protocol, TypeVar

import attrs

from fnn import initializers, random
from fnn.backend import Backend, array_module, batch_sum, overflow_expected, resolve
from fnn.errors import ShapeError, StateError, StructureError
from fnn.layers.core import Layer, check_dtype, check_in_shape, check_ndim
from fnn.typing import Array, Shape

__all__ = ["GRU", "GRUParams", "LSTM", "LSTMParams", "RNN", "RNNParams"]

@attrs.frozen(eq=False)
class RNNParams:
    """Parameters of :class:`RNN`.

    Attributes:
        wx: Input weights, shape ``(D, H)``.
        wh: Recurrent weights, shape ``(H, H)``.
        b: Bias, shape ``(H,)``.
    """

    wx: Array
    wh: Array
    b: Array


@attrs.frozen(eq=False)
class LSTMParams:
    """Parameters of :class:`LSTM`, the four gates side by side along the last axis.

    The blocks are ordered **f, g, i, o** (forget gate, candidate, input gate, output
    gate), each ``H`` wide: the book's layout, so its published weights load as they are.

    Attributes:
        wx: Input weights, shape ``(D, 4H)``.
        wh: Recurrent weights, shape ``(H, 4H)``.
        b: Bias, shape ``(4H,)``.
    """

    wx: Array
    wh: Array
    b: Array


@attrs.frozen(eq=False)
class GRUParams:
    """Parameters of :class:`GRU`, the three blocks side by side along the last axis.

    The blocks are ordered **z, r, h** (update gate, reset gate, candidate), each ``H``
    wide: the layout of the book's GRU (volume 2, chapter 6).

    Attributes:
        wx: Input weights, shape ``(D, 3H)``.
        wh: Recurrent weights, shape ``(H, 3H)``.
        b: Bias, shape ``(3H,)``.
    """

    wx: Array
    wh: Array
    b: Array


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{attribute.name}` must be a positive integer, got {value!r}")


def _sigmoid_inplace(z: Array) -> None:
    """``z ← σ(z) = 1 / (1 + e⁻ᶻ)`` in place; call it under :func:`~fnn.backend.overflow_expected`
    (``e⁻ᶻ`` overflowing to ``inf`` gives the right ``σ = 0``)."""
    xp = array_module(z)
    xp.negative(z, out=z)
    xp.exp(z, out=z)
    z += 1.0
    xp.reciprocal(z, out=z)


def _gate_constants(xp: Any, h: int, dtype: Any) -> tuple[Array, Array]:
    """``(scale, shift)`` of shape ``(4H,)``: ``scale·tanh(scale·z) + shift`` is σ on the f, i, o
    blocks (½, ½) and tanh on the g block (1, 0)."""
    scale = xp.full((4 * h,), 0.5, dtype)
    scale[h : 2 * h] = 1.0
    shift = xp.full((4 * h,), 0.5, dtype)
    shift[h : 2 * h] = 0.0
    return scale, shift


class _Weights(Protocol):
    @property
    def wx(self) -> Array: ...

    @property
    def wh(self) -> Array: ...

    @property
    def b(self) -> Array: ...


P = TypeVar("P", bound=_Weights)


@attrs.frozen(repr=False)
class _Recurrent(Layer[P]):
    """What :class:`RNN`, :class:`LSTM` and :class:`GRU` share: options, shapes, the structure of inputs and
    outputs, the input projection and the weight gradients. Subclasses provide the cell's
    steps forward (:meth:`_steps`) and backward (:meth:`_steps_back`)."""

    hidden: int = attrs.field(validator=_positive)
    return_sequences: bool = attrs.field(default=True, kw_only=True)
    return_state: bool = attrs.field(default=False, kw_only=True)
    stateful: bool = attrs.field(default=False, kw_only=True)
    w_init: initializers.Initializer = attrs.field(
        factory=initializers.lecun_normal, kw_only=True, repr=False
    )

    params_type: ClassVar[type]
    """The params class: :class:`RNNParams`, :class:`LSTMParams` or :class:`GRUParams`."""

    gates: ClassVar[int] = 1
    """How many ``H``-wide blocks the weights have side by side (4 for the LSTM)."""

    state_arrays: ClassVar[int] = 1
    """How many ``(N, H)`` arrays the state has: ``h``, or ``(h, c)`` for the LSTM."""

    def __repr__(self) -> str:
        options = "" if self.return_sequences else ", return_sequences=False"
        options += ", return_state=True" if self.return_state else ""
        options += ", stateful=True" if self.stateful else ""
        return f"{type(self).__name__}(hidden={self.hidden}{options})"

    def state_shape(self) -> Any:
        """The state's shape without the batch axis: ``(H,)``, or ``((H,), (H,))`` for the LSTM."""
        one = (self.hidden,)
        return one if self.state_arrays == 1 else (one,) * self.state_arrays

    def _state_value(self, arrays: tuple[Array, ...]) -> Any:
        return arrays[0] if self.state_arrays == 1 else arrays

    # --- shapes and params ---

    def _split_in_shape(self, in_shape: Any) -> tuple[Shape, bool]:
        """``((T, D), whether an initial state is given)`` from ``(T, D)`` or ``((T, D), state shape)``."""
        hint = "inputs are sequences (N, T, D), or (sequences, initial state)"
        pair = isinstance(in_shape, (tuple, list)) and len(in_shape) == 2
        if pair and isinstance(in_shape[0], (tuple, list)):
            sequence, state = in_shape
            if _as_tuple(state) != self.state_shape():
                raise ShapeError(
                    f"{self!r}: expected the initial state's shape {self.state_shape()} "
                    f"(without the batch axis), got {state!r}"
                )
            return check_in_shape(self, sequence, 2, hint), True
        return check_in_shape(self, in_shape, 2, hint), False

    def out_shape(self, in_shape: Any) -> Any:
        (steps, _), _ = self._split_in_shape(in_shape)
        output = (steps, self.hidden) if self.return_sequences else (self.hidden,)
        return (output, self.state_shape()) if self.return_state else output

    def init(self, key: random.Key, in_shape: Any, backend: Backend | None = None) -> P:
        (_, d), _ = self._split_in_shape(in_shape)
        b = resolve(backend)
        kx, kh = random.split(key)
        width = self.gates * self.hidden
        wx = self.w_init(kx, (d, width), b)
        wh = self.w_init(kh, (self.hidden, width), b)
        return self._params(wx, wh, b.zeros((width,)))

    def _params(self, wx: Array, wh: Array, b: Array) -> P:
        params: P = self.params_type(wx, wh, b)
        return params

    # --- forward ---

    def apply(self, params: P, x: Any) -> Any:
        return self.forward(params, x)[0]

    def forward(self, params: P, x: Any) -> tuple[Any, Any]:
        xs, state, given = self._inputs(params, x)
        output, residuals, _ = self._run(params, xs, state, given)
        return output, residuals

    # --- the carry as layer state (stateful=True) ---

    @property
    def has_state(self) -> bool:
        return self.stateful

    def init_state(self, in_shape: Any, backend: Backend | None = None) -> Any:
        """The zero carry with batch axis 1 (it broadcasts to any batch), or ``None`` unless stateful."""
        self._split_in_shape(in_shape)
        if not self.stateful:
            return None
        b = resolve(backend)
        return self._state_value(tuple(b.zeros((1, self.hidden)) for _ in range(self.state_arrays)))

    def forward_train(
        self, params: P, state: Any, x: Any, key: random.Key | None = None
    ) -> tuple[Any, Any, Any]:
        """With ``stateful=True``: start from the carry ``state``, return the final carry as the new state."""
        if not self.stateful:
            return (*self.forward(params, x), state)
        xs, carry = self._stateful_inputs(params, state, x)
        output, residuals, final = self._run(params, xs, carry, False)
        return output, residuals, self._state_value(tuple(a.copy() for a in final))

    def apply_with_state(self, params: P, state: Any, x: Any) -> tuple[Any, Any]:
        if not self.stateful:
            return self.apply(params, x), state
        y, _, new_state = self.forward_train(params, state, x)
        return y, new_state

    def apply_stateful(self, params: P, state: Any, x: Any) -> Any:
        return self.apply_with_state(params, state, x)[0]

    def _stateful_inputs(self, params: P, state: Any, x: Any) -> tuple[Array, tuple[Array, ...]]:
        if isinstance(x, tuple):
            raise StructureError(
                f"{self!r}: a stateful layer starts from its carried state; pass xs alone, or build it "
                "with stateful=False to give the initial state as an input"
            )
        if state is None:
            raise StateError(
                f"{self!r}: stateful=True needs the carried state; pass state=layer.init_state(in_shape) "
                "(the zero carry) and then the state each call returns"
            )
        xs, _, _ = self._inputs(params, x)
        return xs, self._check_state(state, xs.shape[0], params.wx, carried=True)

    def _run(
        self, params: P, xs: Array, state: tuple[Array, ...], given: bool
    ) -> tuple[Any, Any, tuple[Array, ...]]:
        """``(output, residuals, final state arrays)`` from ``xs`` and the initial state arrays."""
        n, steps, d = xs.shape
        xt = xs.transpose(1, 0, 2).reshape(steps * n, d)  # time-major rows
        z = (xt @ params.wx).reshape(steps, n, self.gates * self.hidden)
        z += params.b
        with overflow_expected():  # once for all steps' sigmoids
            hs, final, cache = self._steps(params.wh, z, state)
        output = hs[1:].transpose(1, 0, 2) if self.return_sequences else hs[-1]
        if self.return_state:
            output = (output, self._state_value(final))
        return output, (xt, hs, cache, given), final

    @abc.abstractmethod
    def _steps(
        self, wh: Array, z: Array, state: tuple[Array, ...]
    ) -> tuple[Array, tuple[Array, ...], Any]:
        """Run the cell: ``z: (T, N, gates·H)`` holds ``x_t Wx + b`` and may be overwritten.

        Returns ``(hs, final state arrays, cache)`` with ``hs: (T + 1, N, H)``, ``hs[0] = h0``.
        """

    def _inputs(self, params: P, x: Any) -> tuple[Array, tuple[Array, ...], bool]:
        """``(xs, initial state arrays, whether a state was given)``, checked against ``params``."""
        given = isinstance(x, tuple)
        xs, state = x if given else (x, None)
        self._check_params(params)
        wx = params.wx
        fits = type(xs) is type(wx) and xs.ndim == 3 and xs.shape[2] == wx.shape[0] and xs.dtype == wx.dtype
        if not fits:
            if isinstance(xs, list):
                raise StructureError(
                    f"{self!r}: got a list; pass a sequence batch xs, or the tuple (xs, state)"
                )
            check_ndim(self, xs, (-1, wx.shape[0]), "inputs are sequences (N, T, D)")
            check_dtype(self, xs, wx)
        n = xs.shape[0]
        if not given:
            zeros = array_module(xs).zeros((n, self.hidden), xs.dtype)
            return xs, (zeros,) * self.state_arrays, False
        return xs, self._check_state(state, n, wx), True

    def _check_params(self, params: P) -> None:
        """Raise unless ``params`` are this layer's kind with ``wh: (H, gates·H)``, ``b: (gates·H,)``."""
        width = self.gates * self.hidden
        expected = self.params_type
        if type(params) is not expected:
            raise StructureError(
                f"{self!r}: expected params of type {expected.__name__}, as init returns, "
                f"got {type(params).__name__}"
            )
        wx, wh, b = (tuple(getattr(getattr(params, f), "shape", ())) for f in ("wx", "wh", "b"))
        if len(wx) != 2 or wx[1] != width or wh != (self.hidden, width) or b != (width,):
            raise ShapeError(
                f"{self!r}: expected params wx (D, {width}), wh ({self.hidden}, {width}), b ({width},), got "
                f"wx {wx}, wh {wh}, b {b}; use the params this layer's init returns"
            )

    def _check_state(self, state: Any, n: int, like: Array, carried: bool = False) -> tuple[Array, ...]:
        """The state's arrays, each ``(n, H)`` (or ``(1, H)``, the fresh carry of ``init_state``)."""
        arrays = (state,) if self.state_arrays == 1 else state  # a list is refused below
        expected = (n, self.hidden)
        allowed = (expected, (1, self.hidden)) if carried else (expected,)
        if not (
            isinstance(arrays, tuple)
            and len(arrays) == self.state_arrays
            and all(getattr(a, "shape", None) in allowed for a in arrays)
        ):
            want = "h0" if self.state_arrays == 1 else "(h0, c0), each"
            what = "carried state" if carried else "initial state"
            reset = "; reset it with init_state(in_shape) when the batch size changes" if carried else ""
            raise ShapeError(
                f"{self!r}: expected the {what} {want} of shape {expected} for {n} sequences, "
                f"got {_describe(state)}{reset}"
            )
        for a in arrays:
            check_dtype(self, a, like)
        return arrays

    # --- backward ---

    def grad(self, params: P, residuals: Any, dy: Any) -> tuple[P, Any]:
        dparams, dxs, d_initial = self._backward(params, residuals, dy, need_dx=True)
        given = residuals[3]
        return dparams, ((dxs, self._state_value(d_initial)) if given else dxs)

    def param_grad(self, params: P, residuals: Any, dy: Any) -> P:
        return self._backward(params, residuals, dy, need_dx=False)[0]

    def _backward(
        self, params: P, residuals: Any, dy: Any, need_dx: bool
    ) -> tuple[P, Array | None, tuple[Array, ...]]:
        self._check_params(params)
        xt, hs, cache, _ = residuals
        steps, n, h = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
        d_output, d_state = self._split_dy(dy)
        xp = array_module(hs)
        d_state_arrays = (None,) * self.state_arrays if d_state is None else self._state_tuple(d_state)
        d_final = tuple(xp.zeros((n, h), hs.dtype) if d is None else d for d in d_state_arrays)
        dhs = d_output if self.return_sequences else None
        if not self.return_sequences and d_output is not None:
            d_final = (d_final[0] + d_output, *d_final[1:])
        dz, d_initial = self._steps_back(params.wh, hs, cache, dhs, d_final)
        dz_rows = dz.reshape(steps * n, self.gates * h)
        dparams = self._params(xt.T @ dz_rows, self._wh_grad(hs, cache, dz_rows), batch_sum(dz_rows))
        dxs = (dz_rows @ params.wx.T).reshape(steps, n, xt.shape[1]).transpose(1, 0, 2) if need_dx else None
        return dparams, dxs, d_initial

    def _split_dy(self, dy: Any) -> tuple[Any, Any]:
        """``(d of the output, d of the final state)``; ``None`` stands for zeros."""
        if not self.return_state:
            return dy, None
        if not (isinstance(dy, tuple) and len(dy) == 2):
            raise StructureError(
                f"{self!r}: expected dy with the structure of the output, (d_output, d_state), "
                f"got {_describe(dy)}; pass None for a part that gets no gradient"
            )
        return dy

    def _state_tuple(self, state: Any) -> tuple[Any, ...]:
        return (state,) if self.state_arrays == 1 else tuple(state)

    def _wh_grad(self, hs: Array, cache: Any, dz_rows: Array) -> Array:
        """``dWh = Σ_t h_{t−1}ᵀ dz_t`` as one product over the ``T·N`` rows."""
        dwh: Array = hs[:-1].reshape(dz_rows.shape[0], hs.shape[2]).T @ dz_rows
        return dwh

    @abc.abstractmethod
    def _steps_back(
        self, wh: Array, hs: Array, cache: Any, dhs: Array | None, d_final: tuple[Array, ...]
    ) -> tuple[Array, tuple[Array, ...]]:
        """Backprop through time: ``(dz: (T, N, gates·H), d of the initial state arrays)``.

        ``dhs: (N, T, H)`` is the gradient of the returned sequence (``None`` when only
        the final state is used) and ``d_final`` that of the final state arrays.
        """


def _as_tuple(shape: Any) -> Any:
    if isinstance(shape, (tuple, list)):
        return tuple(_as_tuple(s) for s in shape)
    return shape


def _describe(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} (" + ", ".join(_describe(v) for v in value) + ")"
    shape = getattr(value, "shape", None)
    return f"an array of shape {tuple(shape)}" if shape is not None else f"a {type(value).__name__}"


@attrs.frozen(repr=False)
class RNN(_Recurrent[RNNParams]):
    """A simple (Elman) recurrent layer with ``tanh``, over whole sequences (the book's TimeRNN).

    **Forward**: for ``t = 1 … T``,
    ``h_t = tanh(z_t)``, ``z_t = x_t Wx + h_{t−1} Wh + b``, from ``h_0`` (zeros, or given).
    The ``x_t Wx + b`` of all steps is one matrix product.

    **Backward (through time)**: walking ``t = T … 1`` with ``dh`` the total gradient
    reaching ``h_t`` (from the output at step ``t`` and from step ``t + 1``):
    ``dz_t = dh ⊙ (1 − h_t²)`` (as ``tanh′ = 1 − tanh²``) and the gradient passed to
    step ``t − 1`` is ``dz_t Whᵀ``. Every step uses the same weights, so their gradients
    are sums over steps: ``dWx = Σ_t x_tᵀ dz_t``, ``dWh = Σ_t h_{t−1}ᵀ dz_t``,
    ``db = Σ_t Σ_n dz_t``, ``dx_t = dz_t Wxᵀ``, and ``dh_0 = dz_1 Whᵀ``.

    **Residuals**: the inputs (time-major) and ``h_0 … h_T``.

    **Shapes**: ``xs: (N, T, D)`` → ``(N, T, H)``, or ``(N, H)`` with
    ``return_sequences=False``; with ``return_state=True``, ``(output, h_T)``. Give
    ``(xs, h0)`` with ``h0: (N, H)`` to start from a state; its ``in_shape`` is then
    ``((T, D), (H,))``. See :mod:`fnn.layers.recurrent` for carrying the state across
    windows.

    Args:
        hidden: ``H``, the size of the hidden state.
        return_sequences: Return every ``h_t`` (default) or only ``h_T``.
        return_state: Also return the final state, ``(output, h_T)``.
        stateful: Keep the carry as layer state between calls (see :mod:`fnn.layers.recurrent`).
        w_init: Initializer of ``Wx`` and ``Wh`` (default LeCun normal, ``N(0, 1/fan_in)``,
            the book's ``randn(D, H) / √D``); ``b`` starts at zero.

    >>> import fnn
    >>> layer = RNN(4)
    >>> params = layer.init(fnn.random.key(0), (5, 3))
    >>> xs = fnn.backend().ones((2, 5, 3))
    >>> layer.apply(params, xs).shape
    (2, 5, 4)
    >>> last, h = RNN(4, return_sequences=False, return_state=True).apply(params, xs)
    >>> last.shape, bool((last == h).all())
    ((2, 4), True)
    """

    params_type = RNNParams

    def _steps(self, wh: Array, z: Array, state: tuple[Array, ...]) -> tuple[Array, tuple[Array, ...], None]:
        xp = array_module(z)
        steps, n, h = z.shape
        hs = xp.empty((steps + 1, n, h), z.dtype)
        hs[0] = state[0]
        for t in range(steps):
            zt = z[t]
            zt += hs[t] @ wh
            xp.tanh(zt, out=hs[t + 1])
        return hs, (hs[steps],), None

    def _steps_back(
        self, wh: Array, hs: Array, cache: None, dhs: Array | None, d_final: tuple[Array, ...]
    ) -> tuple[Array, tuple[Array, ...]]:
        xp = array_module(hs)
        dz = xp.empty((hs.shape[0] - 1, *hs.shape[1:]), hs.dtype)
        wh_t = wh.T
        (dh,) = d_final
        for t in range(dz.shape[0] - 1, -1, -1):
            if dhs is not None:
                dh = dh + dhs[:, t]
            h, d = hs[t + 1], dz[t]
            xp.multiply(h, h, out=d)
            xp.subtract(1.0, d, out=d)
            d *= dh
            dh = d @ wh_t
        return dz, (dh,)


@attrs.frozen(repr=False)
class LSTM(_Recurrent[LSTMParams]):
    """A long short-term memory layer over whole sequences (the book's TimeLSTM).

    **Forward**: for ``t = 1 … T``, with ``z_t = x_t Wx + h_{t−1} Wh + b`` split into four
    ``H``-wide blocks in the order **f, g, i, o** (the book's layout, see :class:`LSTMParams`):

    - ``f = σ(z_f)`` (forget gate), ``g = tanh(z_g)`` (candidate), ``i = σ(z_i)`` (input
      gate), ``o = σ(z_o)`` (output gate);
    - ``c_t = f ⊙ c_{t−1} + g ⊙ i``, ``h_t = o ⊙ tanh(c_t)``,

    from ``(h_0, c_0)`` (zeros, or given). The ``x_t Wx + b`` of all steps is one matrix product.

    **Backward (through time)**: walking ``t = T … 1`` with ``dh`` and ``dc`` the total
    gradients reaching ``h_t`` and ``c_t``:

    - ``dc ← dc + dh ⊙ o ⊙ (1 − tanh²(c_t))`` (through ``h_t = o ⊙ tanh(c_t)``);
    - ``dz_o = dh ⊙ tanh(c_t) ⊙ o(1 − o)``, ``dz_f = dc ⊙ c_{t−1} ⊙ f(1 − f)``,
      ``dz_g = dc ⊙ i ⊙ (1 − g²)``, ``dz_i = dc ⊙ g ⊙ i(1 − i)`` (``σ′ = σ(1 − σ)``,
      ``tanh′ = 1 − tanh²``);
    - to step ``t − 1``: ``dc ← dc ⊙ f`` and ``dh ← dz_t Whᵀ``.

    The weight gradients sum over steps as in :class:`RNN`: ``dWx = Σ_t x_tᵀ dz_t``,
    ``dWh = Σ_t h_{t−1}ᵀ dz_t``, ``db = Σ_t Σ_n dz_t``, ``dx_t = dz_t Wxᵀ``.

    **Residuals**: the inputs (time-major), the gates ``f, g, i, o``, ``h_0 … h_T``,
    ``c_0 … c_T`` and ``tanh(c_t)``.

    **Shapes**: ``xs: (N, T, D)`` → ``(N, T, H)``, or ``(N, H)`` with
    ``return_sequences=False``; with ``return_state=True``, ``(output, (h_T, c_T))``. Give
    ``(xs, (h0, c0))`` to start from a state; its ``in_shape`` is then ``((T, D), ((H,), (H,)))``.

    Args:
        hidden: ``H``, the size of the hidden and cell states.
        return_sequences: Return every ``h_t`` (default) or only ``h_T``.
        return_state: Also return the final state, ``(output, (h_T, c_T))``.
        stateful: Keep the carry as layer state between calls (see :mod:`fnn.layers.recurrent`).
        w_init: Initializer of ``Wx`` and ``Wh`` (default LeCun normal, ``N(0, 1/fan_in)``,
            the book's ``randn(D, 4H) / √D``); ``b`` starts at zero.

    >>> import fnn
    >>> layer = LSTM(4, return_state=True)
    >>> params = layer.init(fnn.random.key(0), (5, 3))
    >>> params.wx.shape, params.wh.shape, params.b.shape
    ((3, 16), (4, 16), (16,))
    >>> hs, (h, c) = layer.apply(params, fnn.backend().ones((2, 5, 3)))
    >>> hs.shape, h.shape, c.shape
    ((2, 5, 4), (2, 4), (2, 4))
    """

    gates: ClassVar[int] = 4
    state_arrays: ClassVar[int] = 2

    params_type = LSTMParams

    def _steps(
        self, wh: Array, z: Array, state: tuple[Array, ...]
    ) -> tuple[Array, tuple[Array, ...], tuple[Array, Array, Array]]:
        xp = array_module(z)
        steps, n, width = z.shape
        h = width // 4
        hs = xp.empty((steps + 1, n, h), z.dtype)
        cs = xp.empty_like(hs)
        tanh_cs = xp.empty((steps, n, h), z.dtype)
        hs[0], cs[0] = state
        # σ(z) = ½ + ½ tanh(z/2): all four blocks in one pass over the contiguous (N, 4H) row block,
        # `scale` ½ and `shift` ½ for f, i, o; 1 and 0 for g (plain tanh).
        scale, shift = _gate_constants(xp, h, z.dtype)
        for t in range(steps):
            gates = z[t]  # becomes f, g, i, o in place
            gates += hs[t] @ wh
            gates *= scale
            xp.tanh(gates, out=gates)
            gates *= scale
            gates += shift
            f, g, i, o = gates[:, :h], gates[:, h : 2 * h], gates[:, 2 * h : 3 * h], gates[:, 3 * h :]
            c = cs[t + 1]
            xp.multiply(f, cs[t], out=c)
            c += g * i
            xp.tanh(c, out=tanh_cs[t])
            xp.multiply(o, tanh_cs[t], out=hs[t + 1])
        return hs, (hs[steps], cs[steps]), (z, cs, tanh_cs)

    def _steps_back(
        self,
        wh: Array,
        hs: Array,
        cache: tuple[Array, Array, Array],
        dhs: Array | None,
        d_final: tuple[Array, ...],
    ) -> tuple[Array, tuple[Array, ...]]:
        xp = array_module(hs)
        gates_all, cs, tanh_cs = cache
        h = hs.shape[2]
        dz = xp.empty_like(gates_all)
        wh_t = wh.T
        # The activations' derivatives in one pass: (1 − a)(a + k) is σ(1 − σ) with k = 0 (f, i, o)
        # and 1 − tanh² with k = 1 (g).
        _, shift = _gate_constants(xp, h, gates_all.dtype)
        k = 1.0 - 2.0 * shift
        dh, dc = d_final
        for t in range(dz.shape[0] - 1, -1, -1):
            if dhs is not None:
                dh = dh + dhs[:, t]
            gates, tc, d = gates_all[t], tanh_cs[t], dz[t]
            f, g, i, o = gates[:, :h], gates[:, h : 2 * h], gates[:, 2 * h : 3 * h], gates[:, 3 * h :]
            dc = dc + dh * o * (1.0 - tc * tc)
            xp.multiply(dc, cs[t], out=d[:, :h])  # ∂/∂f, ∂/∂g, ∂/∂i, ∂/∂o of the step ...
            xp.multiply(dc, i, out=d[:, h : 2 * h])
            xp.multiply(dc, g, out=d[:, 2 * h : 3 * h])
            xp.multiply(dh, tc, out=d[:, 3 * h :])
            d *= (1.0 - gates) * (gates + k)  # ... times each activation's derivative
            dc = dc * f
            dh = d @ wh_t
        return dz, (dh, dc)


@attrs.frozen(repr=False)
class GRU(_Recurrent[GRUParams]):
    """A gated recurrent unit layer over whole sequences (the book's GRU, volume 2 chapter 6).

    **Forward**: for ``t = 1 … T``, with the blocks **z, r, h** of ``Wx``, ``Wh`` and ``b``
    (see :class:`GRUParams`):

    - ``z = σ(x_t Wx_z + h_{t−1} Wh_z + b_z)`` (update gate),
      ``r = σ(x_t Wx_r + h_{t−1} Wh_r + b_r)`` (reset gate);
    - ``ĥ = tanh(x_t Wx_h + (r ⊙ h_{t−1}) Wh_h + b_h)`` (candidate);
    - ``h_t = (1 − z) ⊙ h_{t−1} + z ⊙ ĥ``,

    from ``h_0`` (zeros, or given). The ``x_t Wx + b`` of all steps is one matrix product.

    **Backward (through time)**: walking ``t = T … 1`` with ``dh`` the total gradient
    reaching ``h_t``:

    - ``da_h = dh ⊙ z ⊙ (1 − ĥ²)`` (the candidate's pre-activation) and
      ``d(r ⊙ h_{t−1}) = da_h Wh_hᵀ``;
    - ``da_z = dh ⊙ (ĥ − h_{t−1}) ⊙ z(1 − z)``,
      ``da_r = d(r ⊙ h_{t−1}) ⊙ h_{t−1} ⊙ r(1 − r)``;
    - to step ``t − 1``: ``dh ← dh ⊙ (1 − z) + d(r ⊙ h_{t−1}) ⊙ r + [da_z, da_r] [Wh_z, Wh_r]ᵀ``.

    The weight gradients sum over steps: ``dWx = Σ_t x_tᵀ da_t``, ``db = Σ_t Σ_n da_t``,
    ``dWh_{z,r} = Σ_t h_{t−1}ᵀ [da_z, da_r]`` and ``dWh_h = Σ_t (r ⊙ h_{t−1})ᵀ da_h``,
    ``dx_t = da_t Wxᵀ``.

    **Residuals**: the inputs (time-major), the gates ``z, r, ĥ``, ``r ⊙ h_{t−1}`` and ``h_0 … h_T``.

    **Shapes**: as :class:`RNN`: ``(N, T, D)`` → ``(N, T, H)`` or ``(N, H)``; the state is ``h0: (N, H)``.

    Args:
        hidden: ``H``, the size of the hidden state.
        return_sequences: Return every ``h_t`` (default) or only ``h_T``.
        return_state: Also return the final state, ``(output, h_T)``.
        stateful: Keep the carry as layer state between calls (see :mod:`fnn.layers.recurrent`).
        w_init: Initializer of ``Wx`` and ``Wh`` (default LeCun normal); ``b`` starts at zero.

    >>> import fnn
    >>> layer = GRU(4)
    >>> params = layer.init(fnn.random.key(0), (5, 3))
    >>> params.wx.shape, layer.apply(params, fnn.backend().ones((2, 5, 3))).shape
    ((3, 12), (2, 5, 4))
    """

    gates: ClassVar[int] = 3

    params_type = GRUParams

    def _steps(self, wh: Array, z: Array, state: tuple[Array, ...]) -> tuple[Array, tuple[Array, ...], Any]:
        xp = array_module(z)
        steps, n, width = z.shape
        h = width // 3
        hs = xp.empty((steps + 1, n, h), z.dtype)
        reset_hs = xp.empty((steps, n, h), z.dtype)
        hs[0] = state[0]
        wh_zr, wh_h = wh[:, : 2 * h], wh[:, 2 * h :]
        for t in range(steps):
            gates, h_prev = z[t], hs[t]  # gates become z, r, ĥ in place
            update_reset = gates[:, : 2 * h]
            update_reset += h_prev @ wh_zr
            _sigmoid_inplace(update_reset)
            xp.multiply(gates[:, h : 2 * h], h_prev, out=reset_hs[t])
            candidate = gates[:, 2 * h :]
            candidate += reset_hs[t] @ wh_h
            xp.tanh(candidate, out=candidate)
            h_next = hs[t + 1]
            xp.subtract(candidate, h_prev, out=h_next)
            h_next *= gates[:, :h]
            h_next += h_prev
        return hs, (hs[steps],), (z, reset_hs)

    def _steps_back(
        self, wh: Array, hs: Array, cache: Any, dhs: Array | None, d_final: tuple[Array, ...]
    ) -> tuple[Array, tuple[Array, ...]]:
        xp = array_module(hs)
        gates_all, _ = cache
        h = hs.shape[2]
        dz = xp.empty_like(gates_all)
        wh_zr_t, wh_h_t = wh[:, : 2 * h].T, wh[:, 2 * h :].T
        (dh,) = d_final
        for t in range(dz.shape[0] - 1, -1, -1):
            if dhs is not None:
                dh = dh + dhs[:, t]
            gates, h_prev, d = gates_all[t], hs[t], dz[t]
            u, r, candidate = gates[:, :h], gates[:, h : 2 * h], gates[:, 2 * h :]
            xp.multiply(dh * u, 1.0 - candidate * candidate, out=d[:, 2 * h :])
            d_reset_h = d[:, 2 * h :] @ wh_h_t
            xp.multiply(dh * (candidate - h_prev), u * (1.0 - u), out=d[:, :h])
            xp.multiply(d_reset_h * h_prev, r * (1.0 - r), out=d[:, h : 2 * h])
            dh = dh * (1.0 - u) + d_reset_h * r + d[:, : 2 * h] @ wh_zr_t
        return dz, (dh,)

    def _wh_grad(self, hs: Array, cache: Any, dz_rows: Array) -> Array:
        _, reset_hs = cache
        rows, h = dz_rows.shape[0], hs.shape[2]
        xp = array_module(hs)
        dwh_gates = hs[:-1].reshape(rows, h).T @ dz_rows[:, : 2 * h]
        dwh_candidate = reset_hs.reshape(rows, h).T @ dz_rows[:, 2 * h :]
        dwh: Array = xp.concatenate([dwh_gates, dwh_candidate], axis=1)
        return dwh
