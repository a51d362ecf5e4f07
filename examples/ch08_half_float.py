"""DLfS 1, ch. 8.3.4: DeepConvNet inference in half precision, with the book's weights.

The book's ``half_float_network.py`` evaluates its DeepConvNet weights on the
10,000 test images in float64, then again after rounding the images and every
weight to float16, and gets the same accuracy (0.9935) both times: inference
needs far fewer bits than a float64 carries.

The book's arrays stay float64 after that rounding (it assigns the float16 values
back into them: ``param[...] = param.astype(np.float16)``), so its "float16" run
has float16 *values* and float64 *arithmetic*. fnn can do both, and this example
prints four rows over the same test images:

- ``float64``, the book's own dtype, and ``float32``, fnn's default
  (``fnn.backend(dtype=...)`` for the params and the images);
- ``float16 values, float64 arithmetic``: the book's experiment exactly;
- ``float16``: ``fnn.backend(dtype="float16")``, so every weight and every
  activation of every layer is float16 (see the "Half precision" section of
  ``docs/gpu.md`` for what fnn sums in float32).

With each, the number of images, the accuracy, how many predictions differ from
float64's on the same images, the parameter memory and the time. NumPy has no fast
float16 matrix product on the CPU (the convolutions run about 100 times slower than
in float32: 50 ms or more per image on one core), so on NumPy the float16 row
classifies only the first ``--f16-test-size`` images (default 1,000, about a
minute; ``--f16-test-size 10000`` takes 10 minutes or more) and prints float64's
accuracy on those same images beside it. On a GPU (``FNN_BACKEND=cupy``) it
classifies them all by default. The book has no figure for this; there is no plot.

Run: ``python examples/ch08_half_float.py`` (``--test-size 1000 --f16-test-size 200`` for a quick run)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import fnn  # noqa: E402
from examples.ch08_misclassified import predict  # noqa: E402
from fnn import dlfs  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
Row = dict[str, Any]


def rounded_to_float16(a: Any) -> Any:
    """``a``'s values rounded to the nearest float16, kept in ``a``'s dtype (the book's in-place cast)."""
    return a.astype(np.float16).astype(a.dtype)


def evaluate(name: str, dtype: str, weights: dict[str, Any], x: Any, t: Any) -> tuple[Row, Any]:
    """One precision's row and predictions: the book's weights and the images in ``dtype``, classified."""
    b = fnn.backend(dtype=dtype)
    params = dlfs.deep_convnet_params(weights, b)
    xb = b.asarray(x)
    start = time.perf_counter()
    predicted = predict(dlfs.deep_convnet(), params, xb, name)
    seconds = time.perf_counter() - start
    row = {
        "precision": name,
        "images": len(t),
        "accuracy": float(np.mean(predicted == t)),
        "params bytes": sum(int(leaf.nbytes) for leaf in fnn.tree.leaves(params)),
        "seconds": seconds,
    }
    return row, predicted


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Classify the test images in each precision; print the table; return its rows."""
    parser = argparse.ArgumentParser(description="DeepConvNet in float64, float32 and float16 (DLfS 8.3.4).")
    parser.add_argument("--data", type=Path, default=DATA, help="directory holding mnist/ and dlfs/")
    parser.add_argument("--test-size", type=int, default=None, help="classify the first N test images")
    parser.add_argument(
        "--f16-test-size",
        type=int,
        default=None,
        help="images of the float16 row (default: 1,000 on NumPy, where float16 is slow; all on a GPU)",
    )
    args = parser.parse_args(argv)

    weights_file = args.data / "dlfs" / "deep_convnet_params.pkl"
    if not weights_file.is_file():
        raise SystemExit(f"the book's weights not found: {weights_file}; pass --data DIR")
    weights = fnn.io.load_pickle_arrays(weights_file)  # float64, as the book saved them
    _, (x, t) = fnn.datasets.load_mnist(
        args.data / "mnist", flatten=False, download=False, cache=False, progress=False,
        backend=fnn.backend("numpy", "float64"),
    )  # fmt: skip
    x, t = x[: args.test_size], fnn.to_numpy(t[: args.test_size])
    f16_size = args.f16_test_size
    if f16_size is None:
        f16_size = len(t) if fnn.default_backend().name == "cupy" else 1000
    f16_size = min(f16_size, len(t))
    print(f"DeepConvNet with the book's weights on {len(t)} test images ({f16_size} in float16)")
    book16 = {name: rounded_to_float16(w) for name, w in weights.items()}
    runs = [
        ("float64", "float64", weights, x),
        ("float32", "float32", weights, x),
        ("float16 values, float64 arithmetic", "float64", book16, rounded_to_float16(x)),
        ("float16", "float16", weights, x[:f16_size]),
    ]
    rows: list[Row] = []
    reference: Any = None
    for name, dtype, w, images in runs:
        row, predicted = evaluate(name, dtype, w, images, t[: len(images)])
        reference = predicted if reference is None else reference
        row["differ from float64"] = int(np.sum(predicted != reference[: len(predicted)]))
        row["float64 accuracy"] = float(np.mean(reference[: len(predicted)] == t[: len(predicted)]))
        rows.append(row)
        print(
            f"{name:<35} {row['images']:>5} images | accuracy {row['accuracy']:.4f} (float64 "
            f"{row['float64 accuracy']:.4f}) | {row['differ from float64']:>2} predictions differ from "
            f"float64 | params {row['params bytes'] / 1e3:>3.0f} kB | {row['seconds']:.1f} s"
        )
    return {"rows": {row["precision"]: row for row in rows}}


if __name__ == "__main__":
    main()
