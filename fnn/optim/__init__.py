"""Optimizers as pure ``(init, update)`` pairs, optax style, with chaining, clipping and schedules.

=============================  ==========================================================================
module                         contents
=============================  ==========================================================================
:mod:`fnn.optim.base`          ``GradientTransformation`` (``Optimizer``), ``chain``, ``apply_updates``
:mod:`fnn.optim.transforms`    primitive transforms (``scale_by_adam``, ``clip_by_global_norm``, …)
:mod:`fnn.optim.aliases`       ``sgd``, ``momentum``, ``adam``, … and their state types (``AdamState``, …)
:mod:`fnn.optim.schedules`     schedules (``cosine_decay``, ``linear_warmup``, ``join``, …)
:mod:`fnn.optim.inject`        ``inject_hyperparams``: hyperparameters in the state, ``set_hyperparams``
:mod:`fnn.optim.plateau`       ``reduce_on_plateau`` and ``observe``, fed by a loop's evaluations
:mod:`fnn.optim.states`        ``find_states``: one kind of state wherever an optimizer nests it
:mod:`fnn.optim.wrappers`      ``accumulate_gradients``, ``masked``, ``freeze``, ``path_mask``
:mod:`fnn.optim.ema`           ``ema_params`` and ``averaged_params``: a moving average of the params
=============================  ==========================================================================

One training step::

    loss, grads = fnn.value_and_grad(model, fnn.losses.softmax_cross_entropy)(params, x, t)
    updates, opt_state = opt.update(grads, opt_state, params)
    params = fnn.optim.apply_updates(params, updates)

>>> import numpy as np
>>> from fnn import optim
>>> opt = optim.chain(optim.clip_by_global_norm(1.0), optim.adam(optim.cosine_decay(0.1, 100)))
>>> params = (np.float32([1.0, 2.0]),)
>>> state = opt.init(params)
>>> updates, state = opt.update((np.float32([0.5, -0.5]),), state, params)
>>> optim.apply_updates(params, updates)[0]
array([0.9, 2.1], dtype=float32)
"""

