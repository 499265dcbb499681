"""Helpers every pass uses to rewrite a graph without breaking its edges.

Edges are handled as written (``"sub.port"`` endpoints included), so rewiring around a node keeps
what feeds a subgraph port feeding that port. A rewrite that would duplicate an edge (summing a value
twice in memory, which a NIR file cannot hold) is refused: the helper returns ``False`` and the pass
leaves that spot alone. So is removing or inserting nodes on a cycle: which edge of a loop carries
last step's value follows from the loop's nodes (`Graph.back_edges`), so it could move.

>>> from snnx.ir import Graph, Node
>>> g = Graph.sequential({"in": Node("Input", shape=[2]), "s": Node("Scale", scale=[1.0, 1.0]),
...                       "out": Node("Output", shape=[2])})
>>> bypass(g, "s"), g.edges
(True, [('in', 'out')])
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from snnx.ir.graph import Graph
from snnx.ir.node import Node


def stored(value: ArrayLike, like: ArrayLike) -> np.ndarray:
    """A value a pass computed, in the dtype of the field it replaces when that loses nothing,
    else in float64 (a fused float16 weight must not be rounded to float16).

    >>> stored(np.array([0.5, 2.0]), np.float16(1)).dtype, stored(np.array([0.1]), np.float16(1)).dtype
    (dtype('float16'), dtype('float64'))
    """
    value = np.asarray(value, np.float64)
    dtype = np.asarray(like).dtype
    narrow = value.astype(dtype)
    return narrow if np.array_equal(narrow.astype(np.float64), value) else value


def in_edges(graph: Graph, name: str) -> list[tuple[str, str]]:
    """The edges into ``name``, as written, in order."""
    return [(d["src"], d["dst"]) for u, v, _, d in graph.edge_records() if v == name]


def out_edges(graph: Graph, name: str) -> list[tuple[str, str]]:
    """The edges out of ``name``, as written, in order."""
    return [(d["src"], d["dst"]) for u, v, _, d in graph.edge_records() if u == name]


def exclusive_pair(graph: Graph, first: str) -> str | None:
    """The node ``first`` alone feeds and that only ``first`` feeds, through one plain edge
    (no ports, no self-loop); ``None`` if there is none."""
    outs = out_edges(graph, first)
    if len(outs) != 1 or outs[0][1] not in graph or outs[0][1] == first:
        return None
    second = outs[0][1]
    ins = in_edges(graph, second)
    return second if ins == [(first, second)] else None


def on_cycle(graph: Graph, name: str) -> bool:
    """Whether ``name`` lies on a loop (a self-loop included)."""
    return any(name in group for group in graph.recurrent_groups())


def bypass(graph: Graph, name: str) -> bool:
    """Remove ``name``, connecting everything that fed it to everything it fed (an identity's
    removal). Refused (``False``) if that would duplicate an edge or if ``name`` is on a loop."""
    ins, outs = in_edges(graph, name), out_edges(graph, name)
    if on_cycle(graph, name):
        return False
    new = [(src, dst) for src, _ in ins for _, dst in outs]
    if len(set(new)) != len(new) or any(graph.has_edge(*e) for e in new):
        return False
    graph.remove_node(name)
    for src, dst in new:
        graph.add_edge(src, dst)
    return True


def merge_into_first(graph: Graph, first: str, second: str, merged: Node | Graph) -> None:
    """Replace the exclusive pair ``first -> second`` by ``merged``, named ``first``: it keeps the
    inputs of ``first`` and takes over the outputs of ``second``."""
    outs = out_edges(graph, second)
    graph.remove_node(second)
    graph.replace_node(first, merged)
    for _, dst in outs:
        graph.add_edge(first, dst)


def each_level(graph: Graph, rewrite: Callable[[Graph, str], None], prefix: str = "") -> Graph:
    """A copy of ``graph`` with ``rewrite(level, path)`` applied to every nested graph (innermost
    first) and then to the graph itself; ``path`` names the level (``""`` at the top)."""
    graph = graph.copy()
    for name in list(graph):
        inner = graph[name]
        if isinstance(inner, Graph):
            graph.replace_node(name, each_level(inner, rewrite, f"{prefix}{name}/"))
    rewrite(graph, prefix)
    return graph
