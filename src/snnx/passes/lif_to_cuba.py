"""The ``lif-to-cuba`` pass (`lif_to_cuba`: its docstring states the rewrite)."""

from __future__ import annotations

from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.passes.base import PassContext, register
from snnx.passes.neuron_forms import interchangeable, like
from snnx.passes.rewrite import each_level


@register("lif-to-cuba")
def lif_to_cuba(graph: Graph, ctx: PassContext) -> Graph:
    """``LIF`` becomes ``CubaLIF`` with ``tau_syn = dt`` (and ``LI`` ``CubaLI``), for current-based
    hardware. Under Euler with the new current this is exact: ``i' = i + dt/dt (w_in x - i) = x``,
    so the voltage sees this step's input, as the LIF did."""
    pairs = {"LIF": "CubaLIF", "LI": "CubaLI"}

    def rewrite(level: Graph, path: str) -> None:
        for name in list(level):
            node = level[name]
            if not isinstance(node, Node) or node.type not in pairs:
                continue
            if not interchangeable(ctx, node.type, pairs[node.type], path + name):
                continue
            assert ctx.semantics is not None  # `interchangeable` is False without semantics
            f = dict(node.fields)
            tau = f.pop("tau")
            f.update(tau_mem=tau, tau_syn=like(ctx.semantics.dt, tau))
            level.replace_node(name, Node(pairs[node.type], f, metadata=node.metadata))
            ctx.note(f"{node.type} became {pairs[node.type]} with tau_syn = dt", path + name)

    return each_level(graph, rewrite)
