"""Bit precision: the same training in float64, float32 and float16, and on the GPU when there is one.

A ``fnn.Backend`` is an array module plus a float dtype, and every parameter and
activation stays in that dtype. So the same model, data and key trained under
``fnn.backend("numpy", dtype)`` compare the precisions directly: time per epoch,
memory (the params, and the peak memory NumPy allocated while training), and
test accuracy. The model is a ``784 → 50 (ReLU) → 10`` network trained with SGD
on MNIST (``../shared/data/mnist``).

The output says how many images were used: the first line gives the training and
test counts, and the table's ``train`` and ``test`` columns give each row's. Times
are per image and epoch of training (per image of inference for the
inference row), so runs on different numbers of images compare; the peak
memory is what NumPy allocated during training as ``tracemalloc`` sees it (on
the GPU: CuPy's memory pool).

- float16 halves the memory of float32 again, but NumPy has no fast float16
  matrix product on the CPU (it is hundreds of times slower than float32), so
  float16 *training* runs on a smaller share of the data (``--f16-train-limit``)
  and the table marks it. The book's point holds: float16 *inference* with the
  float32-trained weights loses almost no accuracy.
- With CuPy and an NVIDIA GPU, the float32 and float16 runs repeat on
  ``fnn.backend("cupy", dtype)``. Without them the GPU rows are skipped with the
  reason (not an error).

Run: ``python examples/precision.py``
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn
from fnn.typing import Array

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
Row = dict[str, Any]


def load(data: Path) -> tuple[tuple[Array, Array], tuple[Array, Array]]:
    root = data / "mnist"
    if not root.is_dir():
        raise SystemExit(f"MNIST not found: {root} does not exist; pass --data DIR (a directory with mnist/)")
    return fnn.datasets.load_mnist(
        root, download=False, cache=False, progress=False, backend=fnn.backend("numpy")
    )


def model() -> fnn.Sequential:
    return fnn.sequential(fnn.Dense(50, w_init=fnn.initializers.he_normal()), fnn.relu, fnn.Dense(10))


def nbytes(tree: Any) -> int:
    return sum(int(leaf.nbytes) for leaf in fnn.tree.leaves(tree))


def train(
    backend: fnn.Backend,
    data: tuple[tuple[Array, Array], tuple[Array, Array]],
    args: argparse.Namespace,
    limit: int,
) -> tuple[Row, Any]:
    """Train in ``backend`` on the first ``limit`` training images; return the row and the params."""
    (x_train, t_train), (x_test, t_test) = data
    x, t = backend.asarray(x_train[:limit]), backend.asarray(t_train[:limit], dtype="int64")
    xt, tt = backend.asarray(x_test), backend.asarray(t_test, dtype="int64")
    net = model()
    params = net.init(fnn.random.key(args.seed), (784,), backend)
    on_gpu = backend.name == "cupy"
    if on_gpu:
        pool = backend.xp.get_default_memory_pool()
        pool.free_all_blocks()
    else:
        tracemalloc.start()
    start = time.perf_counter()
    params, _, history = fnn.fit(
        net, fnn.losses.softmax_cross_entropy, fnn.optim.sgd(args.lr), params, x, t,
        key=fnn.random.key(args.seed + 1), epochs=args.epochs, batch_size=args.batch_size, progress=False,
    )  # fmt: skip
    float(history.loss[-1])  # a host number: waits for the GPU to finish
    seconds = time.perf_counter() - start
    accuracy = fnn.accuracy(net, params, xt, tt)
    if on_gpu:
        peak = int(pool.total_bytes())
    else:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    row = {
        "backend": backend.name,
        "dtype": backend.dtype.name,
        "train images": limit,
        "test images": len(tt),
        "seconds": seconds,
        "us/image": seconds / args.epochs / limit * 1e6,
        "params bytes": nbytes(params),
        "peak bytes": peak,
        "loss": history.loss[-1],
        "test accuracy": accuracy,
    }
    return row, params


def infer_float16(params32: Any, x_test: Array, t_test: Array) -> Row:
    """float32-trained weights cast to float16, evaluated in float16."""
    be = fnn.backend("numpy", "float16")
    params16 = fnn.tree.map(lambda p: p.astype(np.float16), params32)
    x16 = be.asarray(x_test)
    tracemalloc.start()
    start = time.perf_counter()
    accuracy = fnn.accuracy(model(), params16, x16, t_test)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "backend": "numpy",
        "dtype": "float16 (inference)",
        "train images": 0,
        "test images": len(x16),
        "seconds": seconds,
        "us/image": seconds / len(x16) * 1e6,
        "params bytes": nbytes(params16),
        "peak bytes": peak,
        "loss": float("nan"),
        "test accuracy": accuracy,
    }


def gpu_backend() -> tuple[fnn.Backend | None, str]:
    try:
        return fnn.backend("cupy", "float32"), ""
    except fnn.BackendError as error:
        return None, str(error)


def show(rows: list[Row]) -> None:
    """The table: ``train`` and ``test`` are the numbers of images trained on and evaluated on."""
    header = f"{'backend':<7} {'dtype':<20} {'train':>6} {'test':>6} {'µs/image':>8} "
    header += f"{'params':>9} {'peak mem':>9} {'accuracy':>8}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['backend']:<7} {r['dtype']:<20} {r['train images'] or '-':>6} {r['test images']:>6} "
            f"{r['us/image']:>8.1f} {r['params bytes'] / 1e3:>7.0f}kB {r['peak bytes'] / 1e6:>7.1f}MB "
            f"{r['test accuracy']:>8.4f}"
        )


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Train in each precision; print the table; return its rows and the GPU status."""
    parser = argparse.ArgumentParser(
        description="float64 vs float32 vs float16 training (and CuPy when present)."
    )
    parser.add_argument(
        "--data", type=Path, default=DATA, help="directory holding mnist/ (default ../shared/data)"
    )
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.2)
    parser.add_argument("--train-limit", type=int, default=None, help="training images (default: all)")
    parser.add_argument(
        "--f16-train-limit", type=int, default=1000, help="training images for float16 on the CPU"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-gpu", action="store_true", help="skip the CuPy rows even when a GPU is present")
    args = parser.parse_args(argv)

    data = load(args.data)
    (x_train, _), (x_test, t_test) = data
    limit = len(x_train) if args.train_limit is None else min(args.train_limit, len(x_train))
    print(f"784-50-10 ReLU network on MNIST, SGD lr {args.lr}, batch {args.batch_size}, {args.epochs} epochs")
    f16_limit = min(limit, args.f16_train_limit)
    print(
        f"trained on {limit} of the {len(x_train)} training images ({f16_limit} for float16 on the CPU), "
        f"tested on all {len(x_test)} test images"
    )
    rows: list[Row] = []
    trained: dict[str, Any] = {}
    for dtype in ("float64", "float32", "float16"):
        n = f16_limit if dtype == "float16" else limit
        row, params = train(fnn.backend("numpy", dtype), data, args, n)
        rows.append(row)
        trained[dtype] = params
    rows.append(infer_float16(trained["float32"], x_test, t_test))

    gpu, reason = (None, "skipped (--no-gpu)") if args.no_gpu else gpu_backend()
    if gpu is None:
        print(f"GPU rows skipped: {reason}")
    else:
        for dtype in ("float32", "float16"):
            row, _ = train(gpu.with_dtype(dtype), data, args, limit)
            rows.append(row)
    show(rows)
    return {"rows": rows, "gpu": gpu is not None, "gpu_reason": reason, "params": trained}


if __name__ == "__main__":
    main()
