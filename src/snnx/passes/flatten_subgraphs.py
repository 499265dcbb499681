"""Inline every subgraph."""

from __future__ import annotations

from collections import Counter

import numpy as np

from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.passes.base import PassContext, register


@register("flatten-subgraphs")
def flatten_subgraphs(graph: Graph, ctx: PassContext) -> Graph:
    """Every subgraph is inlined: its node ``x`` becomes ``sub.x``, its Input and Output nodes
    disappear (what fed a port feeds what the port fed). Where two ports brought the same value
    to one node, the doubled edge becomes a ``Scale`` of 2 (a NIR file cannot hold an edge twice).

    >>> from snnx.ir import Node
    >>> inner = Graph.sequential({"i": Node("Input", shape=[1]), "s": Node("Scale", scale=[2.0]),
    ...                           "o": Node("Output", shape=[1])})
    >>> outer = Graph.sequential({"in": Node("Input", shape=[1]), "sub": inner, "out": Node("Output", shape=[1])})
    >>> sorted(flatten_subgraphs(outer, PassContext()).nodes)
    ['in', 'out', 'sub.s']
    """
    nested = [name for name in graph if isinstance(graph[name], Graph)]
    if not nested:
        return graph
    flat = graph.flatten()
    ctx.note("inlined subgraphs", *nested)
    shapes = flat.check()
    for (src, dst), times in Counter(flat.edges).items():
        if times > 1:
            name = f"{src}.x{times}"
            for _ in range(times):
                flat.remove_edge(src, dst)
            flat.add_node(name, Node("Scale", scale=np.full(shapes[src].output, float(times))))
            flat.add_edge(src, name)
            flat.add_edge(name, dst)
            ctx.note(f"a value reached {dst!r} {times} times: scaled by {times} in", name)
    return flat
