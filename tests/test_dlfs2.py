"""The second book's language models (fnn.dlfs.dlfs2): gradients through time and tied weights, carried
state, the published Rnnlm.pkl against an independent NumPy forward pass, and the loader's errors."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import fnn
from fnn import dlfs
from fnn.datasets import load_ptb
from fnn.io import load_pickle
from tests.book_rnnlm import BookRnnlm, book_eval_perplexity
from tests.helpers import assert_allclose, host

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RNNLM_PKL = DATA / "dlfs2" / "Rnnlm.pkl"


def random_state(model: fnn.Graph, batch: int, b: fnn.Backend, seed: int) -> Any:
    """A non-zero state of the model's structure (so its gradient is checked where it matters)."""
    rng = np.random.default_rng(seed)
    return fnn.tree.map(lambda z: b.asarray(0.5 * rng.standard_normal(z.shape)), dlfs.zero_state(model, batch, b))


@pytest.mark.parametrize(
    "build",
    [
        lambda: dlfs.simple_rnnlm(vocab=7, wordvec=3, hidden=4),
        lambda: dlfs.rnnlm(vocab=7, wordvec=3, hidden=4),
        lambda: dlfs.better_rnnlm(vocab=7, wordvec=4, hidden=4, dropout=0.3),
    ],
    ids=["simple_rnnlm", "rnnlm", "better_rnnlm"],
)
def test_gradients_through_the_whole_model_match_central_differences(build: Any) -> None:
    b = fnn.backend(dtype="float64")
    model = build()
    params = model.init(fnn.random.key(0), dlfs.rnnlm_in_shape(model, time_size=5), b)
    ids = np.array([[1, 2, 3, 2, 6], [0, 1, 1, 6, 5]])
    fnn.check_grads(model, params, (ids, random_state(model, 2, b, seed=1)), key=fnn.random.key(2))


def test_better_rnnlm_holds_the_tied_weight_once_and_reads_its_transpose() -> None:
    """The gradient of both uses is checked by the whole-model check_grads above."""
    b = fnn.backend(dtype="float64")
    model = dlfs.better_rnnlm(vocab=6, wordvec=3, hidden=3)
    params = model.init(fnn.random.key(0), dlfs.rnnlm_in_shape(model, time_size=2), b)
    assert params["logits"].w is None and params["embed"].w.shape == (6, 3)
    ids = np.array([[1, 4]])
    logits, state = model.apply(params, (ids, dlfs.zero_state(model, 1, b)))
    h2 = state[1][0]  # the last step's output of the second LSTM (dropout is off in inference)
    assert_allclose(logits[0, -1], h2[0] @ params["embed"].w.T + params["logits"].b, rtol=1e-12)


def test_windows_with_carried_state_equal_one_run_and_a_zero_state_resets() -> None:
    b = fnn.backend(dtype="float64")
    model = dlfs.rnnlm(vocab=9, wordvec=4, hidden=5)
    params = model.init(fnn.random.key(0), dlfs.rnnlm_in_shape(model, time_size=6), b)
    ids = np.random.default_rng(0).integers(0, 9, size=(3, 6))
    whole, _ = model.apply(params, (ids, dlfs.zero_state(model, 3, b)))
    first, carried = model.apply(params, (ids[:, :4], dlfs.zero_state(model, 3, b)))
    second, _ = model.apply(params, (ids[:, 4:], carried))
    assert_allclose(np.concatenate([host(first), host(second)], axis=1), whole, rtol=1e-12)
    fresh, _ = model.apply(params, (ids[:, 4:], dlfs.zero_state(model, 3, b)))
    assert not np.allclose(host(fresh), host(second))


def test_zero_state_has_each_recurrent_layers_structure() -> None:
    b = fnn.backend()
    assert dlfs.zero_state(dlfs.simple_rnnlm(5, 2, 3), 4, b).shape == (4, 3)
    h, c = dlfs.zero_state(dlfs.rnnlm(5, 2, 3), 4, b)
    assert h.shape == c.shape == (4, 3) and h.dtype == np.float32
    (h1, c1), (h2, c2) = dlfs.zero_state(dlfs.better_rnnlm(5, 3, 3), 2, b)
    assert h1.shape == c2.shape == (2, 3) and not host(h2).any()
    assert dlfs.rnnlm_in_shape(dlfs.better_rnnlm(5, 3, 3), 7) == ((7,), (((3,), (3,)), ((3,), (3,))))


def published_arrays() -> list[Any]:
    if not RNNLM_PKL.is_file():
        pytest.fail(f"the book's Rnnlm.pkl is missing from {RNNLM_PKL.parent}; see shared/data/README.md")
    arrays: list[Any] = load_pickle(RNNLM_PKL)
    return arrays


