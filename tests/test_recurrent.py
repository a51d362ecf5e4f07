"""RNN and LSTM over whole sequences: the book's cell math, gradients through time, every
option, initial and carried state across windows, shapes, dtypes and errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import fnn
from fnn.typing import Array
from tests.helpers import assert_allclose, assert_array_equal, host

LAYERS = [fnn.RNN, fnn.LSTM, fnn.GRU]
N, T, D, H = 2, 4, 3, 3


def f64() -> fnn.Backend:
    return fnn.backend(dtype="float64")


def draw(b: fnn.Backend, shape: tuple[int, ...], seed: int) -> Array:
    return b.asarray(np.random.default_rng(seed).standard_normal(shape))


def initial_state(cls: type, b: fnn.Backend, n: int = N, seed: int = 5) -> Any:
    h0 = draw(b, (n, H), seed)
    return (h0, draw(b, (n, H), seed + 1)) if cls is fnn.LSTM else h0


def sigmoid(a: np.ndarray) -> np.ndarray:
    result: np.ndarray = 1 / (1 + np.exp(-a))
    return result


def reference(cls: type, params: Any, xs: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
    """The book's cells step by step on the host (TimeRNN, TimeLSTM with gates f, g, i, o, GRU with z, r, h)."""
    wx, wh, b = host(params.wx), host(params.wh), host(params.b)
    if cls is fnn.GRU:
        h = host(state)
        hs = []
        for t in range(xs.shape[1]):
            x = xs[:, t]
            z = sigmoid(x @ wx[:, :H] + h @ wh[:, :H] + b[:H])
            r = sigmoid(x @ wx[:, H : 2 * H] + h @ wh[:, H : 2 * H] + b[H : 2 * H])
            h_hat = np.tanh(x @ wx[:, 2 * H :] + (r * h) @ wh[:, 2 * H :] + b[2 * H :])
            h = (1 - z) * h + z * h_hat
            hs.append(h)
        return np.stack(hs, axis=1), h
    if cls is fnn.RNN:
        h = host(state)
        hs = []
        for t in range(xs.shape[1]):
            h = np.tanh(xs[:, t] @ wx + h @ wh + b)
            hs.append(h)
        return np.stack(hs, axis=1), h
    h, c = (host(s) for s in state)
    hs = []
    for t in range(xs.shape[1]):
        a = xs[:, t] @ wx + h @ wh + b
        f, g, i, o = sigmoid(a[:, :H]), np.tanh(a[:, H : 2 * H]), sigmoid(a[:, 2 * H : 3 * H]), sigmoid(a[:, 3 * H :])
        c = f * c + g * i
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs, axis=1), (h, c)


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_forward_is_the_books_cell(cls: type) -> None:
    b = f64()
    layer = cls(H, return_state=True)
    params = layer.init(fnn.random.key(0), (T, D), b)
    params = fnn.tree.map(lambda p: p + draw(b, p.shape, 9) * 0.3, params)  # a nonzero bias too
    xs, state = draw(b, (N, T, D), 1), initial_state(cls, b)
    hs, final = layer.apply(params, (xs, state))
    ref_hs, ref_final = reference(cls, params, host(xs), state)
    assert_allclose(hs, ref_hs, rtol=1e-12, atol=1e-14)
    for got, want in zip(fnn.tree.leaves(final), fnn.tree.leaves(ref_final)):
        assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("given_state", [False, True], ids=["zero_state", "given_state"])
