"""The ``move-delays`` pass (`move_delays`: its docstring states the rewrite)."""

from __future__ import annotations

import numpy as np

from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.schema import SCHEMA
from snnx.passes.base import PassContext, register
from snnx.passes.merge_delays import merge_delays
from snnx.passes.rewrite import (
    each_level,
    exclusive_pair,
    in_edges,
    on_cycle,
    out_edges,
)

#: What commutes with a uniform delay when it adds no constant: linear and time-invariant.
LINEAR = ("synapse", "pool", "reshape")


def _adds_nothing(node: Node | Graph) -> bool:
    if not isinstance(node, Node) or SCHEMA[node.type].category not in LINEAR:
        return False
    return "bias" not in node.fields or bool(np.all(np.asarray(node.bias) == 0))


@register("move-delays")
def move_delays(graph: Graph, ctx: PassContext) -> Graph:
    """A delay that is the same for every element moves past the linear synapse it alone feeds
    (Linear, Scale, Flatten, pooling, and Affine or convolutions with zero bias): a linear,
    time-invariant map commutes with a delay, ``W x(t - d) = (W x)(t - d)``. A bias would not (it
    reaches the output during the first d steps), so such synapses stop a delay. Delays that meet
    then merge (`merge_delays`)."""

    def rewrite(level: Graph, path: str) -> None:
        moves = dict.fromkeys(level.of_type("Delay"), 0)  # around a loop a delay could go forever
        changed = True
        while changed:
            changed = False
            shapes = level.check()
            for name in level.of_type("Delay"):
                delay = np.unique(np.asarray(level.node(name).delay))
                following = exclusive_pair(level, name)
                if len(delay) != 1 or following is None or not _adds_nothing(level[following]):
                    continue
                if on_cycle(level, name):
                    ctx.skip("kept a delay on a loop in place", path + name)
                    continue
                ins, outs = in_edges(level, name), out_edges(level, following)
                if moves.get(name, 0) >= len(level) or any(src == following for src, _ in ins):
                    continue
                moves[name] = moves.get(name, 0) + 1
                level.remove_node(name)
                for src, _ in ins:
                    level.add_edge(src, following)
                for _, dst in outs:
                    level.remove_edge(following, dst)
                level.add_node(
                    name, Node("Delay", delay=np.full(shapes[following].output, delay[0]))
                )
                level.add_edge(following, name)
                for _, dst in outs:
                    level.add_edge(name, dst)
                ctx.note("moved a delay past", path + following)
                changed = True
                break

    moved = each_level(graph, rewrite)
    return merge_delays(moved, ctx)
