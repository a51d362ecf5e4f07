"""Training: minibatches with keys, a ``fit`` loop with progress, history, callbacks and checkpoints.

The package splits by responsibility: :mod:`~fnn.train.batching` (minibatches),
:mod:`~fnn.train.loop` (``fit``), :mod:`~fnn.train.step` (``train_step``), :mod:`~fnn.train.history`,
:mod:`~fnn.train.callbacks`, :mod:`~fnn.train.checkpoints` and
:mod:`~fnn.train.evaluation`; every public name is here.

Everything is pure: :func:`fit` takes params, optimizer state and a key and
returns new ones (see :mod:`fnn.train.loop` for how keys are derived). A
hand-written loop needs only the public pieces::

    step = fnn.value_and_grad(model, fnn.losses.softmax_cross_entropy)
    opt_state = opt.init(params)
    for epoch in range(epochs):
        shuffle_key, _ = fnn.random.split(fnn.random.fold_in(key, epoch))
        for xb, tb in fnn.batches(shuffle_key, x, t, batch_size=30):
            loss, grads = step(params, xb, tb)
            updates, opt_state = opt.update(grads, opt_state, params)
            params = fnn.optim.apply_updates(params, updates)

>>> import fnn
>>> x, t = fnn.datasets.spiral(fnn.random.key(0), n_per_class=20)
>>> model = fnn.sequential(fnn.Dense(10), fnn.sigmoid, fnn.Dense(3))
>>> params = model.init(fnn.random.key(1), (2,))
>>> result = fnn.fit(model, fnn.losses.softmax_cross_entropy, fnn.optim.sgd(1.0), params, x, t,
...                  key=fnn.random.key(2), epochs=3, batch_size=30, progress=False)
>>> params, opt_state, history = result
>>> len(history.loss), len(history.step_loss)
(3, 6)
"""

from fnn.train.batching import batches as batches
from fnn.train.callbacks import BookLog as BookLog
from fnn.train.callbacks import Callback as Callback
from fnn.train.callbacks import EarlyStopping as EarlyStopping
from fnn.train.callbacks import EpochLog as EpochLog
from fnn.train.callbacks import Event as Event
from fnn.train.callbacks import NonFiniteCheck as NonFiniteCheck
from fnn.train.callbacks import Stop as Stop
from fnn.train.checkpoints import Checkpoint as Checkpoint
from fnn.train.checkpoints import Checkpoints as Checkpoints
from fnn.train.checkpoints import latest_checkpoint as latest_checkpoint
from fnn.train.checkpoints import load_checkpoint as load_checkpoint
from fnn.train.checkpoints import save_checkpoint as save_checkpoint
from fnn.train.evaluation import Evaluation as Evaluation
from fnn.train.evaluation import accuracy as accuracy
from fnn.train.evaluation import evaluate as evaluate
from fnn.train.history import History as History
from fnn.train.loop import DivergenceError as DivergenceError
from fnn.train.loop import FitInterrupted as FitInterrupted
from fnn.train.loop import FitResult as FitResult
from fnn.train.loop import fit as fit
from fnn.train.step import TrainStepFn as TrainStepFn
from fnn.train.step import train_step as train_step

__all__ = [
    "BookLog",
    "Callback",
    "Checkpoint",
    "Checkpoints",
    "DivergenceError",
    "EarlyStopping",
    "EpochLog",
    "Evaluation",
    "Event",
    "FitInterrupted",
    "FitResult",
    "History",
    "NonFiniteCheck",
    "Stop",
    "TrainStepFn",
    "accuracy",
    "batches",
    "evaluate",
    "fit",
    "latest_checkpoint",
    "load_checkpoint",
    "save_checkpoint",
    "train_step",
]
