"""Weight initializers as values: ``init(key, shape, backend) -> array``.

Fans follow the array layout fnn's layers use:

- dense weights ``(fan_in, fan_out)``;
- convolution kernels ``(out_channels, in_channels, kh, kw)``: ``fan_in = in·kh·kw``,
  ``fan_out = out·kh·kw``.

=====================  =========================================
initializer            distribution
=====================  =========================================
``zeros()``            all zeros
``normal(std)``        ``N(0, std²)`` (the book's ``0.01 * randn``)
``xavier_normal()``    ``N(0, 2 / (fan_in + fan_out))`` (Glorot)
``xavier_uniform()``   ``U(±√(6 / (fan_in + fan_out)))``
``he_normal()``        ``N(0, 2 / fan_in)`` (for ReLU)
``he_uniform()``       ``U(±√(6 / fan_in))``
``lecun_normal()``     ``N(0, 1 / fan_in)``
=====================  =========================================

>>> import fnn
>>> w = normal(0.01)(fnn.random.key(0), (784, 50), fnn.backend())
>>> w.shape, w.dtype.name
((784, 50), 'float32')
"""

from __future__ import annotations

import math
from typing import Literal

import attrs

from fnn import random
from fnn.backend import Backend
from fnn.typing import Array, Shape

__all__ = [
    "Initializer",
    "fans",
    "zeros",
    "normal",
    "xavier_normal",
    "xavier_uniform",
    "he_normal",
    "he_uniform",
    "lecun_normal",
]


def fans(shape: Shape) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of ``shape`` (see the module docstring)."""
    if len(shape) < 2:
        return (int(shape[0]) if shape else 1,) * 2
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    receptive = math.prod(shape[2:])
    return int(shape[1]) * receptive, int(shape[0]) * receptive


@attrs.frozen
class Initializer:
    """A weight initializer: a distribution and how its scale follows the fans.

    Attributes:
        distribution: ``"zeros"``, ``"normal"`` or ``"uniform"``.
        scale: ``"fixed"`` (``std`` as given), ``"fan_in"``, or ``"fan_avg"`` (the mean of both fans).
        gain: variance = ``gain / fan`` for fan scaling; the standard deviation itself when fixed.
    """

    distribution: Literal["zeros", "normal", "uniform"]
    scale: Literal["fixed", "fan_in", "fan_avg"] = "fixed"
    gain: float = 1.0

    def std(self, shape: Shape) -> float:
        """The standard deviation this initializer gives a weight of ``shape``."""
        if self.scale == "fixed":
            return self.gain
        fan_in, fan_out = fans(shape)
        fan = fan_in if self.scale == "fan_in" else (fan_in + fan_out) / 2
        return math.sqrt(self.gain / fan)

    def __call__(self, key: random.Key, shape: Shape, backend: Backend) -> Array:
        if self.distribution == "zeros":
            return backend.zeros(shape)
        std = self.std(shape)
        if self.distribution == "normal":
            return random.normal(key, shape, backend, std=std)
        limit = math.sqrt(3.0) * std
        return random.uniform(key, shape, backend, low=-limit, high=limit)


def zeros() -> Initializer:
    """All zeros (biases; never for weights that must break symmetry)."""
    return Initializer("zeros")


def normal(std: float = 0.01) -> Initializer:
    """``N(0, std²)``; ``normal(0.01)`` is the book's ``0.01 * np.random.randn``."""
    if not std > 0:
        raise ValueError(f"`std` must be positive, got {std}")
    return Initializer("normal", "fixed", std)


def xavier_normal() -> Initializer:
    """Glorot normal: ``N(0, 2 / (fan_in + fan_out))``, for sigmoid and tanh networks."""
    return Initializer("normal", "fan_avg", 1.0)


def xavier_uniform() -> Initializer:
    """Glorot uniform: ``U(-a, a)``, ``a = √(6 / (fan_in + fan_out))``."""
    return Initializer("uniform", "fan_avg", 1.0)


def he_normal() -> Initializer:
    """He normal: ``N(0, 2 / fan_in)``, for ReLU networks."""
    return Initializer("normal", "fan_in", 2.0)


def he_uniform() -> Initializer:
    """He uniform: ``U(-a, a)``, ``a = √(6 / fan_in)``."""
    return Initializer("uniform", "fan_in", 2.0)


def lecun_normal() -> Initializer:
    """LeCun normal: ``N(0, 1 / fan_in)``."""
    return Initializer("normal", "fan_in", 1.0)
