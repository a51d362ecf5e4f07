"""The named optimizers of the course, each a short chain of primitive transforms.

``η`` is the learning rate (a positive float or a schedule, see
:mod:`fnn.optim.schedules`), ``g`` the gradient, ``θ`` the parameters, ``u`` the
update that :func:`~fnn.optim.base.apply_updates` adds (``θ ← θ + u``).

==========================  ====================================================
optimizer                   update rule
==========================  ====================================================
``sgd(η)``                  ``u = −η g``
``momentum(η, β)``          ``v ← β v + g``; ``u = −η v``
``nesterov(η, β)``          ``v ← β v + g``; ``u = −η (g + β v)``
``adagrad(η, ε)``           ``h ← h + g²``; ``u = −η g / (√h + ε)``
``rmsprop(η, ρ, ε)``        ``h ← ρ h + (1 − ρ) g²``; ``u = −η g / (√h + ε)``
``adam(η, β₁, β₂, ε)``      ``u = −η m̂ / (√v̂ + ε)``
``adamw(η, β₁, β₂, ε, λ)``  ``u = −η (m̂ / (√v̂ + ε) + λ θ)``
==========================  ====================================================

Each is a chain of primitive transforms (:mod:`fnn.optim.transforms`) ending in
``scale_by_learning_rate(η)``: ``trace`` for the momenta, ``scale_by_rss``
(AdaGrad), ``scale_by_rms`` (RMSprop), ``scale_by_adam``, plus
``add_decayed_weights`` for AdamW. ``adam`` is that chain fused into one transform
(``adam_with_learning_rate``: the same rule and state, ``−η`` folded into Adam's
arithmetic), because its moments cost several passes over every parameter.

Defaults follow the book where it gives them (``ε = 1e-7`` for AdaGrad and
RMSprop, ``ρ = 0.99``, ``β = 0.9``) and the paper otherwise (Adam: ``η = 0.001``,
``β₁ = 0.9``, ``β₂ = 0.999``, ``ε = 1e-8``).
"""

from __future__ import annotations

from typing_extensions import TypeAlias

from fnn.optim.base import EmptyState, GradientTransformation, ScalarOrSchedule, chain, named
from fnn.optim.transforms import (
    LearningRateState,
    Mask,
    ScaleByAdamState,
    ScaleByRmsState,
    ScaleByRssState,
    TraceState,
    adam_with_learning_rate,
    add_decayed_weights,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_rms,
    scale_by_rss,
    trace,
)

__all__ = [
    "AdaGradState",
    "AdamState",
    "AdamWState",
    "MomentumState",
    "RmsPropState",
    "SgdState",
    "adagrad",
    "adam",
    "adamw",
    "momentum",
    "nesterov",
    "rmsprop",
    "sgd",
]

SgdState: TypeAlias = LearningRateState
"""The state of :func:`sgd`: empty for a float learning rate, the step count for a schedule."""
MomentumState: TypeAlias = "tuple[TraceState, LearningRateState]"
"""The state of :func:`momentum` and :func:`nesterov`: the velocity, then the learning rate's."""
AdaGradState: TypeAlias = "tuple[ScaleByRssState, LearningRateState]"
"""The state of :func:`adagrad`: the sum of squared gradients, then the learning rate's."""
RmsPropState: TypeAlias = "tuple[ScaleByRmsState, LearningRateState]"
"""The state of :func:`rmsprop`: the running mean of squared gradients, then the learning rate's."""
AdamState: TypeAlias = "tuple[ScaleByAdamState, LearningRateState]"
"""The state of :func:`adam`: the count and moments, then the learning rate's."""
AdamWState: TypeAlias = "tuple[ScaleByAdamState, EmptyState, LearningRateState]"
"""The state of :func:`adamw`: Adam's, the weight decay's (empty), then the learning rate's."""


def sgd(learning_rate: ScalarOrSchedule) -> GradientTransformation[SgdState]:
    """Stochastic gradient descent: ``u = −η g``.

    Args:
        learning_rate: ``η > 0`` or a schedule.

    Returns:
        The optimizer; its state is empty for a float ``η`` and holds the step count
        for a schedule.

    Raises:
        ValueError: ``η`` is not a positive finite number.

    >>> import numpy as np
    >>> opt = sgd(0.5)
    >>> opt.update(np.array([1.0, -2.0]), opt.init(np.zeros(2)))[0]
    array([-0.5,  1. ])
    """
    return named("sgd", scale_by_learning_rate(learning_rate))


def momentum(learning_rate: ScalarOrSchedule, beta: float = 0.9) -> GradientTransformation[MomentumState]:
    """SGD with momentum (Polyak's heavy ball): ``v ← β v + g``; ``u = −η v``.

    For a constant ``η`` this is the book's ``v ← α v − η g; θ ← θ + v`` with ``α = β``.

    Args:
        learning_rate: ``η > 0`` or a schedule.
        beta: ``β`` in ``[0, 1)``, the decay of the velocity.

    Raises:
        ValueError: an argument out of its range.

    >>> import numpy as np
    >>> opt = momentum(0.1, beta=0.5)
    >>> u, s = opt.update(np.array([1.0]), opt.init(np.zeros(1)))
    >>> opt.update(np.array([1.0]), s)[0]
    array([-0.15])
    """
    return named("momentum", chain(trace(beta), scale_by_learning_rate(learning_rate)))


