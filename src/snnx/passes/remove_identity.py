"""Remove nodes that pass their input through unchanged."""

from __future__ import annotations

import numpy as np

from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.schema import SCHEMA
from snnx.ir.shapes import Shape
from snnx.passes.base import PassContext, register
from snnx.passes.rewrite import bypass, each_level


def is_identity(node: Node, in_shape: Shape, out_shape: Shape) -> bool:
    """``Scale`` of ones, ``Delay`` of zero, a square identity ``Linear``/``Affine`` with zero bias,
    a ``Flatten`` that changes no shape."""
    f = node.fields
    if node.type == "Scale":
        return bool(np.all(np.asarray(f["scale"]) == 1))
    if node.type == "Delay":
        return bool(np.all(np.asarray(f["delay"]) == 0))
    if SCHEMA[node.type].shape == "dense":
        weight = np.asarray(f["weight"])
        square = weight.shape[0] == weight.shape[1] and np.array_equal(
            weight, np.eye(weight.shape[0])
        )
        return square and (node.type == "Linear" or bool(np.all(np.asarray(f["bias"]) == 0)))
    if node.type == "Flatten":
        return in_shape == out_shape
    return False


@register("remove-identity")
def remove_identity(graph: Graph, ctx: PassContext) -> Graph:
    """An identity node (`is_identity`) is removed: what fed it feeds what it fed (unless that would
    put the same edge in twice).

    >>> from snnx.ir import Node
    >>> g = Graph.sequential({"in": Node("Input", shape=[2]), "d": Node("Delay", delay=[0.0, 0.0]),
    ...                       "out": Node("Output", shape=[2])})
    >>> sorted(remove_identity(g, PassContext()).nodes)
    ['in', 'out']
    """

    def rewrite(level: Graph, path: str) -> None:
        shapes = level.check()
        for name in list(level):
            node = level[name]
            shape = shapes[name]
            if (
                isinstance(node, Node)
                and is_identity(node, shape.input, shape.output)
                and bypass(level, name)
            ):
                ctx.note(f"removed identity {node.type}", path + name)

    return each_level(graph, rewrite)
