"""Conv2D and MaxPool2D speed: fnn's strided-view im2col against loop-based baselines.

All timings are taken in one process on the same inputs (float32, NumPy backend) and
reported as ratios; nothing here is asserted. Baselines:

- ``pixel-loop``: im2col/col2im written with a Python loop over output pixels (the
  straightforward way);
- ``offset-loop``: the book's im2col/col2im, a Python loop over the ``kh·kw`` kernel
  offsets with strided slices (still a copy per offset);
- ``torch``: ``torch.nn.functional.conv2d`` / ``max_pool2d`` on CPU with autograd,
  when PyTorch is installed.

Forward = inference output; "fwd+bwd" = training forward plus the VJP (dW, db, dx).

Run: ``python benchmarks/bench_conv.py`` (``--quick`` for a fast smoke run).

Recorded (2026-11, a 2-core shared CPU box, NumPy 2.4 with OpenBLAS, torch 2.13 CPU;
best of 5×3 calls; other jobs were running, so treat ratios as ±20%)::

    layer (batch, float32)                      fnn fwd  fwd+bwd   offset-loop  pixel-loop  torch
                                                                   (× fnn time, fwd / fwd+bwd)
    SimpleConvNet conv1 1→30, 5x5, 28x28 (100)  2.4 ms   8.4 ms    3.0 / 1.8    4.1 / 2.8   0.43 / 1.5
    DeepConvNet conv3 16→32, 3x3 pad 1 (100)    3.7 ms   15.7 ms   2.2 / 1.2    2.7 / 2.4   0.34 / 0.27
    32→64, 3x3, stride 2, pad 1, 16x16 (50)     2.1 ms   6.4 ms    1.3 / 1.0    1.7 / 2.0   0.43 / 0.55
    MaxPool2D 2x2 on 30x24x24 (100)                      14.0 ms   1.5 (the book's Pooling)

Shared-box mode (2026-11, after the stride-1 "flat run" im2col and the offset-loop
MaxPool2D backward; other jobs at load 5-10 made wall clock useless, so both columns
are CPU time, one BLAS/torch thread, best of 9x3, old and new code in the same script):
``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_conv.py --cpu-time --repeat 9``::

    layer                          fnn fwd+bwd before -> after   torch fwd+bwd (x fnn)
    SimpleConvNet conv1 5x5        8.5 -> 12.6 ms (fwd 2.4 -> 2.5)   2.80 -> 1.89
    DeepConvNet conv3 3x3 pad 1   18.6 -> 12.2 ms (fwd 4.3 -> 3.5)   0.41 -> 0.62
    stride 2                       8.0 ->  8.7 ms (fwd 2.5 -> 2.6)   0.73 -> 0.66
    MaxPool2D 2x2                 13.6 -> 14.4 ms (backward alone 9.1 -> 6.5 ms)

conv1's in-benchmark regression is page faults (~2000 per call, glibc trimming the heap
between calls; measured with getrusage): in a fresh process the same call takes
8.7 ms against 9.9 ms before. col2im for stride 1 is now one contiguous run per
kernel offset (1.3 ms instead of 5.5 ms for conv3); the GEMMs are ~70% of the rest.

Compact im2col with the bias as a ones row, ``col`` in 4 MiB chunks (issue 22; 2026-11,
same command, load 10-15 on the 2 cores, two runs of each tree one after the other,
best of 5x3 CPU time)::

    layer                          fnn fwd 3e4bae3 -> now       fnn fwd+bwd 3e4bae3 -> now
    SimpleConvNet conv1 5x5        2.20, 2.24 -> 1.38, 1.56 ms    11.4, 11.0 -> 9.8, 11.1 ms
    DeepConvNet conv3 3x3 pad 1    3.48, 3.40 -> 2.89, 3.10 ms    11.6, 11.7 -> 10.4, 11.0 ms
    stride 2                       1.78, 1.92 -> 1.78, 1.75 ms     6.9,  7.4 ->  7.3,  6.6 ms
    MaxPool2D 2x2                                                  3.27, 3.13 -> 3.24, 2.90 ms

The output now comes out C-contiguous with its bias (no pass over the grid, no
``dy`` copied onto the grid for ``dW``), so the layers after it read contiguous memory;
the gain shows most in whole steps (``benchmarks/conv_limit.py``) and in large
inference batches, where a 60 MB ``col`` no longer leaves the cache before its product.
"""

from __future__ import annotations

import argparse
import time
import timeit
from typing import Any, Callable

