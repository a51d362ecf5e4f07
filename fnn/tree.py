"""Pytree utilities: functions over nested containers with arrays at the leaves.

A pytree is ``None``, a tuple (named tuples included), a list, a dict, an attrs
class instance, or a leaf (anything else, usually an array). Leaves are visited in
a fixed order:

- tuples and lists: by position;
- dicts: by sorted key;
- attrs classes: by field, in definition order;
- ``None``: an empty node with no leaves.

>>> tree = {"b": (1, 2), "a": [3, None]}
>>> leaves(tree)
[3, 1, 2]
>>> map(lambda v: v * 10, tree)
{'a': [30, None], 'b': (10, 20)}
>>> flat, struct = flatten(tree)
>>> unflatten(struct, flat) == {"a": [3, None], "b": (1, 2)}
True
"""

from __future__ import annotations

import builtins
from typing import Any, Callable, Iterable, TypeVar

import attrs

from fnn.errors import StructureError
from fnn.typing import PyTree

__all__ = ["Structure", "flatten", "leaves", "map", "paths", "structure", "unflatten", "param_count"]

_fields_cache: dict[type, tuple[str, ...]] = {}
_builders: dict[type, Callable[[list[Any]], Any]] = {}


def _attrs_fields(cls: type) -> tuple[str, ...]:
    names = _fields_cache.get(cls)
    if names is None:
        names = tuple(field.name for field in attrs.fields(cls))
        _fields_cache[cls] = names
    return names


def _attrs_builder(cls: type) -> Callable[[list[Any]], Any]:
    """A function building ``cls`` from its field values in field order (memoized per class).

    Positional when every field is a positional ``__init__`` argument (the fast, common
    case); otherwise by keyword (``kw_only`` fields), with ``init=False`` fields set after.
    """
    build = _builders.get(cls)
    if build is None:
        fields = attrs.fields(cls)
        if all(f.init and not f.kw_only for f in fields):
            build = lambda values: cls(*values)  # noqa: E731
        else:

            def build(values: list[Any]) -> Any:
                node = cls(**{f.alias: v for f, v in zip(fields, values) if f.init})
                for f, v in zip(fields, values):
                    if not f.init:
                        object.__setattr__(node, f.name, v)
                return node

        _builders[cls] = build
    return build


def _is_attrs(node: object) -> bool:
    return attrs.has(type(node))


@attrs.frozen
class Structure:
    """The shape of a pytree without its leaves; equal structures mean the same nesting.

    Attributes:
        kind: ``"leaf"``, ``"none"``, ``"tuple"``, ``"list"``, ``"dict"`` or ``"attrs"``.
        node_type: The container class (``None`` for leaves and ``None`` nodes).
        keys: Dict keys (sorted) or attrs field names; empty otherwise.
        children: The structures of the children, in leaf order.
    """

    kind: str
    node_type: type | None
    keys: tuple[Any, ...]
    children: tuple[Structure, ...]

    @property
    def num_leaves(self) -> int:
        """How many leaves a tree of this structure has."""
        if self.kind == "leaf":
            return 1
        return sum(child.num_leaves for child in self.children)

    def __repr__(self) -> str:
        if self.kind == "leaf":
            return "*"
        if self.kind == "none":
            return "None"
        inner = ", ".join(repr(c) for c in self.children)
        if self.kind == "dict":
            inner = ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.keys, self.children))
            return "{" + inner + "}"
        if self.kind == "list":
            return "[" + inner + "]"
        if self.kind == "tuple" and self.node_type is tuple:
            return "(" + inner + ("," if len(self.children) == 1 else "") + ")"
        assert self.node_type is not None
        return f"{self.node_type.__name__}({inner})"


def _path(path: str, part: object) -> str:
    return f"{path}[{part!r}]" if path else f"[{part!r}]"


def _mismatch(path: str, expected: object, got: object) -> StructureError:
    where = path or "the root"
    return StructureError(f"pytrees differ at {where}: expected {expected}, got {got}")


T = TypeVar("T")


def map(f: Callable[..., Any], tree: T, *rest: PyTree) -> T:
    """Apply ``f`` to every leaf of ``tree`` (and the matching leaves of ``rest``).

    Returns a tree of the same structure as ``tree`` holding ``f(leaf, *other_leaves)``,
    which a type checker sees as the type of ``tree`` (``DenseParams`` in,
    ``DenseParams`` out). The leaves are whatever ``f`` returns: a map to shapes or
    bools gives a ``DenseParams`` of shapes or bools, which its field types do not say.

    Raises:
        StructureError: a tree in ``rest`` is nested differently; the message names the path.
    """
    result: T
    try:
        if not rest:
            result = _map1(f, tree)
        elif len(rest) == 1:
            result = _map2(f, tree, rest[0])
        else:
            result = _map(f, tree, rest)
    except _Mismatch:
        error = _locate(tree, rest, "")
        assert error is not None
        raise error from None
    return result


