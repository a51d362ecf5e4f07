"""An exponential moving average of the parameters, kept in the optimizer state.

Evaluating with averaged parameters often generalises better than with the last
ones (Polyak averaging). :func:`ema_params` is a transform that passes the updates
through unchanged and, from the params and updates it sees, keeps the average of
the parameters *after* each step; :func:`averaged_params` reads it::

    opt = optim.chain(optim.adam(1e-3), optim.ema_params(0.999))
    ...                                                        # train as usual
    eval_params = optim.averaged_params(opt_state, like=params)

Being state, the average is saved and resumed with the rest of the optimizer.
Put it last in the chain (it must see the final updates) and inside
:func:`~fnn.optim.accumulate_gradients` (so that the zero updates between real
steps do not count as steps).
"""

from __future__ import annotations

from typing import TypeVar

import attrs

from fnn import tree
from fnn.backend import accumulation_dtype
from fnn.errors import StateError, StructureError
from fnn.optim.base import GradientTransformation, LeafMismatch, check_state, mismatch_error, structure_error
from fnn.optim.states import find_states
from fnn.optim.transforms import _STATE_FIX, _STATE_NAMES, _check_unit, _zeros_like
from fnn.typing import Array, PyTree

__all__ = ["EmaParamsState", "averaged_params", "ema_params"]

_LIKE_NAMES = ("average", "`like` params")
_NO_EMA_HINT = "chain fnn.optim.ema_params(decay) into the optimizer"

G = TypeVar("G")
P = TypeVar("P")


@attrs.frozen(eq=False)
class EmaParamsState:
    """State of :func:`ema_params`.

    Attributes:
        weight: ``w``, the total weight in ``total`` (``1 − βᵗ`` with debiasing, ``1`` without).
        total: ``a``, the weighted sum of the parameters (like the params, float32 for float16
            params); the average is ``a / w``.
    """

    weight: float
    total: PyTree


def _widened(p: Array) -> Array:
    wide: Array = p.astype(accumulation_dtype(p.dtype), copy=True)
    return wide


def ema_params(decay: float, debias: bool = True) -> GradientTransformation[EmaParamsState]:
    """Keep ``average = a / w``, an exponential moving average of the params after each step.

    With ``θₜ = θ + u`` the params after step ``t`` (what ``apply_updates`` makes)::

        a ← β a + (1 − β) θₜ,     w ← β w + (1 − β),     average = a / w

    ``debias=True`` starts from ``a = 0, w = 0``, so ``w = 1 − βᵗ`` and the average
    puts no weight on the initial params (the first average is ``θ₁`` itself).
    ``debias=False`` starts from ``a = θ₀, w = 1``: the initial params weigh ``βᵗ``.
    The updates pass through unchanged. The sum is kept in
    :func:`fnn.backend.accumulation_dtype` (float32 for float16 params, whose
    ``(1 − β) θ`` would fall below float16's resolution).

    Args:
        decay: ``β`` in ``[0, 1)`` (0.999 averages over about the last 1000 steps).
        debias: Whether to start from zero and correct for it (see above).

    Returns:
        The transform; its state is an :class:`EmaParamsState`.

    Raises:
        ValueError: ``decay`` is outside ``[0, 1)``, or (at update) ``params`` was not given.

    >>> import numpy as np
    >>> from fnn import optim
    >>> opt = optim.chain(optim.sgd(1.0), ema_params(0.5))
    >>> params = np.array([0.0])
    >>> state = opt.init(params)
    >>> for g in (-2.0, -2.0):
    ...     updates, state = opt.update(np.array([g]), state, params)
    ...     params = optim.apply_updates(params, updates)
    >>> params, averaged_params(state, like=params)  # (0.25·2 + 0.5·4) / 0.75 = 10/3
    (array([4.]), array([3.33333333]))
    """
    beta = _check_unit("decay", decay)
    if not isinstance(debias, bool):
        raise TypeError(f"`debias` must be True or False, got {debias!r}")

    def init(params: PyTree) -> EmaParamsState:
        if debias:
            return EmaParamsState(0.0, tree.map(_zeros_like, params))
        return EmaParamsState(1.0, tree.map(_widened, params))

    def average(a: Array, p: Array, u: Array) -> Array:
        if a.shape != u.shape or a.shape != p.shape:
            raise LeafMismatch
        after = (p + u).astype(p.dtype, copy=False)  # as apply_updates makes it
        new: Array = after.astype(a.dtype)  # β a + (1 − β) θ = a + (1 − β)(θ − a), in one array
        new -= a
        new *= 1 - beta
        new += a
        return new

    def update(grads: G, state: EmaParamsState, params: PyTree = None) -> tuple[G, EmaParamsState]:
        check_state("ema_params", state, EmaParamsState)
        if params is None:
            raise ValueError("ema_params needs the params: call optimizer.update(grads, state, params)")
        try:
            total = tree.map(average, state.total, params, grads)
        except StructureError as error:
            raise structure_error("ema_params", error, _STATE_NAMES) from None
        except LeafMismatch:
            raise mismatch_error("ema_params", state.total, grads, _STATE_NAMES, _STATE_FIX) from None
        return grads, EmaParamsState(beta * state.weight + (1 - beta), total)

    return GradientTransformation(init, update)


def averaged_params(opt_state: object, like: P) -> P:
    """The averaged params held by the :func:`ema_params` inside ``opt_state``, ``a / w``.

    Args:
        opt_state: An optimizer state holding one :class:`EmaParamsState`.
        like: The params (for their structure and dtypes: the average comes back in
            each param's dtype).

    Returns:
        A new pytree of the type of ``like``.

    Raises:
        StateError: ``opt_state`` holds no :class:`EmaParamsState` or several, or the
            average is still empty (``debias=True`` before the first step).
        StructureError: ``like`` is nested differently from the average.
        ShapeError: a leaf of ``like`` has another shape than the average's.

    >>> import numpy as np
    >>> from fnn import optim
    >>> state = ema_params(0.9, debias=False).init(np.array([2.0]))
    >>> averaged_params(state, like=np.array([0.0]))
    array([2.])
    """
    found = find_states(opt_state, EmaParamsState)
    if len(found) != 1:
        fix = "read them with find_states" if found else _NO_EMA_HINT
        raise StateError(
            f"averaged_params: the optimizer state holds {len(found)} EmaParamsState, expected one; {fix}"
        )
    state = found[0]
    w = state.weight
    if w == 0:
        raise StateError("averaged_params: the average has seen no step yet (ema_params with debias=True)")

    def leaf(a: Array, p: Array) -> Array:
        if a.shape != p.shape:
            raise LeafMismatch
        out: Array = (a if w == 1 else a / w).astype(p.dtype)
        return out

    try:
        return tree.map(leaf, state.total, like)  # type: ignore[no-any-return]
    except StructureError as error:
        raise structure_error("averaged_params", error, _LIKE_NAMES) from None
    except LeafMismatch:
        raise mismatch_error(
            "averaged_params", state.total, like, _LIKE_NAMES, "pass the params the average is of"
        ) from None
