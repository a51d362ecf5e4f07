"""Issue 18: the book's addition/date data, attention, the three seq2seq models, the published attention model."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import fnn
from fnn import dlfs
from fnn.datasets import load_addition, load_char_sequences, load_date
from fnn.dlfs.seq2seq import Peek, StartState
from fnn.errors import ArgumentError
from tests.book_seq2seq import BookAttentionSeq2seq, book_load_data

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "dlfs2"
F64 = fnn.backend("numpy", "float64")
NP = fnn.backend("numpy")  # ids on the host, compared with the NumPy references


def _need(path: Path) -> Path:
    if not path.is_file():
        pytest.fail(f"{path.name} is missing from {path.parent}; see shared/data/README.md (dlfs2)")
    return path


# --- data -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["addition.txt", "date.txt"])
def test_loaders_split_and_number_as_the_books_load_data(name: str) -> None:
    (x_train, t_train), (x_test, t_test), char_to_id = book_load_data(_need(DATA / name))
    data = load_char_sequences(name, DATA, download=False, backend=NP)
    assert data.char_to_id == char_to_id
    assert data.id_to_char == {i: c for c, i in char_to_id.items()}
    for ours, book in zip(data[:4], (x_train, t_train, x_test, t_test)):
        assert ours.dtype == np.int64 and np.array_equal(ours, book)
    reversed_data = load_char_sequences(name, DATA, reverse=True, download=False, backend=NP)
    assert np.array_equal(reversed_data.x_test, x_test[:, ::-1])
    assert np.array_equal(reversed_data.t_test, t_test)


def test_the_first_characters_and_the_first_test_question() -> None:
    addition = load_addition(DATA, download=False, backend=NP)
    assert [addition.id_to_char[i] for i in range(8)] == ["1", "6", "+", "7", "5", " ", "_", "9"]
    assert len(addition.char_to_id) == 13
    assert addition.x_train.shape == (45000, 7) and addition.t_test.shape == (5000, 5)

    def text(ids: Any) -> str:
        return "".join(addition.id_to_char[int(i)] for i in ids)

    assert text(addition.x_test[0]) == "77+85  " and text(addition.t_test[0]) == "_162 "
    assert text(load_addition(DATA, reverse=True, download=False, backend=NP).x_test[0]) == "  58+77"
    date = load_date(DATA, download=False, backend=NP)
    assert len(date.char_to_id) == 59 and date.x_test.shape == (5000, 29) and date.t_test.shape == (5000, 11)
    assert date.id_to_char[int(date.t_test[0, 0])] == "_"


def test_loader_leaves_numpys_global_generator_alone() -> None:
    np.random.seed(7)
    expected = np.random.rand()
    np.random.seed(7)
    load_addition(DATA, download=False, backend=NP)
    assert np.random.rand() == expected


def test_loader_errors_name_the_file_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(fnn.DataError, match=r"(?s)addition.txt is missing from .*Pass download=True"):
        load_addition(tmp_path, download=False)
    with pytest.raises(fnn.DataError, match=r"(?s)mine.txt is missing from .*Put the file in that directory"):
        load_char_sequences("mine.txt", tmp_path)
    (tmp_path / "mine.txt").write_text("1+1 _2\n2+2 4\n")
    with pytest.raises(fnn.DataError, match=r"mine.txt, line 2: no '_' between question and answer in '2\+2 4'"):
        load_char_sequences("mine.txt", tmp_path)
    (tmp_path / "mine.txt").write_text("1+1 _2\n10+1 _11\n")
    with pytest.raises(fnn.DataError, match=r"every question must have the same \(padded\) length, got lengths \[4, 5\]"):
        load_char_sequences("mine.txt", tmp_path)
    (tmp_path / "mine.txt").write_text("")
    with pytest.raises(fnn.DataError, match=r"mine.txt: the file holds no lines"):
        load_char_sequences("mine.txt", tmp_path)


def test_fnn_data_dir_may_name_a_data_directory_with_dlfs2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FNN_DATA_DIR", str(DATA.parent))
    assert fnn.datasets.toy_sequences_root() == DATA
    monkeypatch.setenv("FNN_DATA_DIR", str(DATA))
    assert fnn.datasets.toy_sequences_root() == DATA


# --- attention ------------------------------------------------------------------------------


def _attention_by_hand(enc: Any, dec: Any) -> tuple[Any, Any]:
    """Step by step as the book's AttentionWeight and WeightSum."""
    contexts, weights = [], []
    for t in range(dec.shape[1]):
        s = (enc * dec[:, t][:, None, :]).sum(axis=2)
        a = np.exp(s - s.max(axis=1, keepdims=True))
        a /= a.sum(axis=1, keepdims=True)
        contexts.append((enc * a[:, :, None]).sum(axis=1))
        weights.append(a)
    return np.stack(contexts, axis=1), np.stack(weights, axis=1)


