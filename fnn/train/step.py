"""One training step as one pure function: the loss's gradients, the optimizer's update, the new params."""

from __future__ import annotations

from typing import Any, Protocol

from typing_extensions import TypeVar

from fnn.backprop import value_and_grad
from fnn.layers.core import Layer
from fnn.losses import Loss
from fnn.optim.base import GradientTransformation
from fnn.optim.owned import owned_step
from fnn.random import Key
from fnn.typing import Array, ArrayTree

__all__ = ["TrainStepFn", "train_step"]

P = TypeVar("P")
S = TypeVar("S", default=Any)  # the optimizer state's type


class TrainStepFn(Protocol[P, S]):
    """``(params, opt_state, x, t, *, key=None) -> (new_params, new_opt_state, loss)``."""

    def __call__(
        self, params: P, opt_state: S, x: ArrayTree, t: Array, *, key: Key | None = None
    ) -> tuple[P, S, Array]: ...


def train_step(model: Layer[P], loss: Loss, optimizer: GradientTransformation[S]) -> TrainStepFn[P, S]:
    """A pure training step ``(θ, s, x, t, *, key=None) -> (θ′, s′, ℓ)`` for models without running state.

    With ``ℓ = loss(model(θ, x), t)``, ``g = ∂ℓ/∂θ`` (:func:`fnn.value_and_grad`) and
    ``(u, s′) = optimizer.update(g, s, θ)``, it returns ``θ′ = θ + u``, ``s′`` and ``ℓ``:
    the three lines of a hand-written loop, with the same values bit for bit, but
    faster on large parameters: the step owns ``g`` and ``u``, so it writes ``θ + u``
    into ``u``'s memory where nothing else can reach it, and an optimizer with a
    ``step_owned`` (``sgd``) writes ``u`` and then ``θ + u`` into ``g``'s
    (:mod:`fnn.optim.owned`), instead of allocating every update and new parameter.
    ``θ``, ``s``, ``x`` and ``t`` are never modified. ``key`` feeds random layers such as dropout.

    For a model with running state (batch normalization), use :func:`fnn.fit` or
    :func:`fnn.value_grad_and_state`.

    >>> import fnn
    >>> model = fnn.sequential(fnn.Dense(3), fnn.relu, fnn.Dense(2))
    >>> params = model.init(fnn.random.key(0), (4,))
    >>> opt = fnn.optim.sgd(0.1)
    >>> step = fnn.train_step(model, fnn.losses.softmax_cross_entropy, opt)
    >>> x, t = fnn.backend().ones((5, 4)), fnn.backend().asarray([0, 1, 1, 0, 1], "int64")
    >>> opt_state = opt.init(params)
    >>> for _ in range(3):
    ...     params, opt_state, loss = step(params, opt_state, x, t)
    >>> loss.dtype.name, params[0].w.shape
    ('float32', (4, 3))
    """
    value_and_grad_fn = value_and_grad(model, loss)
    step = owned_step(optimizer)

    def train_step_fn(
        params: P, opt_state: S, x: ArrayTree, t: Array, *, key: Key | None = None
    ) -> tuple[P, S, Array]:
        value, grads = value_and_grad_fn(params, x, t, key=key)
        new_params, new_opt_state = step(grads, opt_state, params)  # the step gives its gradients up
        return new_params, new_opt_state, value

    return train_step_fn
