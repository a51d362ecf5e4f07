"""The MLP chapter's MNIST network trained data-parallel on several processes with MPI.

Launch it with ``mpiexec -n 2 python -m mpi4py examples/mnist_mpi.py`` (the ``mpi``
extra: ``pip install -e '.[mpi]'``; ``-m mpi4py`` ends every rank when one fails).
Every rank reads the same data and calls the same ``fnn.fit`` with
``comm=fnn.distributed.communicator()``: each takes its half of every global batch
of 100 images, the gradients are averaged over the ranks, and all ranks hold the
same params after every step. Rank 0 prints the progress and saves the params
(``--save``). Run without ``mpiexec`` it trains on one process, with the same
global batches and (to float32 rounding) the same result.

Run: ``mpiexec -n 2 python -m mpi4py examples/mnist_mpi.py --epochs 5``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn
from examples.mlp_mnist import DATA, load, network


def main(argv: list[str] | None = None, comm: fnn.distributed.Communicator | None = None) -> dict[str, Any]:
    """Train on the ranks of ``comm`` (default: MPI's under ``mpiexec``, else this process alone)."""
    parser = argparse.ArgumentParser(description="The 784-100-100-100-10 MNIST MLP on MPI ranks.")
    parser.add_argument(
        "--data", type=Path, default=DATA, help="directory holding mnist/ (default ../shared/data)"
    )
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=100, help="the global batch (over all ranks)")
    parser.add_argument("--lr", type=float, default=2e-3, help="Adam's learning rate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", type=Path, default=None, help="write the trained params here (rank 0)")
    args = parser.parse_args(argv)

    comm = fnn.distributed.communicator() if comm is None else comm
    backend = fnn.backend(dtype="float32")
    (x_train, t_train), (x_test, t_test) = load(args.data, backend)
    model = network()
    init_key, fit_key = fnn.random.split(fnn.random.key(args.seed))
    params = model.init(init_key, (784,), backend)  # fit starts every rank from rank 0's
    if comm.rank == 0:
        print(f"{comm.size} ranks, {x_train.shape[0]} training images, global batch {args.batch_size}")
    start = time.perf_counter()
    result = fnn.fit(
        model, fnn.losses.softmax_cross_entropy, fnn.optim.adam(args.lr), params, x_train, t_train,
        key=fit_key, epochs=args.epochs, batch_size=args.batch_size, eval_data=(x_test, t_test),
        callbacks=[fnn.train.EpochLog()], comm=comm,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    fnn.distributed.check_identical(comm, result.params)  # a debug check: every rank holds the same bits
    test_accuracy = result.history.eval_accuracy[-1]
    if comm.rank == 0:
        print(f"test accuracy {test_accuracy:.4f} after {args.epochs} epochs, {seconds:.1f} s")
        if args.save is not None:
            fnn.io.save(args.save, result.params)
    return {
        "params": result.params,
        "history": result.history,
        "test_accuracy": test_accuracy,
        "seconds": seconds,
    }


if __name__ == "__main__":
    main()
