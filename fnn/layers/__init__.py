"""Layers: the contract (:class:`Layer`), ``sequential`` and one module per family."""

from fnn.layers.activations import ELU as ELU
from fnn.layers.activations import Activation as Activation
from fnn.layers.activations import Identity as Identity
from fnn.layers.activations import LeakyReLU as LeakyReLU
from fnn.layers.activations import LogSoftmax as LogSoftmax
from fnn.layers.activations import PReLU as PReLU
from fnn.layers.activations import PReLUParams as PReLUParams
from fnn.layers.activations import ReLU as ReLU
from fnn.layers.activations import Sigmoid as Sigmoid
from fnn.layers.activations import Softmax as Softmax
from fnn.layers.activations import Step as Step
from fnn.layers.activations import Tanh as Tanh
from fnn.layers.activations import identity as identity
from fnn.layers.activations import log_softmax as log_softmax
from fnn.layers.activations import relu as relu
from fnn.layers.activations import sigmoid as sigmoid
from fnn.layers.activations import softmax as softmax
from fnn.layers.activations import step as step
from fnn.layers.activations import tanh as tanh
from fnn.layers.attention import Attention as Attention
from fnn.layers.combinators import FanInConcat as FanInConcat
from fnn.layers.combinators import FanInSum as FanInSum
from fnn.layers.combinators import FanOut as FanOut
from fnn.layers.combinators import Parallel as Parallel
from fnn.layers.combinators import Residual as Residual
from fnn.layers.combinators import parallel as parallel
from fnn.layers.combinators import residual as residual
from fnn.layers.conv import Conv2D as Conv2D
from fnn.layers.conv import Conv2DParams as Conv2DParams
from fnn.layers.core import Composite as Composite
from fnn.layers.core import Layer as Layer
from fnn.layers.dense import Dense as Dense
from fnn.layers.dense import DenseParams as DenseParams
from fnn.layers.dropout import Dropout as Dropout
from fnn.layers.embedding import Embedding as Embedding
from fnn.layers.embedding import EmbeddingParams as EmbeddingParams
from fnn.layers.embedding_dot import EmbeddingDot as EmbeddingDot
from fnn.layers.graph import Graph as Graph
from fnn.layers.graph import GraphParams as GraphParams
from fnn.layers.graph import Node as Node
from fnn.layers.graph import Share as Share
from fnn.layers.maxout import Maxout as Maxout
from fnn.layers.nodes import Repeat as Repeat
from fnn.layers.nodes import Sum as Sum
from fnn.layers.normalization import BatchNorm as BatchNorm
from fnn.layers.normalization import BatchNormParams as BatchNormParams
from fnn.layers.normalization import BatchNormState as BatchNormState
from fnn.layers.normalization import LayerNorm as LayerNorm
from fnn.layers.normalization import LayerNormParams as LayerNormParams
from fnn.layers.pooling import AvgPool2D as AvgPool2D
from fnn.layers.pooling import GlobalAvgPool2D as GlobalAvgPool2D
from fnn.layers.pooling import MaxPool2D as MaxPool2D
from fnn.layers.recurrent import GRU as GRU
from fnn.layers.recurrent import LSTM as LSTM
from fnn.layers.recurrent import RNN as RNN
from fnn.layers.recurrent import GRUParams as GRUParams
from fnn.layers.recurrent import LSTMParams as LSTMParams
from fnn.layers.recurrent import RNNParams as RNNParams
from fnn.layers.reshape import Flatten as Flatten
from fnn.layers.sequential import Sequential as Sequential
from fnn.layers.sequential import sequential as sequential

__all__ = [
    "Attention",
    "Graph",
    "GraphParams",
    "Node",
    "Share",
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
    "Activation",
    "Dense",
    "DenseParams",
    "Identity",
    "Layer",
    "LeakyReLU",
    "LogSoftmax",
    "Maxout",
    "PReLU",
    "PReLUParams",
    "ReLU",
    "RNN",
    "RNNParams",
    "Repeat",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Step",
    "Sum",
    "Tanh",
    "identity",
    "log_softmax",
    "relu",
    "sequential",
    "sigmoid",
    "softmax",
    "step",
    "tanh",
]