def test_attention_is_the_books_weight_and_sum_at_every_step() -> None:
    rng = np.random.default_rng(0)
    enc, dec = rng.standard_normal((3, 6, 4)), rng.standard_normal((3, 5, 4))
    context, weights = fnn.Attention(return_weights=True).apply(None, (enc, dec))
    expected_context, expected_weights = _attention_by_hand(enc, dec)
    np.testing.assert_allclose(context, expected_context, rtol=1e-12)
    np.testing.assert_allclose(weights, expected_weights, rtol=1e-12)
    np.testing.assert_allclose(weights.sum(axis=2), 1.0)
    np.testing.assert_allclose(fnn.Attention().apply(None, (enc, dec)), expected_context, rtol=1e-12)
    assert fnn.Attention().out_shape(((6, 4), (5, 4))) == (5, 4)
    assert fnn.Attention(return_weights=True).out_shape(((6, 4), (5, 4))) == ((5, 4), (5, 6))


@pytest.mark.parametrize("return_weights", [False, True])
def test_attention_gradients(return_weights: bool) -> None:
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 4, 3)))
    fnn.check_grads(fnn.Attention(return_weights=return_weights), None, x)


def test_attention_large_scores_do_not_overflow() -> None:
    enc = np.array([[[1000.0, 0.0], [0.0, 1.0]]], np.float32)
    dec = np.array([[[1000.0, 0.0]]], np.float32)
    context, weights = fnn.Attention(return_weights=True).apply(None, (enc, dec))
    assert np.array_equal(weights, [[[1.0, 0.0]]]) and np.array_equal(context, [[[1000.0, 0.0]]])


def test_attention_errors_name_the_shapes() -> None:
    layer = fnn.Attention()
    with pytest.raises(fnn.ShapeError, match=r"same size H to be compared, got 4 and 3"):
        layer.out_shape(((6, 4), (5, 3)))
    with pytest.raises(fnn.ShapeError, match=r"expected `in_shape` \(\(S, H\), \(T, H\)\) .* got \(6, 4\)"):
        layer.out_shape((6, 4))
    with pytest.raises(fnn.ShapeError, match=r"expected the pair \(hs_enc, hs_dec\), got ndarray"):
        layer.apply(None, np.zeros((2, 6, 4)))
    with pytest.raises(fnn.ShapeError, match=r"same N and H, got \(2, 6, 4\) and \(3, 5, 4\)"):
        layer.apply(None, (np.zeros((2, 6, 4)), np.zeros((3, 5, 4))))
    with pytest.raises(fnn.DTypeError, match=r"expected a float array, got int64"):
        layer.apply(None, (np.zeros((2, 6, 4), np.int64), np.zeros((2, 5, 4))))
    with pytest.raises(fnn.ShapeError, match=r"at least one encoder state to attend to \(S >= 1\), got hs_enc of shape \(2, 0, 4\)"):
        layer.apply(None, (np.zeros((2, 0, 4)), np.zeros((2, 5, 4))))
    with pytest.raises(fnn.ShapeError, match=r"at least one encoder state \(S >= 1\), got `in_shape` \(\(0, 4\), \(5, 4\)\)"):
        layer.out_shape(((0, 4), (5, 4)))


# --- models ---------------------------------------------------------------------------------

BUILDERS: list[Callable[..., fnn.Graph]] = [dlfs.seq2seq, dlfs.peeky_seq2seq, dlfs.attention_seq2seq]


def _small(build: Callable[..., fnn.Graph]) -> tuple[fnn.Graph, Any, Any, Any, Any]:
    rng = np.random.default_rng(2)
    model = build(9, wordvec=3, hidden=4)
    params = model.init(fnn.random.key(0), ((5,), (3,)), F64)
    questions = rng.integers(0, 9, (3, 5))
    decoder_input, target = dlfs.teacher_forcing(rng.integers(0, 9, (3, 4)))
    return model, params, questions, decoder_input, target


@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__)
def test_models_gradients_end_to_end(build: Callable[..., fnn.Graph]) -> None:
    model, params, questions, decoder_input, target = _small(build)
    loss = fnn.losses.time_softmax_cross_entropy
    fnn.check_grads(model, params, (questions, decoder_input), loss=loss, t=target)
    fnn.check_grads(model, params, (questions, decoder_input))


@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__)
def test_generation_is_the_teacher_forced_model_reading_its_own_answer(build: Callable[..., fnn.Graph]) -> None:
    model, params, questions, _, _ = _small(build)
    answer = dlfs.generate(model, params, questions, start_id=8, length=6)
    assert answer.shape == (3, 6) and answer.dtype == np.int64
    fed = np.concatenate([np.full((3, 1), 8), answer[:, :-1]], axis=1)
    assert np.array_equal(model.apply(params, (questions, fed)).argmax(axis=2), answer)


