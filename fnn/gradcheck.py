"""``check_grads``: hand-derived gradients against central differences, in float64.

Use it on your own layers exactly as fnn's tests use it on fnn's:

>>> import fnn, numpy as np
>>> layer = fnn.Dense(3)
>>> b = fnn.backend(dtype="float64")
>>> params = layer.init(fnn.random.key(0), (4,), b)
>>> fnn.check_grads(layer, params, fnn.random.normal(fnn.random.key(1), (2, 4), b))
>>> fnn.check_grads(fnn.losses.mse, np.array([[0.5, 1.0]]), np.array([[0.0, 2.0]]))
"""

from __future__ import annotations

import math
from typing import Any, Callable, NoReturn

import numpy as np

from fnn import tree
from fnn.backend import array_module, check_plain_array, to_numpy
from fnn.backprop import check_float_leaves, numerical_grad
from fnn.errors import DTypeError, GradCheckError
from fnn.layers.core import Layer
from fnn.losses import Loss
from fnn.random import Key
from fnn.typing import Array, PyTree

__all__ = ["check_grads"]

FULL_JACOBIAN_LIMIT = 600
"""Above this many input elements, checks use random directions instead of every element."""


def check_grads(
    target: Layer[Any] | Loss,
    first: Any,
    second: Any,
    *,
    loss: Loss | None = None,
    t: Array | None = None,
    state: Any = None,
    key: Key | None = None,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    directions: int = 4,
    seed: int = 0,
) -> None:
    """Check a layer's or a loss's hand-derived gradient against central differences.

    - Layer (or model): ``check_grads(layer, params, x)``. The scalar checked is
      ``s = Σ y ⊙ r`` for a fixed random ``r`` (so ``dy = r``), or ``loss(y, t)``
      when ``loss`` and ``t`` are given. Both ``dparams`` and ``dx`` are compared.
      ``state`` and ``key`` are passed to ``forward_train`` (batch norm, dropout).
      ``x`` may be a tuple of arrays; integer entries (ids) are held fixed and their
      gradient must be ``None``.
    - Loss: ``check_grads(loss, y, t)`` compares ``loss.grad(y, t)`` with
      differences of ``loss(y, t)`` in ``y``.

    Everything is cast to float64 first. With at most :data:`FULL_JACOBIAN_LIMIT`
    elements every element is perturbed (``gᵢ ≈ (s(θ+εeᵢ) − s(θ−εeᵢ))/2ε``); beyond,
    ``directions`` random unit vectors ``u`` are checked (``⟨g, u⟩`` against
    ``(s(θ+εu) − s(θ−εu))/2ε``).

    Raises:
        GradCheckError: the worst disagreement exceeds ``atol + rtol·|numerical|``, or a
            derivative (hand-derived or numerical) is NaN or infinite, which never passes;
            the message names the element (or direction), both values and the tolerance.
        TypeError: ``target`` is neither a layer nor a loss, or ``loss``/``t``/``state``/
            ``key`` are given with a loss target (they only apply to layers).
        ValueError: only one of ``loss`` and ``t`` is given; ``eps`` is not positive and finite,
            ``rtol`` or ``atol`` negative or not finite, or ``directions`` below 1.
        DTypeError: a leaf of ``params`` or ``y`` is not a float array, or is a
            ``numpy.matrix`` or masked array; so is a single array ``x`` of a layer that does not
            take integer ids; the message names the leaf by its path.
    """
    _check_settings(eps, rtol, atol, directions)
    if isinstance(target, Loss):
        extra = [n for n, v in (("loss", loss), ("t", t), ("state", state), ("key", key)) if v is not None]
        if extra:
            raise TypeError(
                f"check_grads: {', '.join(f'`{n}`' for n in extra)} only apply to a layer target; "
                f"for the loss {target!r}, call check_grads({target!r}, y, t)"
            )
        check_float_leaves("check_grads", first, "y")
        y, labels = _float64(first), second
        scalar: Callable[[PyTree], float] = lambda v: float(target(v["y"], labels))
        analytic = {"y": target.grad(y, labels)}
        point = {"y": y}
    elif isinstance(target, Layer):
        if (loss is None) != (t is None):
            raise ValueError("check_grads: give both `loss` and `t`, or neither (then s = Σ y ⊙ r)")
        check_float_leaves("check_grads", first, "params")
        ids = _integer_leaf_paths(second)
        try:
            point, scalar, analytic = _layer_problem(
                target, _float64(first), _float64(second), loss, t, state, key, seed
            )
        except DTypeError:
            if not ids:
                raise
            _refuse_integer_x(ids[0], second)  # the layer does not take ids there
    else:
        raise TypeError(
            f"check_grads: expected an fnn layer or loss, got {target!r}; wrap a plain function "
            "in a Layer subclass with forward and grad"
        )
    _compare(repr(target), scalar, point, analytic, eps, rtol, atol, directions, seed)


