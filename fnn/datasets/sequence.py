"""Sequence data: the truncated-BPTT windows over a corpus of word ids (the book's language-model batches).

>>> import numpy as np
>>> batches = TBPTTBatches(np.arange(11), batch_size=2, time_size=3)
>>> batches.steps_per_epoch                     # (11 - 1) // (2 * 3)
1
>>> xs, ts = batches.window(0)
>>> xs.tolist(), ts.tolist()                    # streams start at 0 and 5; targets one ahead
([[0, 1, 2], [5, 6, 7]], [[1, 2, 3], [6, 7, 8]])
>>> batches.window(1)[0].tolist()               # the next window continues each stream
[[3, 4, 5], [8, 9, 0]]
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import attrs

from fnn.backend import array_module
from fnn.errors import DTypeError, ShapeError
from fnn.typing import Array

__all__ = ["TBPTTBatches"]


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"TBPTTBatches: `{attribute.name}` must be a positive integer, got {value!r}")


@attrs.frozen(eq=False)
class TBPTTBatches:
    """Windows ``(xs, ts)`` of ``batch_size`` parallel streams through a corpus, for truncated BPTT.

    The corpus of ``C`` ids is read as inputs ``x = corpus[:-1]`` and targets
    ``t = corpus[1:]`` (the next word), ``L = C − 1`` positions. Stream ``i`` starts at
    offset ``oᵢ = i · (L // batch_size)``; window ``k`` holds, for each stream, the
    ``time_size`` positions from ``oᵢ + k · time_size``:

    ``xs[i, τ] = x[(oᵢ + k·T + τ) mod L]``, ``ts[i, τ] = t[(oᵢ + k·T + τ) mod L]``,

    so window ``k + 1`` continues each stream where window ``k`` stopped, and the
    recurrent state carried from one window to the next is the state of the same
    stream. This is exactly the book's ``RnnlmTrainer.get_batch`` (and chapter 5's
    training loop), whose ``time_idx`` starts at 0 and keeps counting across epochs:
    an epoch is :attr:`steps_per_epoch` ``= L // (batch_size · time_size)`` windows,
    epoch ``e`` is windows ``e · steps_per_epoch …``, and a stream reaching the end of
    the corpus wraps to its start (the ``mod L``). Nothing is random: the same
    arguments give the same windows.

    Iterating gives windows ``0, 1, 2, …`` **without end**, the book's stream across
    epochs, for a loop that takes a number of steps per epoch; :meth:`epoch` gives one
    epoch's windows and :meth:`window` any one window.

    Attributes:
        corpus: A 1-D array of integer ids (NumPy or CuPy); the windows are built with
            its array module and dtype.
        batch_size: ``N``, the number of parallel streams.
        time_size: ``T``, the window length.

    Raises:
        ShapeError: ``corpus`` is not 1-D, or too short for one window
            (``C − 1 < batch_size · time_size``).
        DTypeError: ``corpus`` does not hold integers.
        ValueError: ``batch_size`` or ``time_size`` is not a positive integer.
    """

    corpus: Array
    batch_size: int = attrs.field(validator=_positive)
    time_size: int = attrs.field(validator=_positive)
    _starts: Array = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        corpus = self.corpus
        if getattr(corpus, "ndim", None) != 1:
            raise ShapeError(
                "TBPTTBatches: expected a 1-D corpus of word ids, got shape "
                f"{getattr(corpus, 'shape', None)}; "
                "join the sentences into one array (the book's corpus)"
            )
        if corpus.dtype.kind not in "iu":
            raise DTypeError(f"TBPTTBatches: expected integer word ids, got dtype {corpus.dtype}")
        per_window = self.batch_size * self.time_size
        if len(corpus) - 1 < per_window:
            raise ShapeError(
                f"TBPTTBatches: a corpus of {len(corpus)} ids has {len(corpus) - 1} (input, target) pairs, "
                f"fewer than one window of batch_size × time_size = {per_window}; "
                "use a longer corpus or smaller windows"
            )
        xp = array_module(corpus)
        jump = (len(corpus) - 1) // self.batch_size
        starts = xp.arange(self.batch_size)[:, None] * jump + xp.arange(self.time_size)
        object.__setattr__(self, "_starts", starts)

    @property
    def steps_per_epoch(self) -> int:
        """Windows per epoch: ``(C − 1) // (batch_size · time_size)``, the book's ``max_iters``."""
        return (len(self.corpus) - 1) // (self.batch_size * self.time_size)

    def window(self, step: int) -> tuple[Array, Array]:
        """Window number ``step`` (counted from 0 across epochs): ``(xs, ts)``, each ``(N, T)``."""
        positions = (self._starts + step * self.time_size) % (len(self.corpus) - 1)
        return self.corpus[positions], self.corpus[positions + 1]

    def epoch(self, epoch: int) -> Iterator[tuple[Array, Array]]:
        """The :attr:`steps_per_epoch` windows of epoch ``epoch`` (from 0), in order."""
        first = epoch * self.steps_per_epoch
        return (self.window(step) for step in range(first, first + self.steps_per_epoch))

    def __iter__(self) -> Iterator[tuple[Array, Array]]:
        return (self.window(step) for step in itertools.count())
