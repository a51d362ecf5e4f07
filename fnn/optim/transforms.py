"""Primitive gradient transformations: the pieces the named optimizers are chained from.

Each function returns a :class:`~fnn.optim.base.GradientTransformation`. Notation:
``g`` the incoming gradient (or the update of the previous transform in a chain),
``u`` the outgoing update, ``t = 1, 2, …`` the step number, ``θ`` the parameters.
Every rule is applied leaf by leaf; all arithmetic keeps the dtype of the leaves
(float32 params give float32 state and updates; a state leaf stays in its dtype even
if gradients of a wider dtype arrive), and step counts are Python ints.

=============================  ==================================================  ========================
transform                      rule                                                state
=============================  ==================================================  ========================
``scale(α)``                   ``u = α g``                                         :class:`EmptyState`
``scale_by_schedule(s)``       ``u = s(t − 1) g``                                  ``ScaleByScheduleState``
``scale_by_learning_rate(η)``  ``u = −η g`` (``η`` a float or a schedule)          empty or schedule state
``trace(β)``                   ``v ← β v + g``; ``u = v`` (Nesterov: ``g + β v``)  ``TraceState``
``scale_by_rss(ε)``            ``h ← h + g²``; ``u = g / (√h + ε)``                ``ScaleByRssState``
``scale_by_rms(ρ, ε)``         ``h ← ρ h + (1 − ρ) g²``; ``u = g / (√h + ε)``      ``ScaleByRmsState``
``scale_by_adam(β₁, β₂, ε)``   see :func:`scale_by_adam`                           ``ScaleByAdamState``
``add_decayed_weights(λ)``     ``u = g + λ θ``                                     :class:`EmptyState`
``clip(δ)``                    ``u = clip(g, −δ, δ)``                              :class:`EmptyState`
``clip_by_global_norm(c)``     ``u = g · min(1, c / ‖g‖)``                         :class:`EmptyState`
=============================  ==================================================  ========================
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, TypeVar, Union

import attrs
from typing_extensions import TypeAlias

from fnn import tree
from fnn.backend import accumulation_dtype, array_module
from fnn.errors import StructureError
from fnn.optim.base import (
    EmptyState,
    GradientTransformation,
    LeafMismatch,
    ScalarOrSchedule,
    Schedule,
    check_chain_state,
    check_number,
    check_state,
    mismatch_error,
    structure_error,
)
from fnn.optim.owned import scale_and_add_owned
from fnn.typing import Array, PyTree

G = TypeVar("G")
P = TypeVar("P")

__all__ = [
    "LearningRateState",
    "ScaleByAdamState",
    "ScaleByRmsState",
    "ScaleByRssState",
    "ScaleByScheduleState",
    "TraceState",
    "adam_with_learning_rate",
    "add_decayed_weights",
    "clip",
    "clip_by_global_norm",
    "scale",
    "scale_by_adam",
    "scale_by_learning_rate",
    "scale_by_rms",
    "scale_by_rss",
    "scale_by_schedule",
    "trace",
]

Mask = Union[PyTree, Callable[[PyTree], PyTree]]
"""A pytree of bools like the params, or a function of the params that returns one."""


def _check_unit(name: str, value: object) -> float:
    v = check_number(name, value, low=0.0, inclusive=True)
    if not v < 1:
        raise ValueError(f"`{name}` must be in [0, 1), got {value!r}")
    return v


def _zeros_like(p: Array) -> Array:
    """Zeros like ``p`` in its accumulation dtype: float32 moments for float16 params."""
    z: Array = array_module(p).zeros(p.shape, dtype=accumulation_dtype(p.dtype))
    return z


def _keep_dtype(new: Array, old: Array) -> Array:
    """``new`` in the dtype of the state leaf ``old`` it replaces (no copy when they agree).

    Gradients in another dtype than the params (float64 grads for float32 params) would
    otherwise promote the moments to float64 for good; the state stays in its own dtype.
    """
    result: Array = new.astype(old.dtype, copy=False)
    return result


def _widen(g: Array, like: Array) -> Array:
    """The gradient ``g`` in the dtype of the state leaf ``like`` (float16 → float32 before squaring)."""
    wide: Array = g.astype(like.dtype, copy=False)
    return wide


def _count(state_count: Any) -> int:
    # int() also accepts a 0-d array, as a count loaded by fnn.io.load without `like` is.
    return int(state_count)


_STATE_NAMES = ("optimizer state", "grads")
_STATE_FIX = (
    "the state was made by init(params) for params of other shapes: call init with this model's "
    "params, or pass grads of the model the state was made for"
)


def _map_state(owner: str, rule: Callable[..., Any], state_tree: Any, grads: Any, *more_state: Any) -> Any:
    """``tree.map(rule, state_tree, grads, *more_state)``; ``rule`` raises :class:`LeafMismatch` on a
    shape mismatch.

    Errors name ``owner`` and the leaf of ``grads`` that does not fit ``state_tree``; the rule's
    check is one shape comparison per leaf. ``more_state`` are further state trees made with
    ``state_tree`` (Adam's second moments along with its first).
    """
    try:
        return tree.map(rule, state_tree, grads, *more_state)
    except StructureError as error:
        raise structure_error(owner, error, _STATE_NAMES) from None
    except LeafMismatch:
        raise mismatch_error(owner, state_tree, grads, _STATE_NAMES, _STATE_FIX) from None
    except AttributeError:  # a subtree of the grads where the state has a leaf, or else a real bug
        if tree.structure(state_tree) == tree.structure(grads):
            raise
        raise mismatch_error(owner, state_tree, grads, _STATE_NAMES, _STATE_FIX) from None


def scale(step_size: float) -> GradientTransformation[EmptyState]:
    """Multiply by a constant: ``u = α g``.

    Args:
        step_size: ``α``, any finite number (negative to descend).

    Raises:
        ValueError: ``step_size`` is not finite.

    >>> import numpy as np
    >>> scale(-0.5).update(np.array([2.0]), EmptyState())[0]
    array([-1.])
    """
    if isinstance(step_size, bool) or not isinstance(step_size, numbers.Real) or not math.isfinite(step_size):
        raise ValueError(f"`step_size` must be a finite number, got {step_size!r}")
    alpha = float(step_size)

    def init(params: PyTree) -> EmptyState:
        return EmptyState()

    def update(grads: G, state: EmptyState, params: PyTree = None) -> tuple[G, EmptyState]:
        check_state("scale", state, EmptyState)
        return tree.map(lambda g: g * alpha, grads), state

    def step_owned(grads: PyTree, state: EmptyState, params: P) -> tuple[P, EmptyState]:
        check_state("scale", state, EmptyState)
        return scale_and_add_owned(params, grads, alpha), state

    return GradientTransformation(init, update, step_owned)


@attrs.frozen
class ScaleByScheduleState:
    """State of :func:`scale_by_schedule`: ``count``, the number of updates made so far."""

    count: int


def scale_by_schedule(schedule: Schedule) -> GradientTransformation[ScaleByScheduleState]:
    """Multiply by a value that follows the step count: ``u = s(t − 1) g`` at step ``t``.

    The first update uses ``s(0)``; the count is kept in :class:`ScaleByScheduleState`.

    Args:
        schedule: A function of the count (see :mod:`fnn.optim.schedules`).

    Raises:
        ValueError: (at update) the schedule gives a value that is not finite.

    >>> import numpy as np
    >>> t = scale_by_schedule(lambda count: 1.0 / (count + 1))
    >>> s = t.init(None)
    >>> u, s = t.update(np.array([6.0]), s)
    >>> u, s = t.update(np.array([6.0]), s)
    >>> u, s
    (array([3.]), ScaleByScheduleState(count=2))
    """
    if not callable(schedule):
        raise TypeError(f"`schedule` must be callable as schedule(count), got {schedule!r}")

    def init(params: PyTree) -> ScaleByScheduleState:
        return ScaleByScheduleState(0)

    def update(
        grads: G, state: ScaleByScheduleState, params: PyTree = None
    ) -> tuple[G, ScaleByScheduleState]:
        alpha, new_state = _schedule_factor(schedule, state)
        return tree.map(lambda g: g * alpha, grads), new_state

    def step_owned(grads: PyTree, state: ScaleByScheduleState, params: P) -> tuple[P, ScaleByScheduleState]:
        alpha, new_state = _schedule_factor(schedule, state)
        return scale_and_add_owned(params, grads, alpha), new_state

    return GradientTransformation(init, update, step_owned)


def _schedule_factor(schedule: Schedule, state: ScaleByScheduleState) -> tuple[float, ScaleByScheduleState]:
    """``(s(t − 1), state with the count advanced)``: the factor of :func:`scale_by_schedule` at this step."""
    check_state("scale_by_schedule", state, ScaleByScheduleState)
    count = _count(state.count)
    alpha = float(schedule(count))
    if not math.isfinite(alpha):
        raise ValueError(f"the schedule gave {alpha} at step count {count}")
    return alpha, ScaleByScheduleState(count + 1)


LearningRateState: TypeAlias = Union[EmptyState, "ScaleByScheduleState"]
"""The state of :func:`scale_by_learning_rate`: empty for a float, the count for a schedule."""


def scale_by_learning_rate(learning_rate: ScalarOrSchedule) -> GradientTransformation[LearningRateState]:
    """Descend: ``u = −η g``, with ``η`` a positive float or a schedule ``η(count)``.

    A float needs no state; a schedule keeps the count (:class:`ScaleByScheduleState`).

    Args:
        learning_rate: ``η > 0``, or a schedule whose values must be ``>= 0``.

    Raises:
        ValueError: ``η`` is not a positive finite number (at update: a schedule
            value is negative or not finite).

    >>> import numpy as np
    >>> scale_by_learning_rate(0.1).update(np.array([2.0]), EmptyState())[0]
    array([-0.2])
    """
    if callable(learning_rate):
        return scale_by_schedule(_descent(learning_rate))
    return scale(-check_number("learning_rate", learning_rate, low=0.0))


def _descent(schedule: Schedule) -> Schedule:
    """The schedule ``−η(count)``, refusing learning rates that are negative or not finite."""

    def negated(count: int) -> float:
        eta = float(schedule(count))
        if not (math.isfinite(eta) and eta >= 0):
            raise ValueError(
                f"the learning-rate schedule gave {eta} at step count {count}; "
                "learning rates must be finite and >= 0"
            )
        return -eta

    return negated


def _learning_rate_factor(
    learning_rate: ScalarOrSchedule,
) -> tuple[Callable[[PyTree], LearningRateState], Callable[[Any], tuple[float, LearningRateState]]]:
    """``(init, factor)`` of :func:`scale_by_learning_rate` as a scalar: ``factor(state) -> (−η, new_state)``.

    The state is the one :func:`scale_by_learning_rate` keeps (empty, or the count of a schedule),
    so a transform that folds the learning rate into its own arithmetic keeps the state of the
    chain it replaces.
    """
    if callable(learning_rate):
        negated = _descent(learning_rate)

        def schedule_factor(state: Any) -> tuple[float, LearningRateState]:
            return _schedule_factor(negated, state)

        return (lambda params: ScaleByScheduleState(0)), schedule_factor
    alpha = -check_number("learning_rate", learning_rate, low=0.0)

    def constant_factor(state: Any) -> tuple[float, LearningRateState]:
        check_state("scale", state, EmptyState)
        return alpha, state

    return (lambda params: EmptyState()), constant_factor


@attrs.frozen(eq=False)
class TraceState:
    """State of :func:`trace`: ``trace``, the velocity ``v`` (like the params)."""

    trace: PyTree


def trace(decay: float, nesterov: bool = False) -> GradientTransformation[TraceState]:
    """Momentum: an exponentially decaying sum of past gradients.

    ``v ← β v + g``; ``u = v``, or with Nesterov's look-ahead ``u = g + β v`` (the new ``v``).
    ``v`` starts at zero. Followed by ``−η`` this is the book's momentum
    ``v ← α v − η g; θ ← θ + v`` (with ``v_book = −η v``) for a constant ``η``.

    Args:
        decay: ``β`` in ``[0, 1)``.
        nesterov: Whether to use Nesterov's accelerated form.

    Raises:
        ValueError: ``decay`` is outside ``[0, 1)``.

    >>> import numpy as np
    >>> t = trace(0.5)
    >>> s = t.init(np.zeros(1))
    >>> u, s = t.update(np.array([2.0]), s)
    >>> t.update(np.array([2.0]), s)[0]
    array([3.])
    """
    beta = _check_unit("decay", decay)

    def init(params: PyTree) -> TraceState:
        return TraceState(tree.map(_zeros_like, params))

    def velocity(v: Array, g: Array) -> Array:
        if v.shape != g.shape:
            raise LeafMismatch
        return _keep_dtype(v * beta + g, v)

    def update(grads: G, state: TraceState, params: PyTree = None) -> tuple[G, TraceState]:
        check_state("trace", state, TraceState)
        v = _map_state("trace", velocity, state.trace, grads)
        u = tree.map(lambda g, v: g + v * beta, grads, v) if nesterov else v
        return u, TraceState(v)

    return GradientTransformation(init, update)


@attrs.frozen(eq=False)
class ScaleByRssState:
    """State of :func:`scale_by_rss`: ``sum_of_squares``, ``h = Σ g²`` (like the params)."""

    sum_of_squares: PyTree


def scale_by_rss(
    eps: float = 1e-7, initial_accumulator_value: float = 0.0
) -> GradientTransformation[ScaleByRssState]:
    """AdaGrad's scaling by the root of the sum of squared gradients.

    ``h ← h + g²``; ``u = g / (√h + ε)`` (``h`` starts at ``initial_accumulator_value``;
    the book starts at 0 with ``ε = 1e-7``).

    Args:
        eps: ``ε > 0``, keeps the division finite.
        initial_accumulator_value: The starting ``h`` (``>= 0``).

    Raises:
        ValueError: ``eps`` is not positive or the initial value is negative.

    >>> import numpy as np
    >>> t = scale_by_rss(eps=1e-12)
    >>> t.update(np.array([3.0]), t.init(np.zeros(1)))[0].round(6)
    array([1.])
    """
    epsilon = check_number("eps", eps, low=0.0)
    h0 = check_number("initial_accumulator_value", initial_accumulator_value, low=0.0, inclusive=True)

    def init(params: PyTree) -> ScaleByRssState:
        return ScaleByRssState(tree.map(lambda p: _zeros_like(p) + h0, params))

    def accumulate(h: Array, g: Array) -> Array:
        if h.shape != g.shape:
            raise LeafMismatch
        return _keep_dtype(h + _widen(g, h) ** 2, h)

    def update(grads: G, state: ScaleByRssState, params: PyTree = None) -> tuple[G, ScaleByRssState]:
        check_state("scale_by_rss", state, ScaleByRssState)
        h = _map_state("scale_by_rss", accumulate, state.sum_of_squares, grads)
        u = tree.map(lambda g, h: _widen(g, h) / (array_module(h).sqrt(h) + epsilon), grads, h)
        return u, ScaleByRssState(h)

    return GradientTransformation(init, update)


@attrs.frozen(eq=False)
class ScaleByRmsState:
    """State of :func:`scale_by_rms`: ``nu``, the running mean of ``g²`` (like the params)."""

    nu: PyTree


def scale_by_rms(decay: float = 0.99, eps: float = 1e-7) -> GradientTransformation[ScaleByRmsState]:
    """RMSprop's scaling by the root of a running mean of squared gradients.

    ``h ← ρ h + (1 − ρ) g²``; ``u = g / (√h + ε)`` with ``h`` starting at zero
    (the book's ``RMSprop``: ``ρ = 0.99``, ``ε = 1e-7``).

    Args:
        decay: ``ρ`` in ``[0, 1)``.
        eps: ``ε > 0``.

    Raises:
        ValueError: ``decay`` outside ``[0, 1)`` or ``eps`` not positive.

    >>> import numpy as np
    >>> t = scale_by_rms(decay=0.75, eps=1e-12)
    >>> t.update(np.array([3.0]), t.init(np.zeros(1)))[0].round(6)
    array([2.])
    """
    rho = _check_unit("decay", decay)
    epsilon = check_number("eps", eps, low=0.0)

    def init(params: PyTree) -> ScaleByRmsState:
        return ScaleByRmsState(tree.map(_zeros_like, params))

    def average(h: Array, g: Array) -> Array:
        if h.shape != g.shape:
            raise LeafMismatch
        return _keep_dtype(h * rho + _widen(g, h) ** 2 * (1 - rho), h)

    def update(grads: G, state: ScaleByRmsState, params: PyTree = None) -> tuple[G, ScaleByRmsState]:
        check_state("scale_by_rms", state, ScaleByRmsState)
        h = _map_state("scale_by_rms", average, state.nu, grads)
        u = tree.map(lambda g, h: _widen(g, h) / (array_module(h).sqrt(h) + epsilon), grads, h)
        return u, ScaleByRmsState(h)

    return GradientTransformation(init, update)


@attrs.frozen(eq=False)
class ScaleByAdamState:
    """State of :func:`scale_by_adam`.

    Attributes:
        count: ``t``, the number of updates made so far (a Python int).
        mu: The first moment ``m`` (like the params).
        nu: The second moment ``v`` (like the params).
    """

    count: int
    mu: PyTree
    nu: PyTree


def scale_by_adam(
    b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> GradientTransformation[ScaleByAdamState]:
    """Adam's scaling by bias-corrected moment estimates (Kingma & Ba, 2015).

    At step ``t = 1, 2, …``, with ``m`` and ``v`` starting at zero::

        m ← β₁ m + (1 − β₁) g
        v ← β₂ v + (1 − β₂) g²
        m̂ = m / (1 − β₁ᵗ),   v̂ = v / (1 − β₂ᵗ)
        u = m̂ / (√v̂ + ε)

    Computed as ``u = m / (c √v + c₁ ε)`` with ``c = c₁ / √c₂``, ``cₖ = 1 − βₖᵗ`` (the
    bias corrections folded into two scalars), each new array (``m``, ``v``, ``u``)
    allocated once and built in place: the leaves are often megabytes, so the number of
    passes over memory and of fresh arrays is most of the cost.

    Args:
        b1: ``β₁`` in ``[0, 1)``.
        b2: ``β₂`` in ``[0, 1)``.
        eps: ``ε > 0``.

    Raises:
        ValueError: a rate outside ``[0, 1)`` or ``eps`` not positive.

    >>> import numpy as np
    >>> t = scale_by_adam()
    >>> u, s = t.update(np.array([0.5, -2.0]), t.init(np.zeros(2)))
    >>> u.round(6), s.count
    (array([ 1., -1.]), 1)
    """
    rule = _AdamRule(_check_unit("b1", b1), _check_unit("b2", b2), check_number("eps", eps, low=0.0))

    def update(grads: G, state: ScaleByAdamState, params: PyTree = None) -> tuple[G, ScaleByAdamState]:
        return rule.update(grads, state, 1.0)

    return GradientTransformation(rule.init, update)


def adam_with_learning_rate(
    b1: float, b2: float, eps: float, learning_rate: ScalarOrSchedule
) -> GradientTransformation[tuple[ScaleByAdamState, LearningRateState]]:
    """``chain(scale_by_adam(b1, b2, eps), scale_by_learning_rate(learning_rate))``, fused.

    The same rule and the same state as the chain (a :class:`ScaleByAdamState`, then the
    learning rate's), with ``−η`` folded into Adam's arithmetic: ``u = −η m̂ / (√v̂ + ε)``
    comes out of the rule's last operation, so no second array of updates is made and no
    pass multiplies by ``−η`` (see :func:`scale_by_adam`). Results equal the chain's to
    float rounding. :func:`fnn.optim.adam` is this transform.

    Args:
        b1: ``β₁`` in ``[0, 1)``.
        b2: ``β₂`` in ``[0, 1)``.
        eps: ``ε > 0``.
        learning_rate: ``η > 0`` or a schedule.

    Raises:
        ValueError: an argument out of its range.
        StateError: (at update) the state is not a tuple of Adam's and the learning rate's.

    >>> import numpy as np
    >>> t = adam_with_learning_rate(0.9, 0.999, 1e-8, 0.1)
    >>> t.update(np.array([0.5, -2.0]), t.init(np.zeros(2)))[0].round(6)
    array([-0.1,  0.1])
    """
    rule = _AdamRule(_check_unit("b1", b1), _check_unit("b2", b2), check_number("eps", eps, low=0.0))
    lr_init, lr_factor = _learning_rate_factor(learning_rate)

    def init(params: PyTree) -> tuple[ScaleByAdamState, LearningRateState]:
        return rule.init(params), lr_init(params)

    def update(
        grads: G, state: tuple[ScaleByAdamState, LearningRateState], params: PyTree = None
    ) -> tuple[G, tuple[ScaleByAdamState, LearningRateState]]:
        check_chain_state(2, state)
        check_state("scale_by_adam", state[0], ScaleByAdamState)
        step_size, lr_state = lr_factor(state[1])
        updates, adam_state = rule.update(grads, state[0], step_size)
        return updates, (adam_state, lr_state)

    return GradientTransformation(init, update)


_MAX_FOLDED_SCALE = 1e10
"""The largest ``c₁ / (|α| √c₂)`` Adam folds into ``√v``: below it, ``√v`` up to about 3e28
(float32) cannot overflow; above it (learning rates under about 1e-10) ``α`` is applied in a
separate pass."""


class _AdamLeaf:
    """One leaf's new first and second moments and its update (not a pytree node: a leaf of one)."""

    __slots__ = ("mu", "nu", "update")

    def __init__(self, mu: Array, nu: Array, update: Array) -> None:
        self.mu, self.nu, self.update = mu, nu, update


@attrs.frozen
class _AdamRule:
    """Adam's arithmetic, shared by :func:`scale_by_adam` and :func:`adam_with_learning_rate`."""

    beta1: float
    beta2: float
    eps: float

    def init(self, params: PyTree) -> ScaleByAdamState:
        return ScaleByAdamState(0, tree.map(_zeros_like, params), tree.map(_zeros_like, params))

    def update(self, grads: G, state: ScaleByAdamState, step_size: float) -> tuple[G, ScaleByAdamState]:
        """``(α m̂ / (√v̂ + ε), new state)`` for every leaf, ``α = step_size``."""
        check_state("scale_by_adam", state, ScaleByAdamState)
        count = _count(state.count) + 1
        c1, c2 = 1 - self.beta1**count, 1 - self.beta2**count
        # α m̂ / (√v̂ + ε) = m / d with d = (c₁ / (α √c₂)) √v + c₁ ε / α: the update is made
        # in place from √v in three passes. When folding α in would make the scale huge (a
        # tiny or zero α: c₁ / (α √c₂) times √v could overflow to inf, and inf · 0 is NaN),
        # the rule takes α = 1 and multiplies by α afterwards, one more pass (NaN stays NaN).
        late = step_size == 0 or c1 / (abs(step_size) * math.sqrt(c2)) > _MAX_FOLDED_SCALE
        alpha = 1.0 if late else step_size
        scale, shift = c1 / (alpha * math.sqrt(c2)), c1 * self.eps / alpha
        beta1, beta2 = self.beta1, self.beta2

        def leaf(m: Array, g: Array, v: Array) -> _AdamLeaf:
            if m.shape != g.shape:
                raise LeafMismatch
            xp = array_module(m)
            g = _widen(g, m)  # float16 grads of float32 moments are squared in float32
            # Each new array is allocated once and built in place; u serves as the scratch.
            u: Array = xp.multiply(g, 1 - beta1, out=xp.empty_like(m))
            mu: Array = xp.multiply(m, beta1, out=xp.empty_like(m))
            mu += u  # β₁ m + (1 − β₁) g
            xp.multiply(g, g, out=u)
            u *= 1 - beta2
            nu: Array = xp.multiply(v, beta2, out=xp.empty_like(v))
            nu += u  # β₂ v + (1 − β₂) g²
            xp.sqrt(nu, out=u)
            u *= scale
            u += shift
            xp.divide(mu, u, out=u)
            if late:
                u *= step_size
            return _AdamLeaf(mu, nu, u)

        new = _map_state("scale_by_adam", leaf, state.mu, grads, state.nu)
        mu = tree.map(lambda r: r.mu, new)
        nu = tree.map(lambda r: r.nu, new)
        return tree.map(lambda r: r.update, new), ScaleByAdamState(count, mu, nu)


def add_decayed_weights(weight_decay: float, mask: Mask | None = None) -> GradientTransformation[EmptyState]:
    """Weight decay: add ``λ θ`` to the gradient, ``u = g + λ θ``.

    Placed before the learning rate (``chain(add_decayed_weights(λ), sgd(η))``) it is
    L2 regularisation of the loss ``L + (λ/2)‖θ‖²``; placed after Adam's scaling it
    is AdamW's decoupled decay (see :func:`fnn.optim.adamw`).

    Args:
        weight_decay: ``λ >= 0``.
        mask: Which leaves decay: a pytree of bools like the params, or a function
            of the params returning one (``None``: all leaves). For example
            ``lambda p: fnn.tree.map(lambda w: w.ndim > 1, p)`` spares the biases.

    Raises:
        ValueError: ``weight_decay`` is negative, or (at update) ``params`` was not given.

    >>> import numpy as np
    >>> t = add_decayed_weights(0.1)
    >>> t.update(np.array([1.0]), t.init(None), np.array([2.0]))[0]
    array([1.2])
    """
    lam = check_number("weight_decay", weight_decay, low=0.0, inclusive=True)

    def init(params: PyTree) -> EmptyState:
        return EmptyState()

    def decay(p: Array, g: Array) -> Array:
        if p.shape != g.shape:
            raise LeafMismatch
        decayed: Array = g + p * lam
        return decayed

    def update(grads: G, state: EmptyState, params: PyTree = None) -> tuple[G, EmptyState]:
        check_state("add_decayed_weights", state, EmptyState)
        if params is None:
            raise ValueError(
                "add_decayed_weights needs the params: call optimizer.update(grads, state, params)"
            )
        try:
            if mask is None:
                return tree.map(decay, params, grads), state
            m = mask(params) if callable(mask) else mask
            return tree.map(lambda p, g, keep: decay(p, g) if keep else g, params, grads, m), state
        except StructureError as error:
            raise structure_error("add_decayed_weights", error, ("params", "grads")) from None
        except LeafMismatch:
            raise mismatch_error(
                "add_decayed_weights", params, grads, ("params", "grads"), "pass the grads of these params"
            ) from None

    return GradientTransformation(init, update)


def clip(max_delta: float) -> GradientTransformation[EmptyState]:
    """Clip every element: ``u = clip(g, −δ, δ)``.

    Args:
        max_delta: ``δ > 0``.

    Raises:
        ValueError: ``max_delta`` is not positive.

    >>> import numpy as np
    >>> clip(1.0).update(np.array([-3.0, 0.5, 2.0]), EmptyState())[0]
    array([-1. ,  0.5,  1. ])
    """
    delta = check_number("max_delta", max_delta, low=0.0)

    def init(params: PyTree) -> EmptyState:
        return EmptyState()

    def update(grads: G, state: EmptyState, params: PyTree = None) -> tuple[G, EmptyState]:
        check_state("clip", state, EmptyState)
        return tree.map(lambda g: array_module(g).clip(g, -delta, delta), grads), state

    return GradientTransformation(init, update)


def _squared_sum(g: Array) -> Array:
    """``Σ g²`` in the accumulation dtype: float16 squares overflow above 256."""
    wide = g.astype(accumulation_dtype(g.dtype), copy=False)
    total: Array = (wide * wide).sum()
    return total


def clip_by_global_norm(max_norm: float) -> GradientTransformation[EmptyState]:
    """Rescale all gradients together so that their global norm is at most ``c``.

    ``‖g‖ = √(Σ_leaves Σ g²)``; ``u = g · c / max(‖g‖, c)``, i.e. unchanged when
    ``‖g‖ ≤ c`` and ``g · c / ‖g‖`` otherwise. Computed on the device (no host sync).

    Args:
        max_norm: ``c > 0``.

    Raises:
        ValueError: ``max_norm`` is not positive.

    >>> import numpy as np
    >>> clip_by_global_norm(1.0).update([np.array([3.0]), np.array([4.0])], EmptyState())[0]
    [array([0.6]), array([0.8])]
    """
    c = check_number("max_norm", max_norm, low=0.0)

    def init(params: PyTree) -> EmptyState:
        return EmptyState()

    def update(grads: G, state: EmptyState, params: PyTree = None) -> tuple[G, EmptyState]:
        check_state("clip_by_global_norm", state, EmptyState)
        leaves = tree.leaves(grads)
        if not leaves:
            return grads, state
        xp = array_module(leaves[0])
        norm = xp.sqrt(sum(_squared_sum(g) for g in leaves))
        factor = c / xp.maximum(norm, c)
        return tree.map(lambda g: (g * factor).astype(g.dtype, copy=False), grads), state

    return GradientTransformation(init, update)
