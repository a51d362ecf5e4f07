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
from typing import Any, Callable

import attrs

from fnn.errors import StructureError
from fnn.typing import PyTree

__all__ = ["Structure", "flatten", "leaves", "map", "paths", "structure", "unflatten", "param_count"]

_fields_cache: dict[type, tuple[str, ...]] = {}


def _attrs_fields(cls: type) -> tuple[str, ...]:
    names = _fields_cache.get(cls)
    if names is None:
        names = tuple(field.name for field in attrs.fields(cls))
        _fields_cache[cls] = names
    return names


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


def map(f: Callable[..., Any], tree: PyTree, *rest: PyTree) -> PyTree:
    """Apply ``f`` to every leaf of ``tree`` (and the matching leaves of ``rest``).

    Returns a tree of the same structure as ``tree`` holding ``f(leaf, *other_leaves)``.

    Raises:
        StructureError: a tree in ``rest`` is nested differently; the message names the path.
    """
    return _map(f, tree, rest, "")


def _map(f: Callable[..., Any], node: Any, rest: tuple[Any, ...], path: str) -> Any:
    if node is None:
        for other in rest:
            if other is not None:
                raise _mismatch(path, "None", type(other).__name__)
        return None
    cls = type(node)
    if cls is tuple or cls is list or isinstance(node, (tuple, list)):
        for other in rest:
            if type(other) is not cls or len(other) != len(node):
                raise _mismatch(path, f"{cls.__name__} of length {len(node)}", _describe(other))
        values = [
            _map(f, child, tuple(other[i] for other in rest), _path(path, i))
            for i, child in enumerate(node)
        ]
        if cls is tuple or cls is list:
            return cls(values)
        return cls(*values)  # a named tuple
    if cls is dict:
        keys = sorted(node)
        for other in rest:
            if type(other) is not dict or sorted(other) != keys:
                raise _mismatch(path, f"dict with keys {keys}", _describe(other))
        return {k: _map(f, node[k], tuple(other[k] for other in rest), _path(path, k)) for k in keys}
    if _is_attrs(node):
        names = _attrs_fields(cls)
        for other in rest:
            if type(other) is not cls:
                raise _mismatch(path, cls.__name__, _describe(other))
        return cls(
            *(
                _map(f, getattr(node, n), tuple(getattr(o, n) for o in rest), f"{path}.{n}")
                for n in names
            )
        )
    return f(node, *rest)


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


def unflatten(struct: Structure, values: list[Any] | tuple[Any, ...]) -> PyTree:
    """Rebuild a tree of structure ``struct`` from its leaves, in leaf order.

    Raises:
        StructureError: ``values`` holds more or fewer leaves than ``struct`` needs.
    """
    if len(values) != struct.num_leaves:
        raise StructureError(
            f"structure {struct!r} has {struct.num_leaves} leaves, got {len(values)} values"
        )
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
    if cls is tuple or cls is list:
        return cls(children)
    return cls(*children)


def param_count(params: PyTree) -> int:
    """The number of scalars in all array leaves of ``params``.

    >>> import numpy as np
    >>> param_count({"w": np.zeros((3, 4)), "b": np.zeros(4)})
    16
    """
    return builtins.sum(int(getattr(leaf, "size", 1)) for leaf in leaves(params))