def test_the_decoder_starts_from_the_encoders_h_and_a_zero_cell() -> None:
    model, params, questions, decoder_input, _ = _small(dlfs.seq2seq)
    encoder_embed, encoder_lstm = params["encoder"]["embed"], params["encoder"]["lstm"]
    h = fnn.LSTM(4, return_sequences=False).apply(encoder_lstm, encoder_embed.w[questions])
    decoder = params["decoder"]
    hs = fnn.LSTM(4).apply(decoder["lstm"], (decoder["embed"].w[decoder_input], (h, np.zeros_like(h))))
    expected = hs @ decoder["affine"].w + decoder["affine"].b
    np.testing.assert_allclose(model.apply(params, (questions, decoder_input)), expected, rtol=1e-12)


def test_peeky_joins_h_first_and_sums_its_gradient_over_steps() -> None:
    h, xs = np.array([[1.0, 2.0]]), np.arange(6.0).reshape(1, 3, 2)
    y, residuals = Peek().forward(None, (h, xs))
    assert y.tolist() == [[[1, 2, 0, 1], [1, 2, 2, 3], [1, 2, 4, 5]]]
    dh, dxs = Peek().grad(None, residuals, np.ones_like(y))[1]
    assert dh.tolist() == [[3.0, 3.0]] and np.array_equal(dxs, np.ones_like(xs))
    fnn.check_grads(Peek(), None, (h, xs))
    fnn.check_grads(StartState(last_step=True), None, np.random.default_rng(3).standard_normal((2, 4, 3)))


def test_attention_weights_are_returned_for_inspection() -> None:
    model, params, questions, decoder_input, _ = _small(dlfs.attention_seq2seq)
    weights = dlfs.attention_weights(model, params, questions, decoder_input)
    assert weights.shape == (3, 3, 5)
    np.testing.assert_allclose(weights.sum(axis=2), 1.0)


def test_model_errors() -> None:
    model, params, questions, decoder_input, _ = _small(dlfs.seq2seq)
    with pytest.raises(ValueError, match=r"generate: `length` must be a positive int .*got 0"):
        dlfs.generate(model, params, questions, start_id=8, length=0)
    with pytest.raises(ArgumentError, match=r"generate: expected a model built by seq2seq.*nodes \['h'\]"):
        dlfs.generate(fnn.Graph("x", (fnn.Node("h", fnn.Dense(2), "x"),), "h"), {}, questions, 8, 3)
    with pytest.raises(ArgumentError, match=r"attention_weights: the model has no attention"):
        dlfs.attention_weights(model, params, questions, decoder_input)
    with pytest.raises(fnn.ShapeError, match=r"teacher_forcing: expected answers \(N, A\) with A ≥ 2 .*\(3,\)"):
        dlfs.teacher_forcing(np.zeros(3, np.int64))
    with pytest.raises(fnn.ShapeError, match=r"Peek\(\): expected `in_shape` \(\(H,\), \(T, D\)\)"):
        Peek().out_shape(((4,), (4,)))
    with pytest.raises(fnn.ShapeError, match=r"StartState\(last_step=True\): expected `in_shape` \(S, H\)"):
        StartState(last_step=True).out_shape((4,))


# --- the book's published attention model ---------------------------------------------------


def test_published_weights_are_checked() -> None:
    arrays = fnn.io.load_pickle(_need(DATA / "AttentionSeq2seq.pkl"))
    with pytest.raises(fnn.ShapeError, match=r"expected the book's AttentionSeq2seq list of 10 arrays .* got 9"):
        dlfs.attention_seq2seq_params(arrays[:9])
    swapped = [*arrays[:8], arrays[8].T, arrays[9]]
    with pytest.raises(fnn.ShapeError, match=r"array 8 \(affine W \(2H, V\)\) must have shape \(512, 59\) .* got \(59, 512\)"):
        dlfs.attention_seq2seq_params(swapped)


def test_published_attention_model_answers_the_whole_date_test_split_as_the_books_code() -> None:
    data = load_date(DATA, reverse=True, download=False, backend=NP)
    path = _need(DATA / "AttentionSeq2seq.pkl")
    start, length = data.char_to_id["_"], data.t_test.shape[1] - 1
    model = dlfs.attention_seq2seq(len(data.char_to_id))
    params = dlfs.load_attention_seq2seq(path, fnn.backend("numpy", "float32"))
    answers = dlfs.generate(model, params, data.x_test, start, length)
    book = BookAttentionSeq2seq(fnn.io.load_pickle(path))
    expected = book.generate(data.x_test, start, length)
    assert np.array_equal(answers, expected)  # id for id, on all 5,000 questions
    # the book evaluates one question at a time: batching changes no answer
    one_by_one = np.concatenate([book.generate(data.x_test[[i]], start, length) for i in range(100)])
    assert np.array_equal(one_by_one, expected[:100])
    accuracy = float((answers == data.t_test[:, 1:]).all(axis=1).mean())
    assert accuracy == float((expected == data.t_test[:, 1:]).all(axis=1).mean()) == 1.0
