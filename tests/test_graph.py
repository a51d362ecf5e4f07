"""``fnn.Graph``: named nodes over named values, gradients summed at fan-out, shared weights."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pytest

import fnn
from fnn import Node, Share
from tests.test_composition import F64, Lookup, check_shapes, normal


def test_a_chain_graph_matches_sequential_in_values_and_gradients() -> None:
    layers = (fnn.Dense(4), fnn.tanh, fnn.Dense(2))
    graph = fnn.Graph("x", (Node("h", layers[0], "x"), Node("a", layers[1], "h"), Node("y", layers[2], "a")), "y")
    params = graph.init(fnn.random.key(0), (3,), F64)
    seq = fnn.sequential(*layers)
    seq_params = (params["h"], params["a"], params["y"])
    x = normal(1, (5, 3))
    np.testing.assert_allclose(graph.apply(params, x), seq.apply(seq_params, x))
    y, residuals = graph.forward(params, x)
    dy = normal(2, y.shape)
    grads, dx = graph.grad(params, residuals, dy)
    seq_grads, seq_dx = seq.grad(seq_params, seq.forward(seq_params, x)[1], dy)
    np.testing.assert_allclose(dx, seq_dx)
    np.testing.assert_allclose(grads["h"].w, seq_grads[0].w)
    fnn.check_grads(graph, params, x)


def test_nodes_in_any_order_run_in_topological_order() -> None:
    nodes = (Node("y", fnn.Dense(2), "a"), Node("a", fnn.tanh, "h"), Node("h", fnn.Dense(4), "x"))
    graph = fnn.Graph("x", nodes, "y")
    assert [layer.name for layer in graph.children] == ["Dense(features=4)", "tanh", "Dense(features=2)"]
    assert graph.out_shape((3,)) == (2,)


def test_a_value_read_twice_gets_the_sum_of_both_gradients() -> None:
    graph = fnn.Graph(
        "x",
        (
            Node("h", fnn.Dense(3), "x"),
            Node("a", fnn.tanh, "h"),
            Node("b", fnn.Dense(3), "h"),
            Node("y", fnn.FanInSum(), ("a", "b", "h")),  # h is read three times
        ),
        "y",
    )
    params = graph.init(fnn.random.key(0), (2,), F64)
    x = normal(1, (4, 2))
    h = x @ params["h"].w
    np.testing.assert_allclose(graph.apply(params, x), np.tanh(h) + h @ params["b"].w + h)
    dy = normal(2, (4, 3))
    _, residuals = graph.forward(params, x)
    grads, _ = graph.grad(params, residuals, dy)
    dh = dy * (1 - np.tanh(h) ** 2) + dy @ params["b"].w.T + dy  # the three paths added
    np.testing.assert_allclose(grads["h"].w, x.T @ dh)
    fnn.check_grads(graph, params, x)


def test_several_inputs_and_outputs() -> None:
    graph = fnn.Graph(
        ("x", "z"),
        (
            Node("h", fnn.Dense(3), "x"),
            Node("joined", fnn.FanInConcat(), ("h", "z")),
            Node("y", fnn.Dense(2), "joined"),
        ),
        ("y", "h"),
    )
    in_shape = ((4,), (5,))
    assert graph.out_shape(in_shape) == ((2,), (3,))
    params = graph.init(fnn.random.key(0), in_shape, F64)
    x = (normal(1, (3, 4)), normal(2, (3, 5)))
    check_shapes(graph, params, x, in_shape)
    fnn.check_grads(graph, params, x)


def test_integer_inputs_have_no_gradient_in_a_graph() -> None:
    graph = fnn.Graph(
        ("ids", "x"),
        (
            Node("e", Lookup(6, 3), "ids"),
            Node("s", fnn.FanInSum(), ("e", "x")),
            Node("y", fnn.tanh, "s"),
        ),
        "y",
    )
    params = graph.init(fnn.random.key(0), ((), (3,)), F64)
    x = (np.array([0, 5, 5, 2]), normal(1, (4, 3)))
    _, residuals = graph.forward(params, x)
    _, dx = graph.grad(params, residuals, np.ones((4, 3)))
    assert dx[0] is None and dx[1].shape == (4, 3)
    fnn.check_grads(graph, params, x)


def tied_language_model(vocab: int = 7, dim: int = 3) -> fnn.Graph:
    """ids → embedding → dense+tanh → logits with the embedding's transpose as weight."""
    return fnn.Graph(
        "ids",
        (
            Node("embed", Lookup(vocab, dim), "ids"),
            Node("hidden", fnn.Dense(dim), "embed"),
            Node("act", fnn.tanh, "hidden"),
            Node("logits", fnn.Dense(vocab), "act"),
        ),
        "logits",
        shared=(Share("logits.w", "embed.w", transpose=True),),
    )


