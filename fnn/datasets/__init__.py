"""Data sets: MNIST (download, verify, cache, parse) and the small data sets of the course.

>>> import fnn
>>> x, t = fnn.datasets.spiral(fnn.random.key(0), n_per_class=10)
>>> x.shape, t.shape
((30, 2), (30, 3))
"""

from fnn.datasets.encoding import one_hot as one_hot
from fnn.datasets.toy import logic_gate as logic_gate
from fnn.datasets.toy import spiral as spiral
from fnn.datasets.toy import study_hours as study_hours
from fnn.datasets.toy import xor as xor

__all__ = [
    "logic_gate",
    "one_hot",
    "spiral",
    "study_hours",
    "xor",
]
