"""The Graph API: construction errors, subgraph ports, flattening, recurrence, nir objects."""

from __future__ import annotations

import nir
import numpy as np
import pytest
from conftest import paper_graphs
from test_roundtrip_property import every_type_graph

import snnx
from snnx.errors import GraphError
from snnx.ir import Graph, Node

ONES = np.ones(3)


def lif(n=3):
    return Node(
        "LIF", tau=np.full(n, 0.01), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n)
    )


def two_port_subgraph():
    return Graph(
        {
            "a": Node("Input", shape=[3]),
            "b": Node("Input", shape=[3]),
            "sum": lif(),
            "o": Node("Output", shape=[3]),
        },
        [("a", "sum"), ("b", "sum"), ("sum", "o")],
    )


@pytest.mark.parametrize("bad", ["", ".", "a/b", 3])
def test_bad_node_names(bad):
    with pytest.raises(GraphError, match="node names must be"):
        Graph().add_node(bad, lif())


def test_dotted_names_are_names_not_ports():
    g = Graph(
        {"x": Node("Input", shape=[3]), "lif1.lif": lif(), "out": Node("Output", shape=[3])},
        [("x", "lif1.lif"), ("lif1.lif", "out")],
    )
    assert g.predecessors("lif1.lif") == ["x"]


def test_ports_address_subgraph_inputs_and_flatten_sums_them():
    g = Graph(
        {
            "in": Node("Input", shape=[3]),
            "w": Node("Linear", weight=np.eye(3)),
            "sub": two_port_subgraph(),
            "out": Node("Output", shape=[3]),
        },
        [("in", "w"), ("in", "sub.a"), ("w", "sub.b"), ("sub", "out")],
    )
    shapes = g.check()
    assert shapes["sub"].ports_in == {"a": (3,), "b": (3,)} and shapes["sub"].output == (3,)
    flat = g.flatten()
    assert sorted(flat.nodes) == ["in", "out", "sub.sum", "w"]
    assert sorted(flat.edges) == [
        ("in", "sub.sum"),
        ("in", "w"),
        ("sub.sum", "out"),
        ("w", "sub.sum"),
    ]
    flat.check()


def test_bare_edge_into_two_port_subgraph_is_an_error():
    g = Graph(
        {
            "in": Node("Input", shape=[3]),
            "sub": two_port_subgraph(),
            "out": Node("Output", shape=[3]),
        },
        [("in", "sub"), ("sub", "out")],
    )
    with pytest.raises(
        GraphError,
        match=r"node 'sub': an edge names subgraph 'sub' without a port, but it has 2 Input",
    ):
        g.check()


def test_nested_errors_name_the_path():
    inner = Graph.sequential(
        {
            "i": Node("Input", shape=[3]),
            "bad": lif().replace(tau=-ONES),
            "o": Node("Output", shape=[3]),
        }
    )
    g = Graph.sequential(
        {"in": Node("Input", shape=[3]), "sub": inner, "out": Node("Output", shape=[3])}
    )
    with pytest.raises(GraphError, match=r"node 'sub/bad': field 'tau': LIF.tau must be positive"):
        g.check()


def test_recurrence_and_back_edges(nir_paper):
    braille = snnx.read(nir_paper / "braille_noDelay_bias_zero.nir")
    assert braille.recurrent_groups() == [["lif1.lif", "lif1.w_rec"]]
    assert braille.back_edges() == {("lif1.w_rec", "lif1.lif")}
    order = braille.flow_order()
    assert order[0] == "input" and order.index("fc1") < order.index("lif1.lif") < order.index(
        "lif2"
    )
    g = Graph(
        {"in": Node("Input", shape=[3]), "l": lif(), "out": Node("Output", shape=[3])},
        [("in", "l"), ("l", "l"), ("l", "out")],
    )
    assert g.recurrent_groups() == [["l"]] and g.back_edges() == {("l", "l")}


def test_dead_nodes_are_warned(nir_paper):
    g = Graph(
        {
            "in": Node("Input", shape=[3]),
            "l": lif(),
            "dead": lif(),
            "out": Node("Output", shape=[3]),
        },
        [("in", "l"), ("l", "out"), ("l", "dead")],
    )
    assert "node 'dead' reaches no Output (dead)" in g.check().warnings


def test_unknown_fields_are_kept_and_warned():
    g = Graph.sequential(
        {
            "in": Node("Input", shape=[3]),
            "l": lif().replace(note=np.ones(2)),
            "out": Node("Output", shape=[3]),
        }
    )
    assert any("unknown fields ['note']" in w for w in g.check().warnings)


def test_nodes_are_immutable_and_compare_by_value():
    a, b = lif(), lif()
    assert a == b and a is not b
    with pytest.raises(AttributeError):
        a.tau = ONES
    assert a.replace(tau=np.full(3, 0.01, np.float32)) != a  # dtype is part of the value


@pytest.mark.parametrize("name", paper_graphs())
def test_to_nir_passes_nirs_own_type_check(nir_paper, name):
    graph = snnx.read(nir_paper / name)
    ours = graph.to_nir()
    if name == "lif_rockpool.nir":  # its Output shape (1, 1, 1) is not nir-valid to begin with
        with pytest.raises(ValueError, match="type mismatch"):
            ours.check_types()
        return
    assert ours.check_types()
    back = Graph.from_nir(ours)
    assert back.edges == graph.edges and back.nodes.keys() == graph.nodes.keys()


def test_to_nir_fills_what_nir_needs():
    graph = every_type_graph()
    ours = graph.to_nir()
    assert isinstance(ours.nodes["sub"], nir.NIRGraph)
    assert ours.nodes["conv"].output_type["output"].tolist() == [
        4,
        6,
        2,
    ]  # nir itself would say [4, 4, 3]
    assert ours.nodes["lif"].v_leak.shape == (4,) and ours.nodes["culif"].v_reset.tolist() == [
        0,
        0,
        0,
        0,
    ]
    back = Graph.from_nir(ours)
    back.check()
    assert back["culi"].w_in.tolist() == [2.0] * 4


def test_copy_is_independent():
    graph = every_type_graph()
    twin = graph.copy()
    twin.annotations("lif")["placed"] = "core 0"
    twin["sub"].remove_node("thr")
    assert "placed" not in graph.annotations("lif") and "thr" in graph["sub"]
