"""The same workloads in PyTorch (eager, CPU) and JAX (``jit``, CPU), when they are importable.

Install them with the ``bench`` extra (``pip install -e '.[bench]'``). With
``OPENBLAS_NUM_THREADS`` set, PyTorch gets as many threads; the suite sets it, and pins the
process to as many CPUs for XLA, before anything loads (:func:`benchmarks.fairness.limit_threads`),
so that every column computes on the same number of cores. Each is loaded
by :func:`load`, which returns the module or the reason it is missing; the suite
prints that reason and skips the column. Both libraries are typed loosely (``Any``)
so that this file type-checks with or without them.

Each implementation starts from the canonical parameters of
:mod:`benchmarks.workloads`, does one SGD step per :meth:`step` (PyTorch:
``torch.optim.SGD``; JAX: one jitted function returning the loss and new params) and
never computes the input's gradient (the inputs do not require grad).
"""

from __future__ import annotations

import importlib
import math
import os
from typing import Any

import numpy as np

from benchmarks import rnnlm
from benchmarks.workloads import LR, POOL, Workload

__all__ = [
    "load",
    "TorchStep",
    "JaxStep",
    "TorchInference",
    "JaxInference",
    "TorchAdam",
    "JaxAdam",
    "optax_module",
    "jax_block",
    "TorchRnnlmStep",
    "TorchPerplexity",
]

NDArray = np.ndarray[Any, Any]

_loaded: dict[str, tuple[Any, str]] = {}


def load(name: str) -> tuple[Any, str]:
    """``(module, "")`` for ``"torch"`` or ``"jax"``, or ``(None, reason)`` when it cannot be imported."""
    if name not in _loaded:
        threads = os.environ.get("OPENBLAS_NUM_THREADS")
        try:
            module: Any = importlib.import_module(name)
            if name == "torch" and threads:  # as many threads as NumPy's BLAS
                module.set_num_threads(int(threads))
            if name == "jax":
                module.config.update("jax_platforms", "cpu")
                importlib.import_module("jax.numpy")
            _loaded[name] = (module, "")
        except Exception as error:  # ImportError, or a broken install
            _loaded[name] = (
                None,
                f"{name} is not importable ({type(error).__name__}: {error}); "
                "install the bench extra: pip install -e '.[bench]'",
            )
    return _loaded[name]


def versions() -> dict[str, str]:
    """The versions (and thread counts) of the optional libraries that load."""
    out: dict[str, str] = {}
    torch, _ = load("torch")
    if torch is not None:
        out["torch"] = f"{torch.__version__} (intra-op threads {torch.get_num_threads()})"
    jax, _ = load("jax")
    if jax is not None:
        jaxlib = importlib.import_module("jaxlib")
        out["jax"] = f"{jax.__version__} (jaxlib {jaxlib.__version__}, devices {jax.devices()})"
    return out


# ----------------------------------------------------------------------------- PyTorch


