"""The models of "Deep Learning from Scratch" 1 and 2 as fnn layers; converters for the books' weights.

- :mod:`fnn.dlfs.dlfs1`: the first book's convnets (``simple_convnet``, ``deep_convnet``)
  and their weight dicts.
- :mod:`fnn.dlfs.dlfs2`: the second book's language models (``simple_rnnlm``, ``rnnlm``,
  ``better_rnnlm``), the published ``Rnnlm.pkl`` and the book's perplexity evaluation.
- :mod:`fnn.dlfs.seq2seq`: the second book's ``seq2seq``, ``peeky_seq2seq`` and
  ``attention_seq2seq`` (ch. 7-8), greedy ``generate`` and the published ``AttentionSeq2seq.pkl``.

- :mod:`fnn.dlfs.word2vec`: word2vec (``simple_cbow``, ``simple_skip_gram``, ``cbow``,
  ``skip_gram``) and the published ``cbow_params.pkl`` (``load_cbow_params``).

Everything is re-exported here, so ``from fnn import dlfs; dlfs.simple_convnet()`` works.
"""

from fnn.dlfs.dlfs1 import BOOK_DROPOUT_RATIO as BOOK_DROPOUT_RATIO
from fnn.dlfs.dlfs1 import deep_convnet as deep_convnet
from fnn.dlfs.dlfs1 import deep_convnet_params as deep_convnet_params
from fnn.dlfs.dlfs1 import simple_convnet as simple_convnet
from fnn.dlfs.dlfs1 import simple_convnet_params as simple_convnet_params
from fnn.dlfs.dlfs2 import better_rnnlm as better_rnnlm
from fnn.dlfs.dlfs2 import eval_perplexity as eval_perplexity
from fnn.dlfs.dlfs2 import load_rnnlm as load_rnnlm
from fnn.dlfs.dlfs2 import rnnlm as rnnlm
from fnn.dlfs.dlfs2 import rnnlm_in_shape as rnnlm_in_shape
from fnn.dlfs.dlfs2 import rnnlm_params as rnnlm_params
from fnn.dlfs.dlfs2 import simple_rnnlm as simple_rnnlm
from fnn.dlfs.dlfs2 import zero_state as zero_state
from fnn.dlfs.seq2seq import attention_seq2seq as attention_seq2seq
from fnn.dlfs.seq2seq import attention_seq2seq_params as attention_seq2seq_params
from fnn.dlfs.seq2seq import attention_weights as attention_weights
from fnn.dlfs.seq2seq import generate as generate
from fnn.dlfs.seq2seq import load_attention_seq2seq as load_attention_seq2seq
from fnn.dlfs.seq2seq import peeky_seq2seq as peeky_seq2seq
from fnn.dlfs.seq2seq import seq2seq as seq2seq
from fnn.dlfs.seq2seq import teacher_forcing as teacher_forcing
from fnn.dlfs.word2vec import WordVectors as WordVectors
from fnn.dlfs.word2vec import cbow as cbow
from fnn.dlfs.word2vec import cbow_in_shape as cbow_in_shape
from fnn.dlfs.word2vec import load_cbow_params as load_cbow_params
from fnn.dlfs.word2vec import simple_cbow as simple_cbow
from fnn.dlfs.word2vec import simple_skip_gram as simple_skip_gram
from fnn.dlfs.word2vec import skip_gram as skip_gram
from fnn.dlfs.word2vec import skip_gram_in_shape as skip_gram_in_shape
from fnn.dlfs.word2vec import word_vectors as word_vectors

__all__ = [
    "BOOK_DROPOUT_RATIO",
    "simple_convnet",
    "deep_convnet",
    "simple_convnet_params",
    "deep_convnet_params",
    "simple_rnnlm",
    "rnnlm",
    "better_rnnlm",
    "rnnlm_in_shape",
    "zero_state",
    "rnnlm_params",
    "load_rnnlm",
    "eval_perplexity",
    "simple_cbow",
    "simple_skip_gram",
    "cbow",
    "skip_gram",
    "cbow_in_shape",
    "skip_gram_in_shape",
    "word_vectors",
    "WordVectors",
    "load_cbow_params",
    "seq2seq",
    "peeky_seq2seq",
    "attention_seq2seq",
    "teacher_forcing",
    "generate",
    "attention_weights",
    "attention_seq2seq_params",
    "load_attention_seq2seq",
]
