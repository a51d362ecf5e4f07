"""fnn on the GPU (CuPy) against PyTorch CUDA, and a count of host-device copies.

Run on a machine with an NVIDIA GPU, CuPy and PyTorch (CUDA)::

    python benchmarks/gpu.py            # prints the table; --quick for a short run

Workloads (random data on the device, SGD steps, one process, implementations
interleaved round by round, medians of the rounds):

- ``mlp``: 784-1024-1024-10 ReLU, batch 256 (W3 of ``suite.py``);
- ``simple``: the book's SimpleConvNet, batch 100;
- ``deep``: the book's DeepConvNet (six 3x3 convolutions, dropout), batch 100;

each as a training step (forward, backward, update) and as inference over a batch of
1,000, in float32 and float16 (fnn: float16 parameters and activations with float32
softmax, loss and statistics; PyTorch: ``model.half()``).

The copy count runs fnn's training steps and one ``fit`` epoch under the CUDA
profiler (CUPTI, through ``torch.profiler``), which sees every ``cudaMemcpy`` of the
process, CuPy's included, and reports the host-to-device and device-to-host copies.
Results are recorded in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any, Callable

import fnn
from fnn import dlfs

BATCH = {"mlp": 256, "simple": 100, "deep": 100}
INFERENCE_BATCH = 1000


def fnn_model(name: str) -> fnn.Sequential:
    if name == "mlp":
        return fnn.sequential(fnn.Dense(1024), fnn.relu, fnn.Dense(1024), fnn.relu, fnn.Dense(10))
    return dlfs.simple_convnet() if name == "simple" else dlfs.deep_convnet()


def in_shape(name: str) -> tuple[int, ...]:
    return (784,) if name == "mlp" else (1, 28, 28)


def torch_model(torch: Any, name: str) -> Any:
    nn = torch.nn
    if name == "mlp":
        hidden = [nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU()]
        return nn.Sequential(*hidden, nn.Linear(1024, 10))
    if name == "simple":
        return nn.Sequential(
            nn.Conv2d(1, 30, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(30 * 12 * 12, 100), nn.ReLU(), nn.Linear(100, 10),
        )  # fmt: skip
    layers: list[Any] = []
    channels = 1
    for i, (filters, padding) in enumerate(((16, 1), (16, 1), (32, 1), (32, 2), (64, 1), (64, 1))):
        layers += [nn.Conv2d(channels, filters, 3, padding=padding), nn.ReLU()]
        channels = filters
        if i % 2 == 1:
            layers.append(nn.MaxPool2d(2))
    layers += [nn.Flatten(), nn.Linear(64 * 4 * 4, 50), nn.ReLU(), nn.Dropout(0.5)]
    layers += [nn.Linear(50, 10), nn.Dropout(0.5)]
    return nn.Sequential(*layers)


def fnn_runner(name: str, dtype: str, inference: bool) -> Callable[[], None]:
    """One fnn training step (or one inference batch) on the GPU, as a closure with its own state."""
    b = fnn.backend("cupy", dtype)
    model = fnn_model(name)
    params = model.init(fnn.random.key(0), in_shape(name), b)
    n = INFERENCE_BATCH if inference else BATCH[name]
    x = fnn.random.normal(fnn.random.key(1), (n, *in_shape(name)), b)
    t = b.xp.arange(n) % 10
    if inference:

        def infer() -> None:
            model.apply(params, x)

        return infer
    step = fnn.value_grad_and_state(model, fnn.losses.softmax_cross_entropy)
    opt = fnn.optim.sgd(0.01)
    carry: dict[str, Any] = {"params": params, "opt": opt.init(params), "i": 0}

    def train() -> None:
        carry["i"] += 1
        key = fnn.random.key(carry["i"]) if model.stochastic else None
        _, grads, _ = step(carry["params"], None, x, t, key=key)
        updates, carry["opt"] = opt.update(grads, carry["opt"], carry["params"])
        carry["params"] = fnn.optim.apply_updates(carry["params"], updates)

    return train


def torch_runner(torch: Any, name: str, dtype: str, inference: bool) -> Callable[[], None]:
    """The same step in PyTorch eager mode on CUDA."""
    torch_dtype = getattr(torch, dtype)
    model = torch_model(torch, name).to("cuda", torch_dtype)
    n = INFERENCE_BATCH if inference else BATCH[name]
    x = torch.randn((n, *in_shape(name)), device="cuda", dtype=torch_dtype)
    t = torch.arange(n, device="cuda") % 10
    if inference:
        model.eval()

        def infer() -> None:
            with torch.no_grad():
                model(x)

        return infer
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def train() -> None:
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), t).backward()
        opt.step()

    return train


def time_per_call(fn: Callable[[], None], calls: int, sync: Callable[[], None]) -> float:
    sync()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    sync()
    return (time.perf_counter() - start) / calls


def compare(torch: Any, cupy: Any, rounds: int, calls: int) -> list[tuple[str, str, str, float, float]]:
    rows = []
    for dtype in ("float32", "float16"):
        for name in ("mlp", "simple", "deep"):
            for inference in (False, True):
                runners = {
                    "fnn": (fnn_runner(name, dtype, inference), cupy.cuda.Device().synchronize),
                    "torch": (torch_runner(torch, name, dtype, inference), torch.cuda.synchronize),
                }
                times: dict[str, list[float]] = {k: [] for k in runners}
                for fn, sync in runners.values():
                    time_per_call(fn, 3, sync)  # warm-up: kernels compiled, memory pools filled
                for _ in range(rounds):
                    for k, (fn, sync) in runners.items():
                        times[k].append(time_per_call(fn, calls, sync))
                kind = "inference" if inference else "train step"
                ours, theirs = statistics.median(times["fnn"]), statistics.median(times["torch"])
                rows.append((name, kind, dtype, ours, theirs))
                ms = f"{ours * 1e3:.3f} | {theirs * 1e3:.3f}"
                print(f"| {name} | {kind} | {dtype} | {ms} | {ours / theirs:.2f} |")
    return rows


def count_copies(torch: Any, fn: Callable[[], None]) -> dict[str, int]:
    """Kernels and memcpy operations the CUDA profiler sees while ``fn`` runs."""
    from torch.profiler import ProfilerActivity, profile

    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    counts = {"kernels": 0, "HtoD": 0, "DtoH": 0}
    for event in prof.events():
        if "Memcpy HtoD" in event.name:
            counts["HtoD"] += 1
        elif "Memcpy DtoH" in event.name:
            counts["DtoH"] += 1
        elif "Memcpy" not in event.name and "Memset" not in event.name:
            counts["kernels"] += 1
    return counts


def transfers(torch: Any) -> None:
    b = fnn.backend("cupy", "float32")
    model = dlfs.deep_convnet()
    params = model.init(fnn.random.key(0), (1, 28, 28), b)
    x = fnn.random.normal(fnn.random.key(1), (1000, 1, 28, 28), b)
    t = b.xp.arange(1000) % 10
    opt = fnn.optim.adam(1e-3)
    step = fnn.value_grad_and_state(model, fnn.losses.softmax_cross_entropy)

    def ten_steps() -> None:
        p, s = params, opt.init(params)
        for i, (xb, tb) in enumerate(fnn.train.batches(fnn.random.key(2), x, t, batch_size=100)):
            _, grads, _ = step(p, None, xb, tb, key=fnn.random.key(3 + i))
            updates, s = opt.update(grads, s, p)
            p = fnn.optim.apply_updates(p, updates)

    def one_epoch() -> None:
        fnn.train.fit(model, fnn.losses.softmax_cross_entropy, opt, params, x, t,
                      key=fnn.random.key(4), epochs=1, batch_size=100, progress=False)  # fmt: skip

    ten_steps()
    print("10 DeepConvNet Adam steps with shuffled batches:", count_copies(torch, ten_steps))
    print("fit, 1 epoch of 10 steps (labels checked once, losses copied once):")
    print("   ", count_copies(torch, one_epoch))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and calls")
    args = parser.parse_args(argv)
    import cupy
    import torch

    props = cupy.cuda.runtime.getDeviceProperties(0)
    print(f"device {props['name'].decode()}, CuPy {cupy.__version__}, PyTorch {torch.__version__}")
    transfers(torch)
    print("| workload | kind | dtype | fnn ms | torch ms | fnn / torch |\n|---|---|---|---|---|---|")
    rounds, calls = (3, 5) if args.quick else (7, 20)
    compare(torch, cupy, rounds, calls)


if __name__ == "__main__":
    main()
