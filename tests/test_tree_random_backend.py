"""Pytrees, random keys and the backend dispatcher."""

from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
import textwrap
from typing import Any, Callable, NamedTuple

import attrs
import numpy as np
import pytest

import fnn
from fnn import tree
from fnn.backend import batch_sum, last_axis_max
from tests.helpers import assert_allclose, assert_array_equal, host


@attrs.frozen
class Pair:
    a: object
    b: object


class Point(NamedTuple):
    x: object
    y: object


def example() -> object:
    return {"z": [1, (2, None)], "a": Pair(3, Point(4, 5))}


def test_leaves_follow_the_documented_order() -> None:
    assert tree.leaves(example()) == [3, 4, 5, 1, 2]
    assert tree.paths(example()) == ["['a'].a", "['a'].b[0]", "['a'].b[1]", "['z'][0]", "['z'][1][0]"]


def test_flatten_unflatten_round_trip_keeps_types() -> None:
    values, struct = tree.flatten(example())
    rebuilt = tree.unflatten(struct, [v * 10 for v in values])
    assert rebuilt == {"z": [10, (20, None)], "a": Pair(30, Point(40, 50))}
    assert isinstance(rebuilt["a"].b, Point)
    assert tree.structure(rebuilt) == struct
    assert repr(struct) == "{'a': Pair(*, Point(*, *)), 'z': [*, (*, None)]}"


def test_map_over_several_trees_and_mismatches() -> None:
    assert tree.map(lambda u, v: u + v, (1, [2]), (10, [20])) == (11, [22])
    with pytest.raises(
        fnn.StructureError, match=r"pytrees differ at \[1\]: expected list of length 1, got list of length 2"
    ):
        tree.map(lambda u, v: u + v, (1, [2]), (10, [20, 30]))
    with pytest.raises(fnn.StructureError, match=r"structure .* has 2 leaves, got 3 values"):
        tree.unflatten(tree.structure((1, 2)), [1, 2, 3])


def test_param_count() -> None:
    model = fnn.sequential(fnn.Dense(50), fnn.sigmoid, fnn.Dense(10))
    assert fnn.param_count(model.init(fnn.random.key(0), (784,))) == 784 * 50 + 50 + 50 * 10 + 10


def test_keys_are_pure_and_splittable() -> None:
    k = fnn.random.key(42)
    a, b = fnn.random.split(k)
    same = fnn.random.normal(a, (1000,))  # on the default backend: the backend under test
    assert isinstance(same, fnn.backend().xp.ndarray)
    assert_array_equal(same, fnn.random.normal(a, (1000,)))
    assert not np.array_equal(host(same), host(fnn.random.normal(b, (1000,))))
    assert not np.array_equal(host(same), host(fnn.random.normal(k, (1000,))))
    assert fnn.random.split(k, 3)[:2] == (a, b)
    assert same.dtype == np.float32
    assert 0.9 < float(same.std()) < 1.1 and abs(float(same.mean())) < 0.1
    u = fnn.random.uniform(a, (1000,), fnn.backend(dtype="float64"), low=-2, high=3)
    assert u.dtype == np.float64 and -2 <= float(u.min()) and float(u.max()) < 3
    assert sorted(fnn.random.permutation(a, 5).tolist()) == [0, 1, 2, 3, 4]
    bits = fnn.random.bernoulli(a, 0.5, (1000,))
    assert bits.dtype == np.bool_ and 400 < int(bits.sum()) < 600
    assert fnn.random.fold_in(k, 3) == fnn.random.fold_in(k, 3) != fnn.random.fold_in(k, 4)


def test_bad_keys() -> None:
    with pytest.raises(ValueError, match="`seed` must be a non-negative integer, got -1"):
        fnn.random.key(-1)
    with pytest.raises(fnn.StateError, match="expected an fnn.random.Key"):
        fnn.random.normal(0, (2,))  # type: ignore[arg-type]
    with pytest.raises(fnn.ShapeError, match=r"split: `num` \(how many keys\) must be an integer >= 1, got 0"):
        fnn.random.split(fnn.random.key(0), 0)


def test_backend_values_and_environment(monkeypatch: pytest.MonkeyPatch, backend_name: str) -> None:
    monkeypatch.delenv("FNN_DTYPE", raising=False)
    b = fnn.backend()  # the backend under test: conftest sets FNN_BACKEND
    expected = fnn.backend("cupy" if backend_name == "cupy" else "numpy", "float32")
    assert b == expected and b.name == backend_name and b.dtype == np.float32
    assert fnn.backend("numpy").xp is np  # a name given wins over FNN_BACKEND
    assert b.asarray([1, 2]).dtype == np.float32 and b.ones((2,)).dtype == np.float32
    assert b.with_dtype("float64").zeros((1,)).dtype == np.float64
    monkeypatch.setenv("FNN_DTYPE", "float64")
    assert fnn.default_backend().dtype == np.float64
    params = fnn.Dense(2).init(fnn.random.key(0), (3,))
    assert params.w.dtype == np.float64 and isinstance(params.w, b.xp.ndarray)
    monkeypatch.setenv("FNN_BACKEND", "jax")
    with pytest.raises(fnn.BackendError, match="FNN_BACKEND='jax' is not a backend"):
        fnn.default_backend()


