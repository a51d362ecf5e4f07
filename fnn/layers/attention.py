"""Dot-product attention over encoder states ("Deep Learning from Scratch 2", ch. 8).

A decoder step asks *which source positions matter now*: it scores every encoder
state against its own hidden state, turns the scores into weights with a softmax
over the source positions, and reads the weighted sum of the encoder states, the
*context*. :class:`Attention` does this for every decoder step at once (the book's
``TimeAttention``, which loops ``Attention`` = ``AttentionWeight`` + ``WeightSum``
over the steps), as two batched matrix products.

>>> import numpy as np
>>> enc = np.array([[[1.0, 0.0], [0.0, 1.0]]])        # (N=1, S=2, H=2)
>>> dec = np.array([[[10.0, 0.0]]])                   # (N=1, T=1, H=2): aligned with source 0
>>> context, weights = Attention(return_weights=True).apply(None, (enc, dec))
>>> weights.round(4)
array([[[1., 0.]]])
>>> context.round(4)
array([[[1., 0.]]])
"""

from __future__ import annotations

from typing import Any

import attrs

from fnn.backend import array_module, overflow_expected
from fnn.errors import ShapeError
from fnn.layers.core import ParameterFreeLayer, check_float_input, check_shape_tree, is_shape
from fnn.typing import Array, ArrayTree, ShapeTree

__all__ = ["Attention"]


@attrs.frozen
class Attention(ParameterFreeLayer):
    """Dot-product attention of decoder states over encoder states, every decoder step at once.

    **Input**: ``(hs_enc, hs_dec)``: encoder states ``E`` of shape ``(N, S, H)`` and
    decoder states ``D`` of shape ``(N, T, H)``.

    **Forward** (per example; ``t`` a decoder step, ``j`` a source position):

    - scores ``s_tj = ⟨D_t, E_j⟩``, i.e. ``s = D Eᵀ`` of shape ``(T, S)``;
    - weights ``a_t = softmax(s_t)`` over ``j`` (``a_tj = e^{s_tj} / Σ_k e^{s_tk}``);
    - context ``c_t = Σ_j a_tj E_j``, i.e. ``c = a E`` of shape ``(T, H)``.

    **Backward (VJP)**, from ``dc`` (and ``da`` when the weights are returned and used):

    - ``da ← dc Eᵀ + da`` (``c = a E`` is linear in ``a``);
    - ``ds_tj = a_tj (da_tj − Σ_k a_tk da_tk)`` (the softmax's Jacobian ``diag(a) − a aᵀ``);
    - ``dE = aᵀ dc + dsᵀ D`` (``E`` is read by the weighted sum and by the scores);
    - ``dD = ds E``.

    **Residuals**: ``E``, ``D`` and ``a``.

    Args:
        return_weights: Also return the weights ``a`` ``(N, T, S)``: the output is then
            ``(context, weights)`` (row ``t`` says where decoder step ``t`` looked; the
            book's attention maps).
    """

    return_weights: bool = attrs.field(default=False, kw_only=True)
    holds_no_layers = True

    def out_shape(self, in_shape: ShapeTree) -> ShapeTree:
        shapes = check_shape_tree(repr(self), in_shape)
        if is_shape(shapes) or len(shapes) != 2 or not all(is_shape(s) and len(s) == 2 for s in shapes):
            raise ShapeError(
                f"{self!r}: expected `in_shape` ((S, H), (T, H)) for (encoder states, decoder states), "
                f"got {in_shape!r}"
            )
        (source, h_enc), (steps, h_dec) = shapes
        if source < 1:
            raise ShapeError(
                f"{self!r}: attention needs at least one encoder state (S >= 1), got `in_shape` {in_shape!r}"
            )
        if h_enc != h_dec:
            raise ShapeError(
                f"{self!r}: encoder and decoder states must have the same size H to be compared, "
                f"got {h_enc} and {h_dec}"
            )
        if self.return_weights:
            return ((steps, h_dec), (steps, source))
        return (steps, h_dec)

    def _check(self, x: ArrayTree) -> tuple[Array, Array]:
        if not isinstance(x, tuple) or len(x) != 2:
            raise ShapeError(
                f"{self!r}: expected the pair (hs_enc, hs_dec), got {type(x).__name__}; "
                "pass the encoder's (N, S, H) and the decoder's (N, T, H) states as a tuple"
            )
        enc, dec = x
        check_float_input(self, enc)
        check_float_input(self, dec)
        if enc.ndim != 3 or dec.ndim != 3 or enc.shape[0] != dec.shape[0] or enc.shape[2] != dec.shape[2]:
            raise ShapeError(
                f"{self!r}: expected hs_enc (N, S, H) and hs_dec (N, T, H) with the same N and H, "
                f"got {tuple(enc.shape)} and {tuple(dec.shape)}"
            )
        if enc.shape[1] == 0:
            raise ShapeError(
                f"{self!r}: attention needs at least one encoder state to attend to (S >= 1), "
                f"got hs_enc of shape {tuple(enc.shape)}"
            )
        return enc, dec

    def _weights(self, enc: Array, dec: Array) -> Array:
        """``softmax(D Eᵀ)`` over the source axis, shifted by each row's maximum."""
        xp = array_module(enc)
        scores: Array = xp.matmul(dec, enc.transpose(0, 2, 1))
        scores -= scores.max(axis=2, keepdims=True)
        with overflow_expected():
            xp.exp(scores, out=scores)
        scores /= scores.sum(axis=2, keepdims=True)
        return scores

    def apply(self, params: None, x: ArrayTree) -> ArrayTree:
        return self.forward(params, x)[0]

    def forward(self, params: None, x: ArrayTree) -> tuple[ArrayTree, tuple[Array, Array, Array]]:
        enc, dec = self._check(x)
        weights = self._weights(enc, dec)
        context = array_module(enc).matmul(weights, enc)
        y: Any = (context, weights) if self.return_weights else context
        return y, (enc, dec, weights)

    def grad(
        self, params: None, residuals: tuple[Array, Array, Array], dy: ArrayTree
    ) -> tuple[None, tuple[Array, Array]]:
        enc, dec, weights = residuals
        xp = array_module(enc)
        dcontext, dweights = dy if self.return_weights else (dy, None)
        da = xp.matmul(dcontext, enc.transpose(0, 2, 1))
        if dweights is not None:
            da += dweights
        ds = weights * (da - (weights * da).sum(axis=2, keepdims=True))
        denc = xp.matmul(weights.transpose(0, 2, 1), dcontext) + xp.matmul(ds.transpose(0, 2, 1), dec)
        ddec = xp.matmul(ds, enc)
        return None, (denc, ddec)
