"""The models of "Deep Learning from Scratch" 1 and 2 as fnn layers; converters for the books' weights.

- :mod:`fnn.dlfs.dlfs1`: the first book's convnets (``simple_convnet``, ``deep_convnet``)
  and their weight dicts.
- :mod:`fnn.dlfs.dlfs2`: the second book's language models (``simple_rnnlm``, ``rnnlm``,
  ``better_rnnlm``), the published ``Rnnlm.pkl`` and the book's perplexity evaluation.

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
]
