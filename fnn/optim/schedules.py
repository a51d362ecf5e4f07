"""Learning-rate schedules: functions of the step count ``t = 0, 1, 2, …`` (0 for the first update).

A schedule is any callable ``count -> float``; pass one wherever a learning rate
is taken and the optimizer keeps the count in its state. The ones here check
their arguments when built and compose with :func:`join`:

=====================================  ===================================================
schedule                               value at count ``t``
=====================================  ===================================================
``constant(v)``                        ``v``
``step_decay(v, k, r)``                ``v · r^⌊t / k⌋``
``exponential_decay(v, r, k)``         ``v · r^(t / k)`` (``⌊t / k⌋`` with ``staircase``)
``cosine_decay(v, T, α)``              ``v · ((1 − α) · ½(1 + cos(π min(t, T) / T)) + α)``
``linear(v₀, v₁, T)``                  ``v₀ + (v₁ − v₀) · min(t, T) / T``
``linear_warmup(v, T, v₀)``            ``linear(v₀, v, T)``: ramps up, then stays at ``v``
``join([s₀, s₁, …], [b₁, …])``          ``s₀(t)`` for ``t < b₁``, then ``s₁(t − b₁)``, …
``warmup_cosine_decay(v, W, T, v₁)``   ``join([linear_warmup(v, W), cosine_decay(v, T − W, v₁/v)], [W])``
=====================================  ===================================================

>>> s = warmup_cosine_decay(peak_value=1.0, warmup_steps=2, decay_steps=4)
>>> [round(s(t), 3) for t in range(6)]
[0.0, 0.5, 1.0, 0.5, 0.0, 0.0]
"""

from __future__ import annotations

import bisect
import math
import numbers
import operator
from typing import Any, Sequence

from fnn.optim.base import Schedule, check_number

__all__ = [
    "constant",
    "cosine_decay",
    "exponential_decay",
    "join",
    "linear",
    "linear_warmup",
    "step_decay",
    "warmup_cosine_decay",
]


def _step_count(owner: str, count: Any) -> int:
    """``count`` as an int, if it is a whole number ``>= 0`` (an int, a NumPy integer, a float like ``3.0``).

    Raises:
        ValueError: ``count`` is negative, fractional, not finite or not a number.
    """
    if not isinstance(count, bool):
        try:
            t = operator.index(count)  # int, NumPy integers of any width, 0-d integer arrays
        except TypeError:
            is_whole = isinstance(count, numbers.Real) and float(count).is_integer()
            t = int(count) if is_whole else -1
        if t >= 0:
            return t
    raise ValueError(f"{owner}: the step count must be a whole number >= 0, got {count!r}")


def _steps(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}")
    return int(value)


def constant(value: float) -> Schedule:
    """``η(t) = v`` for every ``t``.

    Args:
        value: ``v >= 0``.

    Raises:
        ValueError: ``value`` is negative or not finite.

    >>> constant(0.1)(1000)
    0.1
    """
    v = check_number("value", value, low=0.0, inclusive=True)

    def schedule(count: int) -> float:
        _step_count("constant", count)
        return v

    return schedule