def test_tied_weights_are_held_once_and_get_the_sum_of_both_uses() -> None:
    model = tied_language_model()
    params = model.init(fnn.random.key(0), (), F64)
    assert params["logits"].w is None and params["logits"].b.shape == (7,)
    leaves = fnn.tree.leaves(params)
    assert sum(leaf is params["embed"].w for leaf in leaves) == 1
    ids = np.array([1, 4, 4, 6, 0])
    act = np.tanh(params["embed"].w[ids] @ params["hidden"].w + params["hidden"].b)
    np.testing.assert_allclose(model.apply(params, ids), act @ params["embed"].w.T + params["logits"].b)
    # the gradient of the table: its rows through the lookup plus the output use, transposed back
    dy = normal(3, (5, 7))
    y, residuals = model.forward(params, ids)
    grads, dx = model.grad(params, residuals, dy)
    assert dx is None and grads["logits"].w is None
    d_act = dy @ params["embed"].w
    d_embed = (d_act * (1 - act**2)) @ params["hidden"].w.T
    expected = np.zeros_like(params["embed"].w)
    np.add.at(expected, ids, d_embed)
    expected += (act.T @ dy).T
    np.testing.assert_allclose(grads["embed"].w, expected)
    labels = np.array([0, 1, 2, 3, 4])
    fnn.check_grads(model, params, ids, loss=fnn.losses.softmax_cross_entropy, t=labels)
    fnn.check_grads(model, params, ids)


def test_a_tied_model_trains_with_the_optimizers() -> None:
    model = tied_language_model()
    params = model.init(fnn.random.key(0), (), F64)
    ids = np.arange(7).repeat(3)
    result = fnn.fit(
        model, fnn.losses.softmax_cross_entropy, fnn.optim.adam(0.05), params, ids, (ids + 1) % 7,
        key=fnn.random.key(1), epochs=30, batch_size=21, progress=False,
    )
    assert result.params["logits"].w is None
    assert result.history.loss[-1] < 0.5 * result.history.loss[0]


def test_one_layer_applied_in_two_places_shares_all_its_params() -> None:
    graph = fnn.Graph(
        ("left", "right"),
        (
            Node("a", fnn.Dense(3), "left"),
            Node("b", fnn.Dense(3), "right"),
            Node("y", fnn.FanInSum(), ("a", "b")),
        ),
        "y",
        shared=(Share("b", "a"),),
    )
    params = graph.init(fnn.random.key(0), ((2,), (2,)), F64)
    assert params["b"] is None
    x = (normal(1, (4, 2)), normal(2, (4, 2)))
    np.testing.assert_allclose(graph.apply(params, x), (x[0] + x[1]) @ params["a"].w + 2 * params["a"].b)
    fnn.check_grads(graph, params, x)


def test_an_unread_output_of_a_multi_output_node_gets_a_zero_gradient() -> None:
    graph = fnn.Graph(
        "x",
        (Node("h", fnn.Dense(3), "x"), Node(("a", "unused"), fnn.FanOut(2), "h"), Node("y", fnn.tanh, "a")),
        "y",
    )
    params = graph.init(fnn.random.key(0), (2,), F64)
    fnn.check_grads(graph, params, normal(1, (3, 2)))


