"""word2vec (DLfS 2, ch. 3-4): EmbeddingDot, negative sampling, the models and the book's published vectors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import fnn
from fnn import dlfs
from fnn.datasets import one_hot
from fnn.losses import negative_sampling_loss, softmax_cross_entropy
from fnn.text import UnigramSampler, analogy, contexts_and_targets, most_similar, preprocess
from tests.test_examples import DATA

CBOW_PKL = DATA / "dlfs2" / "cbow_params.pkl"
F64 = fnn.backend(dtype="float64")


# --- EmbeddingDot ---


@pytest.mark.parametrize("ids_shape", [(6,), (3, 4)])
def test_embedding_dot_gradients_and_reference(ids_shape: tuple[int, ...]) -> None:
    layer = fnn.EmbeddingDot(7, 3)
    params = layer.init(fnn.random.key(0), ((3,), ids_shape), F64)
    rng = np.random.default_rng(1)
    h = rng.standard_normal((5, 3))
    ids = rng.integers(0, 7, size=(5, *ids_shape))  # repeated ids: their row gradients add
    y = layer.apply(params, (h, ids))
    assert y.shape == (5, *ids_shape) and layer.out_shape(((3,), ids_shape)) == ids_shape
    np.testing.assert_allclose(y, np.einsum("n...d,nd->n...", params.w[ids], h), rtol=1e-12)
    fnn.check_grads(layer, params, (h, ids))
    fnn.check_grads(layer, params, (h[:, ::-1].copy()[:, ::-1], ids[::-1]))  # strided inputs
    _, (dh, dids) = layer.grad(params, layer.forward(params, (h, ids))[1], np.ones(y.shape))
    assert dids is None and dh.shape == h.shape


def test_embedding_dot_keeps_float32_and_shares_embedding_params() -> None:
    layer = fnn.EmbeddingDot(4, 2)
    params = layer.init(fnn.random.key(0), ((2,), (3,)))
    assert type(params) is fnn.EmbeddingParams and params.w.dtype == np.float32
    h, ids = np.ones((2, 2), np.float32), np.array([[0, 1, 3], [3, 3, 2]])
    y, residuals = layer.forward(params, (h, ids))
    dparams, (dh, _) = layer.grad(params, residuals, np.ones_like(y))
    assert y.dtype == dh.dtype == dparams.w.dtype == np.float32
    assert (layer.param_grad(params, residuals, np.ones_like(y)).w == dparams.w).all()


def test_embedding_dot_errors_name_the_layer() -> None:
    layer = fnn.EmbeddingDot(4, 2)
    params = layer.init(fnn.random.key(0), ((2,), (3,)))
    h = np.ones((2, 2), np.float32)
    with pytest.raises(fnn.ShapeError, match=r"EmbeddingDot\(vocab=4, dim=2\): `in_shape` must be \(\(dim,\), ids_shape\)"):
        layer.init(fnn.random.key(0), ((3,), (3,)))
    with pytest.raises(fnn.DataError, match=r"EmbeddingDot\(vocab=4, dim=2\): id 4 is out of range"):
        layer.apply(params, (h, np.array([[0, 4], [1, 1]])))
    with pytest.raises(fnn.DTypeError, match=r"EmbeddingDot\(vocab=4, dim=2\): expected integer ids, got float32"):
        layer.apply(params, (h, h))
    with pytest.raises(fnn.DTypeError, match=r"expected h as a float array \(N, 2\), got int64"):
        layer.apply(params, (np.ones((2, 2), np.int64), np.zeros((2, 1), np.int64)))
    with pytest.raises(fnn.DTypeError, match=r"h is float64 but the params are float32"):
        layer.apply(params, (np.ones((2, 2)), np.zeros((2, 1), np.int64)))
    with pytest.raises(fnn.ShapeError, match=r"expected h \(N, 2\) and ids \(N, \.\.\.\) with the same N, got h \(2, 2\) and ids \(3, 1\)"):
        layer.apply(params, (h, np.zeros((3, 1), np.int64)))
    with pytest.raises(fnn.StructureError, match=r"expected the input \(h, ids\), a tuple of 2 arrays, got ndarray"):
        layer.apply(params, h)


# --- the sampler and the loss ---


def test_sampler_same_key_same_samples_and_never_the_target() -> None:
    corpus = np.array([0, 1, 2, 3, 4, 1, 5, 6, 1, 1])
    sampler = UnigramSampler.from_corpus(corpus, negatives=5)
    targets = np.array([1, 1, 0, 6])
    first = sampler.negatives_for(fnn.random.key(3), targets)
    assert first.shape == (4, 5) and (first != targets[:, None]).all()
    assert (sampler.negatives_for(fnn.random.key(3), targets) == first).all()
    assert not (sampler.negatives_for(fnn.random.key(4), targets) == first).all()
    ids, labels = sampler.pairs(fnn.random.key(3), targets)
    assert (ids[:, 0] == targets).all() and (ids[:, 1:] == first).all()
    assert labels.dtype == np.float32 and labels.sum() == 4 and (labels[:, 0] == 1).all()


def test_sampler_draws_counts_to_the_power_075() -> None:
    corpus = np.repeat(np.arange(4), [1, 10, 100, 0 + 1])  # counts 1, 10, 100, 1
    sampler = UnigramSampler.from_corpus(corpus, negatives=50_000, vocab=5)  # id 4 never occurs
    drawn = sampler.negatives_for(fnn.random.key(0), np.array([4]))[0]
    p = np.array([1, 10, 100, 1, 0]) ** 0.75
    np.testing.assert_allclose(np.bincount(drawn, minlength=5) / drawn.size, p / p.sum(), atol=0.01)
    assert (np.bincount(drawn, minlength=5)[4]) == 0


def test_sampler_errors() -> None:
    with pytest.raises(fnn.DataError, match=r"fewer than 2 distinct words"):
        UnigramSampler.from_corpus(np.array([3, 3, 3]), negatives=1)
    with pytest.raises(ValueError, match=r"UnigramSampler: `negatives` must be a positive integer, got 0"):
        UnigramSampler.from_corpus(np.array([0, 1]), negatives=0)
    with pytest.raises(fnn.ShapeError, match=r"UnigramSampler: expected a 1-D corpus of ids, got shape \(1, 2\)"):
        UnigramSampler.from_corpus(np.array([[0, 1]]), negatives=1)


def book_negative_sampling_loss(scores: np.ndarray, labels: np.ndarray) -> float:
    """The book's: the positive pair's mean loss plus each negative's, with its eps of 1e-7."""
    p = 1 / (1 + np.exp(-scores))
    loss = -np.log(p + 1e-7) * labels - np.log(1 - p + 1e-7) * (1 - labels)
    return float(sum(loss[:, j].mean() for j in range(scores.shape[1])))