_LEAF, _NONE, _SEQUENCE, _NAMEDTUPLE, _DICT, _ATTRS = range(6)
_kinds: dict[type, int] = {type(None): _NONE, tuple: _SEQUENCE, list: _SEQUENCE, dict: _DICT}


def _kind(cls: type) -> int:
    """The node kind of instances of ``cls`` (memoized: a type's kind never changes)."""
    kind = _kinds.get(cls)
    if kind is None:
        if issubclass(cls, tuple):
            kind = _NAMEDTUPLE
        elif issubclass(cls, list):
            kind = _SEQUENCE
        elif attrs.has(cls):
            kind = _ATTRS
        else:
            kind = _LEAF
        _kinds[cls] = kind
    return kind


class _Mismatch(Exception):
    """Internal: the trees passed to :func:`map` differ; :func:`_locate` says where."""


def _attrs_plan(cls: type) -> tuple[tuple[str, ...], Callable[[list[Any]], Any]]:
    """``(field names, builder)`` of an attrs class, memoized together (one lookup per node)."""
    plan = _plans.get(cls)
    if plan is None:
        plan = _plans[cls] = (_attrs_fields(cls), _attrs_builder(cls))
    return plan


_plans: dict[type, tuple[tuple[str, ...], Callable[[list[Any]], Any]]] = {}


def _map1(f: Callable[..., Any], node: Any) -> Any:
    """:func:`_map` for one tree: the hot path of ``map(f, tree)``, without tuples of other trees."""
    cls = type(node)
    kind = _kinds.get(cls)
    if kind is None:
        kind = _kind(cls)
    if kind == _LEAF:
        return f(node)
    if kind == _ATTRS:
        names, build = _plans.get(cls) or _attrs_plan(cls)
        return build([_map1(f, getattr(node, n)) for n in names])
    if kind == _NONE:
        return None
    if kind == _SEQUENCE:
        return cls([_map1(f, child) for child in node])
    if kind == _NAMEDTUPLE:
        return cls(*[_map1(f, child) for child in node])
    return {k: _map1(f, node[k]) for k in sorted(node)}


def _map2(f: Callable[..., Any], node: Any, other: Any) -> Any:
    """:func:`_map` for two trees: the hot path of ``map(f, params, updates)``."""
    cls = type(node)
    kind = _kinds.get(cls)
    if kind is None:
        kind = _kind(cls)
    if kind == _LEAF:
        return f(node, other)
    if type(other) is not cls:
        raise _Mismatch
    if kind == _ATTRS:
        names, build = _plans.get(cls) or _attrs_plan(cls)
        return build([_map2(f, getattr(node, n), getattr(other, n)) for n in names])
    if kind == _NONE:
        return None
    if kind == _SEQUENCE or kind == _NAMEDTUPLE:
        if len(other) != len(node):
            raise _Mismatch
        values = [_map2(f, child, o) for child, o in zip(node, other)]
        return cls(*values) if kind == _NAMEDTUPLE else cls(values)
    keys = sorted(node)
    if sorted(other) != keys:
        raise _Mismatch
    return {k: _map2(f, node[k], other[k]) for k in keys}


def _map(f: Callable[..., Any], node: Any, rest: tuple[Any, ...]) -> Any:
    cls = type(node)
    kind = _kind(cls)
    if kind == _LEAF:
        return f(node, *rest)
    for other in rest:
        if type(other) is not cls:
            raise _Mismatch
    if kind == _NONE:
        return None
    if kind == _SEQUENCE or kind == _NAMEDTUPLE:
        n = len(node)
        for other in rest:
            if len(other) != n:
                raise _Mismatch
        if not rest:
            values = [_map(f, child, rest) for child in node]
        elif len(rest) == 1:
            values = [_map(f, child, (other,)) for child, other in zip(node, rest[0])]
        else:
            values = [_map(f, child, tuple(o[i] for o in rest)) for i, child in enumerate(node)]
        return cls(*values) if kind == _NAMEDTUPLE else cls(values)
    if kind == _DICT:
        keys = sorted(node)
        for other in rest:
            if sorted(other) != keys:
                raise _Mismatch
        return {k: _map(f, node[k], tuple(other[k] for other in rest)) for k in keys}
    names = _attrs_fields(cls)
    build = _attrs_builder(cls)
    if len(rest) == 1:
        other = rest[0]
        return build([_map(f, getattr(node, n), (getattr(other, n),)) for n in names])
    return build([_map(f, getattr(node, n), tuple(getattr(o, n) for o in rest)) for n in names])