@pytest.mark.parametrize("return_state", [False, True], ids=["", "return_state"])
@pytest.mark.parametrize("return_sequences", [True, False], ids=["sequences", "last"])
@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_check_grads_through_time(cls: type, return_sequences: bool, return_state: bool, given_state: bool) -> None:
    b = f64()
    layer = cls(H, return_sequences=return_sequences, return_state=return_state)
    params = layer.init(fnn.random.key(0), (T, D), b)
    xs = draw(b, (N, T, D), 1)
    x = (xs, initial_state(cls, b)) if given_state else xs
    fnn.check_grads(layer, params, x)


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_shapes_match_out_shape(cls: type) -> None:
    b = fnn.backend()
    for return_sequences in (True, False):
        layer = cls(H, return_sequences=return_sequences, return_state=True)
        in_shape = ((T, D), layer.state_shape())
        params = layer.init(fnn.random.key(0), in_shape, b)
        y = layer.apply(params, (draw(b, (N, T, D), 1).astype("float32"), initial_state(cls, b)))
        expected = layer.out_shape(in_shape)
        shapes = fnn.tree.map(lambda a: tuple(a.shape[1:]), y)
        assert shapes == expected
    assert cls(H).out_shape((T, D)) == (T, H)
    assert cls(H, return_sequences=False).out_shape((T, D)) == (H,)


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_carried_state_across_windows_equals_one_run(cls: type) -> None:
    b = f64()
    layer = cls(H, return_state=True)
    params = layer.init(fnn.random.key(0), (2 * T, D), b)
    xs = draw(b, (N, 2 * T, D), 1)
    whole, whole_final = layer.apply(params, xs)
    first, carry = layer.apply(params, xs[:, :T])
    second, final = layer.apply(params, (xs[:, T:], carry))
    assert_allclose(np.concatenate([host(first), host(second)], axis=1), whole, rtol=1e-13)
    for got, want in zip(fnn.tree.leaves(final), fnn.tree.leaves(whole_final)):
        assert_allclose(got, want, rtol=1e-13)


def zero_like_tree(tree: Any) -> Any:
    return fnn.tree.map(lambda a: a * 0, tree)


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_window_gradients_chain_into_full_bptt_and_truncate_when_dropped(cls: type) -> None:
    b = f64()
    layer = cls(H, return_state=True)
    params = layer.init(fnn.random.key(0), (2 * T, D), b)
    xs = draw(b, (N, 2 * T, D), 1)
    dhs = draw(b, (N, 2 * T, H), 2)
    whole, whole_final = layer.forward(params, xs)
    (_, final), res_whole = whole, whole_final
    d_whole, dxs_whole = layer.grad(params, res_whole, (dhs, zero_like_tree(final)))

    (_, carry), res1 = layer.forward(params, xs[:, :T])
    (_, final2), res2 = layer.forward(params, (xs[:, T:], carry))
    d2, (dxs2, d_carry) = layer.grad(params, res2, (dhs[:, T:], zero_like_tree(final2)))
    # Full backprop through time: window 2's gradient of its initial state flows into window 1.
    d1, dxs1 = layer.grad(params, res1, (dhs[:, :T], d_carry))
    total = fnn.tree.map(lambda u, v: u + v, d1, d2)
    for got, want in zip(fnn.tree.leaves(total), fnn.tree.leaves(d_whole)):
        assert_allclose(got, want, rtol=1e-11, atol=1e-13)
    assert_allclose(np.concatenate([host(dxs1), host(dxs2)], axis=1), dxs_whole, rtol=1e-11, atol=1e-13)

    # Truncated: dropping the carried state's gradient (None, or zeros) gives window 1's own gradient.
    window = cls(H)
    _, res_alone = window.forward(params, xs[:, :T])
    d_alone, _ = window.grad(params, res_alone, dhs[:, :T])
    d_none, _ = layer.grad(params, res1, (dhs[:, :T], None))
    d_zeros, _ = layer.grad(params, res1, (dhs[:, :T], zero_like_tree(carry)))
    for got_none, got_zeros, want in zip(*(fnn.tree.leaves(t) for t in (d_none, d_zeros, d_alone))):
        assert_array_equal(got_none, want)
        assert_array_equal(got_zeros, want)


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_param_grad_skips_dx_but_agrees(cls: type) -> None:
    b = f64()
    layer = cls(H, return_sequences=False)
    params = layer.init(fnn.random.key(0), (T, D), b)
    y, residuals = layer.forward(params, draw(b, (N, T, D), 1))
    dy = draw(b, y.shape, 3)
    dparams, _ = layer.grad(params, residuals, dy)
    for got, want in zip(fnn.tree.leaves(layer.param_grad(params, residuals, dy)), fnn.tree.leaves(dparams)):
        assert_array_equal(got, want)


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_float32_stays_float32_and_inputs_are_not_mutated(cls: type) -> None:
    b = fnn.backend()
    layer = cls(H, return_state=True)
    params = layer.init(fnn.random.key(0), ((T, D), layer.state_shape()), b)
    x = (draw(b, (N, T, D), 1), initial_state(cls, b))
    before = fnn.tree.map(lambda a: host(a).copy(), (params, x))
    y, residuals = layer.forward(params, x)
    dy = fnn.tree.map(lambda a: draw(b, a.shape, 4), y)
    dy_before = fnn.tree.map(lambda a: host(a).copy(), dy)
    dparams, dx = layer.grad(params, residuals, dy)
    for a in fnn.tree.leaves((y, dparams, dx)):
        assert a.dtype == np.float32
    assert fnn.tree.structure(dx) == fnn.tree.structure(x)
    for got, want in zip(fnn.tree.leaves((params, x, dy)), fnn.tree.leaves((*before, dy_before))):
        assert_array_equal(got, want)