def nesterov(learning_rate: ScalarOrSchedule, beta: float = 0.9) -> GradientTransformation[MomentumState]:
    """Nesterov's accelerated gradient (Sutskever et al., 2013): ``v ← β v + g``; ``u = −η (g + β v)``.

    The look-ahead form used by PyTorch and optax (the new ``v`` in the update).

    Args:
        learning_rate: ``η > 0`` or a schedule.
        beta: ``β`` in ``[0, 1)``.

    Raises:
        ValueError: an argument out of its range.

    >>> import numpy as np
    >>> opt = nesterov(0.1, beta=0.5)
    >>> opt.update(np.array([1.0]), opt.init(np.zeros(1)))[0]
    array([-0.15])
    """
    return named("nesterov", chain(trace(beta, nesterov=True), scale_by_learning_rate(learning_rate)))


def adagrad(learning_rate: ScalarOrSchedule, eps: float = 1e-7) -> GradientTransformation[AdaGradState]:
    """AdaGrad (Duchi et al., 2011): ``h ← h + g²``; ``u = −η g / (√h + ε)``, ``h`` from 0.

    Args:
        learning_rate: ``η > 0`` or a schedule.
        eps: ``ε > 0`` (the book's ``1e-7``).

    Raises:
        ValueError: an argument out of its range.

    >>> import numpy as np
    >>> opt = adagrad(1.0)
    >>> opt.update(np.array([2.0]), opt.init(np.zeros(1)))[0].round(6)
    array([-1.])
    """
    return named("adagrad", chain(scale_by_rss(eps), scale_by_learning_rate(learning_rate)))


def rmsprop(
    learning_rate: ScalarOrSchedule, decay: float = 0.99, eps: float = 1e-7
) -> GradientTransformation[RmsPropState]:
    """RMSprop (Tieleman & Hinton, 2012): ``h ← ρ h + (1 − ρ) g²``; ``u = −η g / (√h + ε)``.

    Args:
        learning_rate: ``η > 0`` or a schedule.
        decay: ``ρ`` in ``[0, 1)`` (the book's ``0.99``).
        eps: ``ε > 0`` (the book's ``1e-7``).

    Raises:
        ValueError: an argument out of its range.

    >>> import numpy as np
    >>> opt = rmsprop(0.01, decay=0.99)
    >>> opt.update(np.array([2.0]), opt.init(np.zeros(1)))[0].round(6)
    array([-0.1])
    """
    return named("rmsprop", chain(scale_by_rms(decay, eps), scale_by_learning_rate(learning_rate)))


def adam(
    learning_rate: ScalarOrSchedule = 0.001, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> GradientTransformation[AdamState]:
    """Adam (Kingma & Ba, 2015), with bias-corrected moments.

    ``m ← β₁ m + (1 − β₁) g``; ``v ← β₂ v + (1 − β₂) g²``;
    ``m̂ = m / (1 − β₁ᵗ)``; ``v̂ = v / (1 − β₂ᵗ)``; ``u = −η m̂ / (√v̂ + ε)``.

    Args:
        learning_rate: ``η > 0`` or a schedule.
        b1: ``β₁`` in ``[0, 1)``.
        b2: ``β₂`` in ``[0, 1)``.
        eps: ``ε > 0``.

    Raises:
        ValueError: an argument out of its range.

    >>> import numpy as np
    >>> opt = adam(0.1)
    >>> opt.update(np.array([3.0, -0.01]), opt.init(np.zeros(2)))[0].round(6)
    array([-0.1,  0.1])
    """
    return named("adam", adam_with_learning_rate(b1, b2, eps, learning_rate))


def adamw(
    learning_rate: ScalarOrSchedule = 0.001,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-4,
    mask: Mask | None = None,
) -> GradientTransformation[AdamWState]:
    """AdamW (Loshchilov & Hutter, 2019): Adam with weight decay decoupled from the moments.

    ``u = −η (m̂ / (√v̂ + ε) + λ θ)`` with ``m̂``, ``v̂`` as in :func:`adam`. Unlike L2
    regularisation, ``λ θ`` bypasses Adam's scaling, so every weight decays at the
    same rate ``η λ``.

    Args:
        learning_rate: ``η > 0`` or a schedule.
        b1: ``β₁`` in ``[0, 1)``.
        b2: ``β₂`` in ``[0, 1)``.
        eps: ``ε > 0``.
        weight_decay: ``λ >= 0``.
        mask: Which leaves decay (see :func:`~fnn.optim.transforms.add_decayed_weights`).

    Raises:
        ValueError: an argument out of its range, or (at update) ``params`` not given.

    >>> import numpy as np
    >>> opt = adamw(0.1, weight_decay=0.5)
    >>> p = np.array([2.0])
    >>> opt.update(np.array([3.0]), opt.init(p), p)[0].round(6)
    array([-0.2])
    """
    return named(
        "adamw",
        chain(
            scale_by_adam(b1, b2, eps),
            add_decayed_weights(weight_decay, mask),
            scale_by_learning_rate(learning_rate),
        ),
    )
