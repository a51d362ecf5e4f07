"""The array-module dispatcher: which library computes (NumPy or CuPy) and in which float dtype.

A :class:`Backend` is a frozen value; nothing global changes when one is made.
This is the only module of fnn that imports NumPy by name for computation, and the
only one that imports CuPy (lazily, when a CuPy backend is asked for). Layer code
takes its array module from its inputs with :func:`array_module`.

>>> b = backend("numpy", "float64")
>>> b.zeros((2, 3)).dtype
dtype('float64')
>>> default_backend().dtype == backend().dtype
True
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from types import ModuleType
from typing import Any, Literal

import attrs
import numpy as np
from numpy.typing import ArrayLike

from fnn.errors import BackendError, DTypeError, ShapeError
from fnn.typing import Array, DTypeLike, Shape

BackendName = Literal["numpy", "cupy"]

FLOAT_DTYPES = ("float16", "float32", "float64")
"""The float dtypes a backend may compute in."""


def accumulation_dtype(dtype: DTypeLike) -> np.dtype[Any]:
    """The dtype to sum ``dtype`` values in: float32 for float16, else ``dtype`` itself.

    float16 keeps 11 significant bits and overflows above 65504, so softmax, the
    losses, batch-norm statistics and optimizer moments of float16 models are
    computed in float32; parameters and activations stay float16.

    >>> accumulation_dtype("float16"), accumulation_dtype("float64")
    (dtype('float32'), dtype('float64'))
    """
    resolved = np.dtype(dtype)
    return np.dtype(np.float32) if resolved == np.float16 else resolved


def _float_dtype(dtype: DTypeLike) -> np.dtype[Any]:
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise DTypeError(f"`dtype` must be one of {FLOAT_DTYPES}, got {dtype!r}") from None
    if resolved.name not in FLOAT_DTYPES:
        raise DTypeError(f"`dtype` must be one of {FLOAT_DTYPES}, got {resolved.name!r}")
    return resolved


def _environment_dtype() -> np.dtype[Any]:
    """The dtype named by ``FNN_DTYPE`` (float32 when it is unset)."""
    value = os.environ.get("FNN_DTYPE", "float32")
    try:
        return _float_dtype(value)
    except DTypeError:
        raise DTypeError(
            f"the environment variable FNN_DTYPE={value!r} is not a float dtype fnn computes in; "
            f"set it to one of {', '.join(repr(d) for d in FLOAT_DTYPES)}, or unset it for 'float32'"
        ) from None


def _import_cupy() -> ModuleType:
    try:
        # By name: CuPy is optional and untyped, and a plain `import cupy` fails
        # `mypy --strict` wherever it is not installed, also in users' checks of their code.
        cupy = importlib.import_module("cupy")
    except ImportError:
        raise BackendError(
            "the 'cupy' backend needs CuPy, which is not installed; "
            "install it with `pip install 'fnn[gpu]'` (CUDA 12) or `pip install 'fnn[gpu-cuda13]'` "
            "(CUDA 13), or use backend('numpy')"
        ) from None
    try:
        count = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as error:  # CUDA driver missing or broken
        raise BackendError(f"the 'cupy' backend found no usable GPU: {error}") from None
    if count < 1:
        raise BackendError("the 'cupy' backend found no GPU on this machine")
    return cupy


@attrs.frozen(repr=False)
class Backend:
    """An array module (NumPy or CuPy) together with the float dtype to compute in.

    Build one with :func:`backend`. All array constructors of a backend return
    arrays of its module in its dtype.

    Attributes:
        name: ``"numpy"`` or ``"cupy"``.
        xp: The array module itself.
        dtype: The float dtype of parameters and activations.
    """

    name: BackendName
    xp: ModuleType = attrs.field(eq=False)
    dtype: np.dtype[Any]

    def __repr__(self) -> str:
        return f"Backend(name={self.name!r}, dtype={self.dtype.name!r})"

    def asarray(self, x: ArrayLike, dtype: DTypeLike | None = None) -> Array:
        """``x`` as an array of this backend, in ``dtype`` (default: the backend's float dtype).

        Raises:
            DTypeError: ``x`` is ``None`` or cannot be converted (strings, ragged lists, ...).
        """
        target = self.dtype if dtype is None else dtype
        if x is None:
            raise DTypeError(f"{self!r}.asarray: expected array-like data, got None")
        try:
            result: Array = self.xp.asarray(x, dtype=target)
        except (TypeError, ValueError) as error:
            raise DTypeError(
                f"{self!r}.asarray: cannot convert {type(x).__name__} to {target}: {error}"
            ) from None
        return result

    def zeros(self, shape: Shape) -> Array:
        """An array of zeros of ``shape`` in the backend's dtype."""
        result: Array = self.xp.zeros(shape, dtype=self.dtype)
        return result

    def ones(self, shape: Shape) -> Array:
        """An array of ones of ``shape`` in the backend's dtype."""
        result: Array = self.xp.ones(shape, dtype=self.dtype)
        return result

    def full(self, shape: Shape, value: float) -> Array:
        """An array of ``shape`` filled with ``value`` in the backend's dtype."""
        result: Array = self.xp.full(shape, value, dtype=self.dtype)
        return result

    def to_numpy(self, x: Array) -> Array:
        """``x`` as a NumPy array on the host (a copy for CuPy, ``x`` itself for NumPy)."""
        return to_numpy(x)

    def with_dtype(self, dtype: DTypeLike) -> Backend:
        """The same array module with another float dtype."""
        return Backend(self.name, self.xp, _float_dtype(dtype))


def backend(name: BackendName | None = None, dtype: DTypeLike | None = None) -> Backend:
    """The backend computing with ``name`` (``"numpy"`` or ``"cupy"``) in ``dtype``.

    Whatever is left out comes from the environment: ``FNN_BACKEND`` (default
    ``"numpy"``) and ``FNN_DTYPE`` (default ``"float32"``). So a script that asks for
    ``fnn.backend(dtype="float64")`` runs on the GPU under ``FNN_BACKEND=cupy``
    with no other change.

    Args:
        name: ``"numpy"`` (CPU) or ``"cupy"`` (NVIDIA GPU; needs ``pip install 'fnn[gpu]'``,
            or ``'fnn[gpu-cuda13]'`` for CUDA 13).
        dtype: ``"float32"``, ``"float64"`` or ``"float16"``.

    Raises:
        BackendError: the name is unknown (or ``FNN_BACKEND`` names no backend), or CuPy
            or a GPU is missing.
        DTypeError: ``dtype`` (or ``FNN_DTYPE``) is not a float dtype fnn computes in.
    """
    if name is None:
        name = os.environ.get("FNN_BACKEND", "numpy")  # type: ignore[assignment]
        if name not in ("numpy", "cupy"):
            raise BackendError(
                f"the environment variable FNN_BACKEND={name!r} is not a backend; "
                "set it to 'numpy' or 'cupy', or unset it for 'numpy'"
            )
    resolved = _environment_dtype() if dtype is None else _float_dtype(dtype)
    if name == "numpy":
        return Backend("numpy", np, resolved)
    if name == "cupy":
        return Backend("cupy", _import_cupy(), resolved)
    raise BackendError(f"unknown backend {name!r}; choose 'numpy' or 'cupy'")


def default_backend() -> Backend:
    """The backend named by ``FNN_BACKEND`` and ``FNN_DTYPE`` (default NumPy, float32)."""
    return backend()


def is_cupy_array(x: object) -> bool:
    """Whether ``x`` is a CuPy array (decided without importing CuPy)."""
    return type(x).__module__.startswith("cupy")


def array_module(x: object) -> ModuleType:
    """The array module (``numpy`` or ``cupy``) that owns ``x``."""
    if type(x) is np.ndarray:
        return np
    if is_cupy_array(x):
        return sys.modules["cupy"]  # imported: x is one of its arrays
    return np


def backend_of(x: Array) -> Backend:
    """The backend of array ``x``: its module and its dtype (which must be a float dtype)."""
    if is_cupy_array(x):
        return Backend("cupy", array_module(x), _float_dtype(x.dtype))
    return Backend("numpy", np, _float_dtype(x.dtype))


def to_numpy(x: Any) -> Array:
    """``x`` as a NumPy array on the host."""
    if is_cupy_array(x):
        host: Array = x.get()
        return host
    return np.asarray(x)


def check_plain_array(owner: object, x: object, name: str = "x") -> None:
    """Raise :class:`DTypeError` if ``x`` is a ``numpy.matrix`` or a masked array.

    Both are NumPy array subclasses that fnn cannot compute with correctly: on a
    matrix ``*`` is a matrix product, not elementwise; a masked array's mask would
    be silently ignored. Plain arrays, CuPy arrays and non-arrays pass (non-arrays
    are the caller's to refuse). The message starts with ``owner`` (a layer, a
    loss, a function name) and names the argument ``name``.

    >>> check_plain_array("mse", np.ma.masked_array([1.0, 2.0], mask=[0, 1]), "t")
    Traceback (most recent call last):
    ...
    fnn.errors.DTypeError: mse: `t` is a masked array, whose mask fnn would ignore; fill the masked ...
    """
    if type(x) is np.ndarray:
        return
    if isinstance(x, np.matrix):
        raise DTypeError(
            f"{owner}: `{name}` is a numpy.matrix, on which `*` is a matrix product; "
            f"pass a plain array: np.asarray({name})"
        )
    if isinstance(x, np.ma.MaskedArray):
        raise DTypeError(
            f"{owner}: `{name}` is a masked array, whose mask fnn would ignore; fill the masked "
            f"entries ({name}.filled(value)) or leave those samples out, and pass a plain array"
        )


def batch_sum(x: Array) -> Array:
    """The sum over the batch axis of a 2-D ``x``: ``Σₙ xₙⱼ``, such as a dense layer's bias gradient.

    On NumPy in float32 or float64 this is the product ``1ᵀ x`` with a vector of ones,
    which BLAS computes faster than ``x.sum(axis=0)`` (100×10: 2.9 against 3.4 µs;
    1000×10: 4.8 against 21 µs); elsewhere it is ``x.sum(axis=0)``.

    >>> batch_sum(np.arange(6.0).reshape(2, 3))
    array([3., 5., 7.])
    """
    if type(x) is np.ndarray and x.dtype.char in "fd":
        total: Array = np.ones(x.shape[0], x.dtype) @ x
        return total
    summed: Array = x.sum(axis=0)
    return summed


_SHORT_LAST_AXIS = 32
"""The longest last axis :func:`last_axis_max` reduces through a transposed copy."""


def last_axis_max(x: Array) -> Array:
    """The maximum over the last axis, kept as an axis of length 1: ``mₙ = maxⱼ xₙⱼ``.

    The same values as ``x.max(axis=-1, keepdims=True)``, NaN included. On NumPy, a
    reduction over a short contiguous last axis runs one inner loop per row, so for a
    last axis of at most 32 elements the rows are transposed into a copy first and the
    maximum taken over its first axis, elementwise across whole rows: 3–10× faster
    (100×10 float32: 4.9 against 1.7 µs; 2000×10: 81 against 7 µs), which is the
    softmax of a classifier with few classes.

    >>> last_axis_max(np.array([[1.0, 3.0], [4.0, 2.0]]))
    array([[3.],
           [4.]])
    """
    k = x.shape[-1] if x.ndim else 0
    if type(x) is not np.ndarray or x.ndim < 2 or not 0 < k <= _SHORT_LAST_AXIS or x.size == 0:
        most: Array = x.max(axis=-1, keepdims=True)
        return most
    columns = np.ascontiguousarray(x.reshape(-1, k).T)
    most = columns.max(axis=0).reshape(*x.shape[:-1], 1)
    return most


def overflow_expected() -> contextlib.AbstractContextManager[object]:
    """A context in which NumPy does not warn about float overflow (CuPy never warns).

    For formulas whose overflow to ``inf`` gives the right limit, such as
    ``1 / (1 + e⁻ˣ) = 0`` for very negative ``x``.
    """
    return np.errstate(over="ignore")


def _byte_span(shape: Shape, strides: tuple[int, ...], itemsize: int) -> tuple[int, int]:
    """``(low, high)``: the bytes an array of ``shape`` and ``strides`` spans, from its first element."""
    low = sum((n - 1) * s for n, s in zip(shape, strides) if s < 0)
    high = sum((n - 1) * s for n, s in zip(shape, strides) if s > 0)
    return low, high + itemsize


def as_strided(x: Array, shape: Shape, strides: tuple[int, ...]) -> Array:
    """A view of ``x`` with ``shape`` and byte ``strides``, no copy (NumPy's and CuPy's ``as_strided``).

    The view starts at ``x``'s first element and must stay inside the bytes ``x``
    itself spans, whatever ``x``'s layout (C or Fortran order, negative strides, a
    slice). Window arithmetic that assumes a layout ``x`` does not have (C order for
    a Fortran-ordered batch, say) would read or write past the buffer; that is
    refused here instead of returning garbage or crashing. The check costs a few
    integer operations per call.

    Raises:
        ShapeError: the requested view reaches outside ``x``.

    >>> x = np.arange(6.0)
    >>> as_strided(x, (2, 3), (8, 8))  # overlapping windows of width 3
    array([[0., 1., 2.],
           [1., 2., 3.]])
    >>> as_strided(x, (3, 3), (16, 8))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fnn.errors.ShapeError: as_strided: a view of shape (3, 3) and strides (16, 8) reaches bytes [0, 56) of ...
    """
    if 0 not in shape:
        itemsize = int(x.dtype.itemsize)
        low, high = _byte_span(tuple(shape), tuple(strides), itemsize)
        x_low, x_high = _byte_span(tuple(x.shape), tuple(x.strides), itemsize)
        if low < x_low or high > x_high or x.size == 0:
            raise ShapeError(
                f"as_strided: a view of shape {tuple(shape)} and strides {tuple(strides)} reaches bytes "
                f"[{low}, {high}) of an array of shape {tuple(x.shape)} and strides {tuple(x.strides)} "
                f"that spans [{x_low}, {x_high})"
            )
    view: Array = array_module(x).lib.stride_tricks.as_strided(x, shape=shape, strides=strides)
    return view


def random_generator(b: Backend, seed: np.random.SeedSequence) -> Any:
    """A random generator of ``b``'s array module seeded from ``seed``, sampling on ``b``'s device.

    NumPy gets PCG64 from the whole seed sequence. CuPy gets the counter-based
    Philox4x32-10 from one 64-bit word of it: its set-up is cheap, which matters
    because fnn makes a generator per key (per dropout layer and step); CuPy's
    default XORWOW generator spends about 0.6 ms setting up its states on an H100,
    Philox 0.05 ms. Both answer ``random(shape, dtype)`` and ``standard_normal(shape, dtype)``;
    use :func:`random_permutation` for permutations.
    """
    if b.name == "numpy":
        return np.random.Generator(np.random.PCG64(seed))
    word = int(seed.generate_state(1, np.uint64)[0])
    return b.xp.random.Generator(b.xp.random.Philox4x3210(word))


def random_permutation(b: Backend, generator: Any, n: int) -> Array:
    """A permutation of ``0 .. n-1`` drawn on ``b``'s device by ``generator`` (from :func:`random_generator`).

    NumPy shuffles; CuPy's generator has no permutation, so it ranks ``n`` uniform
    draws (float64, so ties have probability below ``n² 2⁻⁵³``).
    """
    if b.name == "numpy":
        result: Array = generator.permutation(n)
        return result
    ranked: Array = b.xp.argsort(generator.random(n, dtype=np.float64))
    return ranked


def resolve(b: Backend | None) -> Backend:
    """``b``, or the default backend when ``b`` is ``None``.

    Raises:
        TypeError: ``b`` is neither ``None`` nor a :class:`Backend` (say, a dtype name).
    """
    if b is None:
        return default_backend()
    if not isinstance(b, Backend):
        raise TypeError(f"expected an fnn.Backend such as fnn.backend(dtype='float64') or None, got {b!r}")
    return b
