"""Embedding: lookup, the scatter-add gradient with repeated ids, shapes, dtypes, errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import fnn
from fnn.layers.embedding import scatter_add_rows
from tests.helpers import assert_allclose, assert_array_equal, host


def ids_on(b: fnn.Backend, ids: Any) -> fnn.typing.Array:
    return b.asarray(ids, dtype="int64")


@pytest.mark.parametrize("ids_shape", [(3,), (3, 5)], ids=["N", "N_T"])
def test_forward_looks_up_rows(ids_shape: tuple[int, ...]) -> None:
    b = fnn.backend()
    layer = fnn.Embedding(7, 4)
    params = layer.init(fnn.random.key(0), ids_shape[1:], b)
    ids = ids_on(b, np.random.default_rng(0).integers(0, 7, ids_shape))
    y = layer.apply(params, ids)
    assert y.shape == (*ids_shape, 4) == (ids_shape[0], *layer.out_shape(ids_shape[1:]))
    assert y.dtype == np.float32
    assert_array_equal(y, host(params.w)[host(ids)])
    assert_array_equal(layer.forward(params, ids)[0], y)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gradient_accumulates_repeated_ids(dtype: str) -> None:
    b = fnn.backend(dtype=dtype)
    layer = fnn.Embedding(50, 6)
    params = layer.init(fnn.random.key(0), (8,), b)
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 10, (5, 8))  # 40 ids among 10 values: many repeats
    dy = rng.standard_normal((5, 8, 6))
    y, residuals = layer.forward(params, ids_on(b, ids))
    dparams, dx = layer.grad(params, residuals, b.asarray(dy))
    expected = np.zeros((50, 6))
    np.add.at(expected, ids.ravel(), dy.reshape(-1, 6))
    assert dx is None
    assert dparams.w.dtype == np.dtype(dtype) and dparams.w.shape == (50, 6)
    assert_allclose(dparams.w, expected, rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-6)
    assert_array_equal(layer.param_grad(params, residuals, b.asarray(dy)).w, dparams.w)


def test_gradient_is_the_jacobian_transpose_of_the_lookup() -> None:
    b = fnn.backend(dtype="float64")
    layer = fnn.Embedding(6, 3)
    params = layer.init(fnn.random.key(0), (4,), b)
    ids = ids_on(b, [[0, 5, 0, 2], [5, 5, 1, 0]])
    r = np.random.default_rng(2).standard_normal((2, 4, 3))
    numeric = fnn.numerical_grad(lambda p: float((host(layer.apply(p, ids)) * r).sum()), params)
    dparams, _ = layer.grad(params, ids, b.asarray(r))
    assert_allclose(dparams.w, numeric.w, rtol=1e-7, atol=1e-9)


def test_scatter_add_rows_matches_add_at_and_leaves_unused_rows_zero() -> None:
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 1000, 700)
    rows = rng.standard_normal((700, 5)).astype(np.float32)
    expected = np.zeros((1000, 5), np.float32)
    np.add.at(expected, ids, rows)
    result = scatter_add_rows(ids, rows, 1000)
    assert result.dtype == np.float32
    assert_allclose(result, expected, rtol=1e-5, atol=1e-6)
    unused = np.setdiff1d(np.arange(1000), ids)
    assert not result[unused].any()
    assert not scatter_add_rows(ids[:0], rows[:0], 4).any()


def test_unsigned_ids_and_an_empty_batch() -> None:
    b = fnn.backend()
    layer = fnn.Embedding(5, 2)
    params = layer.init(fnn.random.key(0), (), b)
    y = layer.apply(params, b.asarray([4, 0], dtype="uint8"))
    assert_array_equal(y, host(params.w)[[4, 0]])
    empty = b.asarray(np.zeros((0, 3)), dtype="int64")
    y, residuals = layer.forward(params, empty)
    assert y.shape == (0, 3, 2)
    assert not host(layer.grad(params, residuals, b.zeros((0, 3, 2)))[0].w).any()


def test_float_ids_are_refused() -> None:
    layer = fnn.Embedding(5, 2)
    params = layer.init(fnn.random.key(0), (3,))
    with pytest.raises(fnn.DTypeError, match=r"Embedding\(vocab=5, dim=2\): expected integer ids, got float32; .*astype\('int64'\)"):
        layer.apply(params, fnn.backend().zeros((2, 3)))
    with pytest.raises(fnn.DTypeError, match=r"expected integer ids, got list"):
        layer.apply(params, [[1, 2, 3]])  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [5, -1])
def test_out_of_range_ids_are_refused_on_the_host(bad: int) -> None:
    layer = fnn.Embedding(5, 2)
    params = layer.init(fnn.random.key(0), (3,), fnn.backend("numpy"))
    with pytest.raises(fnn.DataError, match=rf"Embedding\(vocab=5, dim=2\): id {bad} is out of range for a vocabulary of 5 \(0..4\)"):
        layer.apply(params, np.array([[0, bad, 1]]))


def test_bad_hyperparameters_and_in_shapes() -> None:
    with pytest.raises(ValueError, match=r"`vocab` must be a positive integer, got 0"):
        fnn.Embedding(0, 3)
    with pytest.raises(ValueError, match=r"`dim` must be a positive integer, got 2.5"):
        fnn.Embedding(3, 2.5)  # type: ignore[arg-type]
    with pytest.raises(fnn.ShapeError, match=r"Embedding\(vocab=3, dim=2\): `in_shape` must be the ids' shape without the batch axis, .* got \(0,\)"):
        fnn.Embedding(3, 2).init(fnn.random.key(0), (0,))


def test_float32_stays_float32_and_inputs_are_not_mutated() -> None:
    b = fnn.backend()
    layer = fnn.Embedding(9, 3)
    params = layer.init(fnn.random.key(0), (4,), b)
    ids = ids_on(b, [[1, 1, 2, 8]])
    w_before, ids_before = host(params.w).copy(), host(ids).copy()
    y, residuals = layer.forward(params, ids)
    dparams, _ = layer.grad(params, residuals, b.ones(y.shape))
    assert y.dtype == dparams.w.dtype == np.float32
    assert_array_equal(params.w, w_before)
    assert_array_equal(ids, ids_before)


def test_strided_and_fortran_ids_give_the_same_result_as_contiguous_ones() -> None:
    b = fnn.backend()
    layer = fnn.Embedding(20, 3)
    params = layer.init(fnn.random.key(0), (4,), b)
    wide = ids_on(b, np.random.default_rng(4).integers(0, 20, (3, 8)))
    dy = b.asarray(np.random.default_rng(5).standard_normal((3, 4, 3)))
    expected_y, residuals = layer.forward(params, wide[:, ::2].copy())
    expected_dw = layer.grad(params, residuals, dy)[0].w
    for ids in (wide[:, ::2], b.xp.asfortranarray(wide[:, ::2]), wide[::-1, ::2][::-1]):
        y, residuals = layer.forward(params, ids)
        assert_array_equal(y, expected_y)
        assert_allclose(layer.grad(params, residuals, dy)[0].w, expected_dw, rtol=1e-6)


def test_same_key_same_table() -> None:
    first = fnn.Embedding(30, 4).init(fnn.random.key(3), (5,))
    second = fnn.Embedding(30, 4).init(fnn.random.key(3), (5,))
    other = fnn.Embedding(30, 4).init(fnn.random.key(4), (5,))
    assert_array_equal(first.w, second.w)
    assert not np.array_equal(host(first.w), host(other.w))
    assert float(host(first.w).std()) == pytest.approx(0.01, rel=0.2)  # the book's 0.01 · randn


def test_params_of_another_embedding_are_refused() -> None:
    params = fnn.Embedding(5, 2).init(fnn.random.key(0), (3,))
    ids = fnn.backend().asarray([[0, 1, 2]], dtype="int64")
    with pytest.raises(fnn.ShapeError, match=r"Embedding\(vocab=6, dim=2\): expected params w of shape \(6, 2\), got \(5, 2\); use the params"):
        fnn.Embedding(6, 2).apply(params, ids)
    with pytest.raises(fnn.StructureError, match=r"Embedding\(vocab=5, dim=2\): expected params of type EmbeddingParams, as init returns, got DenseParams"):
        fnn.Embedding(5, 2).apply(fnn.DenseParams(params.w, None), ids)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "ids",
    [[7, 2, 9, 2, 0, 2, 5, 9], [3], [4, 4, 4], [0, 1, 2, 3], []],
    ids=["once-and-repeated", "one", "one-id-repeated", "all-once", "none"],
)
def test_scatter_add_rows_sums_each_ids_rows_in_order(ids: list[int]) -> None:
    # Rows of ids seen once are copied, runs of a repeated id summed by reduceat: the same
    # bits as reduceat over every run (the earlier implementation), and the exact sums.
    rng = np.random.default_rng(0)
    ids_array = np.array(ids, dtype=np.int64)
    rows = rng.standard_normal((len(ids), 3)).astype(np.float32)
    dw = scatter_add_rows(ids_array, rows, 10)
    expected = np.zeros((10, 3))
    for i, v in enumerate(ids):
        expected[v] += rows[i]
    assert dw.dtype == np.float32
    np.testing.assert_allclose(dw, expected, rtol=1e-6, atol=1e-7)
    if ids:
        order = ids_array.argsort(kind="stable")
        runs = np.flatnonzero(np.diff(ids_array[order], prepend=-1))
        every_run = np.zeros((10, 3), np.float32)
        every_run[ids_array[order][runs]] = np.add.reduceat(rows[order], runs, axis=0)
        np.testing.assert_array_equal(dw, every_run)
