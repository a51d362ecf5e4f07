"""Dropout: inverted dropout with its mask drawn from an explicit key."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from fnn import random
from fnn.backend import backend_of
from fnn.errors import StateError
from fnn.layers.core import ParameterFreeLayer, check_float_input, check_in_shape
from fnn.typing import Array, Shape

__all__ = ["Dropout"]


def _check_rate(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(
            f"`rate` is the probability of DROPPING an element and must be in [0, 1), got {value!r}"
        )


@attrs.frozen
class Dropout(ParameterFreeLayer):
    """Inverted dropout: in training, zero each element with probability ``rate``.

    ``rate`` is the probability of **dropping** (zeroing) an element;
    ``1 − rate`` is the probability of keeping it. ``Dropout(0.1)`` drops 10%.

    **Forward (training)**: ``y = x ⊙ m / (1 − rate)`` with ``mᵢ ~ Bernoulli(1 − rate)``
    drawn from ``key``: the same key gives the same mask, bit for bit. Scaling the kept
    elements by ``1/(1 − rate)`` keeps ``E[y] = x``, so **inference is the identity**
    (``apply`` and ``apply_stateful`` return ``x``). The book's dropout is the
    non-inverted kind (no scaling in training, ``× (1 − rate)`` at test time); see
    :mod:`fnn.dlfs` for converting its weights.

    **Backward (VJP)**: ``y`` is linear in ``x`` for a fixed mask, so
    ``dx = dy ⊙ m / (1 − rate)``.

    **Residuals**: the scaled mask ``m / (1 − rate)``, in the dtype of ``x``.

    **Shapes**: any; ``y`` has the shape of ``x``. Over sequences ``(N, T, D)`` this is
    the book's ``TimeDropout`` (volume 2, chapter 6): one independent draw per element,
    so the mask differs from time step to time step (not one mask per sequence, as in
    variational dropout), inverted scaling in training and the identity in inference.
    The improved language model puts it before and after each LSTM.

    Training needs a key: :meth:`forward_train` with ``key=None``, or :meth:`forward`
    (which takes no key), raises :class:`fnn.StateError`.

    Args:
        rate: The probability of dropping each element, in ``[0, 1)``.

    >>> import fnn
    >>> layer = Dropout(0.5)
    >>> x = fnn.backend().ones((2, 4))
    >>> y, mask, _ = layer.forward_train(None, None, x, fnn.random.key(0))
    >>> sorted(set(y.ravel().tolist())) in ([0.0, 2.0], [2.0], [0.0])
    True
    >>> bool((layer.apply(None, x) == x).all())
    True
    """

    stochastic: ClassVar[bool] = True

    rate: float = attrs.field(validator=_check_rate)

    def out_shape(self, in_shape: Shape) -> Shape:
        return check_in_shape(self, in_shape, len(in_shape))

    def apply(self, params: None, x: Array) -> Array:
        check_float_input(self, x)
        return x

    def _no_key(self) -> StateError:
        return StateError(
            f"{self!r}: training needs a random key for the dropout mask, got none; pass "
            "key=fnn.random.key(seed) to forward_train / value_and_grad / fit "
            "(a new key each step), or use apply(...) for inference"
        )

    def forward(self, params: None, x: Array) -> tuple[Array, Array]:
        raise self._no_key()

    def forward_train(
        self, params: None, state: Any, x: Array, key: random.Key | None = None
    ) -> tuple[Array, Array, Any]:
        if key is None:
            raise self._no_key()
        check_float_input(self, x)
        keep = random.bernoulli(key, 1.0 - self.rate, tuple(x.shape), backend_of(x))
        mask: Array = keep * x.dtype.type(1.0 / (1.0 - self.rate))
        return x * mask, mask, state

    def grad(self, params: None, residuals: Array, dy: Array) -> tuple[None, Array]:
        return None, dy * residuals
