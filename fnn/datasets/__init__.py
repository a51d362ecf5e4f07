"""Data sets: MNIST and Penn Treebank (download, verify, parse), the course's small sets, TBPTT windows.

>>> import fnn
>>> x, t = fnn.datasets.spiral(fnn.random.key(0), n_per_class=10)
>>> x.shape, t.shape
((30, 2), (30, 3))

See ``docs/datasets.md`` for MNIST and PTB offline and online. :func:`train_val_split`
and :func:`random_subset` split and sample any arrays with a key.
"""

from fnn.datasets.download import download_file as download_file
from fnn.datasets.download import sha256_of as sha256_of
from fnn.datasets.encoding import one_hot as one_hot
from fnn.datasets.idx import parse_idx as parse_idx
from fnn.datasets.idx import read_idx as read_idx
from fnn.datasets.mnist import MNIST_FILES as MNIST_FILES
from fnn.datasets.mnist import MNIST_MIRRORS as MNIST_MIRRORS
from fnn.datasets.mnist import MNIST_SHA256 as MNIST_SHA256
from fnn.datasets.mnist import load_mnist as load_mnist
from fnn.datasets.mnist import mnist_root as mnist_root
from fnn.datasets.ptb import PTB as PTB
from fnn.datasets.ptb import PTB_FILES as PTB_FILES
from fnn.datasets.ptb import PTB_MIRRORS as PTB_MIRRORS
from fnn.datasets.ptb import PTB_SHA256 as PTB_SHA256
from fnn.datasets.ptb import load_ptb as load_ptb
from fnn.datasets.ptb import ptb_root as ptb_root
from fnn.datasets.sequence import TBPTTBatches as TBPTTBatches
from fnn.datasets.split import random_subset as random_subset
from fnn.datasets.split import split_indices as split_indices
from fnn.datasets.split import train_val_split as train_val_split
from fnn.datasets.toy import logic_gate as logic_gate
from fnn.datasets.toy import spiral as spiral
from fnn.datasets.toy import study_hours as study_hours
from fnn.datasets.toy import xor as xor
from fnn.datasets.toy_sequences import TOY_SEQUENCE_MIRRORS as TOY_SEQUENCE_MIRRORS
from fnn.datasets.toy_sequences import TOY_SEQUENCE_SHA256 as TOY_SEQUENCE_SHA256
from fnn.datasets.toy_sequences import CharSequences as CharSequences
from fnn.datasets.toy_sequences import load_addition as load_addition
from fnn.datasets.toy_sequences import load_char_sequences as load_char_sequences
from fnn.datasets.toy_sequences import load_date as load_date
from fnn.datasets.toy_sequences import toy_sequences_root as toy_sequences_root

__all__ = [
    "CharSequences",
    "TOY_SEQUENCE_MIRRORS",
    "TOY_SEQUENCE_SHA256",
    "load_addition",
    "load_char_sequences",
    "load_date",
    "toy_sequences_root",
    "MNIST_FILES",
    "MNIST_MIRRORS",
    "MNIST_SHA256",
    "PTB",
    "PTB_FILES",
    "PTB_MIRRORS",
    "PTB_SHA256",
    "TBPTTBatches",
    "download_file",
    "load_mnist",
    "load_ptb",
    "logic_gate",
    "mnist_root",
    "one_hot",
    "parse_idx",
    "ptb_root",
    "random_subset",
    "read_idx",
    "sha256_of",
    "spiral",
    "split_indices",
    "study_hours",
    "train_val_split",
    "xor",
]