@pytest.mark.parametrize("value", ["garbage", "int32", "", "float128", "complex64", "bool"])
def test_a_bad_fnn_dtype_names_the_variable_the_value_and_the_choices(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("FNN_DTYPE", value)
    with pytest.raises(
        fnn.DTypeError,
        match=rf"the environment variable FNN_DTYPE={value!r} is not a float dtype fnn computes in; "
        r"set it to one of 'float16', 'float32', 'float64', or unset it for 'float32'",
    ):
        fnn.backend()
    assert fnn.backend(dtype="float64").dtype == np.float64  # a dtype given in the code wins
    with pytest.raises(fnn.DTypeError, match=r"`dtype` must be one of .*, got 'int32'"):
        fnn.backend(dtype="int32")  # and is reported as the argument


@pytest.mark.parametrize("value", ["jax", "", "NumPy", "torch"])
def test_a_bad_fnn_backend_names_the_variable_the_value_and_the_choices(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("FNN_BACKEND", value)
    with pytest.raises(
        fnn.BackendError,
        match=rf"the environment variable FNN_BACKEND={value!r} is not a backend; "
        r"set it to 'numpy' or 'cupy', or unset it for 'numpy'",
    ):
        fnn.backend()
    assert fnn.backend("numpy").name == "numpy"  # a name given in the code wins


def test_cupy_backend_is_lazy_and_fails_clearly_without_a_gpu() -> None:
    # In a fresh interpreter (this one may have imported CuPy for the cupy run of the suite):
    # importing fnn and computing on NumPy never imports CuPy.
    script = textwrap.dedent(
        """
        import sys
        import fnn
        b = fnn.backend(dtype="float64")
        fnn.Dense(2).init(fnn.random.key(0), (3,), b)
        fnn.datasets.spiral(fnn.random.key(0), n_per_class=5, backend=b)
        assert b.name == "numpy" and "cupy" not in sys.modules, sorted(m for m in sys.modules if "cupy" in m)
        """
    )
    env = {**os.environ, "FNN_BACKEND": "numpy"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the checkout, so fnn imports
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    try:
        import cupy  # noqa: F401
    except ImportError:
        with pytest.raises(
            fnn.BackendError,
            match=r"needs CuPy, which is not installed; install it with `pip install 'fnn\[gpu\]'`",
        ):
            fnn.backend("cupy")
    else:  # pragma: no cover - only on machines with CuPy
        try:
            b = fnn.backend("cupy")
        except fnn.BackendError as error:
            assert "GPU" in str(error)
        else:
            assert b.name == "cupy"


def test_array_module_dispatch() -> None:
    assert fnn.array_module(np.zeros(2)) is np  # NumPy arrays belong to NumPy on every backend
    assert fnn.backend().to_numpy(np.zeros(2)).shape == (2,)
    b = fnn.backend(dtype="float64")
    x = b.asarray([1.0, 2.0])
    assert fnn.array_module(x) is b.xp
    back = b.to_numpy(x)
    assert type(back) is np.ndarray and back.dtype == np.float64 and back.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_batch_sum_matches_the_sum_over_axis_0(dtype: str) -> None:
    b = fnn.backend(dtype=dtype)
    x = b.asarray(np.random.default_rng(0).uniform(-1, 1, (37, 5)))
    total = batch_sum(x)
    assert total.dtype == x.dtype and total.shape == (5,)
    rtol = 2e-3 if dtype == "float16" else 1e-6
    assert_allclose(total, host(x).astype(np.float64).sum(axis=0), rtol=rtol, atol=rtol)


def test_params_compare_by_identity_without_raising() -> None:
    params = fnn.Dense(2).init(fnn.random.key(0), (3,))
    again = fnn.Dense(2).init(fnn.random.key(0), (3,))
    assert params == params and params != again  # no "truth value is ambiguous" error
    assert len({params, again}) == 2


def test_tree_edge_cases_round_trip() -> None:
    pair = collections.namedtuple("pair", "a b")

    @attrs.frozen
    class KwOnly:
        x: Any
        y: Any = attrs.field(default=None, kw_only=True)
        z: Any = attrs.field(init=False, default=5)

    class Items(list[Any]):
        pass

    cases: list[Any] = [
        (),
        [],
        {},
        None,
        [None, (None, {})],
        pair(1, (2, None)),
        KwOnly(1, y=[2, 3]),
        Items([1, 2]),
    ]
    for case in cases:
        flat, struct = fnn.tree.flatten(case)
        back = fnn.tree.unflatten(struct, iter(flat))
        assert back == case and type(back) is type(case)
        doubled = fnn.tree.map(lambda v: v * 2, case)
        assert type(doubled) is type(case) and fnn.tree.leaves(doubled) == [v * 2 for v in flat]
    assert fnn.tree.leaves(KwOnly(1, y=2)) == [1, 2, 5]
    with pytest.raises(TypeError, match=r"unflatten: expected a Structure from fnn.tree.structure"):
        fnn.tree.unflatten((1, 2), [1, 2])  # type: ignore[arg-type]


def test_random_misuse() -> None:
    k = fnn.random.key(0)
    with pytest.raises(ValueError, match="`data` must be a non-negative integer, got -1"):
        fnn.random.fold_in(k, -1)
    assert fnn.random.fold_in(k, 2**32) != fnn.random.fold_in(k, 0)
    assert fnn.random.fold_in(k, 3) not in fnn.random.split(k, 5)
    with pytest.raises(ValueError, match=r"`p` must be a probability in \[0, 1\], got 2.0"):
        fnn.random.bernoulli(k, 2.0, (3,))
    with pytest.raises(fnn.ShapeError, match=r"permutation: `n` \(the length\) must be an integer >= 0, got -1"):
        fnn.random.permutation(k, -1)
    with pytest.raises(TypeError, match=r"expected an fnn.Backend .* got 'float64'"):
        fnn.random.normal(k, (2,), "float64")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"expected an fnn.Backend .* got 'float64'"):
        fnn.Dense(2).init(k, (3,), "float64")  # type: ignore[arg-type]


def test_backend_asarray_of_bad_data() -> None:
    b = fnn.backend()
    with pytest.raises(fnn.DTypeError, match=r"asarray: cannot convert str to float32: could not convert"):
        b.asarray("abc")
    with pytest.raises(fnn.DTypeError, match=r"asarray: cannot convert list to float32: .*inhomogeneous"):
        b.asarray([[1.0, 2.0], [3.0]])
    with pytest.raises(fnn.DTypeError, match=r"asarray: expected array-like data, got None"):
        b.asarray(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("num", [2.5, 0, -3, True, "2", None, np.float64(2.0)])
def test_split_refuses_a_count_that_is_not_a_positive_integer(num: Any) -> None:
    with pytest.raises(fnn.ShapeError, match=rf"split: `num` \(how many keys\) must be an integer >= 1, got {re.escape(repr(num))}"):
        fnn.random.split(fnn.random.key(0), num)
    assert len(fnn.random.split(fnn.random.key(0), np.int32(3))) == 3  # NumPy integers count


@pytest.mark.parametrize("shape", [(2.5,), (-1, 2), "ab", (None,), -2, 2.0])
def test_draws_refuse_a_shape_that_is_not_a_tuple_of_sizes(shape: Any) -> None:
    k = fnn.random.key(0)
    draws: dict[str, Callable[[], object]] = {
        "normal": lambda: fnn.random.normal(k, shape),
        "uniform": lambda: fnn.random.uniform(k, shape),
        "bernoulli": lambda: fnn.random.bernoulli(k, 0.5, shape),
    }
    for name, draw in draws.items():
        with pytest.raises(
            fnn.ShapeError, match=rf"{name}: `shape` must be a tuple of integers >= 0, got {re.escape(repr(shape))}"
        ):
            draw()


def test_bad_seeds_data_lengths_and_probabilities() -> None:
    k = fnn.random.key(0)
    for seed in (1.5, "0", None, -1):
        with pytest.raises(fnn.StateError, match=rf"key: `seed` must be a non-negative integer, got {re.escape(repr(seed))}"):
            fnn.random.key(seed)  # type: ignore[arg-type]
    for data in (1.5, "0", -1):
        with pytest.raises(fnn.StateError, match=rf"fold_in: `data` must be a non-negative integer, got {re.escape(repr(data))}"):
            fnn.random.fold_in(k, data)  # type: ignore[arg-type]
    for n in (2.5, "3", -1):
        with pytest.raises(fnn.ShapeError, match=rf"permutation: `n` \(the length\) must be an integer >= 0, got {re.escape(repr(n))}"):
            fnn.random.permutation(k, n)  # type: ignore[arg-type]
    for p in ("0.5", None, float("nan"), -0.1):
        with pytest.raises(ValueError, match=rf"`p` must be a probability in \[0, 1\], got {re.escape(repr(p))}"):
            fnn.random.bernoulli(k, p, (2,))  # type: ignore[arg-type]


@pytest.mark.parametrize("shape", [(100, 10), (3, 4, 32), (5, 33), (7, 1), (4,), (0, 3), (6, 0)])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_last_axis_max_is_the_keepdims_max_with_nan(shape: tuple[int, ...], dtype: str) -> None:
    """Short last axes go through a transposed copy; the values are the max's, NaN included."""
    x = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    if x.size:
        x.flat[x.size // 2] = np.nan
    strided = np.repeat(x, 2, axis=-1)[..., ::2] if x.ndim > 1 else x
    for a in (x, np.asfortranarray(x), strided, x[::-1]):
        if a.shape[-1] == 0:  # no maximum of nothing, either way
            with pytest.raises(ValueError, match="zero-size"):
                last_axis_max(a)
            continue
        got = last_axis_max(a)
        expected = a.max(axis=-1, keepdims=True)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        assert np.array_equal(got, expected, equal_nan=True)
