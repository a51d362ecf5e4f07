"""``Graph``: a model as named nodes wired to named values (the book's computational graph).

A graph is a static DAG. Each :class:`Node` reads named values and defines new ones,
``outputs = layer(inputs)``; the graph's inputs are values too. The forward pass runs
the nodes in topological order; the backward pass runs their hand-derived ``grad`` in
the reverse order and **adds** the gradients of a value read by several nodes (the
book's Repeat/branch node, chapter 5): ``∂L/∂v = Σ_{consumers c} ∂L/∂v|_c``.

>>> import fnn
>>> from fnn import Node
>>> model = fnn.Graph(
...     inputs=("x", "z"),
...     nodes=(
...         Node("h", fnn.Dense(4), "x"),
...         Node("a", fnn.tanh, "h"),
...         Node("s", fnn.FanInSum(), ("a", "h")),   # h fans out: its gradients add
...         Node("y", fnn.FanInConcat(), ("s", "z")),
...     ),
...     outputs="y",
... )
>>> params = model.init(fnn.random.key(0), ((3,), (2,)))
>>> sorted(params)
['a', 'h', 's', 'y']
>>> model.apply(params, (fnn.backend().ones((5, 3)), fnn.backend().ones((5, 2)))).shape
(5, 6)

Params are a dict from node name to the node's params, state a dict from node name to
its state (``None`` when no node has any). :class:`Share` ties parameters: a node uses
another node's params, or one field of them, optionally transposed (a language model's
output weight is its embedding's transpose); the params dict holds the leaf once and
its gradient is the sum of both uses.
"""

from __future__ import annotations

from typing import Any, Iterable

import attrs

from fnn import random, tree
from fnn.backend import Backend, array_module, resolve
from fnn.errors import FnnError, ShapeError, StateError, StructureError
from fnn.layers.core import Composite, Layer, add_cotangents, check_shape_tree, is_shape
from fnn.typing import ArrayTree, ShapeTree

__all__ = ["Graph", "GraphParams", "Node", "Share"]

GraphParams = dict[str, Any]
"""A graph's params: node name → that node's params."""

Names = tuple[str, ...]


def _names(value: str | Names | list[str]) -> str | Names:
    return tuple(value) if isinstance(value, list) else value


def _as_tuple(value: str | Names) -> Names:
    return (value,) if isinstance(value, str) else value


def _check_names(instance: object, attribute: attrs.Attribute[Any], value: str | Names) -> None:
    entries = _as_tuple(value)
    if not entries or not all(isinstance(n, str) and n for n in entries):
        raise TypeError(f"`{attribute.name}` must be a name or a tuple of names, got {value!r}")


@attrs.frozen
class Node:
    """One step of a :class:`Graph`: ``outputs = layer(inputs)``.

    Args:
        outputs: The name of the value the layer returns, or a tuple of names for a
            layer returning a tuple (``("hs", "h")`` for a recurrent layer's
            ``(hs, h_last)``). The first name also names the node (its params entry).
        layer: Any fnn layer, including a sequential or another graph.
        inputs: The value the layer reads, or a tuple of names: the layer then receives
            the tuple of those values.
    """

    outputs: str | Names = attrs.field(converter=_names, validator=_check_names)
    layer: Layer[Any] = attrs.field()
    inputs: str | Names = attrs.field(converter=_names, validator=_check_names)

    @layer.validator
    def _check_layer(self, attribute: object, value: object) -> None:
        if not isinstance(value, Layer):
            raise TypeError(f"Node {self.outputs!r}: {value!r} is not an fnn layer")

    @property
    def name(self) -> str:
        """The node's name: its (first) output's."""
        return _as_tuple(self.outputs)[0]


@attrs.frozen
class Share:
    """Node ``target`` uses node ``source``'s params instead of its own.

    ``"node"`` shares all params (the same layer applied in two places);
    ``"node.field"`` shares one field of an attrs params class, such as ``"out.w"``.
    With ``transpose=True`` the target sees the source's field transposed: the tied
    output layer of a language model, ``Share("logits.w", "embed.w", transpose=True)``
    (an embedding table ``(V, D)`` used as a ``(D, V)`` output weight).

    **Gradient**: the leaf is used twice, so its gradient is the sum of both uses:
    ``dW = dW_source + dW_targetᵀ`` (transposed back when the use was transposed). The
    target's entry in params and grads is ``None`` there.
    """

    target: str
    source: str
    transpose: bool = attrs.field(default=False, kw_only=True)

    def split(self, which: str) -> tuple[str, str | None]:
        node, _, field = getattr(self, which).partition(".")
        return node, field or None


