"""Saving and loading parameter pytrees safely: ``.npz`` with a JSON structure, and the book's pickles.

**The fnn format** (version 1). :func:`save` writes a NumPy ``.npz`` archive (a zip
of ``.npy`` files) holding

- ``leaf_0``, ``leaf_1``, …: the array leaves in :func:`fnn.tree.leaves` order, on the host;
- ``__fnn__``: UTF-8 JSON (as a ``uint8`` array) with ``format`` (``"fnn.params"``),
  ``version``, the tree ``structure`` and, per leaf, its ``path``, ``dtype``,
  ``shape`` and, in ``python``, ``"int"``, ``"float"`` or ``"bool"`` where the leaf
  was a Python scalar and ``"numpy"`` where it was a NumPy scalar (so both come
  back as they went in).

The structure records nodes by kind (``none``, ``tuple``, ``list``, ``dict`` with
string keys, ``attrs``) and, for attrs classes and named tuples, the class as
``module:qualname`` with the field names. Loading never imports anything and
never unpickles (``numpy.load(..., allow_pickle=False)``): a class name resolves
only to

1. a class registered with :func:`register`, or
2. a class defined in an fnn module that is already imported (``fnn.…``), found
   directly in that module's namespace, which is an attrs class or named tuple
   whose fields match the file.

Anything else is a :class:`~fnn.errors.FormatError`. Files are written
atomically: to a temporary file in the same directory, flushed and synced, then
renamed over the target with :func:`os.replace`, so a crash leaves the old file
intact.

**The book's pickles.** :func:`load_pickle_arrays` reads the ``.pkl`` weights of
"Deep Learning from Scratch" (dicts of arrays) and :func:`load_pickle` those of its
second volume (lists of float16 arrays, dicts holding arrays and vocabularies)
through an unpickler that admits only the handful of NumPy callables that rebuild
arrays; any other global (``os.system``, …) is refused before it is looked up, so
nothing from the file runs. Lists, dicts, strings and numbers need no global.

This module handles files on the host, so it imports NumPy directly (the one
exception, with :mod:`fnn.backend`, to fnn's rule that modules take their array
module from their inputs).

>>> import tempfile, os, numpy as np, fnn
>>> model = fnn.sequential(fnn.Dense(3), fnn.relu, fnn.Dense(2))
>>> params = model.init(fnn.random.key(0), (4,))
>>> path = os.path.join(tempfile.mkdtemp(), "params.npz")
>>> _ = save(path, params)
>>> restored = load(path, like=params)
>>> type(restored[0]).__name__, bool((restored[2].w == params[2].w).all())
('DenseParams', True)
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import zipfile
from pathlib import Path
from typing import Any, Callable, TypeVar, cast, overload

import attrs
import numpy as np

from fnn import tree
from fnn.backend import array_module, is_cupy_array, to_numpy
from fnn.errors import DTypeError, FormatError, ShapeError, StructureError
from fnn.files import atomic_write, file_path
from fnn.typing import Array, DTypeLike, PyTree

__all__ = ["FORMAT_VERSION", "load", "load_pickle", "load_pickle_arrays", "register", "save"]

FORMAT_NAME = "fnn.params"
FORMAT_VERSION = 1
"""The version :func:`save` writes; :func:`load` reads this version and older ones."""

_META = "__fnn__"
_PY_SCALARS: dict[str, type] = {"bool": bool, "int": int, "float": float}
_registry: dict[str, type] = {}

C = TypeVar("C", bound=type)
P = TypeVar("P")


def _class_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _is_namedtuple(cls: type) -> bool:
    return issubclass(cls, tuple) and hasattr(cls, "_fields")


def register(cls: C) -> C:
    """Allow :func:`load` to rebuild nodes of the attrs class or named tuple ``cls``.

    fnn's own classes need no registration; classes of user code do. Usable as a
    decorator.

    Raises:
        TypeError: ``cls`` is not an attrs class or a named tuple.

    >>> import attrs
    >>> @register
    ... @attrs.frozen
    ... class MyParams:
    ...     w: object
    >>> MyParams.__name__
    'MyParams'
    """
    if not isinstance(cls, type) or not (attrs.has(cls) or _is_namedtuple(cls)):
        raise TypeError(f"register: expected an attrs class or a named tuple, got {cls!r}")
    _registry[_class_name(cls)] = cls
    return cls


def _resolve(name: object, fields: tuple[str, ...]) -> type:
    """The class named ``module:qualname`` in a file, by the rules in the module docstring."""
    if not isinstance(name, str):
        raise FormatError(f"class name {name!r} in the file is not a string")
    cls = _registry.get(name)
    if cls is None:
        module, _, qualname = name.partition(":")
        found = None
        if (module == "fnn" or module.startswith("fnn.")) and qualname.isidentifier():
            namespace = getattr(sys.modules.get(module), "__dict__", {})
            found = namespace.get(qualname)
        ok = (
            isinstance(found, type)
            and _class_name(found) == name
            and (attrs.has(found) or _is_namedtuple(found))
        )
        if not ok:
            raise FormatError(
                f"the file names class {name!r}, which is neither one of fnn's imported attrs "
                "classes nor registered; import its module and call fnn.io.register(cls) to allow it"
            )
        assert isinstance(found, type)
        cls = found
    actual = tuple(f.name for f in attrs.fields(cls)) if attrs.has(cls) else tuple(cls._fields)  # type: ignore[attr-defined]
    if actual != fields:
        raise FormatError(f"class {name!r} has fields {list(actual)}, the file has {list(fields)}")
    return cls


def _encode_structure(s: tree.Structure, path: str) -> dict[str, Any]:
    if s.kind in ("leaf", "none"):
        return {"kind": s.kind}
    out: dict[str, Any] = {"kind": s.kind}
    assert s.node_type is not None
    if s.kind == "dict":
        bad = [k for k in s.keys if not isinstance(k, str)]
        if bad:
            raise StructureError(
                f"save: dict at {path or 'the root'} has a key {bad[0]!r}; keys must be strings"
            )
        out["keys"] = list(s.keys)
    elif s.kind == "attrs" or s.node_type not in (tuple, list):
        out["type"] = _class_name(s.node_type)
        out["keys"] = list(s.keys) if s.kind == "attrs" else list(s.node_type._fields)  # type: ignore[attr-defined]
    sep: Callable[[Any], str] = (lambda k: f".{k}") if s.kind == "attrs" else (lambda k: f"[{k!r}]")
    names = s.keys if s.kind in ("dict", "attrs") else range(len(s.children))
    out["children"] = [_encode_structure(c, path + sep(k)) for k, c in zip(names, s.children)]
    return out


def _decode_structure(d: Any) -> tree.Structure:
    if not isinstance(d, dict) or d.get("kind") not in ("leaf", "none", "tuple", "list", "dict", "attrs"):
        raise FormatError(f"bad structure node {d!r} in the file")
    kind = d["kind"]
    if kind == "leaf":
        return tree.Structure("leaf", None, (), ())
    if kind == "none":
        return tree.Structure("none", None, (), ())
    children = tuple(_decode_structure(c) for c in d.get("children", []))
    keys = tuple(d.get("keys", ()))
    node_type: type = {"tuple": tuple, "list": list, "dict": dict}.get(kind, object)
    if "type" in d:
        node_type = _resolve(d["type"], keys)
        if kind == "tuple" and not _is_namedtuple(node_type):
            raise FormatError(f"class {d['type']!r} is not a named tuple")
        if kind == "tuple":
            keys = ()
    elif kind == "attrs":
        raise FormatError("an attrs node in the file has no class name")
    if kind in ("dict", "attrs") and len(keys) != len(children):
        raise FormatError(f"a {kind} node in the file has {len(keys)} keys for {len(children)} children")
    return tree.Structure(kind, node_type, keys, children)


def _encode_leaf(leaf: Any, path: str) -> tuple[np.ndarray[Any, Any], str | None]:
    python = type(leaf).__name__ if type(leaf) in (bool, int, float) else None
    if isinstance(leaf, np.generic):
        python = "numpy"  # a NumPy scalar such as np.float32(1.0): restored as one
    array = to_numpy(leaf) if hasattr(leaf, "dtype") else np.asarray(leaf)
    if array.dtype.kind not in "biufc":
        raise StructureError(
            f"save: the leaf at {path or 'the root'} is a {type(leaf).__name__} of dtype {array.dtype}; "
            "only numeric arrays and Python bool, int and float can be saved"
        )
    return np.asarray(array, order="C"), python


def save(path: str | os.PathLike[str], params: PyTree) -> Path:
    """Write the pytree ``params`` to ``path`` as an fnn ``.npz`` file, atomically.

    The format is described in the module docstring. Arrays are copied to the host
    (from CuPy if needed) with their dtype and shape. The file appears complete or
    not at all: an interrupted write leaves an earlier file at ``path`` untouched.

    Args:
        path: The file to write (``.npz`` by convention; the name is used as given).
        params: A pytree of numeric arrays (and Python scalars), e.g. model params
            or an optimizer state.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        StructureError: a leaf is not numeric, or a dict key is not a string.
        PathError: (an ``OSError``) ``path`` is empty, a directory, or in a directory
            that does not exist.
        OSError: the file cannot be written.
    """
    target = file_path(path, "save")
    flat, struct = tree.flatten(params)
    paths = tree.paths(params)
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    leaves_meta = []
    for i, (leaf, where) in enumerate(zip(flat, paths)):
        array, python = _encode_leaf(leaf, where)
        arrays[f"leaf_{i}"] = array
        leaves_meta.append(
            {"path": where, "dtype": array.dtype.str, "shape": list(array.shape), "python": python}
        )
    meta = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "structure": _encode_structure(struct, ""),
        "leaves": leaves_meta,
    }
    arrays[_META] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    with atomic_write(target) as f:
        np.savez(f, **cast(dict[str, Any], arrays))
    return target


def _read(path: Path) -> tuple[dict[str, Any], list[np.ndarray[Any, Any]]]:
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise FormatError(f"{path}: not an fnn params file (a single .npy array, not an .npz archive)")
        with archive as data:
            if _META not in data.files:
                raise FormatError(
                    f"{path}: not an fnn params file (no {_META!r} entry); "
                    "files from numpy.savez load with numpy.load"
                )
            meta = json.loads(bytes(data[_META]).decode("utf-8"))
            if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
                raise FormatError(f"{path}: not an fnn params file (format {meta.get('format')!r})")
            version = meta.get("version")
            if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
                raise FormatError(
                    f"{path}: fnn format version {version!r}; this fnn reads versions 1..{FORMAT_VERSION} "
                    "(upgrade fnn to read newer files)"
                )
            leaves = [data[f"leaf_{i}"] for i in range(len(meta["leaves"]))]
    except FormatError:
        raise
    except RecursionError:
        raise FormatError(f"{path}: corrupt fnn params file (its JSON is nested too deeply)") from None
    except (ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError, UnicodeDecodeError) as error:
        raise FormatError(f"{path}: unreadable or corrupt fnn params file ({error})") from None
    return meta, leaves


def _check_leaves(path: Path, meta: dict[str, Any], leaves: list[np.ndarray[Any, Any]]) -> list[Any]:
    out: list[Any] = []
    for leaf, info in zip(leaves, meta["leaves"]):
        if leaf.dtype.str != info["dtype"] or list(leaf.shape) != info["shape"]:
            raise FormatError(
                f"{path}: leaf {info['path']} does not match its description; the file is corrupt"
            )
        kind = info.get("python")
        python = _PY_SCALARS.get(kind or "")
        if leaf.ndim == 0 and python is not None:
            out.append(python(leaf.item()))
        else:
            out.append(leaf[()] if leaf.ndim == 0 and kind == "numpy" else leaf)
    return out


def _compare(saved: tree.Structure, like: tree.Structure, path: str) -> str | None:
    """A description of the first difference between two structures, or ``None``."""
    where = path or "the root"
    if saved.kind != like.kind or saved.node_type is not like.node_type:
        return f"at {where}: the file has {_describe(saved)}, `like` has {_describe(like)}"
    if saved.keys != like.keys or len(saved.children) != len(like.children):
        return f"at {where}: the file has {_describe(saved)}, `like` has {_describe(like)}"
    sep: Callable[[Any], str] = (lambda k: f".{k}") if saved.kind == "attrs" else (lambda k: f"[{k!r}]")
    names = saved.keys if saved.kind in ("dict", "attrs") else range(len(saved.children))
    for k, a, b in zip(names, saved.children, like.children):
        found = _compare(a, b, path + sep(k))
        if found:
            return found
    return None


def _describe(s: tree.Structure) -> str:
    if s.kind in ("leaf", "none"):
        return "an array" if s.kind == "leaf" else "None"
    assert s.node_type is not None
    if s.kind == "dict":
        return f"a dict with keys {list(s.keys)}"
    if s.kind == "attrs":
        return f"{s.node_type.__name__} with fields {list(s.keys)}"
    return f"a {s.node_type.__name__} of length {len(s.children)}"


def _place(loaded: Any, like: Any, where: str, path: Path) -> Any:
    like_shape = tuple(like.shape) if hasattr(like, "shape") else np.shape(like)
    like_dtype = like.dtype if hasattr(like, "dtype") else np.asarray(like).dtype
    shape = tuple(np.shape(loaded))  # loaded comes from the file: a NumPy array or scalar
    dtype = loaded.dtype if hasattr(loaded, "dtype") else np.asarray(loaded).dtype
    if shape != like_shape:
        raise ShapeError(f"load({path}): leaf {where} has shape {shape} in the file, `like` has {like_shape}")
    if dtype != like_dtype:
        raise DTypeError(f"load({path}): leaf {where} has dtype {dtype} in the file, `like` has {like_dtype}")
    if isinstance(like, (bool, int, float)):
        return type(like)(loaded.item() if hasattr(loaded, "item") else loaded)
    if is_cupy_array(like):
        with like.device:  # the GPU that holds `like`, not merely the current one
            return array_module(like).asarray(loaded)
    return loaded


@overload
def load(path: str | os.PathLike[str], like: None = None) -> PyTree: ...
@overload
def load(path: str | os.PathLike[str], like: P) -> P: ...
def load(path: str | os.PathLike[str], like: PyTree = None) -> PyTree:
    """Read a pytree written by :func:`save`, optionally checked against ``like``.

    Without ``like`` the leaves come back as NumPy arrays (Python scalars where they
    were saved as such) in the saved structure. With ``like`` the file must have
    ``like``'s structure and every leaf its shape and dtype; the leaves are then
    placed where ``like``'s are (CuPy arrays for a CuPy ``like``).

    Args:
        path: A file written by :func:`save`.
        like: A pytree to check against and match (e.g. ``model.init(...)``'s output).

    Returns:
        The pytree.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        PathError: (an ``OSError``) ``path`` is empty or a directory.
        FormatError: not an fnn file, a newer format version, corrupt (nested deeper
            than Python's recursion limit, too), or it names a class that is not
            allowed (see the module docstring).
        StructureError: the structure differs from ``like``'s (the message names where).
        ShapeError: a leaf's shape differs from ``like``'s (the message names the leaf,
            such as ``[0].w``).
        DTypeError: a leaf's dtype differs from ``like``'s.
    """
    source = file_path(path, "load")
    meta, raw = _read(source)
    try:
        struct = _decode_structure(meta["structure"])
        if struct.num_leaves != len(raw):
            raise FormatError(f"{source}: the structure has {struct.num_leaves} leaves, the file {len(raw)}")
        leaves = _check_leaves(source, meta, raw)
    except FormatError as error:
        message = str(error)
        raise FormatError(message if message.startswith(str(source)) else f"{source}: {message}") from None
    except (KeyError, TypeError) as error:
        raise FormatError(f"{source}: corrupt fnn params file ({error!r})") from None
    except RecursionError:
        raise FormatError(f"{source}: corrupt fnn params file (its structure is nested too deeply)") from None
    if like is None:
        return tree.unflatten(struct, leaves)
    like_leaves, like_struct = tree.flatten(like)
    difference = _compare(struct, like_struct, "")
    if difference:
        raise StructureError(f"load({source}): the structure differs from `like` {difference}")
    placed = [_place(a, b, where, source) for a, b, where in zip(leaves, like_leaves, tree.paths(like))]
    return tree.unflatten(like_struct, placed)


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles use it for bytes; only Latin-1 is admitted."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise FormatError(f"refused _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


def _allowed_globals() -> dict[tuple[str, str], Any]:
    reconstruct = np.empty(0).__reduce__()[0]
    scalar = np.float64(0).__reduce__()[0]
    frombuffer = np.zeros(1).__reduce_ex__(5)[0]
    allowed: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _latin1_encode,
    }
    for core in ("numpy.core", "numpy._core"):
        allowed[(f"{core}.multiarray", "_reconstruct")] = reconstruct
        allowed[(f"{core}.multiarray", "scalar")] = scalar
        allowed[(f"{core}.numeric", "_frombuffer")] = frombuffer
    return allowed


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler whose only globals are the NumPy callables that rebuild arrays."""

    allowed: dict[tuple[str, str], Any] = {}

    def find_class(self, module: str, name: str) -> Any:
        found = self.allowed.get((module, name))
        if found is None:
            raise FormatError(
                f"refused to load global {module}.{name}: the file may only hold dicts of "
                "NumPy arrays; anything else could run code"
            )
        return found


def _unpickle(source: Path) -> Any:
    """The object pickled in ``source``, read by :class:`_ArrayUnpickler`."""
    if not _ArrayUnpickler.allowed:
        _ArrayUnpickler.allowed = _allowed_globals()
    with open(source, "rb") as f:
        try:
            return _ArrayUnpickler(f).load()
        except FormatError as error:
            raise FormatError(f"{source}: {error}") from None
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as error:
            raise FormatError(f"{source}: not a readable pickle ({type(error).__name__}: {error})") from None


def load_pickle_arrays(path: str | os.PathLike[str]) -> dict[str, Array]:
    """Read a pickled ``dict[str, numpy.ndarray]`` (the book's ``.pkl`` weights) without running code.

    The unpickler admits only ``numpy.ndarray``, ``numpy.dtype``, NumPy's array and
    scalar reconstructors (under ``numpy.core`` and ``numpy._core``) and Latin-1
    ``_codecs.encode``; any other global raises before it is looked up. The result
    must be a dict of string keys to numeric arrays.

    Args:
        path: The ``.pkl`` file.

    Returns:
        The dict of NumPy arrays, e.g. ``{"W1": (784, 50) float32, …}`` for ``sample_weight.pkl``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        PathError: (an ``OSError``) ``path`` is empty or a directory.
        FormatError: the pickle names another global, is corrupt, or is not a dict of
            string keys to numeric arrays.
    """
    source = file_path(path, "load_pickle_arrays")
    result = _unpickle(source)
    if not isinstance(result, dict):
        raise FormatError(f"{source}: expected a dict of arrays, got {type(result).__name__}")
    for k, v in result.items():
        if not isinstance(k, str):
            raise FormatError(f"{source}: expected string keys, got {k!r}")
        if not isinstance(v, np.ndarray) or v.dtype.kind not in "biufc":
            kind = getattr(v, "dtype", type(v).__name__)
            raise FormatError(f"{source}: entry {k!r} is not a numeric array ({kind})")
    return result


_PLAIN_LEAVES = (str, int, float, bool, type(None))


class _PlainData:
    """Checks that an unpickled value is plain data and casts its float arrays; shared parts stay shared."""

    def __init__(self, source: Path, dtype: np.dtype[Any] | None) -> None:
        self.source = source
        self.dtype = dtype
        self.done: dict[int, Any] = {}  # id of a container or array already converted -> its result
        self.open: set[int] = set()  # containers being converted: meeting one again is a cycle

    def convert(self, value: Any, where: str) -> Any:
        if type(value) in _PLAIN_LEAVES:
            return value
        key = id(value)
        if key in self.done:
            return self.done[key]
        if key in self.open:
            raise FormatError(f"{self.source}: {where} contains itself; plain data has no cycles")
        self.open.add(key)
        result = self._convert_new(value, where)
        self.open.discard(key)
        self.done[key] = result
        return result

    def _convert_new(self, value: Any, where: str) -> Any:
        kind = type(value)
        if kind is np.ndarray or isinstance(value, np.generic):
            if value.dtype.kind not in "biuf":
                raise FormatError(
                    f"{self.source}: {where} is an array of dtype {value.dtype}, not a numeric one"
                )
            if self.dtype is not None and value.dtype.kind == "f":
                return value.astype(self.dtype)
            return value
        if kind is list or kind is tuple:
            return kind(self.convert(v, f"{where}[{i}]") for i, v in enumerate(value))
        if kind is dict:
            out = {}
            for k, v in value.items():
                if type(k) not in (str, int):
                    raise FormatError(
                        f"{self.source}: {where} has the key {k!r}; keys must be strings or ints"
                    )
                out[k] = self.convert(v, f"{where}[{k!r}]")
            return out
        raise FormatError(
            f"{self.source}: {where} is a {kind.__name__}; the file may hold only lists, tuples, dicts, "
            "strings, numbers and numeric arrays"
        )


def load_pickle(path: str | os.PathLike[str], *, dtype: DTypeLike | None = None) -> Any:
    """Read a pickle of plain data and NumPy arrays (the second book's ``.pkl`` files) without running code.

    The unpickler is :func:`load_pickle_arrays`'s: only NumPy's array reconstructors
    are admitted as globals, so nothing in the file runs. The value must be plain
    data: lists, tuples, dicts (string or int keys), strings, numbers, ``None`` and
    numeric NumPy arrays, nested in any way but without cycles. Objects pickled
    several times by reference stay shared.

    The second volume's files (``Rnnlm.pkl``, ``BetterRnnlm.pkl``,
    ``AttentionSeq2seq.pkl``) are lists of float16 arrays; ``cbow_params.pkl`` is a
    dict holding ``word_vecs`` (float16) and the vocabularies ``word_to_id``
    (``dict[str, int]``) and ``id_to_word`` (``dict[int, str]``). ``dtype`` casts every
    float array (and float NumPy scalar) to a model's dtype; integer arrays are kept.

    Args:
        path: The ``.pkl`` file.
        dtype: Cast float arrays to this dtype (e.g. ``"float32"``); ``None`` keeps the file's.

    Returns:
        The unpickled value, its arrays NumPy arrays on the host.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        PathError: (an ``OSError``) ``path`` is empty or a directory.
        FormatError: the pickle names a global other than NumPy's array reconstructors,
            is corrupt, or holds something other than plain data and numeric arrays
            (the message says where, such as ``the file[2]``).
        DTypeError: ``dtype`` is not a float dtype.

    >>> import os
    >>> if os.path.isfile("../shared/data/dlfs2/Rnnlm.pkl"):  # the book's published weights
    ...     weights = load_pickle("../shared/data/dlfs2/Rnnlm.pkl", dtype="float32")
    ...     assert [w.shape for w in weights][:2] == [(10000, 100), (100, 400)]
    ...     assert weights[0].dtype == "float32"
    """
    target = None
    if dtype is not None:
        target = np.dtype(dtype)
        if target.kind != "f":
            raise DTypeError(f"load_pickle: `dtype` must be a float dtype such as 'float32', got {target}")
    source = file_path(path, "load_pickle")
    value = _unpickle(source)
    try:
        return _PlainData(source, target).convert(value, "the file")
    except RecursionError:
        raise FormatError(f"{source}: the data is nested too deeply to be plain weights") from None
