"""Tests of fnn.datasets.split: train/validation splits and random subsets with a key."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnn
from fnn.datasets import random_subset, split_indices, train_val_split
from tests.helpers import assert_array_equal, host


def test_split_is_disjoint_covering_sorted_and_floors_the_validation_count() -> None:
    for n, fraction in ((10, 0.2), (7, 0.5), (60000, 1 / 6), (3, 0.4)):
        train, val = split_indices(fnn.random.key(4), n, val_fraction=fraction)
        assert len(val) == int(n * fraction) and len(train) == n - len(val)
        assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(n))
        assert (np.diff(train) > 0).all() and (np.diff(val) > 0).all()


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    labels=st.lists(st.integers(0, 4), min_size=2, max_size=60),
    fraction=st.floats(0.05, 0.95),
    seed=st.integers(0, 2**31),
)
def test_stratified_splits_cover_and_round_each_share_down_or_up(labels: list[int], fraction: float, seed: int) -> None:
    n = len(labels)
    if not 0 < int(n * fraction) < n:
        return
    classes = np.asarray(labels)
    train, val = split_indices(fnn.random.key(seed), n, val_fraction=fraction, stratify=classes)
    assert len(val) == int(n * fraction)
    assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(n))
    shares = np.bincount(classes[val], minlength=5)
    quotas = np.bincount(classes, minlength=5) * (len(val) / n)
    assert ((shares == np.floor(quotas)) | (shares == np.floor(quotas) + 1)).all()


def test_split_is_deterministic_per_key_and_differs_between_keys() -> None:
    a = split_indices(fnn.random.key(0), 100, val_fraction=0.1)
    b = split_indices(fnn.random.key(0), 100, val_fraction=0.1)
    c = split_indices(fnn.random.key(1), 100, val_fraction=0.1)
    assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_stratified_split_gives_each_class_its_share() -> None:
    labels = np.array([0] * 10 + [1] * 5 + [2] * 3)
    # 18 · 0.3 → 5: shares 3, 1.5, 0.9 → 3, 1, 0 and the one left to the largest remainder (class 2)
    for seed in range(5):
        train, val = split_indices(fnn.random.key(seed), 18, val_fraction=0.3, stratify=labels)
        assert np.bincount(labels[val], minlength=3).tolist() == [3, 1, 1]
        assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(18))
    one_hot = fnn.datasets.one_hot(labels, 3, fnn.backend("numpy"))
    from_one_hot = split_indices(fnn.random.key(2), 18, val_fraction=0.3, stratify=one_hot)
    assert_array_equal(from_one_hot[1], split_indices(fnn.random.key(2), 18, val_fraction=0.3, stratify=labels)[1])


def test_train_val_split_keeps_rows_together_on_the_arrays_backend() -> None:
    b = fnn.backend(dtype="float32")
    x = b.asarray(np.arange(20, dtype=np.float32).reshape(10, 2))
    t = b.xp.asarray(np.arange(10) % 3)
    (x_train, t_train), (x_val, t_val) = train_val_split(fnn.random.key(7), x, t, val_fraction=0.3)
    assert type(x_train) is type(x) and x_train.dtype == np.float32
    assert x_val.shape == (3, 2) and x_train.shape == (7, 2)
    train, val = split_indices(fnn.random.key(7), 10, val_fraction=0.3)
    assert_array_equal(x_val, host(x)[val])
    assert_array_equal(t_train, host(t)[train])


def test_random_subset_is_a_sorted_sample_of_the_same_rows() -> None:
    x, t = np.arange(50) * 2, np.arange(50)
    xs, ts = random_subset(fnn.random.key(5), x, t, size=8)
    assert xs.shape == (8,) and (np.diff(ts) > 0).all()
    assert_array_equal(xs, ts * 2)
    again = random_subset(fnn.random.key(5), x, t, size=8)
    assert_array_equal(again[1], ts)
    other = random_subset(fnn.random.key(6), x, t, size=8)
    assert not np.array_equal(other[1], ts)
    whole = random_subset(fnn.random.key(5), x, t, size=50)
    assert whole[0] is x and whole[1] is t


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: split_indices(fnn.random.key(0), 10, val_fraction=1.0), ValueError, r"`val_fraction` must be a number in \(0, 1\), got 1.0"),
        (lambda: split_indices(fnn.random.key(0), 10, val_fraction=True), ValueError, "`val_fraction` must be a number in"),
        (lambda: split_indices(fnn.random.key(0), 4, val_fraction=0.2), ValueError, "`val_fraction`=0.2 of 4 samples gives 0 for validation; both parts need at least one sample"),
        (lambda: split_indices(fnn.random.key(0), -1, val_fraction=0.2), ValueError, r"split_indices: `n` \(the number of samples\) must be an integer >= 0, got -1"),
        (lambda: split_indices(fnn.random.key(0), 4, val_fraction=0.5, stratify=[0, 1, 1]), fnn.ShapeError, r"`stratify` must be 4 class labels \(N,\) or one-hot rows \(N, C\), got shape \(3,\)"),
        (lambda: split_indices(fnn.random.key(0), 4, val_fraction=0.5, stratify=[0.0, 1.0, 1.0, 0.5]), fnn.DTypeError, "`stratify` must hold class labels .* got dtype float64"),
        (lambda: split_indices(fnn.random.key(0), 4, val_fraction=0.5, stratify=[0, -1, 1, 1]), fnn.DTypeError, "got dtype int64 with a negative label"),
        (lambda: train_val_split(fnn.random.key(0), np.zeros(4), np.zeros(5), val_fraction=0.5), fnn.ShapeError, r"train_val_split: the arrays must have the same number of samples \(first axis\), got lengths \[4, 5\]"),
        (lambda: train_val_split(fnn.random.key(0), val_fraction=0.5), fnn.errors.ArgumentError, r"train_val_split: pass at least one array"),
        (lambda: train_val_split(fnn.random.key(0), [1, 2], val_fraction=0.5), fnn.errors.ArgumentError, "train_val_split: array 0 must be an array with a first \\(sample\\) axis, got \\[1, 2\\]"),  # type: ignore[arg-type]
        (lambda: random_subset(fnn.random.key(0), np.zeros(4), size=0), ValueError, "random_subset: `size` must be a positive integer, got 0"),
        (lambda: random_subset(fnn.random.key(0), np.float32(1.0), size=1), fnn.errors.ArgumentError, "random_subset: array 0 must be an array with a first"),
        (lambda: split_indices(0, 4, val_fraction=0.5), fnn.StateError, "expected an fnn.random.Key"),  # type: ignore[arg-type]
    ],
)
def test_split_bad_arguments(call: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()
