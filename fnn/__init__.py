"""fnn: a functional neural-network library on NumPy and CuPy with hand-derived gradients.

Networks are immutable pytrees of parameters; every layer has a pure ``init``,
``apply``/``forward`` and a hand-derived ``grad``; layers compose with
:func:`sequential`, the combinators (:func:`parallel`, :class:`FanOut`,
:class:`FanInSum`, :class:`FanInConcat`, :func:`residual`) and :class:`Graph`, and
are themselves layers. See ``docs/`` for the tutorial and the design.
"""

from fnn import datasets as datasets
from fnn import distributed as distributed
from fnn import functional as functional
from fnn import initializers as initializers
from fnn import io as io
from fnn import losses as losses
from fnn import metrics as metrics
from fnn import optim as optim
from fnn import random as random
from fnn import text as text
from fnn import train as train
from fnn import tree as tree
from fnn.backend import Backend as Backend
from fnn.backend import array_module as array_module
from fnn.backend import backend as backend
from fnn.backend import default_backend as default_backend
from fnn.backend import to_numpy as to_numpy
from fnn.backprop import grad as grad
from fnn.backprop import numerical_grad as numerical_grad
from fnn.backprop import value_and_grad as value_and_grad
from fnn.backprop import value_grad_and_state as value_grad_and_state
from fnn.errors import BackendError as BackendError
from fnn.errors import DataError as DataError
from fnn.errors import DistributedError as DistributedError
from fnn.errors import DTypeError as DTypeError
from fnn.errors import FnnError as FnnError
from fnn.errors import FormatError as FormatError
from fnn.errors import GradCheckError as GradCheckError
from fnn.errors import ShapeError as ShapeError
from fnn.errors import StateError as StateError
from fnn.errors import StructureError as StructureError
from fnn.errors import TrainingError as TrainingError
from fnn.gradcheck import check_grads as check_grads
from fnn.layers import ELU as ELU
from fnn.layers import GRU as GRU
from fnn.layers import LSTM as LSTM
from fnn.layers import RNN as RNN
from fnn.layers import Attention as Attention
from fnn.layers import AvgPool2D as AvgPool2D
from fnn.layers import BatchNorm as BatchNorm
from fnn.layers import BatchNormParams as BatchNormParams
from fnn.layers import BatchNormState as BatchNormState
from fnn.layers import Composite as Composite
from fnn.layers import Conv2D as Conv2D
from fnn.layers import Conv2DParams as Conv2DParams
from fnn.layers import Dense as Dense
from fnn.layers import DenseParams as DenseParams
from fnn.layers import Dropout as Dropout
from fnn.layers import Embedding as Embedding
from fnn.layers import EmbeddingDot as EmbeddingDot
from fnn.layers import EmbeddingParams as EmbeddingParams
from fnn.layers import FanInConcat as FanInConcat
from fnn.layers import FanInSum as FanInSum
from fnn.layers import FanOut as FanOut
from fnn.layers import Flatten as Flatten
from fnn.layers import GlobalAvgPool2D as GlobalAvgPool2D
from fnn.layers import Graph as Graph
from fnn.layers import GraphParams as GraphParams
from fnn.layers import GRUParams as GRUParams
from fnn.layers import Layer as Layer
from fnn.layers import LayerNorm as LayerNorm
from fnn.layers import LayerNormParams as LayerNormParams
from fnn.layers import LeakyReLU as LeakyReLU
from fnn.layers import LSTMParams as LSTMParams
from fnn.layers import Maxout as Maxout
from fnn.layers import MaxPool2D as MaxPool2D
from fnn.layers import Node as Node
from fnn.layers import Parallel as Parallel
from fnn.layers import PReLU as PReLU
from fnn.layers import PReLUParams as PReLUParams
from fnn.layers import Repeat as Repeat
from fnn.layers import Residual as Residual
from fnn.layers import RNNParams as RNNParams
from fnn.layers import Sequential as Sequential
from fnn.layers import Share as Share
from fnn.layers import Sum as Sum
from fnn.layers import identity as identity
from fnn.layers import log_softmax as log_softmax
from fnn.layers import parallel as parallel
from fnn.layers import relu as relu
from fnn.layers import residual as residual
from fnn.layers import sequential as sequential
from fnn.layers import sigmoid as sigmoid
from fnn.layers import softmax as softmax
from fnn.layers import step as step
from fnn.layers import tanh as tanh
from fnn.train import History as History
from fnn.train import accuracy as accuracy
from fnn.train import batches as batches
from fnn.train import evaluate as evaluate
from fnn.train import fit as fit
from fnn.train import train_step as train_step
from fnn.tree import param_count as param_count

__version__ = "0.1.0"

__all__ = [
    "Graph",
    "GraphParams",
    "Node",
    "Share",
    "Attention",
    "Composite",
    "FanInConcat",
    "FanInSum",
    "FanOut",
    "Parallel",
    "Residual",
    "parallel",
    "residual",
    "AvgPool2D",
    "BatchNorm",
    "BatchNormParams",
    "BatchNormState",
    "Conv2D",
    "Conv2DParams",
    "Dropout",
    "Embedding",
    "EmbeddingParams",
    "EmbeddingDot",
    "Flatten",
    "GlobalAvgPool2D",
    "LayerNorm",
    "LayerNormParams",
    "GRU",
    "GRUParams",
    "LSTM",
    "LSTMParams",
    "MaxPool2D",
    "ELU",
    "Backend",
    "BackendError",
    "DTypeError",
    "DataError",
    "DistributedError",
    "Dense",
    "DenseParams",
    "FnnError",
    "FormatError",
    "GradCheckError",
    "History",
    "Layer",
    "LeakyReLU",
    "Maxout",
    "PReLU",
    "PReLUParams",
    "Repeat",
    "RNN",
    "RNNParams",
    "Sequential",
    "ShapeError",
    "StateError",
    "StructureError",
    "Sum",
    "TrainingError",
    "accuracy",
    "array_module",
    "backend",
    "batches",
    "check_grads",
    "datasets",
    "distributed",
    "default_backend",
    "evaluate",
    "fit",
    "functional",
    "grad",
    "identity",
    "initializers",
    "io",
    "log_softmax",
    "losses",
    "metrics",
    "numerical_grad",
    "optim",
    "param_count",
    "random",
    "relu",
    "sequential",
    "sigmoid",
    "softmax",
    "step",
    "tanh",
    "text",
    "to_numpy",
    "train",
    "train_step",
    "tree",
    "value_and_grad",
    "value_grad_and_state",
]
