"""Remove nodes whose values reach no Output."""

from __future__ import annotations

import networkx as nx

from snnx.ir.graph import Graph
from snnx.passes.base import PassContext, register
from snnx.passes.rewrite import each_level


@register("remove-dead")
def remove_dead(graph: Graph, ctx: PassContext) -> Graph:
    """A node from which no path leads to an Output is removed with its edges (Inputs stay).

    >>> from snnx.ir import Node
    >>> g = Graph({"in": Node("Input", shape=[1]), "s": Node("Scale", scale=[2.0]),
    ...            "out": Node("Output", shape=[1])}, [("in", "out"), ("in", "s")])
    >>> sorted(remove_dead(g, PassContext()).nodes)
    ['in', 'out']
    """

    def rewrite(level: Graph, path: str) -> None:
        live = set(level.outputs)
        for output in level.outputs:
            live |= nx.ancestors(level.nx, output)
        for name in list(level):
            if name not in live and level[name].type != "Input":
                level.remove_node(name)
                ctx.note("removed dead node", path + name)

    return each_level(graph, rewrite)