def test_negative_sampling_loss_is_the_books_and_its_gradient_checks() -> None:
    sampler = UnigramSampler.from_corpus(np.arange(20) % 9, negatives=4)
    ids, labels = sampler.pairs(fnn.random.key(7), np.array([0, 3, 5]), "float64")
    scores = np.random.default_rng(0).standard_normal(ids.shape)
    assert float(negative_sampling_loss(scores, labels)) == pytest.approx(book_negative_sampling_loss(scores, labels), rel=1e-6)
    fnn.check_grads(negative_sampling_loss, scores, labels)
    model = dlfs.cbow(vocab=9, hidden=3, window=1)
    params = model.init(fnn.random.key(0), dlfs.cbow_in_shape(1, 4), F64)
    contexts = np.array([[1, 2], [2, 4], [8, 8]])
    fnn.check_grads(model, params, (contexts, ids), loss=negative_sampling_loss, t=labels)


def test_skip_gram_with_negative_sampling_gradients() -> None:
    corpus = np.arange(30) % 11
    contexts, target = contexts_and_targets(corpus, window=2)
    ids, labels = UnigramSampler.from_corpus(corpus, negatives=3).pairs(fnn.random.key(1), contexts[:4], "float64")
    model = dlfs.skip_gram(vocab=11, hidden=3)
    params = model.init(fnn.random.key(0), dlfs.skip_gram_in_shape(2, 3), F64)
    scores = model.apply(params, (target[:4], ids))
    assert scores.shape == (4, 4, 4)
    w_in, w_out = params["in"].w, params["out"].w
    np.testing.assert_allclose(scores, np.einsum("ncsd,nd->ncs", w_out[ids], w_in[target[:4]]), rtol=1e-12)
    fnn.check_grads(model, params, (target[:4], ids), loss=negative_sampling_loss, t=labels)


# --- the simple models of chapter 3 ---

TOY = "You say goodbye and I say hello."