def step_decay(init_value: float, step_size: int, rate: float = 0.1) -> Schedule:
    """Drop by the factor ``r`` every ``k`` steps: ``η(t) = v · r^⌊t / k⌋``.

    Args:
        init_value: ``v >= 0``.
        step_size: ``k``, the steps between drops (a positive integer).
        rate: ``r`` in ``(0, 1]``.

    Raises:
        ValueError: an argument out of its range.

    >>> s = step_decay(1.0, step_size=10, rate=0.5)
    >>> s(0), s(9), s(10), s(25)
    (1.0, 1.0, 0.5, 0.25)
    """
    v = check_number("init_value", init_value, low=0.0, inclusive=True)
    k = _steps("step_size", step_size)
    r = check_number("rate", rate, low=0.0)
    if r > 1:
        raise ValueError(f"`rate` must be in (0, 1], got {rate!r}")

    def schedule(count: int) -> float:
        return v * r ** (_step_count("step_decay", count) // k)

    return schedule


def exponential_decay(
    init_value: float, decay_rate: float, transition_steps: int = 1, *, staircase: bool = False
) -> Schedule:
    """Decay smoothly by ``r`` every ``k`` steps: ``η(t) = v · r^(t / k)``.

    With ``staircase=True`` the exponent is ``⌊t / k⌋`` (the same as :func:`step_decay`).
    A decay reaches 0.0 when ``v · r^(t / k)`` falls below the smallest float; a
    growth (``r > 1``) that passes the largest float (about ``1.8e308``) is an error.

    Args:
        init_value: ``v >= 0``.
        decay_rate: ``r > 0`` (``r < 1`` decays, ``r > 1`` grows).
        transition_steps: ``k``, a positive integer.
        staircase: Whether to decay in steps.

    Raises:
        ValueError: an argument out of its range (at a step count: the count is not a
            whole number ``>= 0``, or a growing value passes the largest float).

    >>> s = exponential_decay(1.0, decay_rate=0.5, transition_steps=2)
    >>> s(0), s(1), s(2)
    (1.0, 0.7071067811865476, 0.5)
    """
    v = check_number("init_value", init_value, low=0.0, inclusive=True)
    r = check_number("decay_rate", decay_rate, low=0.0)
    k = _steps("transition_steps", transition_steps)

    def schedule(count: int) -> float:
        t = _step_count("exponential_decay", count)
        if v == 0:
            return 0.0
        try:
            value = v * r ** (t // k if staircase else t / k)
        except OverflowError:  # r > 1: Python's float power raises where a product would give inf
            value = math.inf
        if value == math.inf:
            raise ValueError(
                f"exponential_decay: {v} · {r}^(t / {k}) at step count {t} passes the largest float; "
                "a growing schedule (decay_rate > 1) cannot run this long: lower `decay_rate`"
            )
        return value

    return schedule


def cosine_decay(init_value: float, decay_steps: int, alpha: float = 0.0) -> Schedule:
    """Half a cosine from ``v`` down to ``α v`` over ``T`` steps (Loshchilov & Hutter, 2017).

    ``η(t) = v · ((1 − α) · ½(1 + cos(π · min(t, T) / T)) + α)``; constant ``α v`` after ``T``.

    Args:
        init_value: ``v >= 0``.
        decay_steps: ``T``, a positive integer.
        alpha: ``α`` in ``[0, 1]``, the final value as a fraction of ``v``.

    Raises:
        ValueError: an argument out of its range.

    >>> s = cosine_decay(1.0, decay_steps=4, alpha=0.1)
    >>> [round(s(t), 4) for t in (0, 2, 4, 100)]
    [1.0, 0.55, 0.1, 0.1]
    """
    v = check_number("init_value", init_value, low=0.0, inclusive=True)
    total = _steps("decay_steps", decay_steps)
    a = check_number("alpha", alpha, low=0.0, inclusive=True)
    if a > 1:
        raise ValueError(f"`alpha` must be in [0, 1], got {alpha!r}")

    def schedule(count: int) -> float:
        progress = min(_step_count("cosine_decay", count), total) / total
        return v * ((1 - a) * 0.5 * (1 + math.cos(math.pi * progress)) + a)

    return schedule


def linear(init_value: float, end_value: float, transition_steps: int) -> Schedule:
    """A straight line from ``v₀`` to ``v₁`` over ``T`` steps, then ``v₁``.

    ``η(t) = v₀ + (v₁ − v₀) · min(t, T) / T``.

    Args:
        init_value: ``v₀ >= 0``.
        end_value: ``v₁ >= 0``.
        transition_steps: ``T``, a positive integer.

    Raises:
        ValueError: an argument out of its range.

    >>> s = linear(1.0, 0.0, transition_steps=4)
    >>> [s(t) for t in (0, 1, 4, 9)]
    [1.0, 0.75, 0.0, 0.0]
    """
    v0 = check_number("init_value", init_value, low=0.0, inclusive=True)
    v1 = check_number("end_value", end_value, low=0.0, inclusive=True)
    total = _steps("transition_steps", transition_steps)

    def schedule(count: int) -> float:
        t = _step_count("linear", count)
        return v1 if t >= total else v0 + (v1 - v0) * (t / total)  # v1 exactly at the end

    return schedule


def linear_warmup(peak_value: float, warmup_steps: int, init_value: float = 0.0) -> Schedule:
    """Ramp linearly from ``v₀`` up to ``v`` over ``W`` steps, then stay at ``v``.

    ``η(t) = v₀ + (v − v₀) · min(t, W) / W``. Join it with a decay to warm up first
    (see :func:`join` and :func:`warmup_cosine_decay`).

    Args:
        peak_value: ``v >= 0``.
        warmup_steps: ``W``, a positive integer.
        init_value: ``v₀ >= 0``, the first value.

    Raises:
        ValueError: an argument out of its range.

    >>> s = linear_warmup(0.1, warmup_steps=2)
    >>> [s(t) for t in range(4)]
    [0.0, 0.05, 0.1, 0.1]
    """
    v = check_number("peak_value", peak_value, low=0.0, inclusive=True)  # named as the caller knows them
    v0 = check_number("init_value", init_value, low=0.0, inclusive=True)
    return linear(v0, v, _steps("warmup_steps", warmup_steps))


def join(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    """Schedules one after another: ``s₀`` until ``b₁``, then ``s₁`` restarted from 0, and so on.

    ``η(t) = sᵢ(t − bᵢ)`` for ``bᵢ <= t < bᵢ₊₁`` (with ``b₀ = 0``).

    Args:
        schedules: ``k`` schedules.
        boundaries: ``k − 1`` increasing positive step counts where the next one starts.

    Raises:
        ValueError: the counts do not match, or the boundaries are not increasing positive integers.

    >>> s = join([constant(1.0), constant(0.5)], [3])
    >>> [s(t) for t in range(5)]
    [1.0, 1.0, 1.0, 0.5, 0.5]
    """
    parts = tuple(schedules)
    bounds = tuple(_steps("boundaries", b) for b in boundaries)
    if len(parts) != len(bounds) + 1:
        raise ValueError(f"join: {len(parts)} schedules need {len(parts) - 1} boundaries, got {len(bounds)}")
    if any(b2 <= b1 for b1, b2 in zip(bounds, bounds[1:])):
        raise ValueError(f"join: `boundaries` must increase, got {list(bounds)}")
    starts = (0,) + bounds

    def schedule(count: int) -> float:
        t = _step_count("join", count)
        i = bisect.bisect_right(bounds, t)
        return float(parts[i](t - starts[i]))

    return schedule


def warmup_cosine_decay(
    peak_value: float, warmup_steps: int, decay_steps: int, end_value: float = 0.0, init_value: float = 0.0
) -> Schedule:
    """Linear warm-up to ``v`` over ``W`` steps, then a cosine decay to ``v₁`` at step ``T``.

    ``join([linear_warmup(v, W, v₀), cosine_decay(v, T − W, v₁ / v)], [W])``.

    Args:
        peak_value: ``v > 0``.
        warmup_steps: ``W``, a positive integer.
        decay_steps: ``T > W``, the step where the decay ends (warm-up included).
        end_value: ``v₁`` in ``[0, v]``.
        init_value: ``v₀ >= 0``, the first value of the warm-up.

    Raises:
        ValueError: an argument out of its range.

    >>> s = warmup_cosine_decay(2.0, warmup_steps=1, decay_steps=3, end_value=1.0)
    >>> [s(t) for t in range(4)]
    [0.0, 2.0, 1.5, 1.0]
    """
    v = check_number("peak_value", peak_value, low=0.0)
    w = _steps("warmup_steps", warmup_steps)
    total = _steps("decay_steps", decay_steps)
    if total <= w:
        raise ValueError(f"`decay_steps` ({total}) must exceed `warmup_steps` ({w})")
    v1 = check_number("end_value", end_value, low=0.0, inclusive=True)
    if v1 > v:
        raise ValueError(f"`end_value` ({v1}) must not exceed `peak_value` ({v})")
    return join([linear_warmup(v, w, init_value), cosine_decay(v, total - w, v1 / v)], [w])
