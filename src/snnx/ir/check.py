"""Structural, field and shape checks of a `Graph`, with errors that name node, field and edge.

`check_graph` checks, in this order, recursing into subgraphs (whose errors carry the path
``sub/node``):

1. every node's fields against the schema (missing, mistyped, NaN/inf, non-positive time
   constants, element-wise parameters of different shapes); unknown fields are kept and warned of;
2. structure: at least one `Input` and one `Output`; nothing flows into an `Input` or out of an
   `Output`; every node without an incoming edge is an `Input`; every cycle can be entered from
   outside it; an edge naming a subgraph without a port finds exactly one;
3. shapes along every edge (`infer_shapes`).

It returns the inferred shapes; their ``warnings`` list what was tolerated (reshaped edges,
unknown fields, nodes that reach no output).

>>> from snnx.ir import Graph, Node
>>> g = Graph({"in": Node("Input", shape=[1]), "lif": Node("LIF", tau=[-1.0], r=[1.0],
...            v_leak=[0.0], v_threshold=[1.0]), "out": Node("Output", shape=[1])},
...           [("in", "lif"), ("lif", "out")])
>>> check_graph(g)
Traceback (most recent call last):
snnx.errors.GraphError: node 'lif': field 'tau': LIF.tau must be positive, got min -1.0
"""

from __future__ import annotations

import networkx as nx

from snnx.errors import GraphError
from snnx.ir.graph import Graph
from snnx.ir.schema import check_fields
from snnx.ir.shapes import GraphShapes, infer_shapes


def check_graph(graph: Graph) -> GraphShapes:
    """Check ``graph`` (see the module docstring); return its shapes with the warnings found."""
    warnings = _check_nodes(graph)
    _check_structure(graph)
    warnings += _dead_nodes(graph)
    shapes = infer_shapes(graph)
    shapes.warnings[:0] = warnings
    return shapes


def _check_nodes(graph: Graph) -> list[str]:
    warnings = []
    for name, payload in graph.nodes.items():
        try:
            if isinstance(payload, Graph):
                inner = _check_nodes(payload)
                _check_structure(payload)
                inner += _dead_nodes(payload)
                warnings += [f"in subgraph '{name}': {w}" for w in inner]
                continue
            unknown = check_fields(payload.type, payload.fields)
        except GraphError as err:
            raise err.located(parent=name) from None
        if unknown:
            warnings.append(
                f"node '{name}': unknown fields {unknown} of {payload.type} (kept as they are)"
            )
    return warnings


def _check_structure(graph: Graph) -> None:
    if not graph.inputs:
        raise GraphError("the graph has no Input node")
    if not graph.outputs:
        raise GraphError("the graph has no Output node")
    g = graph.nx
    for name, payload in graph.nodes.items():
        if payload.type == "Input" and g.in_degree(name):
            raise GraphError(
                f"an Input node cannot receive edges (from {graph.predecessors(name)})", node=name
            )
        if payload.type == "Output" and g.out_degree(name):
            raise GraphError(
                f"an Output node cannot send edges (to {graph.successors(name)})", node=name
            )
        if payload.type != "Input" and not g.in_degree(name):
            raise GraphError(
                f"this {payload.type} has no incoming edge and is not an Input node; "
                "add an Input node that feeds it",
                node=name,
            )
    condensed = nx.condensation(g)
    for component in condensed.nodes:
        members = condensed.nodes[component]["members"]
        cyclic = len(members) > 1 or any(g.has_edge(n, n) for n in members)
        if cyclic and not condensed.in_degree(component):
            order = [n for n in graph if n in members]
            raise GraphError(
                f"the cycle {order} has no entry: no edge reaches it from outside", node=order[0]
            )
    for u, v, _, data in graph.edge_records():
        for node, port, kind in ((u, data["src_port"], "Output"), (v, data["dst_port"], "Input")):
            if isinstance(graph[node], Graph):
                graph.port_node(node, port, kind)


def _dead_nodes(graph: Graph) -> list[str]:
    live = set()
    for output in graph.outputs:
        live |= nx.ancestors(graph.nx, output) | {output}
    return [f"node '{n}' reaches no Output (dead)" for n in graph if n not in live]
