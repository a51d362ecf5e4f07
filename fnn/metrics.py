"""Metrics over whole data sets: the perplexity of a language model over a corpus.

A language model here is a model with **carried state**: ``apply_with_state(params,
state, xs) -> (logits, new_state)`` on word ids ``xs: (N, T)`` gives next-word logits
``(N, T, V)`` and the state after the window, and ``init_state((T,), backend)`` gives
the fresh (zero) state. fnn's recurrent layers built with ``stateful=True`` and
models made of them have this interface (see ``docs/design.md``, "Carried state").
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from fnn import tree
from fnn.backend import Backend, backend_of
from fnn.datasets.sequence import TBPTTBatches
from fnn.errors import ArgumentError
from fnn.losses import time_softmax_cross_entropy
from fnn.typing import Array

__all__ = ["LanguageModel", "perplexity"]


class LanguageModel(Protocol):
    """What :func:`perplexity` needs of a model: its fresh state and inference that carries state."""

    def init_state(self, in_shape: tuple[int, ...], backend: Backend | None = None) -> Any:
        """The state before the first window, for inputs of shape ``in_shape`` (without the batch axis)."""

    def apply_with_state(self, params: Any, state: Any, x: Any) -> tuple[Any, Any]:
        """``(logits, state after x)`` in inference."""


def _params_backend(params: Any) -> Backend:
    """The backend (module and float dtype) of the first float leaf of ``params``."""
    for leaf in tree.leaves(params):
        if getattr(getattr(leaf, "dtype", None), "kind", None) == "f":
            return backend_of(leaf)
    raise ArgumentError("perplexity: `params` hold no float array, so the model's dtype is unknown")


def perplexity(
    model: LanguageModel,
    params: Any,
    corpus: Array,
    *,
    batch_size: int = 10,
    time_size: int = 35,
    state: Any = None,
) -> float:
    """The perplexity of ``model`` over ``corpus``: ``exp`` of its mean next-word cross entropy.

    The corpus is read as the book's ``eval_perplexity`` reads it: ``batch_size``
    streams at offsets ``i · ((C − 1) // batch_size)``, windows of ``time_size`` ids
    (the first epoch of :class:`fnn.datasets.TBPTTBatches`, ``W = (C − 1) // (batch_size ·
    time_size)`` windows; the last ids that do not fill a window are left out, as the
    book leaves them), the state carried from each window to the next. With
    ``ℓ_k`` the mean cross entropy of window ``k`` over its ``batch_size · time_size``
    positions (every window has that many, so this is the mean over all positions):

    ``perplexity = exp((1/W) Σ_k ℓ_k)``

    One window is in memory at a time, whatever the corpus length; on a GPU the
    window losses are summed on the device and read once at the end.

    Args:
        model: A model with carried state (see the module docstring) whose output is
            next-word logits ``(N, T, V)`` (no softmax: the loss includes it).
        params: Its parameters.
        corpus: Word ids, shape ``(C,)``, on the params' backend.
        batch_size: Parallel streams (the book evaluates with 10).
        time_size: Window length (the book: 35).
        state: The state to start from; ``None`` starts from
            ``model.init_state((time_size,), ...)``, the book's ``reset_state()``.

    Returns:
        The perplexity, a Python float (``V`` for a model that predicts uniformly
        over ``V`` words).

    Raises:
        ArgumentError: ``model`` has no ``apply_with_state`` (a model without carried
            state), or ``params`` hold no float array.
        ShapeError: ``corpus`` is not 1-D or is shorter than one window.
        DTypeError: ``corpus`` does not hold integer ids.
    """
    if not callable(getattr(model, "apply_with_state", None)) or getattr(model, "has_state", True) is False:
        raise ArgumentError(
            f"perplexity: {model!r} has no apply_with_state(params, state, xs) -> (logits, state); "
            "build the model from recurrent layers with stateful=True"
        )
    windows = TBPTTBatches(corpus, batch_size, time_size)
    if state is None:
        state = model.init_state((time_size,), _params_backend(params))
    total: Any = 0.0  # a 0-d array of the backend after the first window: no host copy per window
    for xs, ts in windows.epoch(0):
        logits, state = model.apply_with_state(params, state, xs)
        total = total + time_softmax_cross_entropy.value(logits, ts).astype("float64")
    return math.exp(float(total) / windows.steps_per_epoch)
