"""What :func:`fnn.fit` does differently on more than one rank (see ``docs/distributed.md``).

With a communicator of one rank none of this runs: ``fit`` takes its plain path.
With more, every rank runs the same loop on its rows of the same global batches:

- the step averages the gradients (:func:`fnn.distributed.mean`, weighted by the
  rank's rows) before the optimizer sees them; a rank with no rows skips the forward pass;
- the epoch's one host copy becomes one allreduce of ``n·ℓ`` per step, ``n`` per
  step and the finite flags, which gives every rank the same step losses (the
  global batches'), so a divergence is found at the same step everywhere;
- model state (batch-norm running statistics) is averaged over the ranks before it
  is read (evaluation, the end of an epoch): the running averages are linear in
  the batch statistics, so averaging then equals averaging after every step;
- a callback's :class:`~fnn.train.Stop` on any rank stops every rank;
- only rank 0 shows progress, prints log lines and writes checkpoints.
"""

from __future__ import annotations

from typing import Any, Sequence

import attrs
import numpy as np

from fnn import distributed, tree
from fnn.backend import array_module
from fnn.backprop import ValueGradAndStateFn
from fnn.distributed import Communicator
from fnn.losses import Loss
from fnn.random import Key
from fnn.train._common import finite_flags, to_host
from fnn.train.callbacks import Callback, Stop
from fnn.train.evaluation import sample_mean_maps
from fnn.typing import Array, ArrayTree


def data_parallel_step(step: ValueGradAndStateFn[Any], comm: Communicator) -> ValueGradAndStateFn[Any]:
    """``step`` on this rank's rows, with the gradients averaged over the ranks by sample count."""

    def averaged_step(
        params: Any, state: Any, x: ArrayTree, t: Array, *, key: Key | None = None
    ) -> tuple[Array, Any, Any]:
        rows = int((x if hasattr(x, "shape") else tree.leaves(x)[0]).shape[0])
        if rows:
            value, grads, new_state = step(params, state, x, t, key=key)
        else:  # no rows here: weight 0, so neither a loss nor gradients are needed
            leaf = tree.leaves(params)[0]
            value, grads, new_state = array_module(leaf).zeros((), leaf.dtype), params, state
        return value, distributed.mean(comm, grads, weight=rows), new_state

    return averaged_step


def epoch_readout(
    comm: Communicator, loss: Loss, values: list[Any], sizes: Sequence[int], params: Any, state: Any
) -> tuple[Array, Array, list[int]]:
    """The global step losses, whether all params and state are finite, and the global batch sizes.

    ``ℓ_step = Σ_r n_r ℓ_r / Σ_r n_r`` (for ``rmse``, in squares), from one copy
    to the host and one allreduce; ``sizes`` are this rank's rows of the ``values``' steps.
    """
    local = to_host(values + finite_flags(params, state))
    k = len(values)
    rows = np.asarray(sizes, dtype=np.float64)
    to_mean, from_mean = sample_mean_maps(loss)
    weighted = np.where(rows > 0, rows * to_mean(local[:k]), 0.0)
    total = distributed.sum_over_ranks(comm, np.concatenate([weighted, rows, local[k:]]).tolist())
    counts = total[k : 2 * k]
    losses = np.asarray([from_mean(v) for v in (total[:k] / counts).tolist()], dtype=np.float64)
    return losses, total[2 * k :] == comm.size, [int(c) for c in counts]


def shared_state(comm: Communicator, state: Any) -> Any:
    """The model state averaged over the ranks (``None`` stays ``None``)."""
    return None if state is None else distributed.mean(comm, state)


def agreed_stop(comm: Communicator, stop: Stop | None) -> Stop | None:
    """``stop``, or a :class:`Stop` when a callback on another rank asked for one (one small allreduce)."""
    asked = distributed.sum_over_ranks(comm, [stop is not None])[0]
    if stop is None and asked:
        return Stop("a callback on another rank stopped the run")
    return stop


def quiet_callbacks(callbacks: Sequence[Callback[Any]]) -> tuple[Callback[Any], ...]:
    """``callbacks`` with every ``write`` (a log line's destination) made silent: for ranks other than 0."""
    return tuple(
        attrs.evolve(c, write=_discard) if _writes(c) else c  # type: ignore[misc]
        for c in callbacks
    )


def _writes(callback: Callback[Any]) -> bool:
    """Whether ``callback`` is an attrs class with a ``write`` field (where its lines go)."""
    cls: Any = type(callback)
    return attrs.has(cls) and "write" in attrs.fields_dict(cls)


def _discard(line: str) -> None:
    """Where the log lines of ranks other than 0 go."""