def _train(model: fnn.Graph, params: Any, x: Any, t: Any, epochs: int) -> tuple[Any, list[float]]:
    step = fnn.value_and_grad(model, softmax_cross_entropy)
    optimizer = fnn.optim.adam(0.01)
    opt_state = optimizer.init(params)
    losses = []
    for _ in range(epochs):
        value, grads = step(params, x, t)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = fnn.optim.apply_updates(params, updates)
        losses.append(float(value))
    return params, losses


def test_simple_cbow_shares_w_in_and_learns_the_toy_corpus() -> None:
    corpus, word_to_id, _ = preprocess(TOY)
    contexts, target = contexts_and_targets(corpus, 1)
    v = len(word_to_id)
    x = (one_hot(contexts[:, 0], v, F64), one_hot(contexts[:, 1], v, F64))
    model = dlfs.simple_cbow(v, hidden=5)
    params = model.init(fnn.random.key(0), ((v,), (v,)), F64)
    assert params["in1"] is None  # one W_in, used twice
    fnn.check_grads(model, params, x, loss=softmax_cross_entropy, t=target)
    _, dparams = fnn.value_and_grad(model, softmax_cross_entropy)(params, x, target)
    w_in, w_out = params["in"].w, params["out"].w
    s = 0.5 * (x[0] @ w_in + x[1] @ w_in) @ w_out
    ds = (np.exp(s) / np.exp(s).sum(axis=1, keepdims=True) - one_hot(target, v, F64)) / len(target)
    dh = 0.5 * ds @ w_out.T
    np.testing.assert_allclose(dparams["in"].w, x[0].T @ dh + x[1].T @ dh, rtol=1e-10)  # the sum of both uses
    x32 = tuple(a.astype(np.float32) for a in x)
    trained, losses = _train(model, fnn.tree.map(lambda a: a.astype(np.float32), params), x32, target, 1000)
    assert losses[0] == pytest.approx(np.log(v), rel=1e-3) and losses[-1] < 0.6 * losses[0]
    assert (model.apply(trained, x32).argmax(axis=1) == target).mean() >= 5 / 6
    assert dlfs.word_vectors(trained).shape == (v, 5)


def test_simple_skip_gram_learns_the_toy_corpus() -> None:
    corpus, word_to_id, _ = preprocess(TOY)
    contexts, target = contexts_and_targets(corpus, 1)
    v = len(word_to_id)
    x, t = one_hot(target, v, F64), one_hot(contexts, v, F64).sum(axis=1)  # both contexts' losses
    model = dlfs.simple_skip_gram(v, hidden=5)
    params = model.init(fnn.random.key(0), (v,), F64)
    fnn.check_grads(model, params, x, loss=softmax_cross_entropy, t=t)
    s = model.apply(params, x)
    two_losses = sum(float(softmax_cross_entropy(s, contexts[:, c])) for c in range(2))
    assert float(softmax_cross_entropy(s, t)) == pytest.approx(two_losses, rel=1e-12)  # the book's loss1 + loss2
    _, losses = _train(model, params, x, t, 1000)
    assert losses[0] == pytest.approx(2 * np.log(v), rel=1e-3) and losses[-1] < 0.6 * losses[0]


# --- the book's published vectors ---

BOOK_QUERIES = {  # the book's ch04/eval.py output (its float16 most_similar)
    "you": ["we", "someone", "i", "something", "anyone"],
    "year": ["month", "week", "spring", "summer", "decade"],
    "car": ["luxury", "arabia", "auto", "disk-drive", "travel"],
    "toyota": ["ford", "instrumentation", "mazda", "bethlehem", "nissan"],
}
BOOK_ANALOGIES = [("king", "man", "queen", "woman"), ("take", "took", "go", "went"),
                  ("car", "cars", "child", "children"), ("good", "better", "bad", "more")]


def book_normalize(x: np.ndarray) -> np.ndarray:
    """The book's ``normalize`` (a vector: divided by its norm, in place)."""
    s = np.sqrt((x * x).sum())
    x /= s
    return x


def book_analogy(a: str, b: str, c: str, word_to_id: dict[str, int], matrix: np.ndarray) -> np.ndarray:
    """The book's ``analogy`` scores (in the matrix's dtype: float16 for the published vectors)."""
    query = book_normalize(matrix[word_to_id[b]] - matrix[word_to_id[a]] + matrix[word_to_id[c]])
    scores: np.ndarray = np.dot(matrix, query)
    return scores