@attrs.frozen
class _Plan:
    """What construction derives once: nodes in topological order and who reads what."""

    order: tuple[Node, ...]
    last_use: dict[str, int]


def _wire(inputs: Names, nodes: tuple[Node, ...], outputs: Names) -> _Plan:
    """Validate the wiring and plan the runs: nodes in topological order, each value's last reader."""
    producer = _producers(inputs, nodes)
    _check_reads(producer, inputs, nodes, outputs)
    order = _topological_order(inputs, nodes)
    last_use = {name: len(order) for name in outputs}  # returned values are never dropped
    for i, node in enumerate(order):
        for name in _as_tuple(node.inputs):
            if name not in outputs:
                last_use[name] = i
    return _Plan(order, last_use)


def _producers(inputs: Names, nodes: tuple[Node, ...]) -> dict[str, Node | None]:
    """Each value's producing node (``None`` for a graph input); a value defined twice raises."""
    producer: dict[str, Node | None] = {}
    for name in inputs:
        if name in producer:
            raise StructureError(f"Graph: input name {name!r} is given twice")
        producer[name] = None
    for node in nodes:
        for name in _as_tuple(node.outputs):
            if name in producer:
                source = producer[name]
                other = "a graph input" if source is None else f"node {source.name!r}"
                raise StructureError(
                    f"Graph: value {name!r} is defined twice (by {other} and by node {node.name!r})"
                )
            producer[name] = node
    return producer


def _check_reads(
    producer: dict[str, Node | None], inputs: Names, nodes: tuple[Node, ...], outputs: Names
) -> None:
    """Every name read is defined; every input and every node is read (or returned)."""
    known = ", ".join(repr(n) for n in producer)
    for node in nodes:
        for name in _as_tuple(node.inputs):
            if name not in producer:
                raise StructureError(
                    f"Graph: node {node.name!r} ({node.layer.name}) reads {name!r}, which is neither a graph "
                    f"input nor a node's output; known values: {known}"
                )
    for name in outputs:
        if name not in producer:
            raise StructureError(
                f"Graph: output {name!r} is not defined by any node or input; known values: {known}"
            )
    read = {name for node in nodes for name in _as_tuple(node.inputs)} | set(outputs)
    for name in inputs:
        if name not in read:
            raise StructureError(f"Graph: input {name!r} is never used; remove it or read it in a node")
    for node in nodes:
        if not read.intersection(_as_tuple(node.outputs)):
            raise StructureError(
                f"Graph: node {node.name!r} ({node.layer.name}) is computed but none of its outputs is read "
                "by a node or returned; remove it or add it to `outputs`"
            )


def _topological_order(inputs: Names, nodes: tuple[Node, ...]) -> tuple[Node, ...]:
    """The nodes in an order where each runs after the producers of what it reads (Kahn's algorithm)."""
    ready = set(inputs)
    order: list[Node] = []
    waiting = list(nodes)
    while waiting:
        runnable = [node for node in waiting if all(n in ready for n in _as_tuple(node.inputs))]
        if not runnable:
            cycle = " → ".join(repr(node.name) for node in _cycle(waiting))
            raise StructureError(f"Graph: the nodes {cycle} form a cycle; a graph must be acyclic")
        for node in runnable:
            order.append(node)
            ready.update(_as_tuple(node.outputs))
            waiting.remove(node)
    return tuple(order)


def _cycle(waiting: list[Node]) -> list[Node]:
    """A cycle among nodes that cannot run, closed (first node repeated at the end)."""
    producer = {name: node for node in waiting for name in _as_tuple(node.outputs)}
    path: list[Node] = []
    node = waiting[0]
    while node not in path:
        path.append(node)
        node = next(producer[n] for n in _as_tuple(node.inputs) if n in producer)
    return path[path.index(node) :] + [node]


def _tuple_nodes(value: Iterable[Node]) -> tuple[Node, ...]:
    return tuple(value)


def _tuple_shares(value: Iterable[Share]) -> tuple[Share, ...]:
    return tuple(value)