def test_graphs_and_sequentials_nest_both_ways() -> None:
    inner = fnn.Graph(
        "x", (Node("a", fnn.Dense(3), "x"), Node("b", fnn.tanh, "x"), Node("y", fnn.FanInSum(), ("a", "b"))), "y"
    )
    model = fnn.Graph(
        "x",
        (
            Node("s", fnn.sequential(fnn.Dense(3), inner, fnn.sigmoid), "x"),
            Node("r", fnn.residual(inner), "s"),
            Node("y", fnn.Dense(2), ("r")),
        ),
        "y",
    )
    params = model.init(fnn.random.key(0), (4,), F64)
    x = normal(1, (3, 4))
    check_shapes(model, params, x, (4,))
    fnn.check_grads(model, params, x)
    outer = fnn.sequential(model, fnn.relu)
    outer_params = outer.init(fnn.random.key(0), (4,), F64)
    fnn.check_grads(outer, outer_params, x + 3.0)


def test_state_and_keys_reach_the_nodes() -> None:
    graph = fnn.Graph(
        "x",
        (Node("n", fnn.BatchNorm(), "x"), Node("d", fnn.Dropout(0.5), "n"), Node("y", fnn.Dense(2), "d")),
        "y",
    )
    assert graph.stochastic and graph.has_state
    params = graph.init(fnn.random.key(0), (3,), F64)
    state = graph.init_state((3,), F64)
    assert set(state) == {"n", "d", "y"} and state["y"] is None
    x = normal(1, (8, 3)) + 3.0
    _, _, new_state = graph.forward_train(params, state, x, fnn.random.key(1))
    assert np.all(new_state["n"].mean > 0.2)
    y, same = graph.apply_with_state(params, new_state, x)
    assert same["n"] is new_state["n"]
    np.testing.assert_allclose(y, fnn.sequential(fnn.BatchNorm(), fnn.Dense(2)).apply(
        (params["n"], params["y"]), x, (new_state["n"], None)))
    fnn.check_grads(graph, params, x, state=state, key=fnn.random.key(1))
    with pytest.raises(fnn.StateError, match=r"node 'n' \(BatchNorm.*\): training needs the running statistics"):
        graph.forward_train(params, None, x, fnn.random.key(1))


# --- validation at construction --------------------------------------------------------


def test_wiring_errors_are_reported_at_construction() -> None:
    dense = fnn.Dense(2)
    with pytest.raises(fnn.StructureError, match=r"node 'y' \(Dense\(features=2\)\) reads 'hx', which is neither a graph input nor a node's output; known values: 'x', 'y'"):
        fnn.Graph("x", (Node("y", dense, "hx"),), "y")
    with pytest.raises(fnn.StructureError, match=r"the nodes 'a' → 'b' → 'a' form a cycle; a graph must be acyclic"):
        fnn.Graph("x", (Node("a", dense, ("x", "b")), Node("b", dense, "a"), Node("y", dense, "b")), "y")
    with pytest.raises(fnn.StructureError, match=r"input 'z' is never used"):
        fnn.Graph(("x", "z"), (Node("y", dense, "x"),), "y")
    with pytest.raises(fnn.StructureError, match=r"node 'dead' \(Dense\(features=2\)\) is computed but none of its outputs is read"):
        fnn.Graph("x", (Node("y", dense, "x"), Node("dead", dense, "x")), "y")
    with pytest.raises(fnn.StructureError, match=r"value 'x' is defined twice \(by a graph input and by node 'x'\)"):
        fnn.Graph("x", (Node("x", dense, "x"),), "x")
    with pytest.raises(fnn.StructureError, match=r"output 'out' is not defined"):
        fnn.Graph("x", (Node("y", dense, "x"),), "out")
    with pytest.raises(fnn.StructureError, match=r"names node 'nope', which is not in the graph"):
        fnn.Graph("x", (Node("y", dense, "x"),), "y", shared=(Share("y.w", "nope.w"),))
    with pytest.raises(fnn.StructureError, match=r"transposes, so name one field: 'node.field'"):
        fnn.Graph("x", (Node("y", dense, "x"), Node("z", dense, "y")), "z", shared=(Share("z", "y", transpose=True),))
    with pytest.raises(fnn.StructureError, match=r"a target cannot be a source"):
        fnn.Graph(
            "x", (Node("y", dense, "x"), Node("z", dense, "y"), Node("u", dense, "z")), "u",
            shared=(Share("z", "y"), Share("u", "z")),
        )  # fmt: skip
    with pytest.raises(fnn.StructureError, match=r"node 'y' has no params field 'weight' to share"):
        fnn.Graph(
            "x", (Node("y", dense, "x"), Node("z", dense, "y")), "z", shared=(Share("z.w", "y.weight"),)
        ).init(fnn.random.key(0), (2,))
    with pytest.raises(TypeError, match=r"Node 'y': 3 is not an fnn layer"):
        Node("y", 3, "x")  # type: ignore[arg-type]


