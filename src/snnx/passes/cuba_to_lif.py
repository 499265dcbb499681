"""The ``cuba-to-lif`` pass (`cuba_to_lif`: its docstring states the rewrite)."""

from __future__ import annotations

import numpy as np

from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.passes.base import PassContext, register
from snnx.passes.neuron_forms import interchangeable
from snnx.passes.rewrite import each_level, stored


@register("cuba-to-lif")
def cuba_to_lif(graph: Graph, ctx: PassContext) -> Graph:
    """``CubaLIF`` whose ``tau_syn`` is ``dt`` everywhere becomes ``LIF`` with ``r = r w_in`` (and
    ``CubaLI`` ``LI``): the inverse of `lif_to_cuba`, exact under the same semantics."""
    pairs = {"CubaLIF": "LIF", "CubaLI": "LI"}

    def rewrite(level: Graph, path: str) -> None:
        for name in list(level):
            node = level[name]
            if not isinstance(node, Node) or node.type not in pairs or ctx.semantics is None:
                continue
            if not np.allclose(node.tau_syn, ctx.semantics.dt, rtol=1e-12, atol=0):
                continue
            if not interchangeable(ctx, node.type, pairs[node.type], path + name):
                continue
            f = dict(node.fields)
            f.pop("tau_syn")
            w_in = f.pop("w_in", 1.0)
            f["tau"] = f.pop("tau_mem")
            f["r"] = stored(np.asarray(f["r"], np.float64) * w_in, f["r"])
            level.replace_node(name, Node(pairs[node.type], f, metadata=node.metadata))
            ctx.note(f"{node.type} with tau_syn = dt became {pairs[node.type]}", path + name)

    return each_level(graph, rewrite)
