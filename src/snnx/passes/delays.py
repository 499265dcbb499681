"""Delays: what the delay passes share, and the latency a chip adds per layer.

A ``Delay`` holds seconds; at a time step ``dt`` it means ``round(delay / dt)`` whole steps
(`snnx.sim.ops.delay.steps_of` refuses delays off the grid). The passes (``delays-to-steps``,
``move-delays``, ``merge-delays``, ``split-delays``, ``relay-delays``, one file each) need
``ctx.semantics`` for ``dt``.
"""

from __future__ import annotations

from collections.abc import Callable

import networkx as nx
import numpy as np

from snnx.errors import LoweringError
from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.passes.base import PassContext
from snnx.sim.ops.delay import steps_of


def dt_of(ctx: PassContext, name: str) -> float:
    """The time step the pass ``name`` rounds delays at (the semantics' ``dt``)."""
    if ctx.semantics is None:
        raise LoweringError(f"the {name} pass needs semantics for dt")
    return ctx.semantics.dt


def steps_in(node: Node, dt: float, name: str) -> np.ndarray:
    """A Delay node's whole steps at ``dt``."""
    return steps_of(node.delay, dt, name)


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
        latency[name] = start + adds(flat.node(name))
    return {n: latency[n] for n in flat}, early