def test_errors_name_the_node() -> None:
    graph = fnn.Graph("x", (Node("h", fnn.Dense(3), "x"), Node("y", fnn.Conv2D(2, 3), "h")), "y")
    with pytest.raises(fnn.ShapeError, match=r"node 'y' \(Conv2D.*\): .*got in_shape \(3,\)"):
        graph.init(fnn.random.key(0), (4,))
    good = fnn.Graph("x", (Node("y", fnn.Dense(3), "x"),), "y")
    params = good.init(fnn.random.key(0), (4,))
    with pytest.raises(fnn.ShapeError, match=r"node 'y' \(Dense\(features=3\)\): expected input of shape \(N, 4\), got \(2, 5\)"):
        good.apply(params, np.ones((2, 5), np.float32))
    tied = tied_language_model()
    with pytest.raises(fnn.ShapeError, match=r"logits.w has shape \(3, 5\) but the shared embed.w gives \(3, 7\)"):
        fnn.Graph(
            "ids",
            (Node("embed", Lookup(7, 3), "ids"), Node("logits", fnn.Dense(5), "embed")),
            "logits",
            shared=(Share("logits.w", "embed.w", transpose=True),),
        ).init(fnn.random.key(0), ())
    assert tied.init(fnn.random.key(0), ())["logits"].w is None


def test_multi_output_names_must_match_the_layer_output() -> None:
    graph = fnn.Graph("x", (Node(("a", "b"), fnn.Dense(2), "x"), Node("y", fnn.FanInSum(), ("a", "b"))), "y")
    with pytest.raises(fnn.ShapeError, match=r"node 'a''s output shape must be a tuple of 2 entries for \('a', 'b'\), got \(2,\)"):
        graph.init(fnn.random.key(0), (3,))


def test_values_may_be_tuples_like_an_lstm_state() -> None:
    """A node can define a tuple-valued name (an LSTM's ``(h, c)``), read whole or left unread."""
    split = fnn.sequential(fnn.FanOut(2), fnn.parallel(fnn.identity, fnn.FanOut(2)))  # x ↦ (x, (x, x))
    graph = fnn.Graph(
        "x",
        (
            Node("h", fnn.Dense(3), "x"),
            Node(("a", "pair"), split, "h"),
            Node(("b", "unread_pair"), split, "a"),
            Node("s", fnn.FanInSum(), "pair"),  # the tuple value as the layer's tuple input
            Node("y", fnn.FanInConcat(), ("s", "b")),
        ),
        "y",
    )
    params = graph.init(fnn.random.key(0), (2,), F64)
    x = normal(1, (3, 2))
    h = x @ params["h"].w + params["h"].b
    np.testing.assert_allclose(graph.apply(params, x), np.concatenate([2 * h, h], axis=1))
    fnn.check_grads(graph, params, x)


def test_a_composite_without_init_state_says_so_when_a_child_has_state() -> None:
    from tests.test_composition import Scaled

    @attrs.frozen
    class NoStateMethod(Scaled):
        def init_state(self, in_shape: fnn.typing.ShapeTree, backend: fnn.Backend | None = None) -> Any:
            return fnn.Composite.init_state(self, in_shape, backend)

    assert NoStateMethod(fnn.Dense(2)).init_state((3,)) is None
    with pytest.raises(fnn.StateError, match=r"a child has state, so NoStateMethod must override init_state"):
        NoStateMethod(fnn.BatchNorm()).init_state((3,))