def _locate(node: Any, rest: tuple[Any, ...], path: str) -> StructureError | None:
    """The error describing the first place where ``rest`` differs from ``node``."""
    cls = type(node)
    kind = _kind(cls)
    if kind == _LEAF:
        return None
    for other in rest:
        if type(other) is not cls or (kind in (_SEQUENCE, _NAMEDTUPLE) and len(other) != len(node)):
            expected = "None" if kind == _NONE else _describe(node)
            return _mismatch(path, expected, _describe(other))
        if kind == _DICT and sorted(other) != sorted(node):
            return _mismatch(path, _describe(node), _describe(other))
    if kind in (_SEQUENCE, _NAMEDTUPLE):
        children = [(f"{path}[{i}]", child, tuple(o[i] for o in rest)) for i, child in enumerate(node)]
    elif kind == _DICT:
        children = [(_path(path, k), node[k], tuple(o[k] for o in rest)) for k in sorted(node)]
    elif kind == _ATTRS:
        children = [
            (f"{path}.{n}", getattr(node, n), tuple(getattr(o, n) for o in rest)) for n in _attrs_fields(cls)
        ]
    else:
        children = []
    for child_path, child, others in children:
        error = _locate(child, others, child_path)
        if error is not None:
            return error
    return None


def _describe(node: object) -> str:
    if isinstance(node, (tuple, list)):
        return f"{type(node).__name__} of length {len(node)}"
    if isinstance(node, dict):
        return f"dict with keys {sorted(node)}"
    return type(node).__name__


def leaves(tree: PyTree) -> list[Any]:
    """The leaves of ``tree`` in the documented order (``None`` contributes none)."""
    out: list[Any] = []
    _collect(tree, out)
    return out


def _collect(node: Any, out: list[Any]) -> None:
    if node is None:
        return
    if isinstance(node, (tuple, list)):
        for child in node:
            _collect(child, out)
    elif type(node) is dict:
        for k in sorted(node):
            _collect(node[k], out)
    elif _is_attrs(node):
        for n in _attrs_fields(type(node)):
            _collect(getattr(node, n), out)
    else:
        out.append(node)


def paths(tree: PyTree) -> list[str]:
    """Readable paths of the leaves, in leaf order: ``[0].w``, ``['a'][1]``, ``.b``.

    >>> paths({"a": (1, 2), "b": None, "c": 3})
    ["['a'][0]", "['a'][1]", "['c']"]
    """
    out: list[str] = []
    _collect_paths(tree, "", out)
    return out


def _collect_paths(node: Any, path: str, out: list[str]) -> None:
    if node is None:
        return
    if isinstance(node, (tuple, list)):
        for i, child in enumerate(node):
            _collect_paths(child, f"{path}[{i}]", out)
    elif type(node) is dict:
        for k in sorted(node):
            _collect_paths(node[k], f"{path}[{k!r}]", out)
    elif _is_attrs(node):
        for n in _attrs_fields(type(node)):
            _collect_paths(getattr(node, n), f"{path}.{n}", out)
    else:
        out.append(path)


def structure(tree: PyTree) -> Structure:
    """The :class:`Structure` of ``tree``: its nesting without its leaves."""
    if tree is None:
        return Structure("none", None, (), ())
    cls = type(tree)
    if isinstance(tree, (tuple, list)):
        kind = "list" if isinstance(tree, list) else "tuple"
        return Structure(kind, cls, (), tuple(structure(c) for c in tree))
    if cls is dict:
        keys = tuple(sorted(tree))
        return Structure("dict", dict, keys, tuple(structure(tree[k]) for k in keys))
    if _is_attrs(tree):
        names = _attrs_fields(cls)
        return Structure("attrs", cls, names, tuple(structure(getattr(tree, n)) for n in names))
    return Structure("leaf", None, (), ())


def flatten(tree: PyTree) -> tuple[list[Any], Structure]:
    """``(leaves(tree), structure(tree))``; :func:`unflatten` inverts it."""
    return leaves(tree), structure(tree)


def unflatten(struct: Structure, values: Iterable[Any]) -> PyTree:
    """Rebuild a tree of structure ``struct`` from its leaves, in leaf order.

    Raises:
        TypeError: ``struct`` is not a :class:`Structure` (pass ``structure(tree)``).
        StructureError: ``values`` holds more or fewer leaves than ``struct`` needs.
    """
    if not isinstance(struct, Structure):
        raise TypeError(
            f"unflatten: expected a Structure from fnn.tree.structure(tree) or flatten(tree), got {struct!r}"
        )
    values = list(values)
    if len(values) != struct.num_leaves:
        raise StructureError(f"structure {struct!r} has {struct.num_leaves} leaves, got {len(values)} values")
    iterator = iter(values)
    return _build(struct, iterator)


def _build(struct: Structure, values: Any) -> Any:
    if struct.kind == "leaf":
        return next(values)
    if struct.kind == "none":
        return None
    children = [_build(c, values) for c in struct.children]
    cls = struct.node_type
    assert cls is not None
    if struct.kind == "dict":
        return dict(zip(struct.keys, children))
    if cls is tuple or struct.kind == "list":
        return cls(children)
    if struct.kind == "attrs":
        return _attrs_builder(cls)(children)
    return cls(*children)


def param_count(params: PyTree) -> int:
    """The number of scalars in all array leaves of ``params``.

    >>> import numpy as np
    >>> param_count({"w": np.zeros((3, 4)), "b": np.zeros(4)})
    16
    """
    return builtins.sum(int(getattr(leaf, "size", 1)) for leaf in leaves(params))