def test_wrong_state_shape_is_refused() -> None:
    b = fnn.backend()
    lstm = fnn.LSTM(4)
    params = lstm.init(fnn.random.key(0), (T, D), b)
    xs = b.zeros((N, T, D))
    with pytest.raises(fnn.ShapeError, match=r"LSTM\(hidden=4\): expected the initial state \(h0, c0\), each of shape \(2, 4\) for 2 sequences, got an array of shape \(2, 4\)"):
        lstm.apply(params, (xs, b.zeros((N, 4))))
    with pytest.raises(fnn.ShapeError, match=r"got a tuple of 2 \(an array of shape \(2, 4\), an array of shape \(2, 5\)\)"):
        lstm.apply(params, (xs, (b.zeros((N, 4)), b.zeros((N, 5)))))
    rnn = fnn.RNN(4)
    with pytest.raises(fnn.ShapeError, match=r"RNN\(hidden=4\): expected the initial state h0 of shape \(2, 4\) for 2 sequences, got an array of shape \(3, 4\)"):
        rnn.apply(rnn.init(fnn.random.key(0), (T, D), b), (xs, b.zeros((3, 4))))
    with pytest.raises(fnn.ShapeError, match=r"LSTM\(hidden=4\): expected the initial state's shape \(\(4,\), \(4,\)\) \(without the batch axis\), got \(4,\)"):
        lstm.init(fnn.random.key(0), ((T, D), (4,)))


def test_bad_inputs_are_refused() -> None:
    b = fnn.backend()
    layer = fnn.LSTM(4)
    params = layer.init(fnn.random.key(0), (T, D), b)
    with pytest.raises(fnn.ShapeError, match=r"LSTM\(hidden=4\): expected input of shape \(N, \?, 3\), got \(2, 3\); inputs are sequences \(N, T, D\)"):
        layer.apply(params, b.zeros((N, D)))
    with pytest.raises(fnn.DTypeError, match=r"LSTM\(hidden=4\): expected input of dtype float32, got float64"):
        layer.apply(params, np.zeros((N, T, D)))
    with pytest.raises(fnn.DTypeError, match=r"LSTM\(hidden=4\): expected input of dtype float32, got float64"):
        layer.apply(params, (b.zeros((N, T, D)), (b.zeros((N, 4)), np.zeros((N, 4)))))
    with pytest.raises(fnn.StructureError, match=r"LSTM\(hidden=4\): got a list; pass a sequence batch xs, or the tuple \(xs, state\)"):
        layer.apply(params, [b.zeros((N, T, D)), (b.zeros((N, 4)), b.zeros((N, 4)))])
    with pytest.raises(fnn.ShapeError, match=r"RNN\(hidden=2\): expected inputs of 2 axis\(es\) .* got in_shape \(3,\); inputs are sequences"):
        fnn.RNN(2).init(fnn.random.key(0), (3,))
    with pytest.raises(ValueError, match=r"`hidden` must be a positive integer, got 0"):
        fnn.RNN(0)


def test_other_sequence_lengths_run_with_the_same_params() -> None:
    # Generation feeds one step at a time with the carried state.
    b = f64()
    layer = fnn.LSTM(H, return_state=True)
    params = layer.init(fnn.random.key(0), (T, D), b)
    xs = draw(b, (N, T, D), 1)
    whole, _ = layer.apply(params, xs)
    state = None
    steps = []
    for t in range(T):
        x = xs[:, t : t + 1]
        y, state = layer.apply(params, x if state is None else (x, state))
        steps.append(host(y))
    assert_allclose(np.concatenate(steps, axis=1), whole, rtol=1e-13)


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_saturated_gates_give_exact_limits_without_overflow_warnings(cls: type) -> None:
    b = fnn.backend()
    layer = cls(2)
    params = layer.init(fnn.random.key(0), (3, 2), b)
    params = fnn.tree.map(lambda p: b.ones(p.shape), params)
    y = layer.apply(params, b.full((1, 3, 2), -1e4))  # σ(−1e4): e^{1e4} overflows to inf, σ = 0 (gates shut)
    assert np.isfinite(host(y)).all()
    assert_allclose(y, -1.0 if cls is fnn.RNN else 0.0, atol=1e-6)


