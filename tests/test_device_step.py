"""On the CuPy backend a training step stays on the device: no host-device copies.

Two guards run around the step (shuffled batches, a forward pass with batch norm and
dropout, the loss on integer labels, the backward pass, an Adam update):

- ``cupyx.allow_synchronize(False)`` raises on every synchronization, and every copy
  from the device to the host synchronizes (``float(loss)``, ``int(x.max())``, ``.get()``);
- ``cupy.asarray`` and ``cupy.array`` are wrapped to fail when fnn's code hands them
  host data (a NumPy array, a list), which is how a host-to-device copy would start.

``benchmarks/gpu.py`` counts the copies with the CUDA profiler as well. Under NumPy
these tests skip: there is no device.
"""

from __future__ import annotations

import contextlib
import inspect
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import pytest

import fnn
from fnn.backend import to_numpy

Guard = Callable[[], AbstractContextManager[None]]


@pytest.fixture
def cupy(backend_name: str) -> Any:
    if backend_name != "cupy":
        pytest.skip("host-device copies exist only on the cupy backend (FNN_TEST_BACKENDS=cupy)")
    import cupy as cp

    return cp


@pytest.fixture
def guard(cupy: Any, monkeypatch: pytest.MonkeyPatch) -> Guard:
    """A context that fails on any synchronization, and on host data passed to cupy.asarray/array by fnn."""
    import cupyx

    def refusing(original: Any) -> Any:
        def wrapped(obj: Any, *args: Any, **kwargs: Any) -> Any:
            frame = inspect.currentframe()
            caller = frame.f_back if frame is not None else None
            module = caller.f_globals.get("__name__", "") if caller is not None else ""
            if module.startswith("fnn") and not isinstance(obj, cupy.ndarray) and not np.isscalar(obj):
                raise AssertionError(f"host-to-device copy of {type(obj).__name__} from {module}")
            return original(obj, *args, **kwargs)

        return wrapped

    @contextlib.contextmanager
    def guarded() -> Iterator[None]:
        with monkeypatch.context() as patch, warnings.catch_warnings():
            patch.setattr(cupy, "asarray", refusing(cupy.asarray))
            patch.setattr(cupy, "array", refusing(cupy.array))
            warnings.simplefilter("ignore", UserWarning)  # allow_synchronize is marked experimental
            with cupyx.allow_synchronize(False):
                yield

    return guarded


def problem(cupy: Any) -> tuple[fnn.Sequential, Any, Any, Any, Any]:
    b = fnn.backend("cupy", "float32")
    model = fnn.sequential(
        fnn.Conv2D(4, 3, padding=1),
        fnn.BatchNorm(),
        fnn.relu,
        fnn.MaxPool2D(2),
        fnn.Flatten(),
        fnn.Dropout(0.25),
        fnn.Dense(10),
    )
    params = model.init(fnn.random.key(0), (1, 8, 8), b)
    state = model.init_state((1, 8, 8), b)
    x = fnn.random.normal(fnn.random.key(1), (64, 1, 8, 8), b)
    t = b.asarray(np.arange(64) % 10, dtype=np.int64)
    return model, params, state, x, t


def test_a_training_step_makes_no_host_device_copy(cupy: Any, guard: Guard) -> None:
    model, params, state, x, t = problem(cupy)
    opt = fnn.optim.adam(1e-3)
    opt_state = opt.init(params)
    step = fnn.value_grad_and_state(model, fnn.losses.softmax_cross_entropy)
    losses = []
    with guard():
        for i, (xb, tb) in enumerate(fnn.train.batches(fnn.random.key(2), x, t, batch_size=16)):
            value, grads, state = step(params, state, xb, tb, key=fnn.random.key(3 + i))
            updates, opt_state = opt.update(grads, opt_state, params)
            params = fnn.optim.apply_updates(params, updates)
            losses.append(value)
    assert all(isinstance(v, cupy.ndarray) for v in losses)
    assert all(isinstance(p, cupy.ndarray) for p in fnn.tree.leaves(params))


def test_the_guard_catches_a_copy_to_the_host(cupy: Any, guard: Guard) -> None:
    model, params, state, x, t = problem(cupy)
    with guard():
        y = model.apply(params, x, state=state)
        with pytest.raises(Exception, match="synchronization"):
            float(y.sum())


def test_the_guard_catches_a_copy_from_the_host(cupy: Any, guard: Guard) -> None:
    model, params, state, x, t = problem(cupy)
    with guard(), pytest.raises(AssertionError, match="host-to-device copy of ndarray from fnn.losses"):
        fnn.losses.mse(model.apply(params, x, state=state), np.zeros((64, 10), np.float32))


def test_out_of_range_labels_make_the_device_loss_nan(cupy: Any) -> None:
    b = fnn.backend("cupy", "float32")
    y = b.zeros((2, 3))
    assert np.isnan(float(fnn.losses.softmax_cross_entropy(y, b.asarray([0, 3], dtype=np.int64))))
    assert np.isnan(float(fnn.losses.categorical_cross_entropy(y + 0.5, b.asarray([-1, 0], dtype=np.int64))))
    assert np.isnan(to_numpy(fnn.losses.softmax_cross_entropy.grad(y, b.asarray([0, 3], dtype=np.int64)))).all()
    assert float(fnn.losses.softmax_cross_entropy(y, b.asarray([0, 2], dtype=np.int64))) == pytest.approx(np.log(3))


def test_host_input_to_device_params_names_the_layer_and_the_fix(cupy: Any) -> None:
    model = fnn.sequential(fnn.Dense(3))
    params = model.init(fnn.random.key(0), (2,), fnn.backend("cupy"))
    with pytest.raises(
        fnn.BackendError,
        match=r"layer 0 \(Dense\(features=3\)\): the input is a NumPy \(host\) array but the parameters are a CuPy \(GPU\) array; move the input with backend.asarray\(x\)",
    ):
        model.apply(params, np.ones((4, 2), np.float32))