def _integer_leaf_paths(x: PyTree) -> list[str]:
    """The paths of ``x``'s integer leaves (ids, held fixed); any other leaf must be a float array."""
    ids = []
    for path, leaf in zip(tree.paths(x), tree.leaves(x)):
        if getattr(getattr(leaf, "dtype", None), "kind", None) in ("i", "u"):
            check_plain_array("check_grads", leaf, "x" + path)
            ids.append(path)
        else:
            check_float_leaves("check_grads", leaf, "x" + path)
    return ids


def _refuse_integer_x(path: str, x: PyTree) -> NoReturn:
    leaf = dict(zip(tree.paths(x), tree.leaves(x)))[path]
    raise DTypeError(
        f"check_grads: `x{path}` must be a float array to be differentiated, got {leaf.dtype}; "
        "convert it with .astype('float64') (integer ids are held fixed only where a layer takes them)"
    ) from None


def _check_settings(eps: float, rtol: float, atol: float, directions: int) -> None:
    """Refuse settings under which a wrong gradient could pass (the comparisons fail on NaN)."""
    if not 0 < eps < math.inf:
        raise ValueError(f"check_grads: `eps` must be positive and finite, got {eps!r}")
    for name, value in (("rtol", rtol), ("atol", atol)):
        if not 0 <= value < math.inf:
            raise ValueError(f"check_grads: `{name}` must be non-negative and finite, got {value!r}")
    if not (isinstance(directions, int) and directions >= 1):
        raise ValueError(f"check_grads: `directions` must be a positive int, got {directions!r}")


def _float64(values: PyTree) -> PyTree:
    return tree.map(
        lambda v: v.astype("float64") if getattr(getattr(v, "dtype", None), "kind", "") == "f" else v,
        values,
    )


def _layer_problem(
    layer: Layer[Any],
    params: PyTree,
    x: Array,
    loss: Loss | None,
    t: Array | None,
    state: Any,
    key: Key | None,
    seed: int,
) -> tuple[PyTree, Callable[[PyTree], float], PyTree]:
    y, residuals, _ = layer.forward_train(params, _float64(state), x, key)
    if loss is not None and t is not None:
        dy = loss.grad(y, t)
        objective: Callable[[Array], float] = lambda out: float(loss(out, t))
    else:  # s = Σ y ⊙ r over every output array (a tuple output has one r per entry)
        rng = np.random.default_rng(seed)
        r = tree.map(lambda leaf: array_module(leaf).asarray(rng.standard_normal(leaf.shape)), y)
        dy = r
        objective = lambda out: _weighted_sum(out, r)

    x_leaves, x_struct = tree.flatten(x)
    floats = [i for i, leaf in enumerate(x_leaves) if leaf.dtype.kind == "f"]
    if len(floats) == len(x_leaves):
        whole_x: Callable[[PyTree], PyTree] = lambda point_x: point_x
    else:  # integer inputs (ids) are held fixed; their gradient must be None

        def whole_x(point_x: PyTree) -> PyTree:
            leaves = list(x_leaves)
            for i, leaf in zip(floats, point_x):
                leaves[i] = leaf
            return tree.unflatten(x_struct, leaves)

    def scalar(point: PyTree) -> float:
        out, _, _ = layer.forward_train(point["params"], _float64(state), whole_x(point["x"]), key)
        return objective(out)

    dparams, dx = layer.grad(params, residuals, dy)
    if len(floats) == len(x_leaves):
        return {"params": params, "x": x}, scalar, {"params": dparams, "x": dx}
    return {"params": params, "x": [x_leaves[i] for i in floats]}, scalar, {"params": dparams, "x": dx}