@attrs.frozen
class Graph(Composite[GraphParams]):
    """A static DAG of layers over named values; itself a layer (it nests both ways with sequential).

    **Forward**: the nodes in topological order, each reading its input values and
    defining its outputs; the graph returns the value(s) named by ``outputs``.

    **Backward (VJP)**: the nodes' ``grad`` in reverse topological order. A value read
    by several nodes gets the sum of their gradients; an output of a multi-output node
    that nothing reads gets a zero gradient; integer values get ``None``.

    **Residuals**: each node's residuals (and references to the outputs of
    multi-output nodes, for the zero gradients). Inference drops each value after its
    last reader.

    Args:
        inputs: The graph input's name, or a tuple of names (the graph then takes a
            tuple of arrays and ``in_shape`` is the tuple of their shapes).
        nodes: :class:`Node` values, in any order.
        outputs: The value returned, or a tuple of names for a tuple output.
        shared: :class:`Share` ties between node params.

    Raises:
        StructureError: at construction, for a name read but never defined, a value
            defined twice, a cycle, an unused input, a node whose outputs nobody reads,
            or a share naming an unknown node.
    """

    place = "node"

    inputs: str | Names = attrs.field(converter=_names, validator=_check_names)
    nodes: tuple[Node, ...] = attrs.field(converter=_tuple_nodes)
    outputs: str | Names = attrs.field(converter=_names, validator=_check_names)
    shared: tuple[Share, ...] = attrs.field(default=(), converter=_tuple_shares, kw_only=True)
    _plan: _Plan = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        for i, node in enumerate(self.nodes):
            if not isinstance(node, Node):
                raise TypeError(f"Graph: nodes[{i}] is {node!r}; write Node(outputs, layer, inputs)")
        object.__setattr__(self, "_plan", _wire(_as_tuple(self.inputs), self.nodes, _as_tuple(self.outputs)))
        self._check_shares()

    def _check_shares(self) -> None:
        names = {node.name for node in self.nodes}
        for share in self.shared:
            for which in ("target", "source"):
                named = share.split(which)[0]
                if named not in names:
                    raise StructureError(f"Graph: {share!r} names node {named!r}, which is not in the graph")
            if share.transpose and share.split("target")[1] is None:
                raise StructureError(f"Graph: {share!r} transposes, so name one field: 'node.field'")
        targets = [share.split("target")[0] for share in self.shared]
        sources = {share.split("source")[0] for share in self.shared}
        if len(set(targets)) != len(targets) or sources & set(targets):
            raise StructureError(
                "Graph: each node may be the target of one share and a target cannot be a source; "
                "share every use from the one node that holds the params"
            )

    @property
    def children(self) -> tuple[Layer[Any], ...]:
        return tuple(node.layer for node in self._plan.order)

    def child_label(self, i: int) -> str:
        node = self._plan.order[i]
        return f"node {node.name!r} ({node.layer.name})"

    def __repr__(self) -> str:
        return f"Graph(inputs={self.inputs!r}, outputs={self.outputs!r}, {len(self.nodes)} nodes)"

    # --- shapes and params ---------------------------------------------------------------

    def _node_shapes(self, in_shape: ShapeTree) -> tuple[list[ShapeTree], ShapeTree]:
        """Each node's input shape (topological order) and the graph's output shape."""
        shape = check_shape_tree(self.name, in_shape)
        env = self._bind(self.inputs, shape, "in_shape", ShapeError)
        node_shapes: list[ShapeTree] = []
        for i, node in enumerate(self._plan.order):
            node_in = self._gather(env, node.inputs)
            node_shapes.append(node_in)
            out = self.guard(i, lambda: node.layer.out_shape(node_in))
            env.update(self._bind(node.outputs, out, f"node {node.name!r}'s output shape", ShapeError))
        return node_shapes, self._gather(env, self.outputs)

    def out_shape(self, in_shape: ShapeTree) -> ShapeTree:
        return self._node_shapes(in_shape)[1]

    def init(self, key: random.Key, in_shape: ShapeTree, backend: Backend | None = None) -> GraphParams:
        shapes, _ = self._node_shapes(in_shape)
        params = dict(
            zip((node.name for node in self._plan.order), self.init_children(key, tuple(shapes), backend))
        )
        for share in self.shared:
            params[share.split("target")[0]] = self._without_shared(share, params)
        return params

    def init_state(self, in_shape: ShapeTree, backend: Backend | None = None) -> Any:
        shapes, _ = self._node_shapes(in_shape)
        states = self.init_children_state(tuple(shapes), resolve(backend))
        return None if states is None else dict(zip((node.name for node in self._plan.order), states))

    def _without_shared(self, share: Share, params: GraphParams) -> Any:
        """The target's params with the shared part removed (``None``), after checking shapes."""
        (target, field), (source, source_field) = share.split("target"), share.split("source")
        if field is None:
            shapes = [[leaf.shape for leaf in tree.leaves(params[node])] for node in (target, source)]
            if shapes[0] != shapes[1]:
                raise ShapeError(f"Graph: {share!r}: the params of {target!r} and {source!r} differ in shape")
            return None
        own = self._field(params[target], target, field)
        theirs = self._field(params[source], source, source_field or field)
        expected = tuple(theirs.shape[::-1]) if share.transpose else tuple(theirs.shape)
        if tuple(own.shape) != expected:
            raise ShapeError(
                f"Graph: {share!r}: {target}.{field} has shape {tuple(own.shape)} but the shared "
                f"{source}.{source_field or field} gives {expected}"
            )
        return attrs.evolve(params[target], **{field: None})

    @staticmethod
    def _field(params: Any, node: str, field: str) -> Any:
        if not attrs.has(type(params)) or field not in attrs.fields_dict(type(params)):
            raise StructureError(
                f"Graph: node {node!r} has no params field {field!r} to share (params: {params!r})"
            )
        return getattr(params, field)

    def _resolved(self, params: GraphParams) -> list[Any]:
        """Each node's params in topological order, shared parts filled in from their sources."""
        if not isinstance(params, dict):
            raise StateError(
                f"{self.name}: expected params as a dict from node name to params, as init returns"
            )
        full = dict(params)
        for share in self.shared:
            (target, field), (source, source_field) = share.split("target"), share.split("source")
            if field is None:
                full[target] = params[source]
            else:
                value = getattr(params[source], source_field or field)
                full[target] = attrs.evolve(params[target], **{field: value.T if share.transpose else value})
        try:
            return [full[node.name] for node in self._plan.order]
        except KeyError as missing:
            raise StateError(
                f"{self.name}: params have no entry for node {missing}; use the params init returns"
            ) from None

    def _split_graph_state(self, state: Any) -> tuple[Any, ...]:
        if state is None:
            return (None,) * len(self.nodes)
        if not isinstance(state, dict):
            raise StateError(
                f"{self.name}: expected state as a dict from node name to state, as init_state returns"
            )
        return tuple(state.get(node.name) for node in self._plan.order)

    def _join_graph_state(self, states: list[Any]) -> Any:
        if all(s is None for s in states):
            return None
        return dict(zip((n.name for n in self._plan.order), states))

    # --- values ------------------------------------------------------------------------------

    @staticmethod
    def _gather(env: dict[str, Any], names: str | Names) -> Any:
        return env[names] if isinstance(names, str) else tuple(env[n] for n in names)

    @staticmethod
    def _bind(names: str | Names, value: Any, what: str, error: type[Exception]) -> dict[str, Any]:
        if isinstance(names, str):
            return {names: value}
        if (
            not isinstance(value, tuple)
            or len(value) != len(names)
            or (what.endswith("shape") and is_shape(value))
        ):
            raise error(
                f"Graph: {what} must be a tuple of {len(names)} entries for {names}, got {value!r:.200}"
            )
        return dict(zip(names, value))

    def forward_train(
        self, params: GraphParams, state: Any, x: ArrayTree, key: random.Key | None = None
    ) -> tuple[ArrayTree, Any, Any]:
        node_params = self._resolved(params)
        states, keys = self._split_graph_state(state), self.split_key(key)
        env = self._bind(self.inputs, x, "the input", ShapeError)
        residuals, new_states, multi = [], [], {}
        i = 0
        try:
            for i, node in enumerate(self._plan.order):
                y, r, s = node.layer.forward_train(
                    node_params[i], states[i], self._gather(env, node.inputs), keys[i]
                )
                if isinstance(node.outputs, str):
                    env[node.outputs] = y
                else:
                    outs = self._bind(node.outputs, y, f"node {node.name!r}'s output", ShapeError)
                    multi.update(outs)
                    env.update(outs)
                residuals.append(r)
                new_states.append(s)
        except FnnError as error:
            raise self.placed(i, error) from None
        return self._gather(env, self.outputs), (tuple(residuals), multi), self._join_graph_state(new_states)

    def apply_with_state(self, params: GraphParams, state: Any, x: ArrayTree) -> tuple[ArrayTree, Any]:
        node_params = self._resolved(params)
        states = self._split_graph_state(state)
        env = self._bind(self.inputs, x, "the input", ShapeError)
        new_states = []
        last_use = self._plan.last_use
        i = 0
        try:
            for i, node in enumerate(self._plan.order):
                node_in = self._gather(env, node.inputs)
                for name in _as_tuple(node.inputs):
                    if last_use.get(name) == i:
                        env.pop(name, None)  # nothing reads it again: let it go
                y, s = self.infer_child(i, node_params[i], states[i], node_in)
                env.update(self._bind(node.outputs, y, f"node {node.name!r}'s output", ShapeError))
                new_states.append(s)
        except FnnError as error:
            raise self.placed(i, error) from None
        return self._gather(env, self.outputs), None if state is None else self._join_graph_state(new_states)

    def grad(self, params: GraphParams, residuals: Any, dy: ArrayTree) -> tuple[GraphParams, ArrayTree]:
        return self._backward(params, residuals, dy, need_dx=True)

    def param_grad(self, params: GraphParams, residuals: Any, dy: ArrayTree) -> GraphParams:
        """:meth:`grad` without ``dx``: nodes that read only graph inputs skip their own ``dx``."""
        grads: GraphParams = self._backward(params, residuals, dy, need_dx=False)[0]
        return grads

    def _backward(
        self, params: GraphParams, residuals: Any, dy: ArrayTree, need_dx: bool
    ) -> tuple[GraphParams, Any]:
        node_params = self._resolved(params)
        node_residuals, multi = residuals
        graph_inputs = set(_as_tuple(self.inputs))
        cot: dict[str, Any] = {}
        for name, d in self._bind(self.outputs, dy, "dy", ShapeError).items():
            cot[name] = add_cotangents(cot.get(name), d)
        dparams: list[Any] = [None] * len(node_params)
        for i in range(len(node_params) - 1, -1, -1):
            node = self._plan.order[i]
            names = _as_tuple(node.outputs)
            grads = [cot.pop(name, None) for name in names]
            if all(g is None for g in grads):  # nothing downstream depends on it (integer values)
                dparams[i] = _zeros_like(node_params[i])
                continue
            if isinstance(node.outputs, str):
                node_dy = grads[0]
            else:
                node_dy = tuple(_zeros_like(multi[n]) if g is None else g for n, g in zip(names, grads))
            layer, p, r = node.layer, node_params[i], node_residuals[i]
            if not need_dx and graph_inputs.issuperset(_as_tuple(node.inputs)):
                dparams[i] = self.guard(i, lambda: layer.param_grad(p, r, node_dy))
                continue
            dparams[i], dx = self.guard(i, lambda: layer.grad(p, r, node_dy))
            if isinstance(node.inputs, str):
                cot[node.inputs] = add_cotangents(cot.get(node.inputs), dx)
            elif dx is not None:
                for name, d in self._bind(node.inputs, dx, f"node {node.name!r}'s dx", ShapeError).items():
                    cot[name] = add_cotangents(cot.get(name), d)
        grads_by_name = dict(zip((node.name for node in self._plan.order), dparams))
        for share in self.shared:
            self._gather_shared(share, grads_by_name)
        dx_graph = (
            cot.get(self.inputs) if isinstance(self.inputs, str) else tuple(cot.get(n) for n in self.inputs)
        )
        return grads_by_name, dx_graph

    def _gather_shared(self, share: Share, grads: GraphParams) -> None:
        """Add the target's gradient of the shared leaf into the source's; the target keeps ``None``."""
        (target, field), (source, source_field) = share.split("target"), share.split("source")
        if field is None:
            grads[source] = tree.map(lambda a, b: a + b, grads[source], grads[target])
            grads[target] = None
            return
        g = getattr(grads[target], field)
        src_field = source_field or field
        total = getattr(grads[source], src_field) + (g.T if share.transpose else g)
        grads[source] = attrs.evolve(grads[source], **{src_field: total})
        grads[target] = attrs.evolve(grads[target], **{field: None})


def _zeros_like(values: Any) -> Any:
    """Zeros shaped like every array in ``values`` (an array or a pytree of arrays)."""
    return tree.map(lambda a: array_module(a).zeros_like(a), values)
