"""Delays: whole steps at a dt, moved and merged across linear layers, split to what a target
holds or expanded into relays where it holds none, and the latency a chip adds per layer.

A ``Delay`` holds seconds; at a time step ``dt`` it means ``round(delay / dt)`` whole steps
(`snnx.sim.ops.delay.steps_of` refuses delays off the grid). These passes need ``ctx.semantics``
for ``dt``.
"""

from __future__ import annotations

from collections.abc import Callable

import networkx as nx
import numpy as np

from snnx.errors import LoweringError
from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.passes.base import PassContext, register
from snnx.passes.rewrite import (
    each_level,
    exclusive_pair,
    in_edges,
    merge_into_first,
    on_cycle,
    out_edges,
    stored,
)
from snnx.sim.ops.delay import steps_of

#: Synapses that commute with a uniform delay when they add no constant: linear and time-invariant.
LINEAR_NO_BIAS = (
    "Linear",
    "Scale",
    "Flatten",
    "SumPool2d",
    "AvgPool2d",
    "Affine",
    "Conv1d",
    "Conv2d",
)


def _dt(ctx: PassContext, name: str) -> float:
    if ctx.semantics is None:
        raise LoweringError(f"the {name} pass needs semantics for dt")
    return ctx.semantics.dt


def _steps(node: Node, dt: float, name: str) -> np.ndarray:
    return steps_of(node.delay, dt, name)


@register("delays-to-steps")
def delays_to_steps(graph: Graph, ctx: PassContext) -> Graph:
    """Each delay becomes exactly ``round(delay / dt) * dt``; one more than `steps_of`'s tolerance
    off the grid is an error naming the node and the rounding."""
    dt = _dt(ctx, "delays-to-steps")

    def rewrite(level: Graph, path: str) -> None:
        for name in level.of_type("Delay"):
            node = level[name]
            exact = stored(_steps(node, dt, path + name) * dt, node.delay)
            if not np.array_equal(exact, node.delay):
                level.replace_node(name, node.replace(delay=exact))
                ctx.note(f"delays snapped to whole steps of {dt:g} s", path + name)

    return each_level(graph, rewrite)


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
                    first, second = level[name], level[following]
                    total = np.asarray(first.delay, np.float64) + np.asarray(
                        second.delay, np.float64
                    )
                    merge_into_first(level, name, following, first.replace(delay=total))
                    ctx.note("merged delays", path + name, path + following)
                    changed = True
                    break

    return each_level(graph, rewrite)


def _adds_nothing(node: Node) -> bool:
    if node.type in ("Affine", "Conv1d", "Conv2d"):
        return bool(np.all(np.asarray(node.bias) == 0))
    return node.type in LINEAR_NO_BIAS


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
                delay = np.unique(np.asarray(level[name].delay))
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


@register("split-delays")
def split_delays(graph: Graph, ctx: PassContext) -> Graph:
    """A delay longer than ``ctx.options["max_delay_steps"]`` (a target's limit: Loihi's axons
    hold 0 to 62 steps) becomes a chain of delays each within it: ``d = sum d_k``, ``d_k <= D``."""
    dt = _dt(ctx, "split-delays")
    limit = int(ctx.options.get("max_delay_steps", 62))

    def rewrite(level: Graph, path: str) -> None:
        for name in level.of_type("Delay"):
            steps = _steps(level[name], dt, path + name)
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
            level.replace_node(name, level[name].replace(delay=pieces[0] * dt))
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
            steps = np.unique(_steps(level[name], dt, path + name))
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


def chip_latency(
    graph: Graph, adds: Callable[[Node], int]
) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """When a chip adds ``adds(node)`` steps at each node, when each node's output appears
    (``latency``), and by how many steps each edge arrives early where inputs of different
    latencies meet (``early``: delay those edges by that much on the chip to keep them aligned).
    Back edges are not followed: a loop's timing is the target's to check.

    >>> from snnx.ir import Node
    >>> g = Graph({"in": Node("Input", shape=[1]), "a": Node("Linear", weight=[[1.0]]),
    ...            "b": Node("Linear", weight=[[1.0]]), "out": Node("Output", shape=[1])},
    ...           [("in", "a"), ("a", "b"), ("in", "b"), ("b", "out")])
    >>> chip_latency(g, lambda n: 1 if n.type == "Linear" else 0)
    ({'in': 0, 'a': 1, 'b': 2, 'out': 2}, {('in', 'b'): 1})
    """
    flat = graph.flatten()
    back = flat.back_edges()
    dag = nx.DiGraph([e for e in flat.nx.edges() if e not in back])
    dag.add_nodes_from(flat.nx)
    latency: dict[str, int] = {}
    early: dict[tuple[str, str], int] = {}
    for name in nx.topological_sort(dag):
        arrivals = {p: latency[p] for p in dag.predecessors(name)}
        start = max(arrivals.values(), default=0)
        for p, at in arrivals.items():
            if at < start:
                early[(p, name)] = start - at
        latency[name] = start + adds(flat[name])
    return {n: latency[n] for n in flat}, early
