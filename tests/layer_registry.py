"""Every layer case the shared harness in ``test_layers.py`` runs.

A case names a factory, the input shape (without batch axis) and how inputs are
drawn. ``test_registry_covers_every_public_layer`` fails when a public layer
class has no case here, so adding a layer means adding its case.
"""

from __future__ import annotations

from typing import Any, Callable, Literal

import attrs
import numpy as np

import fnn


@attrs.frozen
class LayerCase:
    """One layer configuration for the harness.

    Attributes:
        name: The test id.
        make: Builds the layer.
        in_shape: Input shape without the batch axis.
        batch: Batch size of the test input.
        inputs: ``"normal"`` draws N(0, 1); ``"away_from_zero"`` draws magnitudes in
            [0.2, 1.2] with random signs, dodging the kink at zero of ReLU-like layers.
        rtol: Relative tolerance of the float64 gradient check.
        trains_on_empty_batch: Whether training on an empty batch (``N = 0``) gives an empty
            output and zero gradients; if not (batch norm has no statistics to compute), it
            must raise :class:`fnn.ShapeError` naming the layer.
    """

    name: str
    make: Callable[[], fnn.Layer[Any]]
    in_shape: tuple[int, ...]
    batch: int = 3
    inputs: Literal["normal", "away_from_zero", "positive"] = "normal"
    rtol: float = 1e-5
    trains_on_empty_batch: bool = True

    def draw(self, shape: tuple[int, ...], seed: int) -> Any:
        """Host (NumPy float64) values of ``shape`` drawn as :attr:`inputs` says."""
        rng = np.random.default_rng(seed)
        z = rng.standard_normal(shape)
        if self.inputs == "away_from_zero":
            return np.sign(z) * (0.2 + rng.random(shape))
        if self.inputs == "positive":
            return 0.2 + rng.random(shape)
        return z


