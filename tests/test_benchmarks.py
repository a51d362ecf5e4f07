"""The benchmark suite's implementations compute the same thing (tiny sizes; no timing).

fnn, the textbook NumPy code and, where importable, PyTorch and JAX each take one SGD
step from the same parameters; losses and updates must agree to float32 precision.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from benchmarks import rnnlm, seq2seq_steps, suite
from benchmarks.floor import Floor, InferenceFloor
from benchmarks.workloads import MLP_WORKLOADS, W1, W2, W4, Workload, init_params, make_data

TINY = [w.scaled(batch=8, hidden=16) for w in MLP_WORKLOADS] + [W4.scaled(batch=4)]


@pytest.mark.parametrize("w", TINY, ids=lambda w: w.name)
def test_training_step_agrees(w: Workload) -> None:
    names = ["textbook"] + [n for n in ("torch", "jax") if not suite.available(n) and w.name == "W1"]
    errors = suite.check_training(w, names)
    assert set(errors) == set(names)


def test_inference_agrees() -> None:
    for w in (W1.scaled(batch=8, hidden=16), W4.scaled(batch=2)):
        x, _ = make_data(w, 6, seed=6)
        assert "textbook" in suite.check_inference(w, x, 3)


def test_adam_and_fit_agree() -> None:
    small = W1.scaled(batch=10, hidden=8)
    assert suite.check_adam(small, steps=2)["textbook"] < 1e-3
    assert suite.check_fit(small) == 0.0


def test_floor_runs() -> None:
    for w in TINY:
        x, t = make_data(w)
        floor = Floor(w, init_params(w), x, t)
        floor.step()
        assert all(np.isfinite(d).all() for d in floor.dw)
    x_all, _ = make_data(W1, 4)
    InferenceFloor(W1, init_params(W1), x_all, 2).run()


@pytest.mark.parametrize("w", [W1, W2], ids=lambda w: w.name)
def test_the_fastest_numpy_step_is_fnns_step(w: Workload) -> None:
    """benchmarks/numpy_limit.py's hand-fused step computes fnn's loss and SGD update."""
    import fnn
    from benchmarks.numpy_limit import FastestStep
    from benchmarks.workloads import LR, fnn_model, fnn_params, to_canonical

    params, (x, t) = init_params(w, seed=3), make_data(w, seed=4)
    fastest = FastestStep(w, params, x, t)
    loss = fastest.step()
    tree = fnn_params(w, params)
    value, grads = fnn.value_and_grad(fnn_model(w), fnn.losses.softmax_cross_entropy)(tree, x, t)
    opt = fnn.optim.sgd(LR)
    new = to_canonical(w, fnn.optim.apply_updates(tree, opt.update(grads, opt.init(tree), tree)[0]))
    assert loss == pytest.approx(float(value), rel=1e-5)
    for mine, theirs, before in zip(fastest.new, new, params):
        assert not np.array_equal(theirs, before)  # every parameter moved
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-7)


TINY_LM = rnnlm.RnnlmWorkload(vocab=30, dim=8, hidden=8, batch=3, time=4, eval_batch=2)


def _lm_names() -> list[str]:
    return ["textbook"] + (["torch"] if not suite.available("torch") else [])


def test_rnnlm_steps_agree_with_the_clip_acting() -> None:
    """The chapter 6 LSTM LM: two steps (state carried) of fnn, the book-style code and PyTorch agree."""
    import fnn

    corpus = rnnlm.make_corpus(TINY_LM, 200)
    params, (xs, ts) = rnnlm.init_params(TINY_LM), rnnlm.make_window(TINY_LM, corpus)
    step = rnnlm.FnnRnnlmStep(TINY_LM, params, xs, ts)
    _, grads, _ = step.step_fn(step.params, step.state, xs, ts)
    norm = np.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in fnn.tree.leaves(grads)))
    assert norm > rnnlm.MAX_NORM * 1.1  # the first step is clipped, so the check covers the clip
    errors = suite.check_rnnlm_training(TINY_LM, corpus, _lm_names())
    assert set(errors) == set(_lm_names())


def test_rnnlm_perplexity_agrees() -> None:
    corpus = rnnlm.make_corpus(TINY_LM, 100, seed=3)
    errors = suite.check_rnnlm_inference(TINY_LM, corpus)
    assert set(errors) == set(_lm_names())
    assert rnnlm.FnnPerplexity(TINY_LM, rnnlm.init_params(TINY_LM), corpus).run() > 1.0


def test_rnnlm_floors_run() -> None:
    params, corpus = rnnlm.init_params(TINY_LM), rnnlm.make_corpus(TINY_LM, 100)
    floor = rnnlm.RnnlmFloor(TINY_LM, params, *rnnlm.make_window(TINY_LM, corpus))
    floor.step()
    assert np.isfinite(floor.buffers["dwx"]).all() and np.isfinite(floor.buffers["logits"]).all()
    rnnlm.PerplexityFloor(TINY_LM, params, corpus).run()


TINY_SEQ2SEQ = [
    dataclasses.replace(w, vocab=9, question=6, answer=4, wordvec=3, hidden=5, batch=4)
    for w in suite.SEQ2SEQ_WORKLOADS
]


@pytest.mark.parametrize("w", TINY_SEQ2SEQ, ids=lambda w: w.name)
def test_seq2seq_steps_agree(w: seq2seq_steps.Seq2seqWorkload) -> None:
    """fnn, the book-style layers and (where importable) PyTorch: one step's loss and updates."""
    names = _lm_names()
    errors = suite.check_seq2seq_training(w, names)
    assert sorted(errors) == sorted(names)
    assert all(loss < 1e-5 and update < 1e-3 for loss, update in errors.values())
