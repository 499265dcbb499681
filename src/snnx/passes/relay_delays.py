"""The ``relay-delays`` pass (`relay_delays`: its docstring states the rewrite)."""

from __future__ import annotations

import numpy as np

from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.passes.base import PassContext, register
from snnx.passes.delays import steps_in
from snnx.passes.rewrite import (
    each_level,
    in_edges,
    on_cycle,
    out_edges,
)


@register("relay-delays")
def relay_delays(graph: Graph, ctx: PassContext) -> Graph:
    """For targets without delays: a uniform delay of ``d`` steps on a spike train becomes ``d``
    relay layers, each an identity synapse and an IF neuron (``r = 1/dt``, threshold 1/2) that
    re-emits its input. A relay delays by one step only where each layer emits a step late
    (``spike_output="next-step"``) and resets to zero, with unit spikes; elsewhere the delay stays."""
    s = ctx.semantics
    if (
        s is None
        or s.for_type("IF").spike_output != "next-step"
        or s.for_type("IF").reset != "zero"
        or s.spike_amplitude != "1"
    ):
        ctx.skip(
            "relay-delays needs next-step spike output, zero reset and unit spikes: delays kept"
        )
        return graph
    dt = s.dt

    def rewrite(level: Graph, path: str) -> None:
        shapes = level.check()
        for name in level.of_type("Delay"):
            steps = np.unique(steps_in(level.node(name), dt, path + name))
            sources = [level[p].type for p in level.predecessors(name)]
            if (
                len(steps) != 1
                or steps[0] == 0
                or sources not in (["IF"], ["LIF"], ["CubaLIF"], ["Threshold"])
            ):
                continue
            if on_cycle(level, name):
                ctx.skip("kept a delay on a loop", path + name)
                continue
            shape = shapes[name].output
            size = int(np.prod(shape))
            ins, outs = in_edges(level, name), out_edges(level, name)
            level.remove_node(name)
            last = [src for src, _ in ins]
            for k in range(int(steps[0])):
                synapse, relay = f"{name}.relay{k}.w", f"{name}.relay{k}"
                level.add_node(synapse, Node("Linear", weight=np.eye(size)))
                level.add_node(
                    relay, Node("IF", r=np.full(size, 1 / dt), v_threshold=np.full(size, 0.5))
                )
                for src in last:
                    level.add_edge(src, synapse)
                level.add_edge(synapse, relay)
                last = [relay]
            for _, dst in outs:
                level.add_edge(last[0], dst)
            ctx.note(f"a {steps[0]}-step delay became relay layers", path + name)

    return each_level(graph, rewrite)
