"""The GEMM floor: only the matrix products a training step (or inference) must do.

Every product writes into an output allocated once, up front (``np.matmul(..., out=)``),
so nothing but the BLAS calls and their Python dispatch is timed. What is counted:

MLP (``W1``–``W3``), layers ``i = 1 … L`` with ``hᵢ = hᵢ₋₁ Wᵢ`` and ``h₀ = x``:

- forward: ``hᵢ₋₁ Wᵢ`` for every layer (``L`` products);
- backward: ``dWᵢ = hᵢ₋₁ᵀ dhᵢ`` for every layer and ``dhᵢ₋₁ = dhᵢ Wᵢᵀ`` for every layer but
  the first (the input's gradient is never needed): ``2L − 1`` products.

SimpleConvNet (``W4``): the convolution as one im2col-free product over a column
matrix ``col`` of shape ``(N·24·24, 25)`` gathered once, before timing:

- forward: ``col Wcᵀ`` ``(N·576, 25)·(25, 30)``, then ``p W₁`` ``(N, 4320)·(4320, 100)`` and
  ``h W₂`` ``(N, 100)·(100, 10)``;
- backward: ``dW₂ = hᵀ dy``, ``dh = dy W₂ᵀ``, ``dW₁ = pᵀ dh``, ``dp = dh W₁ᵀ``, ``dWc = dconvᵀ col``
  (no ``dcol``: the convolution is the first layer).

Not counted: biases, activations, pooling, the loss, the im2col gather, the SGD
update, and every allocation. The inputs of the backward products (``dy``, ``dconv``)
are fixed buffers, so the floor is the same work on every call.

Inference (``W5``): the forward products above, for every batch of 1,000.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.workloads import CONV_FILTERS, CONV_KERNEL, CONV_OUT, POOLED, Workload

__all__ = ["Floor", "InferenceFloor"]

NDArray = np.ndarray[Any, Any]


def _col_for(x: NDArray) -> NDArray:
    """``(N·24·24, 25)``: rows ``(n, p, q)``, columns ``(i, j)`` (one input channel), C-contiguous."""
    n = x.shape[0]
    k, o = CONV_KERNEL, CONV_OUT
    col = np.empty((n, o, o, k, k), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            col[:, :, :, i, j] = x[:, 0, i : i + o, j : j + o]
    return col.reshape(n * o * o, k * k)


class Floor:
    """The matrix products of one forward + backward step, into preallocated outputs."""

    name = "GEMM floor"

    def __init__(self, w: Workload, params: list[NDArray], x: NDArray, t: NDArray) -> None:
        rng = np.random.default_rng(2)
        n, dtype = x.shape[0], x.dtype
        self.cnn = w.kind == "cnn"
        if self.cnn:
            self.col = _col_for(x)
            self.wc = np.ascontiguousarray(params[0].reshape(CONV_FILTERS, -1).T)  # (25, 30)
            self.conv = np.empty((self.col.shape[0], CONV_FILTERS), dtype)
            self.dconv: NDArray = rng.standard_normal((self.col.shape[0], CONV_FILTERS), dtype=np.float32)
            self.dwc = np.empty((CONV_FILTERS, CONV_KERNEL * CONV_KERNEL), dtype)
            self.pooled = rng.standard_normal((n, CONV_FILTERS * POOLED * POOLED), dtype=np.float32)
            self.x = self.pooled
            weights = [params[2], params[4]]
        else:
            self.x = x
            weights = params[0::2]
        self.weights = weights
        self.h: list[NDArray] = [self.x] + [np.empty((n, wi.shape[1]), dtype) for wi in weights]
        self.dh: list[NDArray] = [np.empty((n, wi.shape[0]), dtype) for wi in weights] + [
            rng.standard_normal((n, weights[-1].shape[1]), dtype=np.float32)
        ]
        self.dw = [np.empty_like(wi) for wi in weights]

    def step(self) -> None:
        if self.cnn:
            np.matmul(self.col, self.wc, out=self.conv)
        for i, wi in enumerate(self.weights):
            np.matmul(self.h[i], wi, out=self.h[i + 1])
        for i in range(len(self.weights) - 1, -1, -1):
            np.matmul(self.h[i].T, self.dh[i + 1], out=self.dw[i])
            if i or self.cnn:
                np.matmul(self.dh[i + 1], self.weights[i].T, out=self.dh[i])
        if self.cnn:
            np.matmul(self.dconv.T, self.col, out=self.dwc)


class InferenceFloor:
    """The forward matrix products of inference over ``x_all``, batch by batch."""

    name = "GEMM floor"

    def __init__(self, w: Workload, params: list[NDArray], x_all: NDArray, batch: int) -> None:
        rng = np.random.default_rng(3)
        self.batches = x_all.shape[0] // batch
        dtype = x_all.dtype
        self.cnn = w.kind == "cnn"
        if self.cnn:
            self.col = _col_for(x_all[:batch])  # one batch's columns, reused: only the product is counted
            self.wc = np.ascontiguousarray(params[0].reshape(CONV_FILTERS, -1).T)
            self.conv = np.empty((self.col.shape[0], CONV_FILTERS), dtype)
            pooled = rng.standard_normal((batch, CONV_FILTERS * POOLED * POOLED), dtype=np.float32)
            self.inputs = [pooled] * self.batches
            self.weights = [params[2], params[4]]
        else:
            self.inputs = [x_all[k * batch : (k + 1) * batch] for k in range(self.batches)]
            self.weights = params[0::2]
        self.h = [np.empty((batch, wi.shape[1]), dtype) for wi in self.weights]

    def run(self) -> None:
        for xb in self.inputs:
            if self.cnn:
                np.matmul(self.col, self.wc, out=self.conv)
            a = xb
            for i, wi in enumerate(self.weights):
                np.matmul(a, wi, out=self.h[i])
                a = self.h[i]