def _torch_forward(torch: Any, w: Workload, p: list[Any], x: Any) -> Any:
    f = torch.nn.functional
    if w.kind == "cnn":
        h = f.max_pool2d(f.relu(f.conv2d(x, p[0], p[1])), POOL)
        h = f.relu(torch.addmm(p[3], h.flatten(1), p[2]))
        return torch.addmm(p[5], h, p[4])
    acts = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}
    h = x
    for i in range(len(p) // 2):
        h = torch.addmm(p[2 * i + 1], h, p[2 * i])
        if i < len(w.activations):
            h = acts[w.activations[i]](h)
    return h


class TorchStep:
    """One training step in PyTorch eager mode: forward, ``loss.backward()``, ``optimizer.step()``."""

    name = "torch"

    def __init__(self, w: Workload, params: list[NDArray], x: NDArray, t: NDArray) -> None:
        torch, reason = load("torch")
        assert torch is not None, reason
        self.torch, self.w = torch, w
        self.params = [torch.tensor(p, requires_grad=True) for p in params]
        self.x, self.t = torch.from_numpy(x.copy()), torch.from_numpy(t.astype(np.int64))
        self.optimizer = torch.optim.SGD(self.params, lr=LR)
        self.loss: Any = None

    def step(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.torch.nn.functional.cross_entropy(
            _torch_forward(self.torch, self.w, self.params, self.x), self.t
        )
        loss.backward()
        self.optimizer.step()
        self.loss = loss

    def result(self) -> tuple[float, list[NDArray]]:
        return float(self.loss.detach()), [p.detach().numpy().copy() for p in self.params]


class TorchInference:
    """Inference under ``torch.inference_mode()``, batch by batch."""

    name = "torch"

    def __init__(self, w: Workload, params: list[NDArray], x_all: NDArray, batch: int) -> None:
        torch, reason = load("torch")
        assert torch is not None, reason
        self.torch, self.w = torch, w
        self.params = [torch.tensor(p) for p in params]
        self.batches = [torch.from_numpy(x_all[k : k + batch]) for k in range(0, x_all.shape[0], batch)]

    def run(self) -> list[NDArray]:
        with self.torch.inference_mode():
            return [_torch_forward(self.torch, self.w, self.params, xb).numpy() for xb in self.batches]


class TorchAdam:
    """``torch.optim.Adam.step()`` over fixed gradients."""

    name = "torch"

    def __init__(self, params: list[NDArray], grads: list[NDArray], lr: float) -> None:
        torch, reason = load("torch")
        assert torch is not None, reason
        self.params = [torch.tensor(p, requires_grad=True) for p in params]
        for p, g in zip(self.params, grads):
            p.grad = torch.from_numpy(g.copy())
        self.optimizer = torch.optim.Adam(self.params, lr=lr, betas=(0.9, 0.999), eps=1e-8)

    def step(self) -> None:
        self.optimizer.step()

    def result(self) -> list[NDArray]:
        return [p.detach().numpy().copy() for p in self.params]


# ----------------------------------------------------------------------------- PyTorch: the chapter 6 LSTM LM


def _book_gates_to_torch(a: NDArray) -> NDArray:
    """Blocks along the last axis from the book's f, g, i, o to PyTorch's i, f, g, o."""
    f, g, i, o = np.split(a, 4, axis=-1)
    out: NDArray = np.concatenate([i, f, g, o], axis=-1)
    return out


def _torch_gates_to_book(a: NDArray) -> NDArray:
    i, f, g, o = np.split(a, 4, axis=-1)
    out: NDArray = np.concatenate([f, g, i, o], axis=-1)
    return out


class _TorchRnnlm:
    """``nn.Embedding → nn.LSTM(batch_first) → nn.Linear`` from the canonical params of
    :mod:`benchmarks.rnnlm`. ``nn.LSTM`` has two biases: the book's goes into ``bias_ih``
    and ``bias_hh`` stays zero and frozen (an SGD step on both would move the sum twice)."""

    def __init__(self, params: list[NDArray]) -> None:
        torch, reason = load("torch")
        assert torch is not None, reason
        self.torch = torch
        nn = torch.nn
        embed_w, wx, wh, b, affine_w, affine_b = params
        vocab, dim = embed_w.shape
        hidden = wh.shape[0]
        self.embed = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, hidden, batch_first=True)
        self.linear = nn.Linear(hidden, vocab)
        with torch.no_grad():
            self.embed.weight.copy_(torch.from_numpy(embed_w))
            self.lstm.weight_ih_l0.copy_(torch.from_numpy(_book_gates_to_torch(wx).T.copy()))
            self.lstm.weight_hh_l0.copy_(torch.from_numpy(_book_gates_to_torch(wh).T.copy()))
            self.lstm.bias_ih_l0.copy_(torch.from_numpy(_book_gates_to_torch(b)))
            self.lstm.bias_hh_l0.zero_()
            self.linear.weight.copy_(torch.from_numpy(affine_w.T.copy()))
            self.linear.bias.copy_(torch.from_numpy(affine_b))
        self.lstm.bias_hh_l0.requires_grad_(False)
        modules = (self.embed, self.lstm, self.linear)
        self.params = [p for m in modules for p in m.parameters() if p.requires_grad]
        self.state: Any = None

    def logits(self, xs: Any) -> Any:
        hs, state = self.lstm(self.embed(xs), self.state)
        self.state = tuple(s.detach() for s in state)
        return self.linear(hs)

    def canonical(self) -> list[NDArray]:
        def arr(t: Any) -> NDArray:
            out: NDArray = t.detach().numpy().copy()
            return out

        return [
            arr(self.embed.weight),
            _torch_gates_to_book(arr(self.lstm.weight_ih_l0).T),
            _torch_gates_to_book(arr(self.lstm.weight_hh_l0).T),
            _torch_gates_to_book(arr(self.lstm.bias_ih_l0) + arr(self.lstm.bias_hh_l0)),
            arr(self.linear.weight).T.copy(),
            arr(self.linear.bias),
        ]


class TorchRnnlmStep:
    """One truncated-BPTT step: forward with the carried state, ``cross_entropy``, ``backward``,
    ``clip_grad_norm_``, ``torch.optim.SGD.step()``."""

    name = "torch"

    def __init__(self, w: rnnlm.RnnlmWorkload, params: list[NDArray], xs: NDArray, ts: NDArray) -> None:
        self.net = _TorchRnnlm(params)
        torch = self.net.torch
        self.xs, self.ts = torch.from_numpy(xs.astype(np.int64)), torch.from_numpy(ts.astype(np.int64))
        self.optimizer = torch.optim.SGD(self.net.params, lr=rnnlm.LR)
        self.max_norm = rnnlm.MAX_NORM
        self.loss: Any = None

    def step(self) -> None:
        torch = self.net.torch
        self.optimizer.zero_grad(set_to_none=True)
        logits = self.net.logits(self.xs)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), self.ts.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.net.params, self.max_norm)
        self.optimizer.step()
        self.loss = loss

    def result(self) -> tuple[float, list[NDArray]]:
        return float(self.loss.detach()), self.net.canonical()


