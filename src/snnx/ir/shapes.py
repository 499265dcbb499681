"""Shape inference: the per-sample input and output shape of every node (no batch, no time).

Shapes known from a node's own fields (weights, element-wise parameters, `Input`/`Output`,
``input_shape`` of a convolution, ``input_type`` of a `Flatten`) are propagated along the edges
until nothing changes; nodes whose shape depends on their input (pooling, convolutions without
``input_shape``, scalar-parameter neurons) take it from the edge feeding them. Convolution and
pooling outputs use, per spatial dimension with kernel ``k``, stride ``s``, padding ``p`` and
dilation ``d``::

    n_out = floor((n_in + 2 p - d (k - 1) - 1) / s) + 1

with the kernel size read per dimension and input channels ``weight.shape[1] * groups`` (NIR's own
inference reads the kernel height for both dimensions and ignores groups).

Two shapes with the same number of elements meet along an edge with a warning (the simulator
reshapes); any other disagreement is a `ShapeError` naming the edge.

>>> from snnx.ir import Graph, Node
>>> import numpy as np
>>> g = Graph({"in": Node("Input", shape=[2, 9, 7]),
...            "conv": Node("Conv2d", weight=np.zeros((4, 1, 3, 2)), stride=[2, 1], padding=0,
...                         dilation=1, groups=2, bias=np.zeros(4)),
...            "out": Node("Output", shape=[4, 4, 6])}, [("in", "conv"), ("conv", "out")])
>>> infer_shapes(g)["conv"]
NodeShape(input=(2, 9, 7), output=(4, 4, 6))
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from snnx.errors import ShapeError
from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.schema import SCHEMA

Shape = tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class NodeShape:
    """Input and output shape of one node. For a subgraph, ``input``/``output`` are those of its
    only port (``None`` when it has several), ``ports_in``/``ports_out`` give each port's shape
    and ``inner`` the shapes inside it."""

    input: Shape | None
    output: Shape | None
    ports_in: Mapping[str, Shape] = dataclasses.field(default_factory=dict, repr=False)
    ports_out: Mapping[str, Shape] = dataclasses.field(default_factory=dict, repr=False)
    inner: GraphShapes | None = dataclasses.field(default=None, repr=False)


class GraphShapes(dict):
    """Node name -> `NodeShape`, plus ``warnings``: what inference tolerated (reshaped edges)."""

    def __init__(self, shapes: Mapping[str, NodeShape], warnings: list[str]) -> None:
        super().__init__(shapes)
        self.warnings = warnings


def infer_shapes(graph: Graph) -> GraphShapes:
    """Infer every node's shapes; raise `ShapeError` (naming node, field or edge) on conflict."""
    warnings: list[str] = []
    inner: dict[str, GraphShapes] = {}
    ins: dict[str, Shape | None] = {}
    outs: dict[str, Shape | None] = {}
    for name, payload in graph.nodes.items():
        if isinstance(payload, Graph):
            try:
                inner[name] = infer_shapes(payload)
            except ShapeError as err:
                raise err.located(parent=name) from None
            warnings += [f"in subgraph '{name}': {w}" for w in inner[name].warnings]
            ins[name] = outs[name] = None
        else:
            ins[name], outs[name] = _intrinsic(name, payload)

    def port_in(node: str, port: str | None) -> Shape | None:
        if node in inner:
            return _port_shape(graph.subgraph(node), inner[node], port, "Input").input
        return ins[node]

    def port_out(node: str, port: str | None) -> Shape | None:
        if node in inner:
            return _port_shape(graph.subgraph(node), inner[node], port, "Output").output
        return outs[node]

    changed = True
    while changed:
        changed = False
        for u, v, _, data in graph.edge_records():
            produced = port_out(u, data["src_port"])
            if produced is None:
                continue
            expected = port_in(v, data["dst_port"])
            if expected is None:
                ins[v] = produced
                outs[v] = _derive(v, graph.node(v), produced)
                changed = True
            elif expected != produced:
                edge = (data["src"], data["dst"])
                if math.prod(expected) != math.prod(produced):
                    raise ShapeError(
                        f"edge {edge}: '{data['src']}' produces shape {produced} but "
                        f"'{data['dst']}' takes {expected}",
                        node=v,
                    )
                note = f"edge {edge}: shape {produced} meets {expected} (same size, reshaped)"
                if note not in warnings:
                    warnings.append(note)
    shapes = {}
    for name, payload in graph.nodes.items():
        if name in inner:
            sub = inner[name]
            ports_in = {p: sub[p].output for p in payload.inputs}
            ports_out = {p: sub[p].input for p in payload.outputs}
            shapes[name] = NodeShape(
                _only(ports_in), _only(ports_out), ports_in, ports_out, inner=sub
            )
        elif ins[name] is None or outs[name] is None:
            raise ShapeError(
                f"cannot infer the shape of this {payload.type}: its parameters are scalars "
                "and no edge with a known shape reaches it",
                node=name,
            )
        else:
            shapes[name] = NodeShape(ins[name], outs[name])
    return GraphShapes(shapes, warnings)


def _only(ports: Mapping[str, Shape]) -> Shape | None:
    return next(iter(ports.values())) if len(ports) == 1 else None


def _port_shape(sub: Graph, shapes: GraphShapes, port: str | None, kind: str) -> NodeShape:
    names = sub.of_type(kind) if port is None else [port]
    if len(names) != 1:
        raise ShapeError(f"subgraph has {len(names)} {kind} nodes; an edge must name one")
    return shapes[names[0]]