def test_param_grad_equals_grad_without_dx() -> None:
    graph = fnn.Graph(
        ("x", "z"),
        (
            Node("h", fnn.Dense(3), "x"),  # reads only a graph input: skips its dx
            Node("s", fnn.FanInConcat(), ("h", "z")),
            Node("y", fnn.Dense(2), "s"),
        ),
        "y",
    )
    params = graph.init(fnn.random.key(0), ((4,), (2,)), F64)
    x = (normal(1, (3, 4)), normal(2, (3, 2)))
    _, residuals = graph.forward(params, x)
    dy = normal(3, (3, 2))
    expected, _ = graph.grad(params, residuals, dy)
    got = graph.param_grad(params, residuals, dy)
    assert set(got) == {"h", "s", "y"} and got["s"] is None
    for name in ("h", "y"):
        np.testing.assert_allclose(got[name].w, expected[name].w)
    inputs: Any = x  # value_and_grad is typed for one array; a graph takes the tuple
    value, grads = fnn.value_and_grad(graph, fnn.losses.mse)(params, inputs, np.zeros((3, 2)))
    np.testing.assert_allclose(grads["h"].w, graph.grad(params, residuals, 2 * graph.apply(params, x) / 6)[0]["h"].w)




def _ids_and_floats_graph() -> fnn.Graph:
    """A graph of two inputs: ids through an embedding, concatenated with floats, then a dense layer."""
    return fnn.Graph(
        inputs=("ids", "extra"),
        nodes=(
            fnn.Node("vectors", fnn.Embedding(7, 3), "ids"),
            fnn.Node("joined", fnn.FanInConcat(), ("vectors", "extra")),
            fnn.Node("logits", fnn.Dense(4), "joined"),
        ),
        outputs="logits",
    )

def test_value_and_grad_takes_a_tuple_of_ids_and_floats() -> None:
    """``value_and_grad`` passes a tuple input (ids and floats) to the model; ids get no gradient."""
    b = fnn.backend(dtype="float64")
    model = _ids_and_floats_graph()
    params = model.init(fnn.random.key(0), ((), (2,)), b)
    ids = b.asarray([0, 1, 6, 6, 2], dtype="int64")
    extra = fnn.random.normal(fnn.random.key(1), (5, 2), b)
    t = b.asarray([0, 1, 2, 3, 3], dtype="int64")
    value, grads = fnn.value_and_grad(model, fnn.losses.softmax_cross_entropy)(params, (ids, extra), t)
    numeric = fnn.numerical_grad(
        lambda p: float(fnn.losses.softmax_cross_entropy(model.apply(p, (ids, extra)), t)), params
    )
    assert float(value) == pytest.approx(float(fnn.losses.softmax_cross_entropy(model.apply(params, (ids, extra)), t)))
    for got, want in zip(fnn.tree.leaves(grads), fnn.tree.leaves(numeric)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
    assert np.all(grads["vectors"].w[[3, 4, 5]] == 0)  # rows no id used get nothing


def test_fit_trains_a_model_of_several_inputs_from_a_stream() -> None:
    """Tuple inputs reach ``fit`` through ``data=``; the array form says so instead of a NumPy error."""
    b = fnn.backend(dtype="float64")
    model = _ids_and_floats_graph()
    params = model.init(fnn.random.key(0), ((), (2,)), b)
    x = (b.asarray([0, 1, 6, 6, 2], dtype="int64"), fnn.random.normal(fnn.random.key(1), (5, 2), b))
    t = b.asarray([0, 1, 2, 3, 3], dtype="int64")
    sce, sgd = fnn.losses.softmax_cross_entropy, fnn.optim.sgd(0.5)
    result = fnn.fit(model, sce, sgd, params, data=[(x, t)] * 4, key=fnn.random.key(2), epochs=3, progress=False)
    assert result.history.loss[-1] < result.history.loss[0]
    assert float(sce(model.apply(result.params, x), t)) < float(sce(model.apply(params, x), t))
    with pytest.raises(fnn.ShapeError, match=r"got a tuple of 2 arrays .* pass the batches as `data=`"):
        fnn.fit(model, sce, sgd, params, x, t, key=fnn.random.key(2), epochs=1, batch_size=5, progress=False)  # type: ignore[arg-type]