class TorchPerplexity:
    """Perplexity over a corpus as the book evaluates it, under ``torch.inference_mode()``."""

    name = "torch"

    def __init__(self, w: rnnlm.RnnlmWorkload, params: list[NDArray], corpus: NDArray) -> None:
        self.net = _TorchRnnlm(params)
        torch = self.net.torch
        self.corpus = torch.from_numpy(corpus.astype(np.int64))
        self.batch, self.time = w.eval_batch, w.time

    def run(self) -> float:
        torch = self.net.torch
        size = self.corpus.shape[0] - 1
        windows = size // (self.batch * self.time)
        starts = torch.arange(self.batch)[:, None] * (size // self.batch) + torch.arange(self.time)
        self.net.state = None
        total = torch.zeros((), dtype=torch.float64)
        with torch.inference_mode():
            for k in range(windows):
                positions = (starts + k * self.time) % size
                logits = self.net.logits(self.corpus[positions])
                loss = torch.nn.functional.cross_entropy(
                    logits.reshape(-1, logits.shape[-1]), self.corpus[positions + 1].reshape(-1)
                )
                total += loss.double()
        return math.exp(float(total) / windows)


# ----------------------------------------------------------------------------- JAX


def _jax_forward(jax: Any, w: Workload, p: list[Any], x: Any) -> Any:
    jnp, lax = jax.numpy, jax.lax
    if w.kind == "cnn":
        h = lax.conv_general_dilated(x, p[0], (1, 1), "VALID", dimension_numbers=("NCHW", "OIHW", "NCHW"))
        h = jax.nn.relu(h + p[1][None, :, None, None])
        h = lax.reduce_window(h, -jnp.inf, lax.max, (1, 1, POOL, POOL), (1, 1, POOL, POOL), "VALID")
        h = jax.nn.relu(h.reshape(h.shape[0], -1) @ p[2] + p[3])
        return h @ p[4] + p[5]
    acts = {"relu": jax.nn.relu, "sigmoid": jax.nn.sigmoid, "tanh": jnp.tanh}
    h = x
    for i in range(len(p) // 2):
        h = h @ p[2 * i] + p[2 * i + 1]
        if i < len(w.activations):
            h = acts[w.activations[i]](h)
    return h


class JaxStep:
    """One training step as one ``jax.jit``-compiled function ``(params, x, t) -> (loss, new params)``."""

    name = "jax"

    def __init__(self, w: Workload, params: list[NDArray], x: NDArray, t: NDArray) -> None:
        jax, reason = load("jax")
        assert jax is not None, reason
        jnp = jax.numpy

        def loss_fn(p: list[Any], xb: Any, tb: Any) -> Any:
            logp = jax.nn.log_softmax(_jax_forward(jax, w, p, xb))
            return -jnp.mean(jnp.take_along_axis(logp, tb[:, None], axis=1))

        def step(p: list[Any], xb: Any, tb: Any) -> tuple[Any, list[Any]]:
            loss, grads = jax.value_and_grad(loss_fn)(p, xb, tb)
            return loss, [pi - LR * gi for pi, gi in zip(p, grads)]

        self.fn = jax.jit(step)
        self.params = [jnp.asarray(p) for p in params]
        self.x, self.t = jnp.asarray(x), jnp.asarray(t.astype(np.int32))
        self.loss: Any = None

    def step(self) -> None:
        self.loss, self.params = self.fn(self.params, self.x, self.t)
        self.loss.block_until_ready()

    def result(self) -> tuple[float, list[NDArray]]:
        return float(self.loss), [np.asarray(p) for p in self.params]


class JaxInference:
    """Inference with a jitted forward pass, batch by batch."""

    name = "jax"

    def __init__(self, w: Workload, params: list[NDArray], x_all: NDArray, batch: int) -> None:
        jax, reason = load("jax")
        assert jax is not None, reason
        self.jax = jax
        self.fn = jax.jit(lambda p, xb: _jax_forward(jax, w, p, xb))
        self.params = [jax.numpy.asarray(p) for p in params]
        self.batches = [jax.numpy.asarray(x_all[k : k + batch]) for k in range(0, x_all.shape[0], batch)]

    def run(self) -> list[NDArray]:
        outs = [self.fn(self.params, xb) for xb in self.batches]
        return [np.asarray(o.block_until_ready()) for o in outs]


def optax_module() -> Any:
    """``optax`` when it imports (not part of the ``bench`` extra), else ``None``."""
    try:
        return importlib.import_module("optax")
    except ImportError:
        return None


class JaxAdam:
    """Adam as one jitted function ``(params, state, grads) -> (params, state)``: ``optax.adam`` when
    optax is installed, else the paper's update written out as ``torch.optim.Adam`` computes it
    (:attr:`how` says which)."""

    name = "jax"

    def __init__(self, params: list[NDArray], grads: list[NDArray], lr: float) -> None:
        jax, reason = load("jax")
        assert jax is not None, reason
        jnp = jax.numpy
        b1, b2, eps = 0.9, 0.999, 1e-8
        self.params = [jnp.asarray(p) for p in params]
        self.grads = [jnp.asarray(g) for g in grads]
        optax = optax_module()
        self.how = "optax.adam" if optax is not None else "hand-written Adam"
        if optax is not None:
            optimizer = optax.adam(lr, b1=b1, b2=b2, eps=eps)

            def update(p: list[Any], state: Any, g: list[Any]) -> tuple[list[Any], Any]:
                updates, state = optimizer.update(g, state, p)
                return optax.apply_updates(p, updates), state

            self.state: Any = optimizer.init(self.params)
        else:

            def update(p: list[Any], state: Any, g: list[Any]) -> tuple[list[Any], Any]:
                m, v, count = state
                count = count + 1
                c1, c2 = 1 - b1**count, 1 - b2**count
                m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
                v = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(v, g)]
                p = [pi - lr * (mi / c1) / (jnp.sqrt(vi / c2) + eps) for pi, mi, vi in zip(p, m, v)]
                return p, (m, v, count)

            zeros = [jnp.zeros_like(p) for p in self.params]
            self.state = (zeros, zeros, jnp.asarray(0, dtype=jnp.float32))
        self.fn = jax.jit(update)

    def step(self) -> None:
        self.params, self.state = self.fn(self.params, self.state, self.grads)
        jax_block(self.params)

    def result(self) -> list[NDArray]:
        return [np.asarray(p) for p in self.params]


def jax_block(arrays: list[Any]) -> None:
    """Wait until every one of ``arrays`` (JAX arrays) is computed."""
    for a in arrays:
        a.block_until_ready()
