"""The ``merge-delays`` pass (`merge_delays`: its docstring states the rewrite)."""

from __future__ import annotations

import numpy as np

from snnx.ir.graph import Graph
from snnx.passes.base import PassContext, register
from snnx.passes.rewrite import (
    each_level,
    exclusive_pair,
    merge_into_first,
)


@register("merge-delays")
def merge_delays(graph: Graph, ctx: PassContext) -> Graph:
    """``Delay(a) -> Delay(b)`` (an exclusive pair) becomes ``Delay(a + b)``."""

    def rewrite(level: Graph, path: str) -> None:
        changed = True
        while changed:
            changed = False
            for name in level.of_type("Delay"):
                following = exclusive_pair(level, name)
                if following is not None and level[following].type == "Delay":
                    first, second = level.node(name), level.node(following)
                    total = np.asarray(first.delay, np.float64) + np.asarray(
                        second.delay, np.float64
                    )
                    merge_into_first(level, name, following, first.replace(delay=total))
                    ctx.note("merged delays", path + name, path + following)
                    changed = True
                    break

    return each_level(graph, rewrite)
