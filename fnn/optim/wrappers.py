"""Transforms that wrap another: gradient accumulation, and training part of the params.

======================================  ==========================================================
wrapper                                 rule
======================================  ==========================================================
``accumulate_gradients(T, k)``          ``u = 0`` for ``k − 1`` steps, then ``u = T((1/k) Σ g)``
``masked(T, mask)``                     ``T`` on the leaves where ``mask`` is true; ``u = g`` elsewhere
``freeze(T, frozen)``                   ``T`` on the leaves where ``frozen`` is false; ``u = 0`` elsewhere
======================================  ==========================================================

A mask is a pytree of bools with the params' structure (``None`` where the params
have ``None``), or a function of a tree of that structure returning one (it is
called with the params at ``init`` and with the grads at each ``update``: pass a
pytree of bools to skip that call). :func:`path_mask` builds such a function from
a predicate on leaf paths such as ``"[0].w"``.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, Generic, TypeVar

import attrs

from fnn import tree
from fnn.backend import array_module
from fnn.errors import DTypeError, ShapeError, StateError, StructureError
from fnn.optim.base import GradientTransformation, LeafMismatch, check_state, structure_error
from fnn.optim.transforms import Mask, _keep_dtype, _map_state, _widen, _zeros_like
from fnn.typing import Array, PyTree

__all__ = [
    "AccumulateGradientsState",
    "MaskedState",
    "accumulate_gradients",
    "freeze",
    "masked",
    "path_mask",
]

S = TypeVar("S")
G = TypeVar("G")

_INNER_ERRORS = (StateError, StructureError, ShapeError, DTypeError)


def _prefixed(owner: str, error: Exception) -> Exception:
    return type(error)(f"{owner}: {error}")


@attrs.frozen(eq=False)
class AccumulateGradientsState(Generic[S]):
    """State of :func:`accumulate_gradients`.

    Attributes:
        mini_step: Gradients accumulated since the last update of the inner transform (``0 … k − 1``).
        grad_sum: Their sum ``Σ g`` (like the params, float32 for float16 params).
        inner_state: The state of the inner transform, which changes only on every ``k``-th step.
    """

    mini_step: int
    grad_sum: PyTree
    inner_state: S


def accumulate_gradients(
    transform: GradientTransformation[S], every_k: int
) -> GradientTransformation[AccumulateGradientsState[S]]:
    """Apply ``transform`` to the mean of every ``k`` gradients; zero updates in between.

    Steps ``1 … k − 1`` of each group add ``g`` to ``Σ g`` and return ``u = 0``; step
    ``k`` returns ``u = T((1/k) Σ g)`` and starts a new sum. For a loss that is a mean
    over the batch, ``k`` batches of ``n`` samples thus give the update of one batch of
    ``k n`` samples (the memory of ``n``). The inner transform's step count, schedules
    and moments advance once per ``k`` steps. The sum is kept in
    :func:`fnn.backend.accumulation_dtype` (float32 for float16 grads).

    Args:
        transform: The optimizer to apply to the mean.
        every_k: ``k``, a positive integer (1: ``transform`` unchanged, through a sum of one).

    Returns:
        The transform; its state is an :class:`AccumulateGradientsState`.

    Raises:
        ValueError: ``every_k`` is not a positive integer.
        TypeError: ``transform`` is not a :class:`~fnn.optim.GradientTransformation`.

    >>> import numpy as np
    >>> from fnn import optim
    >>> opt = accumulate_gradients(optim.sgd(1.0), every_k=2)
    >>> state = opt.init(np.zeros(1))
    >>> u, state = opt.update(np.array([1.0]), state)
    >>> u, opt.update(np.array([3.0]), state)[0]
    (array([0.]), array([-2.]))
    """
    _check_transform("accumulate_gradients", transform)
    if isinstance(every_k, bool) or not isinstance(every_k, numbers.Integral) or every_k < 1:
        raise ValueError(f"`every_k` must be a positive integer, got {every_k!r}")
    k = int(every_k)

    def init(params: PyTree) -> AccumulateGradientsState[S]:
        return AccumulateGradientsState(0, tree.map(_zeros_like, params), transform.init(params))

    def add(total: Array, g: Array) -> Array:
        if total.shape != g.shape:
            raise LeafMismatch
        return _keep_dtype(total + _widen(g, total), total)

    def mean(total: Array, g: Array) -> Array:
        m: Array = (total / k).astype(g.dtype, copy=False)
        return m

    def update(
        grads: G, state: AccumulateGradientsState[S], params: PyTree = None
    ) -> tuple[G, AccumulateGradientsState[S]]:
        check_state("accumulate_gradients", state, AccumulateGradientsState)
        total = _map_state("accumulate_gradients", add, state.grad_sum, grads)
        step = int(state.mini_step) + 1
        if step < k:
            zeros = tree.map(lambda g: array_module(g).zeros_like(g), grads)
            return zeros, AccumulateGradientsState(step, total, state.inner_state)
        try:
            updates, inner_state = transform.update(tree.map(mean, total, grads), state.inner_state, params)
        except _INNER_ERRORS as error:
            raise _prefixed("accumulate_gradients", error) from None
        return updates, AccumulateGradientsState(0, tree.map(_zeros_like, total), inner_state)

    return GradientTransformation(init, update)


def _check_transform(owner: str, transform: object) -> None:
    if not isinstance(transform, GradientTransformation):
        raise TypeError(
            f"{owner}: `transform` is {transform!r}, which is not a GradientTransformation; "
            "pass an optimizer such as fnn.optim.adam(1e-3)"
        )


@attrs.frozen(eq=False)
class MaskedState(Generic[S]):
    """State of :func:`masked` and :func:`freeze`: ``inner_state``, the inner transform's state.

    The inner state covers only the selected leaves (``None`` in place of the others),
    so frozen parameters cost no optimizer memory.
    """

    inner_state: S


def _flag(owner: str, name: str, value: object) -> bool:
    dtype = getattr(value, "dtype", None)
    numpy_bool = dtype is not None and dtype.kind == "b" and getattr(value, "shape", None) == ()
    if type(value) is bool or numpy_bool:
        return bool(value)
    raise TypeError(
        f"{owner}: `{name}` must hold True or False at each leaf of the params, got {value!r}; "
        "build it with fnn.tree.map(lambda p: ..., params) or fnn.optim.path_mask"
    )


def _partition(
    owner: str, name: str, transform: GradientTransformation[S], mask: Mask, selected: bool, zero_others: bool
) -> GradientTransformation[MaskedState[S]]:
    """``transform`` on the leaves whose mask value is ``selected``; the others pass, or get 0 updates."""
    _check_transform(owner, transform)

    def flags(like: Any, like_name: str) -> Any:
        m = mask(like) if callable(mask) else mask
        try:
            return tree.map(lambda leaf, f: _flag(owner, name, f) is selected, like, m)
        except StructureError as error:
            raise StructureError(
                f"{owner}: `{name}` is nested differently from the {like_name} "
                f"({error}; 'expected' is the {like_name}, 'got' the mask)"
            ) from None

    def select(values: Any, chosen: Any) -> Any:
        return tree.map(lambda x, keep: x if keep else None, values, chosen)

    def fill(g: Array) -> Array:
        if not zero_others:
            return g
        z: Array = array_module(g).zeros_like(g)
        return z

    def init(params: PyTree) -> MaskedState[S]:
        return MaskedState(transform.init(select(params, flags(params, "params"))))

    def update(grads: G, state: MaskedState[S], params: PyTree = None) -> tuple[G, MaskedState[S]]:
        check_state(owner, state, MaskedState)
        chosen = flags(grads, "grads")
        try:
            inner_params = None if params is None else select(params, chosen)
        except StructureError as error:
            raise structure_error(owner, error, ("params", "grads")) from None
        try:
            inner, inner_state = transform.update(select(grads, chosen), state.inner_state, inner_params)
        except _INNER_ERRORS as error:
            raise _prefixed(owner, error) from None
        updates: G = tree.map(lambda g, keep, u: u if keep else fill(g), grads, chosen, inner)
        return updates, MaskedState(inner_state)

    return GradientTransformation(init, update)


def masked(transform: GradientTransformation[S], mask: Mask) -> GradientTransformation[MaskedState[S]]:
    """Apply ``transform`` to the leaves where ``mask`` is true; pass the other gradients through.

    ``u = T(g|mask)`` on the selected leaves, ``u = g`` on the others. The inner
    transform sees a tree with ``None`` in place of the other leaves, so its state
    (and its global norms, for clipping) covers only the selected ones. Use it inside
    a chain, e.g. to decay only the weights:
    ``chain(masked(add_decayed_weights(1e-4), lambda p: tree.map(lambda w: w.ndim > 1, p)), sgd(0.1))``.

    Args:
        transform: The transform for the selected leaves.
        mask: A pytree of bools like the params, or a function returning one (see the module docstring).

    Returns:
        The transform; its state is a :class:`MaskedState`.

    Raises:
        TypeError: ``transform`` is not a :class:`~fnn.optim.GradientTransformation`,
            or (at init or update) the mask holds something else than a bool.
        StructureError: (at init or update) the mask is nested differently from the params.

    >>> import numpy as np
    >>> from fnn import optim
    >>> opt = masked(optim.sgd(0.5), (True, False))
    >>> params = (np.zeros(1), np.zeros(1))
    >>> opt.update((np.array([1.0]), np.array([1.0])), opt.init(params))[0]
    (array([-0.5]), array([1.]))
    """
    return _partition("masked", "mask", transform, mask, selected=True, zero_others=False)


def freeze(transform: GradientTransformation[S], frozen: Mask) -> GradientTransformation[MaskedState[S]]:
    """Train only the leaves where ``frozen`` is false: ``transform`` there, zero updates elsewhere.

    ``u = T(g|trainable)`` on the trainable leaves and ``u = 0`` on the frozen ones, so
    ``apply_updates`` leaves the frozen params as they are (weight decay included: the
    inner transform never sees them, and keeps no state for them). Freezing the first
    layer of a :func:`fnn.sequential` model::

        opt = optim.freeze(optim.adam(1e-3), frozen=optim.path_mask(lambda path: path.startswith("[0]")))

    Args:
        transform: The optimizer for the trainable leaves.
        frozen: A pytree of bools like the params, true where a param is frozen, or a
            function returning one (see the module docstring).

    Returns:
        The optimizer; its state is a :class:`MaskedState`.

    Raises:
        TypeError: ``transform`` is not a :class:`~fnn.optim.GradientTransformation`,
            or (at init or update) the mask holds something else than a bool.
        StructureError: (at init or update) the mask is nested differently from the params.

    >>> import numpy as np
    >>> from fnn import optim
    >>> opt = freeze(optim.sgd(0.5), frozen={"w": True, "b": False})
    >>> params = {"w": np.ones(2), "b": np.ones(1)}
    >>> u, _ = opt.update({"w": np.ones(2), "b": np.ones(1)}, opt.init(params), params)
    >>> u["w"], u["b"]
    (array([0., 0.]), array([-0.5]))
    """
    return _partition("freeze", "frozen", transform, frozen, selected=False, zero_others=True)


def path_mask(predicate: Callable[[str], bool]) -> Callable[[PyTree], PyTree]:
    """A mask function: ``predicate(path)`` for each leaf of a tree, as a tree of bools.

    Paths are those of :func:`fnn.tree.paths`: ``"[0].w"`` is the ``w`` of the first
    layer of a sequential model, ``"['a']"`` a dict entry.

    Args:
        predicate: A function of a leaf's path.

    Returns:
        A function of a tree returning its tree of bools (for :func:`masked`, :func:`freeze`
        and :func:`~fnn.optim.add_decayed_weights`).

    >>> import numpy as np
    >>> only_biases = path_mask(lambda path: path.endswith(".b"))
    >>> import fnn
    >>> only_biases((fnn.DenseParams(np.ones((2, 2)), np.ones(2)),))
    (DenseParams(w=False, b=True),)
    """
    if not callable(predicate):
        raise TypeError(f"path_mask: `predicate` must be a function of a leaf's path, got {predicate!r}")

    def mask(values: PyTree) -> PyTree:
        return tree.unflatten(tree.structure(values), [bool(predicate(p)) for p in tree.paths(values)])

    return mask