def _weighted_sum(y: PyTree, r: PyTree) -> float:
    """``Σ y ⊙ r`` over every output leaf; an infinite ``y`` gives ``inf`` or NaN without a warning
    (the check then fails)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return sum(float((o * w).sum()) for o, w in zip(tree.leaves(y), tree.leaves(r)))


def _compare(
    name: str,
    scalar: Callable[[PyTree], float],
    point: PyTree,
    analytic: PyTree,
    eps: float,
    rtol: float,
    atol: float,
    directions: int,
    seed: int,
) -> None:
    leaves, struct = tree.flatten(point)
    names = tree.paths(point)
    grads = [to_numpy(g) for g in tree.leaves(analytic)]
    if len(grads) != len(leaves):
        raise GradCheckError(
            f"{name}: grad returned {len(grads)} arrays for {len(leaves)} inputs "
            f"({', '.join(names)}); a gradient is missing or extra"
        )
    for path, g, leaf in zip(names, grads, leaves):
        if g.shape != leaf.shape:
            raise GradCheckError(f"{name}: gradient of {path} has shape {g.shape}, expected {leaf.shape}")
    total = sum(int(leaf.size) for leaf in leaves)
    if total <= FULL_JACOBIAN_LIMIT:
        numeric = [to_numpy(n) for n in tree.leaves(numerical_grad(scalar, point, eps))]
        _worst_element(name, names, grads, numeric, rtol, atol)
    else:
        _directional(name, scalar, struct, leaves, grads, eps, rtol, atol, directions, seed)


def _worst_element(
    name: str, names: list[str], grads: list[Array], numeric: list[Array], rtol: float, atol: float
) -> None:
    worst: tuple[float, str, tuple[int, ...], float, float] = (0.0, "", (), 0.0, 0.0)
    for path, g, n in zip(names, grads, numeric):
        if g.size == 0:
            continue
        with np.errstate(invalid="ignore"):  # inf − inf: NaN, a failure like any non-finite value
            excess = np.abs(g - n) - (atol + rtol * np.abs(n))
        # A NaN or infinity in either gradient fails: it ranks above every finite excess.
        excess[~np.isfinite(excess)] = np.inf
        i = np.unravel_index(int(np.argmax(excess)), g.shape)
        if excess[i] > worst[0]:
            worst = (float(excess[i]), path, tuple(int(k) for k in i), float(g[i]), float(n[i]))
    if worst[0] > 0:
        _, path, index, hand, numerical = worst
        raise GradCheckError(
            f"{name}: gradient wrong at {path}[{', '.join(map(str, index))}]: "
            + _disagreement(hand, numerical, rtol, atol)
        )


def _non_finite_cause(hand: float, numerical: float) -> str:
    """Which side is not finite: a finite numerical value puts the blame on the hand-derived one."""
    if np.isfinite(numerical):
        return "the hand-derived gradient is not finite"
    return "the forward pass is not finite near this point"


def _disagreement(hand: float, numerical: float, rtol: float, atol: float) -> str:
    """The two derivatives, and why they fail: their difference, or a value that is not finite."""
    values = f"hand-derived {hand:.8g}, numerical {numerical:.8g}"
    if not (np.isfinite(hand) and np.isfinite(numerical)):
        return f"{values} (a NaN or infinity never passes: {_non_finite_cause(hand, numerical)})"
    return f"{values} (difference {abs(hand - numerical):.3g} > tolerance {atol + rtol * abs(numerical):.3g})"


def _directional(
    name: str,
    scalar: Callable[[PyTree], float],
    struct: tree.Structure,
    leaves: list[Array],
    grads: list[Array],
    eps: float,
    rtol: float,
    atol: float,
    directions: int,
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    for d in range(directions):
        u = [rng.standard_normal(leaf.shape) for leaf in leaves]
        norm = np.sqrt(sum(float((v * v).sum()) for v in u))
        u = [v / norm for v in u]
        on_device = [array_module(leaf).asarray(v) for leaf, v in zip(leaves, u)]
        plus = scalar(tree.unflatten(struct, [leaf + eps * v for leaf, v in zip(leaves, on_device)]))
        minus = scalar(tree.unflatten(struct, [leaf - eps * v for leaf, v in zip(leaves, on_device)]))
        numeric = (plus - minus) / (2 * eps)
        with np.errstate(invalid="ignore", over="ignore"):  # a NaN or inf here fails below
            analytic = sum(float((g * v).sum()) for g, v in zip(grads, u))
        if not abs(analytic - numeric) <= atol + rtol * abs(numeric):  # `not <=`: NaN fails
            raise GradCheckError(
                f"{name}: directional derivative {d} (random unit direction, seed {seed}) wrong: "
                + _disagreement(analytic, numeric, rtol, atol)
            )
