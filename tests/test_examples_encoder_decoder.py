"""The encoder-decoder example: its data, a gradient check of the whole model, and a short training run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import fnn
from tests.helpers import host

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def example() -> ModuleType:
    name = "encoder_decoder"
    spec = importlib.util.spec_from_file_location(f"examples.{name}", ROOT / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_batches_reverse_the_source_and_shift_the_target_behind_the_start_symbol(example: ModuleType) -> None:
    source, decoder_input, target = (host(a) for a in example.make_batch(fnn.random.key(3), 50, 5, fnn.backend()))
    assert source.shape == decoder_input.shape == target.shape == (50, 5)
    assert source.dtype.kind == "i" and 0 <= source.min() and source.max() <= 9
    assert len(np.unique(source)) == 10
    np.testing.assert_array_equal(target, source[:, ::-1])
    np.testing.assert_array_equal(decoder_input[:, 0], example.START)
    np.testing.assert_array_equal(decoder_input[:, 1:], target[:, :-1])


def test_check_grads_on_the_whole_encoder_decoder(example: ModuleType) -> None:
    b = fnn.backend(dtype="float64")
    model = example.build_model(dim=3, hidden=4)
    params = model.init(fnn.random.key(0), ((3,), (3,)), b)
    source, decoder_input, target = example.make_batch(fnn.random.key(1), 2, 3, b)
    fnn.check_grads(model, params, (source, decoder_input))
    fnn.check_grads(model, params, (source, decoder_input), loss=example.SequenceCrossEntropy(), t=target)


def test_a_short_run_learns_to_reverse(example: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    result = example.main(["--steps", "300"])
    out = capsys.readouterr().out
    assert "of 1,000 new strings reversed exactly" in out
    assert result["losses"][-1] < 0.05 < 2.0 < result["losses"][0]
    assert result["accuracy"] > 0.97
    # Recheck on strings drawn here: the greedy answers are the reversed strings.
    source = np.random.default_rng(0).integers(0, 10, (200, 5))
    answers = host(example.greedy_decode(result["model"], result["params"], fnn.backend().asarray(source, dtype="int64")))
    assert (answers == source[:, ::-1]).all(axis=1).mean() > 0.97