import numpy as np

import fnn

Conv = tuple[str, int, int, int, int, int, int, int]  # name, N, C, H, F, k, stride, pad


def pixel_loop_im2col(x: Any, k: int, s: int, p: int) -> tuple[Any, int]:
    x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    n, c, h, w = x.shape
    o = (h - k) // s + 1
    col = np.empty((n, o, o, c * k * k), dtype=x.dtype)
    for i in range(o):
        for j in range(o):
            col[:, i, j] = x[:, :, i * s : i * s + k, j * s : j * s + k].reshape(n, -1)
    return col.reshape(n * o * o, -1), o


def pixel_loop_col2im(dcol: Any, shape: tuple[int, ...], k: int, s: int, p: int, o: int) -> Any:
    n, c, h, w = shape
    dx = np.zeros((n, c, h + 2 * p, w + 2 * p), dtype=dcol.dtype)
    dcol = dcol.reshape(n, o, o, c, k, k)
    for i in range(o):
        for j in range(o):
            dx[:, :, i * s : i * s + k, j * s : j * s + k] += dcol[:, i, j]
    return dx[:, :, p : p + h, p : p + w]


def offset_loop_im2col(x: Any, k: int, s: int, p: int) -> tuple[Any, int]:
    x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    n, c, h, w = x.shape
    o = (h - k) // s + 1
    col = np.empty((n, c, k, k, o, o), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            col[:, :, i, j] = x[:, :, i : i + s * o : s, j : j + s * o : s]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(n * o * o, -1), o


def offset_loop_col2im(dcol: Any, shape: tuple[int, ...], k: int, s: int, p: int, o: int) -> Any:
    n, c, h, w = shape
    dcol = dcol.reshape(n, o, o, c, k, k).transpose(0, 3, 4, 5, 1, 2)
    dx = np.zeros((n, c, h + 2 * p + s - 1, w + 2 * p + s - 1), dtype=dcol.dtype)
    for i in range(k):
        for j in range(k):
            dx[:, :, i : i + s * o : s, j : j + s * o : s] += dcol[:, :, i, j]
    return dx[:, :, p : p + h, p : p + w]


def loop_conv(
    im2col: Any, col2im: Any, w: Any, b: Any, x: Any, k: int, s: int, p: int, backward: bool
) -> Any:
    col, o = im2col(x, k, s, p)
    f = w.shape[0]
    y = col @ w.reshape(f, -1).T + b
    if not backward:
        return y.reshape(x.shape[0], o, o, f).transpose(0, 3, 1, 2)
    dy = np.ones_like(y)
    dw, db = dy.T @ col, dy.sum(axis=0)
    return dw, db, col2im(dy @ w.reshape(f, -1), x.shape, k, s, p, o)


TIMER: Callable[[], float] = time.perf_counter


def best(fn: Callable[[], Any], number: int, repeat: int) -> float:
    """Best time of one call in milliseconds (wall clock, or CPU time with ``--cpu-time``)."""
    return min(timeit.repeat(fn, number=number, repeat=repeat, timer=TIMER)) / number * 1e3


def bench_conv(config: Conv, number: int, repeat: int) -> dict[str, float]:
    name, n, c, h, f, k, s, p = config
    layer = fnn.Conv2D(f, k, stride=s, padding=p)
    b = fnn.backend()
    params = layer.init(fnn.random.key(0), (c, h, h), b)
    assert params.b is not None
    x = fnn.random.normal(fnn.random.key(1), (n, c, h, h), b)
    y = layer.apply(params, x)
    dy = b.ones(y.shape)

    def fnn_train() -> Any:
        out, residuals = layer.forward(params, x)
        return layer.grad(params, residuals, dy)

    for im2col, col2im in [(pixel_loop_im2col, pixel_loop_col2im), (offset_loop_im2col, offset_loop_col2im)]:
        np.testing.assert_allclose(
            loop_conv(im2col, col2im, params.w, params.b, x, k, s, p, False), y, rtol=1e-4, atol=1e-4
        )
        dx_loop = loop_conv(im2col, col2im, params.w, params.b, x, k, s, p, True)[2]
        np.testing.assert_allclose(dx_loop, fnn_train()[1], rtol=1e-4, atol=1e-4)
    times = {
        "fnn fwd": best(lambda: layer.apply(params, x), number, repeat),
        "fnn fwd+bwd": best(fnn_train, number, repeat),
    }
    for label, (im2col, col2im) in {
        "pixel-loop": (pixel_loop_im2col, pixel_loop_col2im),
        "offset-loop": (offset_loop_im2col, offset_loop_col2im),
    }.items():
        times[f"{label} fwd"] = best(
            lambda: loop_conv(im2col, col2im, params.w, params.b, x, k, s, p, False), number, repeat
        )
        times[f"{label} fwd+bwd"] = best(
            lambda: loop_conv(im2col, col2im, params.w, params.b, x, k, s, p, True), number, repeat
        )
    times.update(torch_conv(params.w, params.b, x, s, p, number, repeat))
    return times


def torch_conv(w: Any, b: Any, x: Any, s: int, p: int, number: int, repeat: int) -> dict[str, float]:
    try:
        import torch
    except ImportError:
        return {}
    tw = torch.tensor(w, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)

    def forward() -> Any:
        with torch.no_grad():
            return torch.nn.functional.conv2d(tx, tw, tb, stride=s, padding=p)

    def train() -> Any:
        y = torch.nn.functional.conv2d(tx, tw, tb, stride=s, padding=p)
        return torch.autograd.grad(y, (tw, tb, tx), torch.ones_like(y))

    return {"torch fwd": best(forward, number, repeat), "torch fwd+bwd": best(train, number, repeat)}


def bench_pool(n: int, c: int, h: int, number: int, repeat: int) -> dict[str, float]:
    layer = fnn.MaxPool2D(2)
    x = fnn.random.normal(fnn.random.key(1), (n, c, h, h))
    y = layer.apply(None, x)
    dy = np.ones_like(y)

    def fnn_train() -> Any:
        out, residuals = layer.forward(None, x)
        return layer.grad(None, residuals, dy)

    def book_train() -> Any:  # the book's Pooling: offset-loop im2col, argmax, offset-loop col2im
        col, o = offset_loop_im2col(x.reshape(n * c, 1, h, h), 2, 2, 0)
        arg = col.argmax(axis=1)
        out = col[np.arange(col.shape[0]), arg]
        dcol = np.zeros_like(col)
        dcol[np.arange(col.shape[0]), arg] = dy.transpose(0, 2, 3, 1).reshape(-1)[: col.shape[0]]
        return out, offset_loop_col2im(dcol, (n * c, 1, h, h), 2, 2, 0, o)

    return {
        "fnn fwd+bwd": best(fnn_train, number, repeat),
        "offset-loop fwd+bwd": best(book_train, number, repeat),
    }


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat (smoke test)")
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="time process CPU time, torch on one thread (run with OPENBLAS_NUM_THREADS=1): "
        "steadier than wall clock on a shared machine",
    )
    parser.add_argument("--repeat", type=int, default=5, help="timing repeats (best is kept)")
    args = parser.parse_args(argv)
    global TIMER
    if args.cpu_time:
        TIMER = time.process_time
        try:
            import torch

            torch.set_num_threads(1)
        except ImportError:
            pass
    number, repeat = (1, 1) if args.quick else (3, args.repeat)
    batch = 8 if args.quick else 100
    configs: list[Conv] = [
        ("SimpleConvNet conv1 (1x28x28 -> 30x24x24, 5x5)", batch, 1, 28, 30, 5, 1, 0),
        ("DeepConvNet conv3 (16x14x14 -> 32x14x14, 3x3 pad 1)", batch, 16, 14, 32, 3, 1, 1),
        ("stride 2 (32x16x16 -> 64x8x8, 3x3 pad 1)", batch // 2 or 1, 32, 16, 64, 3, 2, 1),
    ]
    results: dict[str, dict[str, float]] = {}
    for config in configs:
        times = bench_conv(config, number, repeat)
        results[config[0]] = times
        print(f"\n{config[0]}, batch {config[1]}, float32")
        for key, ms in times.items():
            mode = "fwd+bwd" if key.endswith("fwd+bwd") else "fwd"
            ratio = ms / times[f"fnn {mode}"]
            print(f"  {key:22s} {ms:9.2f} ms   {ratio:6.2f}x fnn")
    pool = bench_pool(batch, 30, 24, number, repeat)
    results["MaxPool2D 2x2 (30x24x24)"] = pool
    print(f"\nMaxPool2D 2x2 on (N={batch}, 30, 24, 24), float32")
    for key, ms in pool.items():
        print(f"  {key:22s} {ms:9.2f} ms   {ms / pool['fnn fwd+bwd']:6.2f}x fnn")
    return results


if __name__ == "__main__":
    main()
