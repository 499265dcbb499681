"""The ``delays-to-steps`` pass (`delays_to_steps`: its docstring states the rewrite)."""

from __future__ import annotations

import numpy as np

from snnx.ir.graph import Graph
from snnx.passes.base import PassContext, register
from snnx.passes.delays import dt_of, steps_in
from snnx.passes.rewrite import (
    each_level,
    stored,
)


@register("delays-to-steps")
def delays_to_steps(graph: Graph, ctx: PassContext) -> Graph:
    """Each delay becomes exactly ``round(delay / dt) * dt``; one more than `steps_of`'s tolerance
    off the grid is an error naming the node and the rounding."""
    dt = dt_of(ctx, "delays-to-steps")

    def rewrite(level: Graph, path: str) -> None:
        for name in level.of_type("Delay"):
            node = level.node(name)
            exact = stored(steps_in(node, dt, path + name) * dt, node.delay)
            if not np.array_equal(exact, node.delay):
                level.replace_node(name, node.replace(delay=exact))
                ctx.note(f"delays snapped to whole steps of {dt:g} s", path + name)

    return each_level(graph, rewrite)
