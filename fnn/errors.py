"""The exception hierarchy of fnn.

Every error fnn raises on purpose derives from :class:`FnnError` and also from the
builtin exception a Python user would expect, so ``except ValueError`` keeps
working:

================  =================================  ==========================
class             builtin base                       raised for
================  =================================  ==========================
``ShapeError``    ``ValueError``                     wrong array shapes
``DTypeError``    ``TypeError``                      wrong array dtypes
``BackendError``  ``RuntimeError``                   unavailable backends
``GradCheckError`` ``AssertionError``                disagreeing gradients
``StateError``    ``ValueError``                     missing layer state or key
``TrainingError`` ``RuntimeError``                   diverged training (NaN loss)
``DataError``     ``ValueError``                     corrupt data files, bad labels
``FormatError``   ``ValueError``                     unreadable or unsafe files
``StructureError`` ``ValueError``                    mismatched pytrees
``ArgumentError`` ``TypeError``                      an argument of the wrong kind
``PathError``     ``OSError``                        a path that cannot be a file
``DistributedError`` ``RuntimeError``             ranks that disagree (MPI)
================  =================================  ==========================
"""

from __future__ import annotations


class FnnError(Exception):
    """Base class of every error raised by fnn on purpose."""


class ShapeError(FnnError, ValueError):
    """An array has the wrong shape for the layer, loss or function it reached."""


class DTypeError(FnnError, TypeError):
    """An array has the wrong dtype (for example float64 input to a float32 model)."""


class BackendError(FnnError, RuntimeError):
    """A requested backend or dtype cannot be used on this machine."""


class GradCheckError(FnnError, AssertionError):
    """A hand-derived gradient disagrees with central differences."""


class StateError(FnnError, ValueError):
    """A layer needs state or a random key that was not given."""


class TrainingError(FnnError, RuntimeError):
    """Training cannot go on (for example the loss became NaN)."""


class DataError(FnnError, ValueError):
    """Data is missing, truncated, corrupt or inconsistent (a file, or class labels out of range)."""


class FormatError(FnnError, ValueError):
    """A saved file has the wrong format or would need unsafe code to load."""


class StructureError(FnnError, ValueError):
    """Two pytrees that should share a structure do not (or a node type is unknown)."""


class ArgumentError(FnnError, TypeError):
    """An argument is not the kind of object expected (a plain function where a loss object goes)."""


class PathError(FnnError, OSError):
    """A path cannot name the file asked for: it is empty, or it is a directory."""


class DistributedError(FnnError, RuntimeError):
    """The ranks of a distributed run disagree (settings, data, parameter structure) or lost each other."""
