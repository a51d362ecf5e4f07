"""Reduce the step size when a monitored metric stops improving, and how a training loop feeds it.

:func:`reduce_on_plateau` is a transform that multiplies every update by a scale
``s`` held in its state (``s = 1`` at first). The scale changes only in
:func:`observe`, a pure function a loop calls after each evaluation with the
monitored value (validation loss, perplexity, accuracy)::

    opt = optim.chain(optim.sgd(20.0), optim.reduce_on_plateau(factor=0.25, patience=0))
    opt_state = opt.init(params)
    for epoch in range(epochs):
        for x, t in batches:
            loss, grads = value_and_grad(params, x, t)
            updates, opt_state = opt.update(grads, opt_state, params)
            params = optim.apply_updates(params, updates)
        opt_state = optim.observe(opt_state, evaluate(params, x_val, t_val).loss)

**Why a separate** ``observe`` **and not an extra argument of** ``update``. The
metric arrives once per evaluation, the gradients once per step: an ``update(...,
value=)`` argument would be absent on almost every call, every transform and every
``chain`` would have to pass it on, and a loop would need to know which call is the
one after an evaluation. ``observe(opt_state, value) -> opt_state`` instead finds the
plateau states wherever the optimizer nests them (in a chain, inside
:func:`~fnn.optim.inject_hyperparams`, :func:`~fnn.optim.accumulate_gradients` or
:func:`~fnn.optim.masked`), so the loop needs no knowledge of the optimizer's
layout, and the step's hot path stays one multiplication (none while ``s = 1``).
The rule's settings live in the state too, so a saved state resumes exactly.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Literal, TypeVar

import attrs

from fnn import tree
from fnn.errors import StateError
from fnn.optim.base import GradientTransformation, check_number, check_state
from fnn.optim.states import replace_states
from fnn.typing import PyTree

__all__ = ["PlateauRule", "ReduceOnPlateauState", "observe", "reduce_on_plateau"]

G = TypeVar("G")
T = TypeVar("T")


@attrs.frozen
class PlateauRule:
    """The settings of :func:`reduce_on_plateau` (see there), kept in its state."""

    factor: float
    patience: int
    threshold: float
    cooldown: int
    min_scale: float
    maximize: bool


@attrs.frozen
class ReduceOnPlateauState:
    """State of :func:`reduce_on_plateau`; Python numbers only, so it saves with :func:`fnn.io.save`.

    Attributes:
        scale: ``s``, the factor applied to the updates (``1.0`` at first).
        best: The best monitored value so far (``inf`` in min mode, ``-inf`` in max mode at first).
        bad_count: Evaluations without improvement since the last improvement or reduction.
        cooldown_left: Evaluations left in the cooldown after a reduction.
        rule: The settings.
    """

    scale: float
    best: float
    bad_count: int
    cooldown_left: int
    rule: PlateauRule


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 0:
        raise ValueError(f"`{name}` must be an integer >= 0, got {value!r}")
    return int(value)


def reduce_on_plateau(
    factor: float = 0.1,
    patience: int = 10,
    *,
    mode: Literal["min", "max"] = "min",
    threshold: float = 0.0,
    cooldown: int = 0,
    min_scale: float = 0.0,
) -> GradientTransformation[ReduceOnPlateauState]:
    """Multiply updates by a scale that drops by ``factor`` when the monitored value plateaus.

    ``u = s g``. Each :func:`observe` with a value ``v`` (mode ``min``; ``max`` mirrors it):

    1. ``v`` improves when ``v < best − threshold · |best|``; then ``best ← v`` and
       ``bad_count ← 0``, else ``bad_count ← bad_count + 1``;
    2. during a cooldown (``cooldown_left > 0``) ``cooldown_left`` counts down and
       ``bad_count ← 0``;
    3. when ``bad_count > patience``: ``s ← max(s · factor, min_scale)``,
       ``cooldown_left ← cooldown``, ``bad_count ← 0``.

    So ``patience = 0`` reduces at every evaluation that does not improve. The second
    book's improved language model (``BetterRnnlm``) divides its learning rate by 4
    whenever the validation perplexity is not below its best:
    ``chain(sgd(20.0), reduce_on_plateau(factor=0.25, patience=0))``.

    Put it after the learning rate in a chain (it then scales the learning rate of
    any optimizer, Adam's included).

    Args:
        factor: The reduction factor, in ``(0, 1)``.
        patience: Evaluations without improvement tolerated before a reduction (``>= 0``).
        mode: ``"min"`` for a loss or perplexity, ``"max"`` for an accuracy.
        threshold: The relative improvement needed to count, ``>= 0``.
        cooldown: Evaluations after a reduction during which no bad evaluation counts (``>= 0``).
        min_scale: The lowest scale, in ``[0, 1]``.

    Returns:
        The transform; its state is a :class:`ReduceOnPlateauState`.

    Raises:
        ValueError: an argument is out of its range or ``mode`` is neither ``"min"`` nor ``"max"``.

    >>> import numpy as np
    >>> from fnn import optim
    >>> opt = optim.chain(optim.sgd(1.0), reduce_on_plateau(factor=0.5, patience=0))
    >>> state = opt.init(np.zeros(1))
    >>> for perplexity in (100.0, 90.0, 95.0):
    ...     state = optim.observe(state, perplexity)
    >>> opt.update(np.array([1.0]), state)[0]
    array([-0.5])
    """
    f = check_number("factor", factor, low=0.0)
    if not f < 1:
        raise ValueError(f"`factor` must be in (0, 1), got {factor!r}")
    if mode not in ("min", "max"):
        raise ValueError(f"`mode` must be 'min' or 'max', got {mode!r}")
    low = check_number("min_scale", min_scale, low=0.0, inclusive=True)
    if low > 1:
        raise ValueError(f"`min_scale` must be in [0, 1], got {min_scale!r}")
    rule = PlateauRule(
        factor=f,
        patience=_count("patience", patience),
        threshold=check_number("threshold", threshold, low=0.0, inclusive=True),
        cooldown=_count("cooldown", cooldown),
        min_scale=low,
        maximize=mode == "max",
    )

    def init(params: PyTree) -> ReduceOnPlateauState:
        return ReduceOnPlateauState(1.0, -math.inf if rule.maximize else math.inf, 0, 0, rule)

    def update(
        grads: G, state: ReduceOnPlateauState, params: PyTree = None
    ) -> tuple[G, ReduceOnPlateauState]:
        check_state("reduce_on_plateau", state, ReduceOnPlateauState)
        s = state.scale
        if s == 1.0:
            return grads, state
        return tree.map(lambda g: g * s, grads), state

    return GradientTransformation(init, update)


def _metric(value: object) -> float:
    shape = getattr(value, "shape", ())
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    number = isinstance(value, numbers.Real) if kind is None else kind in "iuf"
    if isinstance(value, bool) or shape != () or not number:
        described = f"an array of shape {shape}" if shape != () else repr(value)
        raise TypeError(f"observe: `value` must be one real number (the monitored metric), got {described}")
    v = float(value)  # type: ignore[arg-type]  # a number or a 0-d array
    if math.isnan(v):
        raise ValueError(
            "observe: `value` is nan; the monitored metric must be a number (did training diverge?)"
        )
    return v


def _improved(state: ReduceOnPlateauState, v: float) -> bool:
    rule, best = state.rule, state.best
    margin = rule.threshold * abs(best) if math.isfinite(best) else 0.0
    return v > best + margin if rule.maximize else v < best - margin


def _observe_one(state: ReduceOnPlateauState, v: float) -> ReduceOnPlateauState:
    rule = state.rule
    best, bad_count = (v, 0) if _improved(state, v) else (state.best, state.bad_count + 1)
    cooldown_left, scale = state.cooldown_left, state.scale
    if cooldown_left > 0:
        cooldown_left, bad_count = cooldown_left - 1, 0
    if bad_count > rule.patience:
        scale = max(scale * rule.factor, rule.min_scale)
        cooldown_left, bad_count = rule.cooldown, 0
    return ReduceOnPlateauState(scale, best, bad_count, cooldown_left, rule)


def observe(opt_state: T, value: Any) -> T:
    """The optimizer state after an evaluation that measured ``value`` (pure: ``opt_state`` is unchanged).

    Applies the rule of :func:`reduce_on_plateau` to every :class:`ReduceOnPlateauState`
    inside ``opt_state``, wherever the optimizer nests it. Call it once per
    evaluation; it walks the state, so it is not meant for every step.

    Args:
        opt_state: The state of an optimizer that contains a :func:`reduce_on_plateau`.
        value: The monitored metric: a Python number or a 0-d array (``inf`` counts as
            no improvement).

    Returns:
        The new state, of the type of ``opt_state``.

    Raises:
        TypeError: ``value`` is not one real number.
        ValueError: ``value`` is NaN.
        StateError: ``opt_state`` holds no :class:`ReduceOnPlateauState`.

    >>> from fnn import optim
    >>> state = reduce_on_plateau(factor=0.5, patience=1).init(None)
    >>> for loss in (1.0, 1.5, 1.2):
    ...     state = observe(state, loss)
    >>> state.scale, state.best
    (0.5, 1.0)
    """
    v = _metric(value)
    new_state, found = replace_states(opt_state, ReduceOnPlateauState, lambda s: _observe_one(s, v))
    if not found:
        raise StateError(
            "observe: the optimizer state holds no ReduceOnPlateauState; chain "
            "fnn.optim.reduce_on_plateau(...) into the optimizer to act on the monitored value"
        )
    return new_state
