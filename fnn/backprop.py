"""Backpropagation: gradients of a model's loss by the chain rule, and their check by central differences.

:func:`value_and_grad` runs the model's forward pass keeping residuals, the
loss's fused gradient, and the layers' hand-written ``grad`` in reverse order. No
tape, no autodiff: every derivative was derived by hand and lives in its layer.

:func:`numerical_grad` is the course's central difference
``∂f/∂θᵢ ≈ (f(θ + εeᵢ) − f(θ − εeᵢ)) / 2ε``, over any pytree of arrays.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Protocol, TypeVar

import numpy as np

from fnn import tree
from fnn.backend import array_module, check_plain_array, to_numpy
from fnn.errors import DTypeError, StateError
from fnn.layers.core import Layer
from fnn.losses import Loss
from fnn.random import Key
from fnn.typing import Array, ArrayTree, PyTree

__all__ = ["value_and_grad", "grad", "value_grad_and_state", "numerical_grad"]

P = TypeVar("P")


class ValueAndGradFn(Protocol[P]):
    """``(params, x, t, *, key=None) -> (loss, grads)``; ``x`` may be a tuple of arrays (ids included)."""

    def __call__(self, params: P, x: ArrayTree, t: Array, *, key: Key | None = None) -> tuple[Array, P]: ...


class GradFn(Protocol[P]):
    """``(params, x, t, *, key=None) -> grads``."""

    def __call__(self, params: P, x: ArrayTree, t: Array, *, key: Key | None = None) -> P: ...


class ValueGradAndStateFn(Protocol[P]):
    """``(params, state, x, t, *, key=None) -> (loss, grads, new_state)``."""

    def __call__(
        self, params: P, state: Any, x: ArrayTree, t: Array, *, key: Key | None = None
    ) -> tuple[Array, P, Any]: ...


def value_grad_and_state(model: Layer[P], loss: Loss) -> ValueGradAndStateFn[P]:
    """A function ``(params, state, x, t, *, key=None) -> (loss, grads, new_state)``.

    The training step for every model: ``state`` carries running statistics (pass
    ``model.init_state(in_shape)``, or ``None`` for models without state) and
    ``key`` feeds random layers such as dropout. ``grads`` has the structure of
    ``params``; ``new_state`` replaces ``state``.
    """

    def value_grad_and_state_fn(
        params: P, state: Any, x: ArrayTree, t: Array, *, key: Key | None = None
    ) -> tuple[Array, P, Any]:
        y, residuals, new_state = model.forward_train(params, state, x, key)
        value, dy = loss.value_and_grad(y, t)
        grads = model.param_grad(params, residuals, dy)
        return value, grads, new_state

    return value_grad_and_state_fn


def value_and_grad(model: Layer[P], loss: Loss) -> ValueAndGradFn[P]:
    """A function ``(params, x, t, *, key=None) -> (loss(model(x), t), ∂loss/∂params)``.

    For models without running state; ``key`` feeds random layers (dropout).

    >>> import fnn
    >>> model = fnn.sequential(fnn.Dense(3), fnn.relu, fnn.Dense(2))
    >>> params = model.init(fnn.random.key(0), (4,))
    >>> x, t = fnn.backend().ones((5, 4)), fnn.backend().asarray([0, 1, 1, 0, 1], "int64")
    >>> value, grads = fnn.value_and_grad(model, fnn.losses.softmax_cross_entropy)(params, x, t)
    >>> grads[0].w.shape, value.dtype.name
    ((4, 3), 'float32')
    """
    step = value_grad_and_state(model, loss)

    def value_and_grad_fn(params: P, x: ArrayTree, t: Array, *, key: Key | None = None) -> tuple[Array, P]:
        value, grads, state = step(params, None, x, t, key=key)
        if state is not None:  # pragma: no cover - layers return the state they are given
            raise StateError("value_and_grad: the model returned state; use value_grad_and_state")
        return value, grads

    return value_and_grad_fn


def grad(model: Layer[P], loss: Loss) -> GradFn[P]:
    """A function ``(params, x, t, *, key=None) -> ∂loss/∂params`` (see :func:`value_and_grad`)."""
    vg = value_and_grad(model, loss)

    def grad_fn(params: P, x: ArrayTree, t: Array, *, key: Key | None = None) -> P:
        return vg(params, x, t, key=key)[1]

    return grad_fn


def numerical_grad(f: Callable[[PyTree], Any], params: PyTree, eps: float = 1e-4) -> PyTree:
    """Central differences of the scalar function ``f`` at every element of ``params``.

    ``gᵢ = (f(θ + εeᵢ) − f(θ − εeᵢ)) / 2ε`` for every element ``θᵢ`` of every array
    leaf (the book's ``numerical_gradient``). ``f`` is called with a tree of the same
    structure as ``params``; the caller's arrays are never modified (each perturbed
    element of a private copy is restored before the next). Cost: two calls of ``f``
    per element, so keep it to small models.

    The perturbation is done in the leaf's own dtype, where ``θ ± ε`` rounds; the
    denominator is the step actually taken, ``(θ + ε)~ − (θ − ε)~``, not ``2ε``. Low
    precision still limits the result (``f`` itself rounds): use float64 for checks.

    Returns:
        A tree like ``params`` with the derivatives (arrays of the same dtypes).

    Raises:
        DTypeError: a leaf is not a float array (an integer leaf would take a step of
            1 and give a wrong derivative), or is a ``numpy.matrix`` or masked array;
            the message names the leaf by its path.
        ValueError: ``eps`` is not positive and finite; an element is NaN or infinite; or
            ``θ ± ε`` rounds back to ``θ`` (or overflows) in the leaf's dtype (raise ``eps``
            or use float64). The message names the element by its path and index.

    >>> import numpy as np
    >>> g = numerical_grad(lambda p: (p["x"] ** 2).sum(), {"x": np.array([3.0, 4.0])})
    >>> g["x"].round(6)
    array([6., 8.])
    """
    if not 0 < eps < math.inf:
        raise ValueError(f"numerical_grad: `eps` must be positive and finite, got {eps!r}")
    check_float_leaves("numerical_grad", params, "params")
    flat, struct = tree.flatten(params)
    work = [leaf.copy() for leaf in flat]
    grads = []
    for path, leaf in zip(tree.paths(params), work):
        g = np.zeros(leaf.shape, dtype=np.float64)
        host = to_numpy(leaf)
        for index in np.ndindex(*leaf.shape):
            original = host[index].item()
            high, low = _steps(f"params{path}[{', '.join(map(str, index))}]", original, eps, leaf.dtype)
            leaf[index] = high
            plus = float(f(tree.unflatten(struct, work)))
            leaf[index] = low
            minus = float(f(tree.unflatten(struct, work)))
            leaf[index] = original
            g[index] = (plus - minus) / (high - low)
        grads.append(g.astype(leaf.dtype))
    return tree.map(lambda like, g: array_module(like).asarray(g), params, tree.unflatten(struct, grads))


def _steps(element: str, original: float, eps: float, dtype: Any) -> tuple[float, float]:
    """``(θ + ε, θ − ε)`` rounded to ``dtype``, refused unless both are finite and differ.

    The rounding is done on the host: the same IEEE rounding as the device's, without
    reading the written element back. ``element`` names ``θ`` in the messages.
    """
    if not math.isfinite(original):
        raise ValueError(f"numerical_grad: `{element}` is {original}; central differences need finite values")
    with np.errstate(over="ignore"):  # θ ± ε overflowing to ±inf is caught just below
        high = np.asarray(original + eps, dtype=dtype).item()
        low = np.asarray(original - eps, dtype=dtype).item()
    if high == low:
        raise ValueError(
            f"numerical_grad: `{element}`: {original} ± {eps} rounds to {original} in {dtype}; "
            "use a larger eps or float64"
        )
    if not (math.isfinite(high) and math.isfinite(low)):
        raise ValueError(f"numerical_grad: `{element}`: {original} ± {eps} overflows {dtype}; use float64")
    return high, low


def check_float_leaves(owner: str, values: PyTree, name: str, ids: bool = False) -> None:
    """Raise :class:`DTypeError` unless every leaf of ``values`` is a plain float array.

    Central differences need a float leaf: an integer one rounds ``θ ± ε`` to a step
    of 1 (or 0). With ``ids=True`` integer leaves pass too: they are ids that a
    layer with ``integer_input`` reads and that are held fixed, never differentiated.
    The message names the leaf as ``name`` followed by its path.
    """
    kinds = "fiu" if ids else "f"
    for path, leaf in zip(tree.paths(values), tree.leaves(values)):
        check_plain_array(owner, leaf, name + path)
        kind = getattr(getattr(leaf, "dtype", None), "kind", None)
        if kind is None or kind not in kinds:
            got = getattr(leaf, "dtype", type(leaf).__name__)
            raise DTypeError(
                f"{owner}: `{name}{path}` must be a float array to be differentiated, got {got}; "
                f"convert it with .astype('float64')"
            )
