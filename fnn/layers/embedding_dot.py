"""EmbeddingDot: the score of a word for a hidden vector, ``W[id] · h`` (the book's EmbeddingDot,
volume 2 chapter 4), the output layer of word2vec with negative sampling."""

from __future__ import annotations

from typing import Any, Callable, ClassVar, TypeVar

import attrs

from fnn import initializers, random
from fnn.backend import Backend, array_module, resolve
from fnn.errors import DTypeError, FnnError, ShapeError, StructureError
from fnn.layers.core import Layer, check_shape_tree
from fnn.layers.embedding import Embedding, EmbeddingParams, _positive, scatter_add_rows
from fnn.typing import Array, ShapeTree

__all__ = ["EmbeddingDot"]

T = TypeVar("T")


@attrs.frozen(repr=False)
class EmbeddingDot(Layer[EmbeddingParams]):
    """Score word ids against each example's hidden vector: ``y[n, s] = W[ids[n, s]] · h[n]``.

    The input is the pair ``(h, ids)``: ``h`` of shape ``(N, D)`` and integer ids of shape
    ``(N, *S)`` (``(N, 1 + K)``: the target and ``K`` negative samples of each example;
    skip-gram adds a context axis, ``(N, C, 1 + K)``). The output has the ids' shape. It is
    ``(h Wᵀ)[n, ids[n, s]]`` without the ``(N, V)`` product: ``O(N·|S|·D)`` instead of
    ``O(N·V·D)``. The book builds one layer per sample and loops over them; one call here
    scores all of them.

    **Forward**: ``r[n, s] = W[ids[n, s]]`` (gathered rows, ``(N, *S, D)``), ``y[n, s] = r[n, s] · h[n]``.

    **Backward (VJP)**: ``y`` is linear in ``h`` and in each gathered row, so
    ``dh[n] = Σ_s dy[n, s] r[n, s]`` and ``dr[n, s] = dy[n, s] h[n]``; the gather's
    backward adds each row's gradient into its id's row (as :class:`Embedding` does):
    ``dW[v] = Σ_{(n, s): ids[n, s] = v} dy[n, s] h[n]``. The ids have no gradient
    (``None``).

    **Residuals**: ``h``, the ids and the gathered rows (the book keeps them too: the
    backward then needs no second gather).

    **Shapes**: ``in_shape`` is ``((D,), S)``; ``out_shape`` is ``S``.

    Args:
        vocab: The number of distinct ids (rows of ``W``).
        dim: ``D``, the size of each vector.
        w_init: Initializer of ``W``; the book's ``0.01 · randn`` by default (its output
            embedding ``W_out``).

    >>> import fnn, numpy as np
    >>> layer = EmbeddingDot(5, 2)
    >>> params = fnn.EmbeddingParams(np.arange(10.0).reshape(5, 2))
    >>> h, ids = np.array([[1.0, -1.0]]), np.array([[4, 0, 4]])
    >>> layer.apply(params, (h, ids)).tolist()  # W[4] = (8, 9), W[0] = (0, 1)
    [[-1.0, -1.0, -1.0]]
    >>> dparams, (dh, dids) = layer.grad(params, layer.forward(params, (h, ids))[1], np.ones((1, 3)))
    >>> dh.tolist(), dparams.w[4].tolist(), dids
    ([[16.0, 19.0]], [2.0, -2.0], None)
    """

    holds_no_layers = True

    integer_input: ClassVar[bool] = True
    """The second input is integer ids; their gradient is ``None``."""

    vocab: int = attrs.field(validator=_positive)
    dim: int = attrs.field(validator=_positive)
    w_init: initializers.Initializer = attrs.field(
        factory=lambda: initializers.normal(0.01), kw_only=True, repr=False
    )

    _lookup: Embedding = attrs.field(init=False, repr=False, eq=False)

    @_lookup.default
    def _make_lookup(self) -> Embedding:
        return Embedding(self.vocab, self.dim)

    def __repr__(self) -> str:
        return f"EmbeddingDot(vocab={self.vocab}, dim={self.dim})"

    def init(self, key: random.Key, in_shape: ShapeTree, backend: Backend | None = None) -> EmbeddingParams:
        self.out_shape(in_shape)
        return EmbeddingParams(self.w_init(key, (self.vocab, self.dim), resolve(backend)))

    def out_shape(self, in_shape: ShapeTree) -> ShapeTree:
        shapes = check_shape_tree(repr(self), in_shape)
        if not (isinstance(shapes, tuple) and len(shapes) == 2 and shapes[0] == (self.dim,)):
            raise ShapeError(
                f"{self!r}: `in_shape` must be ((dim,), ids_shape) for the input (h, ids), that is "
                f"(({self.dim},), (1 + K,)), got {in_shape!r}"
            )
        ids_shape = shapes[1]
        self._named(lambda: self._lookup.out_shape(ids_shape))  # the same rule for the ids' shape
        return tuple(ids_shape)

    def apply(self, params: EmbeddingParams, x: Any) -> Array:
        return self.forward(params, x)[0]

    def forward(self, params: EmbeddingParams, x: Any) -> tuple[Array, tuple[Array, Array, Array]]:
        h, ids = self._unpack(params, x)
        rows: Array = self._named(lambda: self._lookup.apply(params, ids.reshape(ids.shape[0], -1)))
        xp = array_module(h)
        y: Array = xp.matmul(rows, h[:, :, None])[..., 0].reshape(ids.shape)
        return y, (h, ids, rows)

    def grad(
        self, params: EmbeddingParams, residuals: tuple[Array, Array, Array], dy: Array
    ) -> tuple[EmbeddingParams, tuple[Array, None]]:
        """``(dparams, (dh, None))``: the ids have no gradient."""
        h, ids, rows = residuals
        xp = array_module(dy)
        flat_dy = dy.reshape(rows.shape[:2])
        dh: Array = xp.matmul(flat_dy[:, None, :], rows)[:, 0, :]
        return self._param_grad(ids, h, flat_dy), (dh, None)

    def param_grad(
        self, params: EmbeddingParams, residuals: tuple[Array, Array, Array], dy: Array
    ) -> EmbeddingParams:
        h, ids, rows = residuals
        return self._param_grad(ids, h, dy.reshape(rows.shape[:2]))

    def _param_grad(self, ids: Array, h: Array, flat_dy: Array) -> EmbeddingParams:
        drows = (flat_dy[:, :, None] * h[:, None, :]).reshape(-1, self.dim)
        return EmbeddingParams(scatter_add_rows(ids.reshape(-1), drows, self.vocab))

    def _named(self, action: Callable[[], T]) -> T:
        """``action()``, its errors (the embedding lookup's checks of the ids) naming this layer."""
        try:
            return action()
        except FnnError as error:
            raise type(error)(str(error).replace(repr(self._lookup), repr(self))) from None

    def _unpack(self, params: EmbeddingParams, x: Any) -> tuple[Array, Array]:
        if not (isinstance(x, tuple) and len(x) == 2):
            raise StructureError(
                f"{self!r}: expected the input (h, ids), a tuple of 2 arrays, got {type(x).__name__}"
            )
        h, ids = x
        if getattr(getattr(h, "dtype", None), "kind", None) != "f":
            raise DTypeError(
                f"{self!r}: expected h as a float array (N, {self.dim}), "
                f"got {getattr(h, 'dtype', type(h).__name__)}"
            )
        if h.dtype != params.w.dtype:
            raise DTypeError(
                f"{self!r}: h is {h.dtype} but the params are {params.w.dtype}; "
                f"cast h with .astype({str(params.w.dtype)!r})"
            )
        if h.ndim != 2 or h.shape[1] != self.dim or ids.ndim < 1 or ids.shape[0] != h.shape[0]:
            raise ShapeError(
                f"{self!r}: expected h (N, {self.dim}) and ids (N, ...) with the same N, "
                f"got h {tuple(h.shape)} and ids {tuple(getattr(ids, 'shape', ()))}"
            )
        return h, ids