def test_dy_must_have_the_outputs_structure() -> None:
    b = fnn.backend()
    layer = fnn.LSTM(4, return_state=True)
    params = layer.init(fnn.random.key(0), (T, D), b)
    (hs, _), residuals = layer.forward(params, b.zeros((N, T, D)))
    with pytest.raises(fnn.StructureError, match=r"LSTM\(hidden=4, return_state=True\): expected dy with the structure of the output, \(d_output, d_state\), got an array of shape \(2, 4, 4\); pass None"):
        layer.grad(params, residuals, hs)


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_empty_batches_and_empty_sequences(cls: type) -> None:
    b = fnn.backend()
    layer = cls(H, return_state=True)
    params = layer.init(fnn.random.key(0), (T, D), b)
    for n, steps in ((0, T), (N, 0)):
        (hs, state), residuals = layer.forward(params, b.zeros((n, steps, D)))
        assert hs.shape == (n, steps, H)
        for s in fnn.tree.leaves(state):
            assert s.shape == (n, H) and not host(s).any()  # zero steps leave the zero initial state
        dparams, dxs = layer.grad(params, residuals, (b.zeros(hs.shape), None))
        assert dxs.shape == (n, steps, D)
        assert all(not host(g).any() for g in fnn.tree.leaves(dparams))


DLFS2 = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def book_pickle(path: Path) -> list[np.ndarray]:
    """The book's list-of-arrays pickle through fnn's restricted unpickler (no code runs)."""
    from fnn.io import _allowed_globals, _ArrayUnpickler

    _ArrayUnpickler.allowed = _ArrayUnpickler.allowed or _allowed_globals()
    with open(path, "rb") as f:
        arrays: list[np.ndarray] = _ArrayUnpickler(f).load()
    return arrays


def ptb_words(path: Path) -> list[str]:
    return path.read_text().replace("\n", "<eos>").strip().split()


def test_the_books_published_lstm_weights_load_as_they_are() -> None:
    """Rnnlm.pkl (gates f, g, i, o) in fnn's Embedding → LSTM → Dense, state carried across
    windows of 35 words: perplexity 123.3 on the first 2,450 words of the PTB test set (the
    book reports about 136 over the whole set); with the f and i blocks swapped it is 591."""
    emb, wx, wh, b, w_out, b_out = (a.astype("float32") for a in book_pickle(DLFS2 / "dlfs2" / "Rnnlm.pkl"))
    vocab: dict[str, int] = {}
    for word in ptb_words(DLFS2 / "ptb" / "ptb.train.txt"):
        vocab.setdefault(word, len(vocab))  # the book's order: first occurrence
    test = np.array([vocab[w] for w in ptb_words(DLFS2 / "ptb" / "ptb.test.txt")[: 35 * 70 + 1]])
    ids, targets = test[:-1].reshape(1, -1), test[1:]
    embed, lstm, output = fnn.Embedding(10000, 100), fnn.LSTM(100, return_state=True), fnn.Dense(10000)

    def perplexity(params: fnn.LSTMParams) -> float:
        state, total = None, 0.0
        for start in range(0, ids.shape[1], 35):
            vectors = embed.apply(fnn.EmbeddingParams(emb), ids[:, start : start + 35])
            hs, state = lstm.apply(params, vectors if state is None else (vectors, state))
            logits = output.apply(fnn.DenseParams(w_out, b_out), hs.reshape(-1, 100))
            total += float(fnn.losses.softmax_cross_entropy(logits, targets[start : start + 35])) * 35
        return float(np.exp(total / targets.size))

    assert perplexity(fnn.LSTMParams(wx, wh, b)) == pytest.approx(123.3, abs=0.1)
    swapped = np.r_[200:300, 100:200, 0:100, 300:400]  # i, g, f, o
    assert perplexity(fnn.LSTMParams(wx[:, swapped], wh[:, swapped], b[swapped])) > 500


