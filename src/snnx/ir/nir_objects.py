"""Conversion between `Graph` and the `nir` package's dataclasses (`nir.NIRGraph`).

`graph_from_nir` keeps the fields as the nir objects hold them. `graph_to_nir` fills in what nir
expects: absent ``v_reset`` becomes zeros (so a pre-1.0.6 graph loses its subtractive reset in nir
form: keep the snnx `Graph` where that matters), scalar element-wise parameters are broadcast to
the node's shape, and every node's ``input_type``/``output_type`` comes from snnx's own shape
inference (correct for non-square and grouped convolutions, where nir's is not).

>>> import numpy as np, nir
>>> g = nir.NIRGraph.from_list(nir.Linear(np.ones((2, 3))), nir.LI(np.ones(2), np.ones(2), np.zeros(2)))
>>> ours = graph_from_nir(g)
>>> sorted(ours.nodes), ours["li"].type
(['input', 'li', 'linear', 'output'], 'LI')
>>> graph_to_nir(ours).nodes["li"].output_type["output"].tolist()
[2]
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.schema import SCHEMA

if TYPE_CHECKING:
    import nir

    from snnx.ir.shapes import GraphShapes, NodeShape


def graph_from_nir(graph: nir.NIRGraph) -> Graph:
    """A `Graph` holding the nodes, edges and metadata of a `nir.NIRGraph`."""
    import nir

    ours = Graph(metadata=dict(graph.metadata) if graph.metadata else None)
    for name, node in graph.nodes.items():
        if isinstance(node, nir.NIRGraph):
            ours.add_node(name, graph_from_nir(node))
            continue
        type_name = type(node).__name__
        fields: dict[str, Any] = {}
        for f in dataclasses.fields(node):
            if f.name in SCHEMA.get(type_name, {}):
                value = getattr(node, f.name)
                if value is not None:
                    fields[f.name] = value
        if type_name == "Input":
            fields["shape"] = np.asarray(node.input_type["input"])
        elif type_name == "Output":
            fields["shape"] = np.asarray(node.output_type["output"])
        elif type_name == "Flatten" and node.input_type.get("input") is not None:
            fields["input_type"] = np.asarray(node.input_type["input"])
        ours.add_node(name, Node(type_name, fields, metadata=node.metadata or None))
    for src, dst in graph.edges:
        ours.add_edge(src, dst)
    return ours


def graph_to_nir(graph: Graph, shapes: GraphShapes | None = None) -> nir.NIRGraph:
    """A `nir.NIRGraph` equivalent to ``graph`` (which must pass `Graph.check`)."""
    import nir

    shapes = graph.check() if shapes is None else shapes
    nodes = {}
    for name, payload in graph.nodes.items():
        shape = shapes[name]
        if isinstance(payload, Graph):
            nodes[name] = graph_to_nir(payload, shape.inner)
            continue
        node = _to_nir_node(payload, shape)
        if SCHEMA[payload.type].category != "io":
            node.input_type = {"input": np.array(shape.input)}
            node.output_type = {"output": np.array(shape.output)}
        nodes[name] = node
    return nir.NIRGraph(
        nodes=nodes, edges=list(graph.edges), metadata=dict(graph.metadata or {}), type_check=False
    )


def _to_nir_node(node: Node, shape: NodeShape) -> Any:
    import nir

    # `graph_to_nir` takes checked graphs: every primitive's shapes are known
    assert shape.input is not None and shape.output is not None
    f = dict(node.fields)
    meta = {"metadata": dict(node.metadata)} if node.metadata else {}
    if node.type == "Input":
        return nir.Input(input_type=np.asarray(f["shape"]), **meta)
    if node.type == "Output":
        return nir.Output(output_type=np.asarray(f["shape"]), **meta)
    if node.type == "Flatten":
        return nir.Flatten(
            input_type={"input": np.array(shape.input)},
            start_dim=int(f["start_dim"]),
            end_dim=int(f["end_dim"]),
            **meta,
        )
    if SCHEMA[node.type].shape == "conv":
        spatial = shape.input[1:]
        f["input_shape"] = int(spatial[0]) if node.type == "Conv1d" else tuple(spatial)
        f["groups"] = int(f["groups"])
        if not isinstance(f["padding"], str):
            f["padding"] = _ints(f["padding"], node.type == "Conv1d")
        f["stride"] = _ints(f["stride"], node.type == "Conv1d")
        f["dilation"] = _ints(f["dilation"], node.type == "Conv1d")
    elif SCHEMA[node.type].elementwise:
        for key in SCHEMA[node.type]:
            if key in f:
                f[key] = np.broadcast_to(np.asarray(f[key]), shape.output).copy()
        if "v_reset" in SCHEMA[node.type] and "v_reset" not in f:
            f["v_reset"] = np.zeros(shape.output)
    else:
        f = {k: np.asarray(v) for k, v in f.items()}
    f = {k: v for k, v in f.items() if k in SCHEMA[node.type]}
    return getattr(nir, node.type)(**f, **meta)


def _ints(value: Any, scalar: bool) -> Any:
    values = np.atleast_1d(np.asarray(value)).astype(int)
    return int(values[0]) if scalar else tuple(int(v) for v in np.broadcast_to(values, (2,)))
