"""Per-step overhead of ``fnn.fit`` and the cost of each optimizer's update, as ratios within one run.

All timings are taken in one process (NumPy backend, float32) and reported as
ratios against a baseline measured in the same run; nothing is asserted.

1. **fit overhead** on the course's spiral network (2-10-3, sigmoid, softmax cross
   entropy, SGD lr 1.0, batch 30; 300 samples, so 10 steps per epoch):

   - ``bare``: the gradient step ``fnn.value_and_grad`` on fixed batch slices plus
     SGD written inline (``w -= lr * dw`` on the four arrays), no shuffling, no
     optimizer object: the floor of any training loop in fnn;
   - ``by hand``: the documented loop (``fnn.batches`` with a key per epoch,
     ``optim.sgd``, ``apply_updates``);
   - ``fit``: ``fnn.fit(..., progress=False)``, and with the progress bar on.

2. **optimizer update** on the params of a 784-100-10 MLP (about 80k floats):
   ``update`` + ``apply_updates`` of each optimizer, relative to ``sgd``.

Run: ``python benchmarks/bench_optim.py`` (``--quick`` for a fast smoke run).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from typing import Any, Callable

import fnn
from fnn import optim


def best_of(repeats: int, fn: Callable[[], Any]) -> float:
    """The fastest of ``repeats`` runs of ``fn``, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def spiral_setup() -> tuple[fnn.Sequential, Any, Any, Any]:
    x, t = fnn.datasets.spiral(fnn.random.key(0), n_per_class=100)
    w = fnn.initializers.normal(0.01)
    model = fnn.sequential(fnn.Dense(10, w_init=w), fnn.sigmoid, fnn.Dense(3, w_init=w))
    return model, model.init(fnn.random.key(1), (2,)), x, t


def fit_overhead(epochs: int, repeats: int) -> None:
    model, params0, x, t = spiral_setup()
    loss = fnn.losses.softmax_cross_entropy
    step = fnn.value_and_grad(model, loss)
    steps = epochs * 10

    def bare() -> None:
        params = fnn.tree.map(lambda a: a.copy(), params0)
        leaves = fnn.tree.leaves(params)
        for _ in range(epochs):
            for i in range(0, 300, 30):
                _, grads = step(params, x[i : i + 30], t[i : i + 30])
                for p, g in zip(leaves, fnn.tree.leaves(grads)):
                    p -= 1.0 * g

    def by_hand() -> None:
        params = params0
        opt = optim.sgd(1.0)
        opt_state = opt.init(params)
        for epoch in range(epochs):
            for xb, tb in fnn.batches(fnn.random.fold_in(fnn.random.key(2), epoch), x, t, batch_size=30):
                _, grads = step(params, xb, tb)
                updates, opt_state = opt.update(grads, opt_state, params)
                params = optim.apply_updates(params, updates)

    def fit(progress: bool) -> Callable[[], None]:
        def run() -> None:
            fnn.fit(
                model,
                loss,
                optim.sgd(1.0),
                params0,
                x,
                t,
                key=fnn.random.key(2),
                epochs=epochs,
                batch_size=30,
                progress=progress,
            )

        return run

    rows = [("bare", bare), ("by hand", by_hand), ("fit", fit(False))]
    times = {name: best_of(repeats, fn) for name, fn in rows}
    with contextlib.redirect_stderr(io.StringIO()):  # the bar itself, not its display, is timed
        times["fit, progress bar"] = best_of(repeats, fit(True))
    base = times["bare"]
    print(f"fit overhead: spiral 2-10-3, batch 30, {epochs} epochs = {steps} steps, best of {repeats}")
    print(f"{'loop':<20}{'us/step':>10}{'ratio':>8}{'overhead us/step':>20}")
    for name, seconds in times.items():
        per_step = seconds / steps * 1e6
        print(f"{name:<20}{per_step:>10.1f}{seconds / base:>8.2f}{per_step - base / steps * 1e6:>20.1f}")


def optimizer_updates(iterations: int, repeats: int) -> None:
    model = fnn.sequential(fnn.Dense(100), fnn.relu, fnn.Dense(10))
    params = model.init(fnn.random.key(0), (784,))
    grads = fnn.tree.map(lambda p: p * 0.01 + 0.001, params)
    cases = {
        "sgd": optim.sgd(0.1),
        "sgd + schedule": optim.sgd(optim.cosine_decay(0.1, 1000)),
        "momentum": optim.momentum(0.1),
        "nesterov": optim.nesterov(0.1),
        "adagrad": optim.adagrad(0.1),
        "rmsprop": optim.rmsprop(0.01),
        "adam": optim.adam(1e-3),
        "adamw": optim.adamw(1e-3),
        "clip_by_global_norm + adam": optim.chain(optim.clip_by_global_norm(1.0), optim.adam(1e-3)),
    }
    times = {}
    for name, opt in cases.items():

        def run(opt: optim.GradientTransformation = opt) -> None:
            p, s = params, opt.init(params)
            for _ in range(iterations):
                u, s = opt.update(grads, s, p)
                p = optim.apply_updates(p, u)

        times[name] = best_of(repeats, run)
    base = times["sgd"]
    print(f"\noptimizer update + apply_updates: 784-100-10 MLP params ({fnn.param_count(params)} floats)")
    print(f"{'optimizer':<28}{'us/update':>10}{'vs sgd':>8}")
    for name, seconds in times.items():
        print(f"{name:<28}{seconds / iterations * 1e6:>10.1f}{seconds / base:>8.2f}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    args = parser.parse_args(argv)
    epochs, repeats, iterations = (5, 1, 20) if args.quick else (100, 5, 300)
    fit_overhead(epochs, repeats)
    optimizer_updates(iterations, repeats)


if __name__ == "__main__":
    main(sys.argv[1:])