def test_published_rnnlm_gives_the_books_perplexity_on_a_ptb_test_slice() -> None:
    """fnn's graph with the loaded weights against the independent NumPy forward pass (first 2,000 words)."""
    b = fnn.backend(dtype="float32")
    params = dlfs.load_rnnlm(RNNLM_PKL, b)
    assert params["hs"].wx.dtype == np.float32 and params["hs"].wx.shape == (100, 400)
    corpus = load_ptb("test", DATA / "ptb", download=False, progress=False).corpus[:2000]
    ours = dlfs.eval_perplexity(dlfs.rnnlm(), params, b.xp.asarray(corpus))
    book = book_eval_perplexity(BookRnnlm(published_arrays()), host(corpus))
    assert ours == pytest.approx(book, rel=1e-4)
    assert ours == pytest.approx(131.446, abs=0.01)  # the full test set gives 136.08 (examples/dlfs2_ch06_rnnlm.py)


def test_rnnlm_params_refuses_a_transposed_weight_and_a_wrong_list() -> None:
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float16) for s in [(11, 3), (3, 8), (2, 8), (8,), (2, 11), (11,)]]
    params = dlfs.rnnlm_params(arrays, fnn.backend(dtype="float64"))
    assert params["logits"].w.dtype == np.float64 and params["logits"].w.shape == (2, 11)
    arrays[4] = arrays[4].T
    with pytest.raises(fnn.ShapeError, match=r"array 4 \(affine W \(H, V\)\) must have shape \(2, 11\) for V=11, D=3, H=2 .*got \(11, 2\); it looks transposed"):
        dlfs.rnnlm_params(arrays)
    with pytest.raises(fnn.ShapeError, match=r"expected the book's Rnnlm parameter list of 6 arrays .* got 5 arrays"):
        dlfs.rnnlm_params(arrays[:5])
    with pytest.raises(fnn.ShapeError, match=r"rnnlm_params: expected a 2-D array, got shape \(11,\)"):
        dlfs.rnnlm_params([arrays[5], *arrays[1:]])


def test_load_rnnlm_refuses_a_pickle_that_is_not_a_list(tmp_path: Path) -> None:
    path = tmp_path / "vectors.pkl"
    path.write_bytes(pickle.dumps({"word_vecs": np.zeros((2, 2), np.float16)}))
    with pytest.raises(fnn.ShapeError, match=r"load_rnnlm: .*vectors\.pkl' holds a dict, not the book's list of arrays"):
        dlfs.load_rnnlm(path)


def test_better_rnnlm_needs_equal_embedding_and_hidden_sizes() -> None:
    with pytest.raises(fnn.ShapeError, match=r"wordvec must equal hidden; got wordvec=100, hidden=650"):
        dlfs.better_rnnlm(wordvec=100, hidden=650)


def test_zero_state_needs_a_recurrent_model() -> None:
    model = fnn.Graph("x", (fnn.Node("y", fnn.Dense(2), "x"),), "y")
    with pytest.raises(fnn.ShapeError, match=r"has no recurrent layer, so it has no state"):
        dlfs.zero_state(model, 1)


def test_training_gradient_with_ignored_targets_matches_central_differences() -> None:
    """The training loop's gradient: the time loss (one target ignored) through better_rnnlm, state constant."""
    b = fnn.backend(dtype="float64")
    model = dlfs.better_rnnlm(vocab=7, wordvec=3, hidden=3, dropout=0.4)
    params = model.init(fnn.random.key(0), dlfs.rnnlm_in_shape(model, time_size=4), b)
    ids, t = np.array([[1, 2, 3, 2], [0, 6, 1, 5]]), np.array([[2, 3, -1, 6], [6, 1, 5, 0]])
    state, key = random_state(model, 2, b, seed=1), fnn.random.key(2)
    loss = fnn.losses.time_softmax_cross_entropy

    def value(p: Any) -> float:
        (logits, _), _, _ = model.forward_train(p, None, (ids, state), key)
        return float(loss(logits, t))

    (logits, _), residuals, _ = model.forward_train(params, None, (ids, state), key)
    grads, _ = model.grad(params, residuals, (loss.grad(logits, t), None))
    numerical = fnn.numerical_grad(value, params, eps=1e-6)
    for name in params:
        for g, n in zip(fnn.tree.leaves(grads[name]), fnn.tree.leaves(numerical[name])):
            assert_allclose(g, n, rtol=1e-5, atol=1e-8)
    assert grads["logits"].w is None  # the tied weight's gradient is on the embedding