def test_params_of_another_layer_are_refused() -> None:
    b = fnn.backend()
    lstm, gru = fnn.LSTM(4), fnn.GRU(4)
    xs = b.zeros((N, T, D))
    lstm_params = lstm.init(fnn.random.key(0), (T, D), b)
    with pytest.raises(fnn.StructureError, match=r"GRU\(hidden=4\): expected params of type GRUParams, as init returns, got LSTMParams"):
        gru.apply(lstm_params, xs)  # type: ignore[arg-type]
    with pytest.raises(fnn.ShapeError, match=r"LSTM\(hidden=5\): expected params wx \(D, 20\), wh \(5, 20\), b \(20,\), got wx \(3, 16\), wh \(4, 16\), b \(16,\); use the params"):
        fnn.LSTM(5).apply(lstm_params, xs)
    y, residuals = lstm.forward(lstm_params, xs)
    with pytest.raises(fnn.ShapeError, match=r"LSTM\(hidden=5\): expected params"):
        fnn.LSTM(5).grad(lstm_params, residuals, y)


# --- the carry as layer state: stateful=True ---


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_stateful_windows_carry_the_state_like_one_run(cls: type) -> None:
    b = f64()
    layer = cls(H, stateful=True)
    assert layer.has_state and not cls(H).has_state and cls(H).init_state((T, D), b) is None
    params = layer.init(fnn.random.key(0), (T, D), b)
    state = layer.init_state((T, D), b)
    for a in fnn.tree.leaves(state):
        assert a.shape == (1, H) and not host(a).any()  # the zero carry broadcasts to any batch
    xs = draw(b, (N, 3 * T, D), 1)
    whole = layer.apply(params, xs)
    pieces = []
    for k in range(3):
        y, residuals, new_state = layer.forward_train(params, state, xs[:, k * T : (k + 1) * T])
        for a in fnn.tree.leaves(new_state):  # a copy: the state shares nothing with the residuals
            assert a.shape == (N, H) and not any(np.shares_memory(host(a), host(r)) for r in fnn.tree.leaves(residuals))
        _, dx = layer.grad(params, residuals, b.ones(y.shape))
        assert dx.shape == (N, T, D)  # no gradient for the carried state: truncated BPTT
        pieces.append(host(y))
        state = new_state
    assert_allclose(np.concatenate(pieces, axis=1), whole, rtol=1e-12)
    fnn.check_grads(layer, params, xs[:, :T], state=state)  # state held fixed


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_stateful_truncated_bptt_through_fit_and_generation_one_step_at_a_time(cls: type) -> None:
    b = f64()
    model = fnn.sequential(cls(H, stateful=True), fnn.tanh)
    params = model.init(fnn.random.key(0), (T, D), b)
    windows = draw(b, (3, T, D), 1)  # one stream: 3 windows fed in order, one per step
    result = fnn.fit(
        model, fnn.losses.mse, fnn.optim.sgd(1e-12), params, windows, b.zeros((3, T, H)),
        key=fnn.random.key(0), epochs=1, batch_size=1, shuffle=False,
        state=model.init_state((T, D), b), progress=False,
    )
    whole = cls(H, return_state=True).apply(params[0], windows.reshape(1, 3 * T, D))[1]
    for got, want in zip(fnn.tree.leaves(result.state[0]), fnn.tree.leaves(whole)):
        assert_allclose(got, want, rtol=1e-8)
    # generation: one step per call, the carry returned by apply_with_state
    state = model.init_state((1, D), b)
    steps = []
    for t in range(T):
        y, state = model.apply_with_state(params, state, windows[:1, t : t + 1])
        steps.append(host(y))
    assert_allclose(np.concatenate(steps, axis=1), model.apply(params, windows[:1], state=model.init_state((T, D), b)), rtol=1e-12)


def test_stateful_errors_say_what_to_pass() -> None:
    b = fnn.backend()
    layer = fnn.LSTM(4, stateful=True)
    params = layer.init(fnn.random.key(0), (T, D), b)
    state = layer.init_state((T, D), b)
    xs = b.zeros((N, T, D))
    with pytest.raises(fnn.StateError, match=r"LSTM\(hidden=4, stateful=True\): stateful=True needs the carried state; pass state=layer.init_state\(in_shape\)"):
        layer.forward_train(params, None, xs)
    with pytest.raises(fnn.StructureError, match=r"a stateful layer starts from its carried state; pass xs alone"):
        layer.forward_train(params, state, (xs, state))
    _, _, carried = layer.forward_train(params, state, xs)
    with pytest.raises(fnn.ShapeError, match=r"expected the carried state \(h0, c0\), each of shape \(3, 4\) for 3 sequences, got a tuple of 2 \(an array of shape \(2, 4\), an array of shape \(2, 4\)\); reset it with init_state"):
        layer.apply_with_state(params, carried, b.zeros((3, T, D)))
