"""Runs of identical blocks in a scan segment, stepped as one loop over stacked parameters.

A long chain (Linear, LIF, Linear, LIF, ...) unrolled into one step is one op per node for JAX to
trace and XLA to compile, which grows faster than the chain (benchmarks/README.md, scale). Inside
a scan segment, a *run* is a stretch of nodes in step order that pass their value straight on
(each one's only successor is the next, whose only predecessor it is; nothing else reads,
records or carries the values in between) and repeat one *block* of a few nodes alike: the same
op, shapes, static fields and semantics, parameters of the same shapes. The executor steps a run
as one `jax.lax.scan` over the repeats, with each block position's parameters and states stacked:
one compiled block instead of thousands, the same arithmetic in the same order.

>>> import numpy as np, snnx
>>> from snnx.ir import Graph, Node
>>> nodes = {"in": Node("Input", shape=[2])}
>>> for i in range(6):
...     nodes[f"n{i}"] = Node("Linear", weight=np.eye(2)) if i % 2 == 0 else Node(
...         "LIF", tau=np.ones(2), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2))
>>> nodes["out"] = Node("Output", shape=[2])
>>> sim = snnx.Simulator(Graph.sequential(nodes), "nir-reference")
>>> [(r.blocks if isinstance(r, Run) else r) for r in find_runs(
...     sim.forward_program, sim.forward_program.plan.segments[0], set())]
[(('n0', 'n1'), ('n2', 'n3'), ('n4', 'n5'))]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Hashable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from snnx.sim.executor import Program
    from snnx.sim.plan import Segment

#: The longest block looked for, in nodes.
LONGEST_BLOCK = 8
#: The fewest repeats worth a loop.
FEWEST_REPEATS = 2


@dataclasses.dataclass(frozen=True)
class Run:
    """``blocks[r][j]``: the ``j``-th node of the ``r``-th repeat, in step order."""

    blocks: tuple[tuple[str, ...], ...]

    @property
    def key(self) -> str:
        """Where the run's stacked states are kept in a scan's carry: its first node's name
        (no other entry has it: a node is in one run or none)."""
        return self.blocks[0][0]

    @property
    def nodes(self) -> list[str]:
        return [n for block in self.blocks for n in block]


def find_runs(program: Program, segment: Segment, wanted: Collection[str]) -> list[str | Run]:
    """``segment.nodes`` in step order, the stretches that repeat a block grouped into `Run`s;
    ``wanted`` are the nodes whose values leave the step (their outputs are read outside the
    segment or recorded)."""
    graph = program.plan.graph
    carried = {src for src, _ in segment.back_edges}
    inside = set(segment.nodes)

    def passes_on(a: str, b: str) -> bool:
        """Whether ``a``'s value goes to ``b`` only and ``b`` reads ``a`` only."""
        return (
            a not in wanted
            and a not in carried
            and b not in segment.early
            and (a, b) not in segment.back_edges
            and list(graph.successors(a)) == [b]
            and list(graph.predecessors(b)) == [a]
            and b in inside
        )

    out: list[str | Run] = []
    nodes = segment.nodes
    start = 0
    while start < len(nodes):
        end = start + 1
        if nodes[start] not in segment.early:
            while end < len(nodes) and passes_on(nodes[end - 1], nodes[end]):
                end += 1
        out += _blocks(nodes[start:end], [signature(program, n) for n in nodes[start:end]])
        start = end
    return out


def _blocks(stretch: list[str], signatures: list[Hashable | None]) -> list[str | Run]:
    """A stretch of nodes passing their values on, greedily grouped into runs of repeats."""
    out: list[str | Run] = []
    i = 0
    while i < len(stretch):
        best, best_period = 0, 0
        for period in range(1, LONGEST_BLOCK + 1):
            block = signatures[i : i + period]
            if len(block) < period or None in block:
                break
            repeats = 1
            while signatures[i + repeats * period : i + (repeats + 1) * period] == block:
                repeats += 1
            if repeats >= FEWEST_REPEATS and repeats * period > best * best_period:
                best, best_period = repeats, period
        if best:
            out.append(
                Run(
                    tuple(
                        tuple(stretch[i + r * best_period : i + (r + 1) * best_period])
                        for r in range(best)
                    )
                )
            )
            i += best * best_period
        else:
            out.append(stretch[i])
            i += 1
    return out


def signature(program: Program, name: str) -> Hashable | None:
    """What must be equal for two nodes to share a compiled block: type, shapes, layout, semantics,
    parameter shapes and every static field's value; None for a node that cannot be stacked (a
    recorded one, or an op that prepares from its fields and cannot do so for many)."""
    op, ctx = program.ops[name], program.contexts[name]
    if name in program.record or (op.prepare is not None and op.prepare_many is None):
        return None
    fields: list[tuple[Any, ...]] = []
    for key, value in sorted(ctx.node.fields.items()):
        array = np.asarray(value)
        if key in op.params:
            fields.append((key, array.shape, array.dtype.str))
        elif array.dtype == object:
            fields.append((key, repr(value)))
        else:
            fields.append((key, array.shape, array.dtype.str, array.tobytes()))
    return (
        ctx.node.type,
        ctx.in_shape,
        ctx.out_shape,
        ctx.channels_last,
        tuple(program.plan.shapes[name].input),
        tuple(program.plan.shapes[name].output),
        tuple(fields),
    )
