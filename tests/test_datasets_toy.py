"""The course's small data sets and one-hot encoding: exact values, shapes, dtypes and errors."""

from __future__ import annotations

import numpy as np
import pytest

import fnn
from fnn.datasets import logic_gate, one_hot, spiral, study_hours, xor
from tests.helpers import assert_allclose, assert_array_equal, host


def test_spiral_matches_the_book_construction() -> None:
    key = fnn.random.key(3)
    b64 = fnn.backend(dtype="float64")
    x, t = spiral(key, n_per_class=5, classes=3, noise=0.2, backend=b64)
    assert isinstance(x, b64.xp.ndarray) and isinstance(t, b64.xp.ndarray)
    # spiral draws its noise on the host with NumPy (so every backend gets the same points): NumPy here
    eps = fnn.random.normal(key, (3, 5), fnn.backend("numpy", "float64"))
    for j in range(3):
        for i in range(5):
            rate = i / 5
            theta = 4.0 * j + 4.0 * rate + 0.2 * eps[j, i]
            assert_allclose(x[5 * j + i], [rate * np.sin(theta), rate * np.cos(theta)], rtol=1e-12)
            assert t[5 * j + i].tolist() == [float(k == j) for k in range(3)]


def test_spiral_gives_the_same_points_on_every_backend() -> None:
    key = fnn.random.key(5)
    x, t = spiral(key, n_per_class=7, backend=fnn.backend(dtype="float64"))
    x_np, t_np = spiral(key, n_per_class=7, backend=fnn.backend("numpy", "float64"))
    assert_array_equal(x, x_np)
    assert_array_equal(t, t_np)


def test_spiral_defaults_shapes_dtypes_and_determinism() -> None:
    x, t = spiral(fnn.random.key(0))
    assert x.shape == (300, 2) and x.dtype == np.float32
    assert t.shape == (300, 3) and t.dtype == np.float32
    assert t.sum(axis=0).tolist() == [100.0, 100.0, 100.0]
    assert isinstance(x, fnn.backend().xp.ndarray)  # the default backend: the backend under test
    x2, _ = spiral(fnn.random.key(0))
    x3, _ = spiral(fnn.random.key(1))
    assert_array_equal(x, x2)
    assert not np.array_equal(host(x), host(x3))
    assert float(abs(x).max()) < 1.0  # radius = i / N < 1


def test_spiral_integer_labels_and_no_noise() -> None:
    x, t = spiral(fnn.random.key(0), n_per_class=4, classes=2, noise=0.0, one_hot=False)
    assert t.dtype == np.int64 and t.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    # noise 0: point i of class 1 is point i of class 0 turned by 4 radians
    radius = fnn.array_module(x).hypot(x[:, 0], x[:, 1])
    assert_allclose(radius, [0, 0.25, 0.5, 0.75] * 2, atol=1e-7)
    assert_allclose(x[5], [0.25 * np.sin(5.0), 0.25 * np.cos(5.0)], rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_per_class": 0}, r"spiral: `n_per_class` must be a positive integer, got 0"),
        ({"classes": 2.5}, r"spiral: `classes` must be a positive integer, got 2\.5"),
        ({"noise": -0.1}, r"spiral: `noise` must be non-negative, got -0\.1"),
    ],
)
def test_spiral_rejects_bad_arguments(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        spiral(fnn.random.key(0), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "expected"),
    [("and", [0, 0, 0, 1]), ("NAND", [1, 1, 1, 0]), ("Or", [0, 1, 1, 1]), ("xor", [0, 1, 1, 0])],
)
def test_logic_gate_truth_tables(name: str, expected: list[int]) -> None:
    x, t = logic_gate(name)
    assert isinstance(x, fnn.backend().xp.ndarray) and isinstance(t, fnn.backend().xp.ndarray)
    assert x.dtype == np.float32 and t.dtype == np.float32
    assert x.tolist() == [[0, 0], [1, 0], [0, 1], [1, 1]]
    assert t.shape == (4, 1) and t.ravel().tolist() == expected


def test_logic_gate_unknown_name() -> None:
    with pytest.raises(ValueError, match=r"unknown gate 'nor'; choose one of 'and', 'nand', 'or', 'xor'"):
        logic_gate("nor")


def test_xor_is_the_xor_gate_and_follows_the_backend() -> None:
    b = fnn.backend(dtype="float64")
    x, t = xor(backend=b)
    assert x.dtype == np.float64 and isinstance(x, b.xp.ndarray)
    assert_array_equal(t, logic_gate("xor")[1])


def test_study_hours_table() -> None:
    x, t = study_hours()
    assert x.shape == (19, 1) and t.shape == (19, 1) and x.dtype == np.float32
    assert isinstance(x, fnn.backend().xp.ndarray) and isinstance(t, fnn.backend().xp.ndarray)
    assert x.ravel().tolist() == list(range(2, 21))
    assert t.ravel().tolist() == [0.0] * 12 + [1.0] * 7


def test_one_hot_values_and_shapes() -> None:
    b = fnn.backend(dtype="float64")
    y = one_hot(b.asarray([[0, 2], [1, 1]], dtype=np.int64), 3, b)  # labels on the device
    assert y.shape == (2, 2, 3) and y.dtype == np.float64 and isinstance(y, b.xp.ndarray)
    assert y.tolist() == [[[1, 0, 0], [0, 0, 1]], [[0, 1, 0], [0, 1, 0]]]
    assert one_hot(b.asarray([], dtype=np.int64), 4).shape == (0, 4)
    assert float(one_hot(b.asarray([9], dtype=np.uint8), 10)[0, 9]) == 1.0
    host_labels = np.array([[0, 2], [1, 1]])  # host labels (as from a file) also work
    assert_array_equal(one_hot(host_labels, 3, b), y)


@pytest.mark.parametrize(
    ("labels", "num_classes", "match"),
    [
        ([0, 3], 3, r"label 3 is out of range for `num_classes`=3 \(labels must lie in 0\.\.2\)"),
        ([-1, 0], 3, r"label -1 is out of range"),
        ([0.0, 1.0], 2, r"`labels` must be integers, got an array of dtype float64"),
        ([True], 2, r"`labels` must be integers, got an array of dtype bool"),
        ([0], 0, r"`num_classes` must be a positive integer, got 0"),
    ],
)
def test_one_hot_rejects_bad_labels(labels: list[float], num_classes: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        one_hot(labels, num_classes)
