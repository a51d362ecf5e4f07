"""``θ + u`` written into the memory of updates that nothing else can reach.

:func:`~fnn.optim.apply_updates` allocates every new parameter, since the caller
may still read its updates. A training step that made the updates itself and
drops them afterwards (:func:`fnn.train_step`, :func:`fnn.fit`) need not: it
can write ``θ + u`` over ``u``, which saves a fresh array per parameter and the
writes to memory that is not yet in the cache (on the 784-1024-1024-10 MLP's SGD
step, 2–4% of the step; ``benchmarks/RESULTS.md``).

An update array is overwritten only when that cannot be seen: it is a plain NumPy
array that owns its memory (not a view, no views of it exist), is writeable, has
its parameter's shape, dtype and memory layout, is not a leaf of ``held`` (the optimizer states,
which may share containers with the updates), and CPython's reference count says
that the updates tree is its only holder. Every other leaf gets a fresh ``θ + u``,
as :func:`~fnn.optim.apply_updates` computes; the values are the same either way.

The step owns its gradients too, so a transform whose update is a scaling (``sgd``'s
``u = −η g``) can write ``u`` and then ``θ + u`` over ``g`` under the same conditions,
in one walk over the params (:func:`scale_and_add_owned`, a transform's ``step_owned``):
an SGD step then makes no new large array after the backward pass.

Only the arrays are checked, not the containers that hold them: a layer or a
transform that keeps the very container it returned (rather than the arrays in it)
would see its contents change. Nothing in fnn does.
"""

from __future__ import annotations

import collections
import sys
from typing import Any, Callable, TypeVar

import attrs
import numpy as np

from fnn import tree
from fnn.errors import StructureError
from fnn.optim.base import GradientTransformation, LeafMismatch, StepOwnedFn, add, add_leaves, apply_updates
from fnn.typing import Array, PyTree

__all__ = ["apply_owned_updates", "owned_step", "scale_and_add_owned"]

P = TypeVar("P")

MIN_SIZE = 1 << 16
"""Elements below which a fresh array costs no more than writing in place (it stays in the cache)."""


def _probe_count(p: Any, u: Any) -> int:
    """The probe's leaf rule: ``u``'s reference count, read as the rules of :func:`apply_owned_updates` and
    :func:`scale_and_add_owned` read it."""
    return sys.getrefcount(u)


@attrs.frozen
class _Probe:
    u: Any


def _sole_count() -> int | None:
    """The fewest references :func:`tree.map <fnn.tree.map>` over two trees leaves on a leaf of the
    second that only its tree holds, over every kind of container (``None`` where the interpreter
    keeps no counts).

    A container kind whose walk holds more never has its leaves written over: safe, only slower.
    """
    if not hasattr(sys, "getrefcount"):  # pragma: no cover - PyPy and the like
        return None
    Pair = collections.namedtuple("Pair", "u")
    containers: list[Callable[[Any], Any]] = [lambda a: (a,), lambda a: [a], lambda a: {"u": a}, Pair, _Probe]
    counts: list[int] = [
        tree.leaves(tree.map(_probe_count, make(0), make(np.empty(1))))[0] for make in containers
    ]
    return min(counts)


_SOLE = _sole_count()


def _takes_new_param(p: Any, a: np.ndarray[Any, Any]) -> bool:
    """Whether the large NumPy array ``a`` (known to be held by its tree alone) may receive the new
    value of the param ``p``: a float array that owns its writeable memory, with ``p``'s shape, dtype
    and memory layout (so the new param keeps its param's). The conditions besides its type, size and
    reference count, which the leaf rules read first."""
    return (
        a.base is None
        and a.flags.writeable
        and a.dtype.kind == "f"
        and type(p) is np.ndarray
        and p.shape == a.shape
        and p.dtype == a.dtype
        and p.strides == a.strides
    )


def apply_owned_updates(params: P, updates: PyTree, held: PyTree) -> P:
    """``θ + u`` leaf by leaf, as :func:`~fnn.optim.apply_updates`, written over the updates where
    nothing else can reach them.

    The caller gives ``updates`` up: it must not read them afterwards. ``held`` is every
    other tree the caller keeps that the optimizer made (its old and new state).

    Raises:
        The errors of :func:`~fnn.optim.apply_updates`, for the same mistakes.
    """
    held_ids: list[set[int]] = []  # filled at the first large update: small models' steps never need it

    def into_update(p: Any, u: Any) -> Any:
        if (
            type(u) is np.ndarray  # (the type and size first: small leaves, most of them, stop here)
            and u.size >= MIN_SIZE
            and sys.getrefcount(u) == _SOLE  # nothing else holds `u` yet (as in the probe)
            and _takes_new_param(p, u)
        ):
            if not held_ids:
                held_ids.append({id(leaf) for leaf in tree.leaves(held)})
            if id(u) not in held_ids[0]:
                result: Array = np.add(p, u, out=u)
                return result
        return add(p, u)

    return add_leaves(params, updates, into_update)


def scale_and_add_owned(params: P, grads: PyTree, alpha: float) -> P:
    """``θ + α g`` leaf by leaf, as ``apply_updates(params, tree.map(lambda g: g * alpha, grads))`` but
    in one walk, written over the gradients where nothing else can reach them.

    The caller gives ``grads`` up: it must not read them afterwards. A gradient is written over
    under the conditions :func:`apply_owned_updates` sets for an update; then ``α g`` and
    ``θ + α g`` go into its memory, with the values of ``g * alpha`` and ``θ + u`` bit for bit.

    Raises:
        The errors of :func:`~fnn.optim.apply_updates`, for the same mistakes.
    """

    def into_grad(p: Any, g: Any) -> Any:
        if (
            type(g) is np.ndarray
            and g.size >= MIN_SIZE
            and sys.getrefcount(g) == _SOLE  # nothing else holds `g` yet (as in the probe)
            and _takes_new_param(p, g)
        ):
            np.multiply(g, alpha, out=g)
            result: Array = np.add(p, g, out=g)
            return result
        return add(p, g * alpha)

    try:
        new: P = tree.map(into_grad, params, grads)
        return new
    except (StructureError, LeafMismatch, TypeError) as error:  # (TypeError: `None * α` where a param is)
        mistake = error
    # The loop's error, about the updates it would have made (integer gradients give float updates,
    # a `None` gradient stays `None`), raised outside the handler so that it comes alone.
    apply_updates(params, tree.map(lambda g: g * alpha, grads))
    raise mistake  # (never reached: updates that do not fit raise there too)


def owned_step(optimizer: GradientTransformation[Any]) -> StepOwnedFn[Any]:
    """``(grads, state, params) -> (new_params, new_state)`` for a training step that gives its
    gradients up: the optimizer's ``step_owned`` where it has one, else its ``update`` followed
    by :func:`apply_owned_updates` (the same values as ``update`` and ``apply_updates``)."""
    if optimizer.step_owned is not None:
        return optimizer.step_owned
    update = optimizer.update

    def update_and_apply(grads: PyTree, state: Any, params: P) -> tuple[P, Any]:
        updates, new_state = update(grads, state, params)
        return apply_owned_updates(params, updates, (state, new_state)), new_state

    return update_and_apply