def test_published_vectors_give_the_books_analogies_and_neighbours() -> None:
    vecs, word_to_id, id_to_word = dlfs.load_cbow_params(CBOW_PKL, dtype=None)
    assert vecs.dtype == np.float16 and vecs.shape == (10000, 100)
    for a, b, c, answer in BOOK_ANALOGIES:
        ours = analogy(a, b, c, word_to_id, id_to_word, vecs)
        reference = book_analogy(a, b, c, word_to_id, vecs.copy())
        assert ours[0][0] == answer
        for word, score in ours:  # every score as the book's code gives it, to float16 precision
            assert score == pytest.approx(float(reference[word_to_id[word]]), rel=2e-3)
        best = sorted(float(s) for i, s in enumerate(reference) if id_to_word[i] not in (a, b, c))[-5:][::-1]
        np.testing.assert_allclose([s for _, s in ours], best, rtol=2e-3)  # the same top five scores
    for query, book_words in BOOK_QUERIES.items():
        assert [w for w, _ in most_similar(query, word_to_id, id_to_word, vecs)] == book_words
    as_float32 = dlfs.load_cbow_params(CBOW_PKL)
    assert as_float32.word_vecs.dtype == np.float32
    assert analogy("king", "man", "queen", *as_float32[1:], as_float32.word_vecs)[0][0] == "woman"


def test_load_cbow_params_refuses_other_pickles(tmp_path: Any) -> None:
    import pickle

    path = tmp_path / "other.pkl"
    path.write_bytes(pickle.dumps([np.zeros(3)]))
    with pytest.raises(fnn.FormatError, match=r"load_cbow_params: .*other.pkl: expected a dict with word_vecs, word_to_id and id_to_word, got list"):
        dlfs.load_cbow_params(path)
    path.write_bytes(pickle.dumps({"word_vecs": np.zeros((3, 2)), "word_to_id": {"a": 0}, "id_to_word": {0: "a"}}))
    with pytest.raises(fnn.FormatError, match=r"word_vecs of shape \(3, 2\) and vocabularies of 1 and 1 words do not fit"):
        dlfs.load_cbow_params(path)


def test_benchmark_book_style_cbow_computes_what_fnn_does() -> None:
    from benchmarks import bench_word2vec as bench

    corpus, contexts, target, w_in, w_out = bench.workload()
    ids, labels = UnigramSampler.from_corpus(corpus, bench.NEGATIVES, vocab=bench.VOCAB).pairs(fnn.random.key(0), target)
    model = dlfs.cbow(bench.VOCAB, bench.HIDDEN, bench.WINDOW)
    params = {"in": fnn.EmbeddingParams(w_in), "sum": None, "h": None, "out": fnn.EmbeddingParams(w_out)}
    value, grads = fnn.value_and_grad(model, negative_sampling_loss)(params, (contexts, ids), labels)
    book_value, (dw_in, dw_out) = bench.BookCBOW(w_in.copy(), w_out.copy()).loss_and_grads(contexts, ids)
    assert float(value) == pytest.approx(book_value, rel=1e-5)
    np.testing.assert_allclose(grads["in"].w, dw_in, rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(grads["out"].w, dw_out, rtol=1e-4, atol=1e-9)
    negatives = bench.book_sample(np.random.default_rng(0), np.full(bench.VOCAB, 1 / bench.VOCAB), target, bench.NEGATIVES)
    assert (negatives != target[:, None]).all() and all(len(set(row)) == bench.NEGATIVES for row in negatives.tolist())


def test_benchmark_torch_cbow_takes_the_same_step_as_fnn() -> None:
    pytest.importorskip("torch", reason="PyTorch is not installed (the benchmark venv has it; the CI venv does not)")
    from benchmarks import bench_word2vec as bench

    rng = np.random.default_rng(3)
    vocab, hidden, window, negatives = 30, 4, 2, 3
    w_in, w_out = (0.5 * rng.standard_normal((2, vocab, hidden))).astype(np.float32)
    contexts, target = rng.integers(0, vocab, size=(6, 2 * window)), rng.integers(0, vocab, size=6)
    ids, labels = UnigramSampler.from_corpus(rng.integers(0, vocab, size=200), negatives, vocab=vocab).pairs(fnn.random.key(1), target)
    diffs = bench.agreement(w_in, w_out, contexts, ids, labels)
    assert diffs["loss"] < 1e-5 and diffs["w_in"] < 1e-6 and diffs["w_out"] < 1e-6
    ours = bench.FnnCBOW(w_in, w_out, window)
    ours.step(contexts, ids, labels)
    assert np.abs(ours.weights()[1] - w_out).max() == pytest.approx(0.001, rel=1e-3)  # Adam's first step moves by lr