def _intrinsic(name: str, node: Node) -> tuple[Shape | None, Shape | None]:
    """The shapes a node fixes by its own fields (``None`` where it takes them from its input)."""
    f = node.fields
    t = node.type
    rule = SCHEMA[t].shape
    if rule == "io":
        shape = _shape(f["shape"])
        return shape, shape
    if rule == "dense":
        rows, cols = np.shape(f["weight"])
        if "bias" in f and np.shape(f["bias"]) not in ((), (rows,)):
            raise ShapeError(
                f"bias has shape {np.shape(f['bias'])}, weight has {rows} rows",
                node=name,
                field="bias",
            )
        return (cols,), (rows,)
    if rule == "elementwise":
        shapes = {np.shape(f[k]) for k in SCHEMA[t] if k in f and np.ndim(f[k]) > 0}
        if not shapes:
            return None, None
        shape = _shape(next(iter(shapes)))
        return shape, shape
    if rule == "conv":
        if "input_shape" not in f:
            return None, None
        spatial = tuple(_per_dim(name, f, "input_shape", np.ndim(f["weight"]) - 2))
        channels = np.shape(f["weight"])[1] * _groups(name, f)
        shape = (channels, *spatial)
        return shape, _derive(name, node, shape)
    if rule == "flatten" and "input_type" in f:
        shape = _shape(f["input_type"])
        return shape, _derive(name, node, shape)
    return None, None


def _derive(name: str, node: Node, shape: Shape) -> Shape:
    """A node's output shape given its input shape (checking what the node fixes itself)."""
    f = node.fields
    t = node.type
    rule = SCHEMA[t].shape
    if rule == "conv":
        return _conv(name, node, shape)
    if rule == "pool":
        if len(shape) != 3:
            raise ShapeError(f"{t} takes (channels, height, width), got {shape}", node=name)
        kernel = _per_dim(name, f, "kernel_size", 2)
        stride = _per_dim(name, f, "stride", 2)
        padding = _per_dim(name, f, "padding", 2)
        spatial = [
            _window(name, n, k, s, p, 1, "kernel_size")
            for n, k, s, p in zip(shape[1:], kernel, stride, padding, strict=True)
        ]
        return (shape[0], *spatial)
    if rule == "flatten":
        ndim = len(shape)
        start, end = int(f["start_dim"]), int(f["end_dim"])
        start, end = (start + ndim if start < 0 else start), (end + ndim if end < 0 else end)
        if not 0 <= start <= end < ndim:
            raise ShapeError(
                f"start_dim {f['start_dim']} / end_dim {f['end_dim']} do not fit input shape {shape}",
                node=name,
                field="start_dim",
            )
        return (*shape[:start], math.prod(shape[start : end + 1]), *shape[end + 1 :])
    return shape  # element-wise nodes and Output


def _conv(name: str, node: Node, shape: Shape) -> Shape:
    f = node.fields
    weight = np.shape(f["weight"])
    ndim = len(weight) - 2
    groups = _groups(name, f)
    if len(shape) != ndim + 1:
        raise ShapeError(
            f"{node.type} takes (channels, {ndim} spatial dims), got {shape}", node=name
        )
    if weight[0] % groups:
        raise ShapeError(
            f"{weight[0]} output channels do not divide into {groups} groups",
            node=name,
            field="groups",
        )
    if shape[0] != weight[1] * groups:
        raise ShapeError(
            f"input has {shape[0]} channels, but weight {weight} with groups={groups} takes "
            f"{weight[1] * groups}",
            node=name,
            field="weight",
        )
    stride = _per_dim(name, f, "stride", ndim)
    dilation = _per_dim(name, f, "dilation", ndim)
    if isinstance(f["padding"], str):
        if f["padding"] == "same":
            if any(s != 1 for s in stride):
                raise ShapeError("padding 'same' needs stride 1", node=name, field="padding")
            return (weight[0], *shape[1:])
        padding = [0] * ndim
    else:
        padding = _per_dim(name, f, "padding", ndim)
    spatial = [
        _window(name, n, k, s, p, d, "weight")
        for n, k, s, p, d in zip(shape[1:], weight[2:], stride, padding, dilation, strict=True)
    ]
    return (weight[0], *spatial)


def _window(name: str, n: int, k: int, s: int, p: int, d: int, field: str) -> int:
    out = (n + 2 * p - d * (k - 1) - 1) // s + 1
    if out < 1:
        raise ShapeError(
            f"a window of {k} (dilation {d}) does not fit an input of {n} with padding {p}",
            node=name,
            field=field,
        )
    return out


def _groups(name: str, fields: Mapping[str, Any]) -> int:
    """A convolution's ``groups``: one integer."""
    groups = np.asarray(fields["groups"]).reshape(-1)
    if groups.size != 1:
        raise ShapeError(
            f"groups must be one integer, got {groups.tolist()}", node=name, field="groups"
        )
    return int(groups[0])


def _per_dim(name: str, fields: Mapping[str, Any], key: str, ndim: int) -> list[int]:
    array = np.atleast_1d(np.asarray(fields[key]))
    if array.ndim > 1:
        raise ShapeError(
            f"needs one integer or one per dimension, got shape {array.shape}", node=name, field=key
        )
    values = array.astype(int).tolist()
    if len(values) == 1:
        return values * ndim
    if len(values) != ndim:
        raise ShapeError(f"needs 1 or {ndim} values, got {values}", node=name, field=key)
    return values


def _shape(value: Any) -> Shape:
    return tuple(int(x) for x in np.asarray(value).reshape(-1))