CASES: list[LayerCase] = [
    # --- core: dense and activations (lead) ---
    LayerCase("dense", lambda: fnn.Dense(4), (3,)),
    LayerCase("dense_no_bias", lambda: fnn.Dense(2, use_bias=False), (5,)),
    LayerCase("dense_over_time", lambda: fnn.Dense(4), (3, 5)),  # (N, T, D), the book's TimeAffine
    LayerCase("dense_over_time_no_bias", lambda: fnn.Dense(2, use_bias=False), (4, 3)),
    LayerCase("identity", lambda: fnn.identity, (4,)),
    LayerCase("step", lambda: fnn.step, (4,), inputs="away_from_zero"),
    LayerCase("sigmoid", lambda: fnn.sigmoid, (5,)),
    LayerCase("tanh", lambda: fnn.tanh, (2, 3)),
    LayerCase("relu", lambda: fnn.relu, (6,), inputs="away_from_zero"),
    LayerCase("softmax", lambda: fnn.softmax, (5,)),
    LayerCase("log_softmax", lambda: fnn.log_softmax, (4,)),
    LayerCase("leaky_relu", lambda: fnn.LeakyReLU(0.1), (5,), inputs="away_from_zero"),
    LayerCase("elu", lambda: fnn.ELU(0.7), (5,), inputs="away_from_zero"),
    LayerCase("prelu", lambda: fnn.PReLU(), (4,), inputs="away_from_zero"),
    LayerCase("prelu_channels", lambda: fnn.PReLU(0.1), (2, 3, 3), inputs="away_from_zero"),
    LayerCase("maxout", lambda: fnn.Maxout(3, pieces=3), (4,)),
    LayerCase("repeat", lambda: fnn.Repeat(3), (4,)),
    LayerCase("sum", lambda: fnn.Sum(), (3, 4)),
    LayerCase(
        "sequential_nested",
        lambda: fnn.sequential(
            fnn.Dense(5), fnn.tanh, fnn.sequential(fnn.Dense(4), fnn.sigmoid), fnn.Dense(3)
        ),
        (3,),
    ),
    LayerCase("sequential_empty", lambda: fnn.sequential(), (3,)),
    LayerCase(
        "sequential_over_time",
        lambda: fnn.sequential(fnn.Dense(5), fnn.tanh, fnn.LayerNorm(), fnn.Dense(3), fnn.softmax),
        (4, 2),
    ),
    # --- end of core cases ---
    # --- conv, pooling, reshape, normalization, dropout (issue 6) ---
    LayerCase("conv", lambda: fnn.Conv2D(3, 3), (2, 5, 5), batch=2),
    LayerCase("conv_stride2_pad1", lambda: fnn.Conv2D(2, 3, stride=2, padding=1), (2, 6, 5), batch=2),
    LayerCase(
        "conv_nonsquare", lambda: fnn.Conv2D(2, (3, 2), stride=(2, 1), padding=(0, 2)), (3, 7, 4), batch=2
    ),
    LayerCase("conv_1x1_no_bias", lambda: fnn.Conv2D(4, 1, use_bias=False), (3, 3, 3), batch=2),
    LayerCase("conv_stride_gt_kernel", lambda: fnn.Conv2D(2, 2, stride=3, padding=1), (2, 7, 7), batch=2),
    LayerCase("max_pool", lambda: fnn.MaxPool2D(2), (2, 4, 6), batch=2),
    LayerCase("max_pool_overlap_pad", lambda: fnn.MaxPool2D(3, stride=2, padding=1), (2, 5, 6), batch=2),
    LayerCase("max_pool_nonsquare", lambda: fnn.MaxPool2D((2, 3), stride=(1, 2)), (1, 4, 7), batch=2),
    LayerCase("avg_pool", lambda: fnn.AvgPool2D(2), (2, 4, 4), batch=2),
    LayerCase(
        "avg_pool_overlap_pad", lambda: fnn.AvgPool2D((3, 2), stride=1, padding=(1, 1)), (2, 4, 5), batch=2
    ),
    LayerCase("global_avg_pool", lambda: fnn.GlobalAvgPool2D(), (3, 4, 5), batch=2),
    LayerCase("flatten", lambda: fnn.Flatten(), (2, 3, 4), batch=2),
    LayerCase("batch_norm_features", lambda: fnn.BatchNorm(), (4,), batch=5, trains_on_empty_batch=False),
    LayerCase(
        "batch_norm_channels",
        lambda: fnn.BatchNorm(momentum=0.5),
        (3, 2, 3),
        batch=3,
        trains_on_empty_batch=False,
    ),
    LayerCase("layer_norm", lambda: fnn.LayerNorm(), (5,)),
    LayerCase("layer_norm_images", lambda: fnn.LayerNorm(), (2, 3, 3), batch=2),
    LayerCase("dropout", lambda: fnn.Dropout(0.5), (4, 5)),
    LayerCase("dropout_images", lambda: fnn.Dropout(0.2), (2, 3, 3), batch=2),
    LayerCase(
        "small_convnet",
        lambda: fnn.sequential(
            fnn.Conv2D(3, 3, padding=1),
            fnn.BatchNorm(),
            fnn.relu,
            fnn.MaxPool2D(2),
            fnn.Flatten(),
            fnn.Dropout(0.3),
            fnn.Dense(4),
        ),
        (2, 4, 4),
        batch=3,
        trains_on_empty_batch=False,
    ),
    # --- end of issue 6 cases ---
    # --- combinators (issue 14); their tuple-input cases are in tests/test_composition.py ---
    LayerCase(
        "residual_block_with_state_and_keys",
        lambda: fnn.residual(fnn.sequential(fnn.Dense(4), fnn.BatchNorm(), fnn.tanh, fnn.Dropout(0.3))),
        (4,),
        batch=4,
        trains_on_empty_batch=False,
    ),
    LayerCase(
        "fan_out_parallel_sum_concat",
        lambda: fnn.sequential(
            fnn.FanOut(3),
            fnn.parallel(fnn.Dense(3), fnn.sequential(fnn.Dense(3), fnn.BatchNorm()), fnn.Dropout(0.5)),
            fnn.FanOut(2),
            fnn.parallel(fnn.FanInSum(), fnn.FanInConcat()),
            fnn.FanInConcat(),
        ),
        (3,),
        batch=4,
        trains_on_empty_batch=False,
    ),
    LayerCase(
        "graph_fan_out_state_keys",
        lambda: fnn.Graph(
            "x",
            (
                fnn.Node("h", fnn.Dense(3), "x"),
                fnn.Node("n", fnn.BatchNorm(), "h"),
                fnn.Node("d", fnn.Dropout(0.4), "h"),
                fnn.Node("y", fnn.FanInConcat(), ("n", "d", "h")),
            ),
            "y",
        ),
        (4,),
        batch=4,
        trains_on_empty_batch=False,
    ),
    # --- end of combinator cases ---
    # --- recurrent layers (issue 14) ---
    LayerCase("rnn", lambda: fnn.RNN(3), (4, 2), batch=2),
    LayerCase("rnn_last", lambda: fnn.RNN(3, return_sequences=False), (4, 2), batch=2),
    LayerCase("lstm", lambda: fnn.LSTM(3), (4, 2), batch=2),
    LayerCase("lstm_last", lambda: fnn.LSTM(2, return_sequences=False), (3, 3), batch=2),
    LayerCase("gru", lambda: fnn.GRU(3), (4, 2), batch=2),
    LayerCase("gru_last", lambda: fnn.GRU(2, return_sequences=False), (3, 3), batch=2),
    LayerCase("lstm_stateful", lambda: fnn.LSTM(3, stateful=True), (4, 2), batch=2),
    LayerCase("rnn_stateful_last", lambda: fnn.RNN(2, return_sequences=False, stateful=True), (3, 3), batch=2),
    # --- end of recurrent cases ---
    # --- attention (issue 18): decoder states attend over encoder states ---
    LayerCase(
        "graph_attention",
        lambda: fnn.Graph(
            "x",
            (
                fnn.Node("q", fnn.Dense(3), "x"),
                fnn.Node("c", fnn.Attention(), ("x", "q")),
                fnn.Node(("c2", "a"), fnn.Attention(return_weights=True), ("x", "c")),
                fnn.Node("y", fnn.FanInConcat(), ("c2", "a")),
            ),
            "y",
        ),
        (4, 3),
        batch=2,
    ),
    # --- end of attention cases ---
]

TUPLE_IO_LAYERS: set[type] = {fnn.FanOut, fnn.Parallel, fnn.FanInSum, fnn.FanInConcat, fnn.Attention}
"""Layers whose input or output is a tuple of arrays: the harness feeds one array, so they are
covered inside the composite cases above and by tests/test_composition.py."""

INTEGER_INPUT_LAYERS: set[type] = {fnn.Embedding, fnn.EmbeddingDot}
"""Layers that take integer ids: the harness draws float inputs, so tests/test_embedding.py (and tests/test_word2vec.py for
EmbeddingDot) runs the same checks on them (shapes, gradients, dtypes, no mutation, strided ids, same bits)."""
