"""Turn average pooling into sum pooling, the division folded into the next synapse."""

from __future__ import annotations

import math

import numpy as np

from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.schema import SCHEMA
from snnx.passes.base import PassContext, register
from snnx.passes.rewrite import each_level, exclusive_pair, stored

#: Linear and per channel, so a factor passes them: pooling and reshapes.
THROUGH = ("pool", "reshape")


def _scaled(node: Node, factor: float) -> Node:
    key = "scale" if node.type == "Scale" else "weight"
    value = np.asarray(node.fields[key])
    return node.replace(**{key: stored(value.astype(np.float64) * factor, value)})


@register("avgpool-to-sumpool")
def avgpool_to_sumpool(graph: Graph, ctx: PassContext) -> Graph:
    """``AvgPool2d(k)`` becomes ``SumPool2d(k)`` (same stride and padding) and the next synapse's
    weights (not its bias) are divided by the window size ``kh kw``, found along an exclusive chain
    through Flatten and pooling. Where no such synapse follows, the AvgPool stays."""

    def rewrite(level: Graph, path: str) -> None:
        for name in list(level):
            node = level[name]
            if not isinstance(node, Node) or node.type != "AvgPool2d":
                continue
            current = exclusive_pair(level, name)
            while current is not None and SCHEMA[level[current].type].category in THROUGH:
                current = exclusive_pair(level, current)
            if current is None or SCHEMA[level[current].type].category != "synapse":
                continue
            window = math.prod(np.broadcast_to(np.atleast_1d(node.kernel_size), (2,)).tolist())
            level.replace_node(name, Node("SumPool2d", dict(node.fields), metadata=node.metadata))
            level.replace_node(current, _scaled(level.node(current), 1.0 / window))
            ctx.note(
                f"AvgPool2d became SumPool2d; 1/{window} folded into", path + name, path + current
            )

    return each_level(graph, rewrite)