from fnn.optim import schedules as schedules
from fnn.optim.aliases import AdaGradState as AdaGradState
from fnn.optim.aliases import AdamState as AdamState
from fnn.optim.aliases import AdamWState as AdamWState
from fnn.optim.aliases import MomentumState as MomentumState
from fnn.optim.aliases import RmsPropState as RmsPropState
from fnn.optim.aliases import SgdState as SgdState
from fnn.optim.aliases import adagrad as adagrad
from fnn.optim.aliases import adam as adam
from fnn.optim.aliases import adamw as adamw
from fnn.optim.aliases import momentum as momentum
from fnn.optim.aliases import nesterov as nesterov
from fnn.optim.aliases import rmsprop as rmsprop
from fnn.optim.aliases import sgd as sgd
from fnn.optim.base import EmptyState as EmptyState
from fnn.optim.base import GradientTransformation as GradientTransformation
from fnn.optim.base import InitFn as InitFn
from fnn.optim.base import Optimizer as Optimizer
from fnn.optim.base import ScalarOrSchedule as ScalarOrSchedule
from fnn.optim.base import Schedule as Schedule
from fnn.optim.base import StepOwnedFn as StepOwnedFn
from fnn.optim.base import UpdateFn as UpdateFn
from fnn.optim.base import apply_updates as apply_updates
from fnn.optim.base import chain as chain
from fnn.optim.base import identity as identity
from fnn.optim.ema import EmaParamsState as EmaParamsState
from fnn.optim.ema import averaged_params as averaged_params
from fnn.optim.ema import ema_params as ema_params
from fnn.optim.inject import InjectHyperparamsState as InjectHyperparamsState
from fnn.optim.inject import hyperparams as hyperparams
from fnn.optim.inject import inject_hyperparams as inject_hyperparams
from fnn.optim.inject import set_hyperparams as set_hyperparams
from fnn.optim.plateau import PlateauRule as PlateauRule
from fnn.optim.plateau import ReduceOnPlateauState as ReduceOnPlateauState
from fnn.optim.plateau import observe as observe
from fnn.optim.plateau import reduce_on_plateau as reduce_on_plateau
from fnn.optim.schedules import constant as constant
from fnn.optim.schedules import cosine_decay as cosine_decay
from fnn.optim.schedules import exponential_decay as exponential_decay
from fnn.optim.schedules import join as join
from fnn.optim.schedules import linear as linear
from fnn.optim.schedules import linear_warmup as linear_warmup
from fnn.optim.schedules import step_decay as step_decay
from fnn.optim.schedules import warmup_cosine_decay as warmup_cosine_decay
from fnn.optim.states import find_states as find_states
from fnn.optim.transforms import LearningRateState as LearningRateState
from fnn.optim.transforms import ScaleByAdamState as ScaleByAdamState
from fnn.optim.transforms import ScaleByRmsState as ScaleByRmsState
from fnn.optim.transforms import ScaleByRssState as ScaleByRssState
from fnn.optim.transforms import ScaleByScheduleState as ScaleByScheduleState
from fnn.optim.transforms import TraceState as TraceState
from fnn.optim.transforms import add_decayed_weights as add_decayed_weights
from fnn.optim.transforms import clip as clip
from fnn.optim.transforms import clip_by_global_norm as clip_by_global_norm
from fnn.optim.transforms import scale as scale
from fnn.optim.transforms import scale_by_adam as scale_by_adam
from fnn.optim.transforms import scale_by_learning_rate as scale_by_learning_rate
from fnn.optim.transforms import scale_by_rms as scale_by_rms
from fnn.optim.transforms import scale_by_rss as scale_by_rss
from fnn.optim.transforms import scale_by_schedule as scale_by_schedule
from fnn.optim.transforms import trace as trace
from fnn.optim.wrappers import AccumulateGradientsState as AccumulateGradientsState
from fnn.optim.wrappers import MaskedState as MaskedState
from fnn.optim.wrappers import accumulate_gradients as accumulate_gradients
from fnn.optim.wrappers import freeze as freeze
from fnn.optim.wrappers import masked as masked
from fnn.optim.wrappers import path_mask as path_mask

__all__ = [
    "AccumulateGradientsState",
    "AdaGradState",
    "AdamState",
    "AdamWState",
    "EmaParamsState",
    "EmptyState",
    "GradientTransformation",
    "InitFn",
    "InjectHyperparamsState",
    "LearningRateState",
    "MaskedState",
    "MomentumState",
    "Optimizer",
    "PlateauRule",
    "ReduceOnPlateauState",
    "RmsPropState",
    "ScalarOrSchedule",
    "ScaleByAdamState",
    "ScaleByRmsState",
    "ScaleByRssState",
    "ScaleByScheduleState",
    "Schedule",
    "SgdState",
    "StepOwnedFn",
    "TraceState",
    "UpdateFn",
    "accumulate_gradients",
    "adagrad",
    "adam",
    "adamw",
    "add_decayed_weights",
    "apply_updates",
    "averaged_params",
    "chain",
    "clip",
    "clip_by_global_norm",
    "constant",
    "cosine_decay",
    "ema_params",
    "exponential_decay",
    "find_states",
    "freeze",
    "hyperparams",
    "identity",
    "inject_hyperparams",
    "join",
    "linear",
    "linear_warmup",
    "masked",
    "momentum",
    "nesterov",
    "observe",
    "path_mask",
    "reduce_on_plateau",
    "rmsprop",
    "scale",
    "scale_by_adam",
    "scale_by_learning_rate",
    "scale_by_rms",
    "scale_by_rss",
    "scale_by_schedule",
    "schedules",
    "set_hyperparams",
    "sgd",
    "step_decay",
    "trace",
    "warmup_cosine_decay",
]
