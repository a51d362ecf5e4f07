"""Data sets: MNIST (download, verify, cache, parse) and the small data sets of the course.

>>> import fnn
>>> x, t = fnn.datasets.spiral(fnn.random.key(0), n_per_class=10)
>>> x.shape, t.shape
((30, 2), (30, 3))

See ``docs/datasets.md`` for MNIST offline and online. :func:`train_val_split` and
:func:`random_subset` split and sample any arrays with a key.
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
from fnn.datasets.split import random_subset as random_subset
from fnn.datasets.split import split_indices as split_indices
from fnn.datasets.split import train_val_split as train_val_split
from fnn.datasets.toy import logic_gate as logic_gate
from fnn.datasets.toy import spiral as spiral
from fnn.datasets.toy import study_hours as study_hours
from fnn.datasets.toy import xor as xor

__all__ = [
    "MNIST_FILES",
    "MNIST_MIRRORS",
    "MNIST_SHA256",
    "download_file",
    "load_mnist",
    "logic_gate",
    "mnist_root",
    "one_hot",
    "parse_idx",
    "random_subset",
    "read_idx",
    "sha256_of",
    "spiral",
    "split_indices",
    "study_hours",
    "train_val_split",
    "xor",
]
