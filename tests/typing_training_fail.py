"""A user's training script with the mistakes ``mypy --strict`` must catch; never run, only type-checked.

The typed counterpart that runs is ``test_the_params_type_flows_through_a_training_script``
in ``tests/test_typing.py``. Each mistake carries the error code mypy must report;
``warn_unused_ignores`` (part of ``--strict``) turns a mistake that stops being
caught into an error. The mistakes marked "new" went unnoticed while
``apply_updates``, ``tree.map``, ``io.load``, the optimizer state and ``fit``'s
unpacking were typed ``Any``.
"""

from __future__ import annotations

from pathlib import Path

import fnn


def training_script_with_mistakes(folder: Path) -> None:
    b = fnn.backend(dtype="float64")
    key = fnn.random.key(0)
    model = fnn.Dense(2)
    params = model.init(key, (3,), b)
    x, t = b.ones((4, 3)), b.zeros((4, 2))
    opt = fnn.optim.adam(0.1)
    opt_state = opt.init(params)
    loss, grads = fnn.value_and_grad(model, fnn.losses.mse)(params, x, t)
    print(params.W)  # type: ignore[attr-defined]  # 1: a misspelled param field
    updates, opt_state = opt.update(grads, opt_state, params)
    print(updates.weight)  # type: ignore[attr-defined]  # 2 (new): a field of the updates
    opt.update(opt_state, grads, params)  # type: ignore[arg-type]  # 3 (new): state and grads swapped
    print(opt_state[0].m)  # type: ignore[attr-defined]  # 4 (new): Adam's moment is `mu`
    print(opt_state.mu)  # type: ignore[attr-defined]  # 5 (new): adam's state is a tuple of two: [0].mu
    new_params = fnn.optim.apply_updates(params, updates)
    new_params.w.reshap(3, 2)  # type: ignore[attr-defined]  # 6 (new): a method on apply_updates' result
    print(fnn.tree.map(lambda p: p * 0.5, params).bias)  # type: ignore[attr-defined]  # 7 (new): tree.map
    loaded = fnn.io.load(folder / "params.npz", like=params)
    print(loaded.weights)  # type: ignore[attr-defined]  # 8 (new): a field after io.load
    trained, state, history = fnn.fit(model, fnn.losses.mse, opt, params, x, t, key=key, epochs=1, batch_size=2)
    print(history.losses)  # type: ignore[attr-defined]  # 9 (new): History's field is `loss`
    print(trained.W)  # type: ignore[attr-defined]  # 10 (new): a param field after fit
    fnn.fit(model, fnn.losses.mse, opt, params, x, t, key=key, epochs=1, batchsize=2)  # type: ignore[call-arg]  # 11
    fnn.fit(model, fnn.losses.mse, opt, params, x, t, key=0, epochs=1, batch_size=2)  # type: ignore[arg-type]  # 12
