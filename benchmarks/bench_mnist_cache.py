"""First MNIST load (gunzip + IDX parse + writing the ``.npy`` cache) against a load from that cache.

Each first load uses a fresh, empty cache directory; each cached load reuses one
that is already filled. Both are reported as medians over several repeats, with
their ratio, for normalized float32 output (the default) and for raw ``uint8``
(which isolates the cost the cache removes from the conversion it cannot).

Run: ``python benchmarks/bench_mnist_cache.py [MNIST_DIR]`` (default: ``FNN_DATA_DIR``,
else ``../shared/data/mnist`` beside the project).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from fnn.datasets import load_mnist


def _median_seconds(root: Path, fresh_cache: bool, normalize: bool, repeats: int) -> float:
    times = []
    with tempfile.TemporaryDirectory() as scratch:
        warm = Path(scratch) / "warm"
        load_mnist(root, download=False, cache_dir=warm)  # fill the cache used by cached loads
        for i in range(repeats):
            cache = Path(scratch) / f"cold{i}" if fresh_cache else warm
            start = time.perf_counter()
            load_mnist(root, download=False, normalize=normalize, cache_dir=cache)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
    root = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("FNN_DATA_DIR") or default)
    (x_train, _), (x_test, _) = load_mnist(root, download=False, cache=False)
    print(f"MNIST from {root}: {len(x_train)} training and {len(x_test)} test images")
    for normalize in (True, False):
        first = _median_seconds(root, fresh_cache=True, normalize=normalize, repeats=7)
        cached = _median_seconds(root, fresh_cache=False, normalize=normalize, repeats=7)
        label = "float32 [0, 1]" if normalize else "raw uint8     "
        print(
            f"{label}: first load {first * 1e3:7.1f} ms, cached load {cached * 1e3:6.1f} ms, "
            f"ratio {first / cached:5.1f}x"
        )


if __name__ == "__main__":
    main()
