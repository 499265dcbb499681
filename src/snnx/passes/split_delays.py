"""The ``split-delays`` pass (`split_delays`: its docstring states the rewrite)."""

from __future__ import annotations

import numpy as np

from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.passes.base import PassContext, register
from snnx.passes.delays import dt_of, steps_in
from snnx.passes.rewrite import (
    each_level,
    out_edges,
)


@register("split-delays")
def split_delays(graph: Graph, ctx: PassContext) -> Graph:
    """A delay longer than ``ctx.options["max_delay_steps"]`` (a target's limit: Loihi's axons
    hold 0 to 62 steps) becomes a chain of delays each within it: ``d = sum d_k``, ``d_k <= D``."""
    dt = dt_of(ctx, "split-delays")
    limit = int(ctx.options.get("max_delay_steps", 62))

    def rewrite(level: Graph, path: str) -> None:
        for name in level.of_type("Delay"):
            steps = steps_in(level.node(name), dt, path + name)
            if steps.max(initial=0) <= limit:
                continue
            pieces = []
            remaining = steps.copy()
            while remaining.max(initial=0) > 0:
                pieces.append(np.minimum(remaining, limit))
                remaining = remaining - pieces[-1]
            outs = out_edges(level, name)
            for _, dst in outs:
                level.remove_edge(name, dst)
            level.replace_node(name, level.node(name).replace(delay=pieces[0] * dt))
            last = name
            for k, piece in enumerate(pieces[1:], start=1):
                link = f"{name}.{k}"
                level.add_node(link, Node("Delay", delay=piece * dt))
                level.add_edge(last, link)
                last = link
            for _, dst in outs:
                level.add_edge(last, dst)
            ctx.note(
                f"split a {steps.max()}-step delay into {len(pieces)} of at most {limit}",
                path + name,
            )

    return each_level(graph, rewrite)
