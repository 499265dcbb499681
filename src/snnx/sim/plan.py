"""Scheduling a graph for the simulator: which nodes run over the whole sequence at once, and
which step by step inside one `jax.lax.scan`.

The graph is flattened (subgraphs inlined) and condensed into its strongly connected components.
Walking the components in topological order:

- a *hoisted* node runs once over all time steps: the sequence ``(T, B, ...)`` is folded into one
  batch of ``T * B`` samples (one big matrix product instead of ``T`` small ones). Only stateless
  nodes outside any cycle can be hoisted, and only the costly ones are (see `Plan.build`);
- every other component joins the current *scan group*: its nodes advance one step at a time, in
  an order where each node follows its predecessors. A node whose output at a step is known before
  its input at that step arrives (*early*: a neuron whose spikes leave one step late, a delay of at
  least one step) publishes that output when the step starts, so a loop through it needs nothing
  more. A loop without one needs a *back edge* (one that closes the loop in a depth-first walk from
  the inputs): it carries the value its source produced on the previous step. So a loop takes
  exactly the steps its own nodes take, and one step where they take none.

A hoisted node that needs a value from the open scan group closes the group first; one that does
not is scheduled before it. So a feed-forward network of big layers runs layer by layer, a small or
recurrent one runs as a single scan, and mixtures get the fewest scans their dependencies allow.

What pays off differs between a forward pass and one with gradients (`snnx.sim.Simulator` plans
each): forward, hoisting pays from about a million multiply-adds per sample (`HOIST_FROM`), and
smaller layers run faster stepped together; with gradients, hoisting every layer was as fast or
faster on all four workloads of ``benchmarks/bench_sim.py`` (dense 2048 and 512 LIF networks, the
NIR paper's CNN and Braille), from equal to 6x (the CNN, whose stepped convolutions each need a
small weight-gradient convolution of their own).

>>> import snnx
>>> plan = Plan.build(snnx.read(snnx.example_path("braille")), hoist_from=0)
>>> [(s.kind, s.nodes) for s in plan.segments]  # doctest: +NORMALIZE_WHITESPACE
[('sequence', ['fc1']), ('scan', ['lif1.lif', 'lif1.w_rec']), ('sequence', ['fc2']),
 ('scan', ['lif2'])]
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import networkx as nx

from snnx.ir.graph import Graph, back_edges
from snnx.ir.node import Node
from snnx.ir.schema import SCHEMA, STATEFUL
from snnx.ir.shapes import GraphShapes

#: Forward, hoist a stateless node from this many multiply-adds per sample (on a CPU).
HOIST_FROM = 1 << 20
#: The same on a GPU, where one step's small product costs little more than a large one: on an
#: H200 one scan won forward up to 4M multiply-adds per sample (dense 2048, the CNN, Braille) and
#: hoisting won at 268M (Linear 16384), x3.3 (benchmarks/README.md, GPU section).
HOIST_FROM_GPU = 1 << 26


@dataclasses.dataclass(frozen=True)
class Segment:
    """``sequence``: one hoisted node over the whole sequence. ``scan``: nodes stepped together,
    listed in step order; ``back_edges`` are the edges inside them that carry last step's value;
    ``early`` the nodes that publish their output when a step starts."""

    kind: str
    nodes: list[str]
    back_edges: frozenset[tuple[str, str]] = frozenset()
    early: frozenset[str] = frozenset()


@dataclasses.dataclass(frozen=True)
class Plan:
    """A flattened graph, its shapes, and the segments that run it, in order."""

    graph: Graph
    shapes: GraphShapes
    segments: list[Segment]

    @classmethod
    def build(
        cls,
        graph: Graph,
        hoist_from: float = HOIST_FROM,
        early: Callable[[Node], bool] = lambda node: False,
    ) -> Plan:
        """Plan ``graph``; hoist stateless nodes outside cycles costing at least ``hoist_from``
        multiply-adds per sample (0: every one, layer by layer; ``math.inf``: none, one scan);
        ``early(node)`` says which nodes know their output before their input arrives."""
        flat = graph.flatten()
        shapes = flat.check()
        ahead = {n for n, node in flat.primitives.items() if early(node)}
        order, back = _step_order(flat, ahead)
        condensed = nx.condensation(flat.nx)
        components = nx.lexicographical_topological_sort(
            condensed, key=lambda c: min(order[n] for n in condensed.nodes[c]["members"])
        )
        segments: list[Segment] = []
        group: list[str] = []
        for component in components:
            members = sorted(condensed.nodes[component]["members"], key=order.__getitem__)
            node = members[0]
            kind = flat[node].type
            if SCHEMA[kind].category == "io":
                continue
            cyclic = len(members) > 1 or flat.nx.has_edge(node, node)
            if not cyclic and kind not in STATEFUL and _cost(flat, shapes, node) >= hoist_from:
                if any(p in group for p in flat.predecessors(node)):
                    segments.append(_scan(group, back))
                    group = []
                segments.append(Segment("sequence", [node]))
            else:
                group += members
        if group:
            segments.append(_scan(group, back))
        return cls(flat, shapes, [_early(s, ahead) for s in segments])


def _step_order(flat: Graph, ahead: set[str]) -> tuple[dict[str, int], set[tuple[str, str]]]:
    """Each node's place in a step, and the back edges: edges out of early nodes impose no order
    (their values exist when the step starts); loops left without one are cut at back edges."""
    constraints: nx.MultiDiGraph[str] = nx.MultiDiGraph(flat.nx)
    constraints.remove_edges_from([e for e in list(constraints.edges(keys=True)) if e[0] in ahead])
    back = back_edges(constraints, flat.inputs)
    dag: nx.DiGraph[str] = nx.DiGraph(constraints)
    dag.remove_edges_from(back)
    position = {name: i for i, name in enumerate(flat)}
    ordered = nx.lexicographical_topological_sort(dag, key=position.__getitem__)
    return {name: i for i, name in enumerate(ordered)}, back


def _scan(nodes: list[str], back: set[tuple[str, str]]) -> Segment:
    inside = set(nodes)
    return Segment("scan", nodes, frozenset(e for e in back if e[0] in inside and e[1] in inside))


def _early(segment: Segment, ahead: set[str]) -> Segment:
    if segment.kind != "scan":
        return segment
    return dataclasses.replace(segment, early=frozenset(n for n in segment.nodes if n in ahead))


def _cost(graph: Graph, shapes: GraphShapes, name: str) -> float:
    """Multiply-adds per sample of a stateless node (0 for reshapes and scalings)."""
    node = graph.node(name)
    shape_rule = SCHEMA[node.type].shape
    if shape_rule == "dense":
        work = math.prod(node.weight.shape)
    elif shape_rule == "conv":
        work = math.prod(node.weight.shape) * math.prod(shapes[name].output[1:])
    elif shape_rule == "pool":
        work = math.prod(shapes[name].output) * math.prod(_kernel(node))
    else:
        return 0
    return work


def _kernel(node: Node) -> tuple[int, ...]:
    import numpy as np

    return tuple(np.broadcast_to(np.atleast_1d(node.kernel_size), (2,)).tolist())
