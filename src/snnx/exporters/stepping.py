"""One time step of a graph, node by node, as the exporters into other JAX libraries run it.

`Steps.of(graph, semantics)` orders the nodes as the reference simulator does (`snnx.sim.plan`
with everything in one scan): each node after the nodes it reads in the same step; an edge that
closes a loop carries the value its source produced on the previous step (a *back edge*), except
where a loop passes an *early* node (spikes sent one step late, a delay of whole steps), whose
output for a step is known before its input arrives. `Steps.step` runs one step given how to
call each node; the node's summed input is reshaped to its input shape (NIR edges between shapes
of equal size).

`OpCell` runs any node through the simulator's own op (`snnx.sim.ops`) with the graph's
semantics: the stand-in for what a library cannot express.

>>> import numpy as np, snnx
>>> steps = Steps.of(snnx.read(snnx.example_path("braille")), snnx.Semantics.profile("snntorch-nir"))
>>> steps.order, sorted(steps.back)
(['fc1', 'lif1.lif', 'lif1.w_rec', 'fc2', 'lif2'], [('lif1.w_rec', 'lif1.lif')])
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

import jax.numpy as jnp
import numpy as np

from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.shapes import GraphShapes
from snnx.semantics import Semantics
from snnx.sim.ops import OPS
from snnx.sim.ops.registry import Context
from snnx.sim.plan import Plan
from snnx.sim.surrogate import spike_function

#: The surrogate gradient of the cells, the simulator's default (so their gradients agree).
SURROGATE, SLOPE = "fast-sigmoid", 10.0


@dataclasses.dataclass(frozen=True)
class Steps:
    """A flat graph's nodes in step order, its back edges and early nodes (module docstring)."""

    graph: Graph
    shapes: GraphShapes
    semantics: Semantics
    order: list[str]
    back: frozenset[tuple[str, str]]
    early: frozenset[str]

    @classmethod
    def of(cls, graph: Graph, semantics: Semantics) -> Steps:
        """Plan ``graph`` (flattened) under ``semantics``."""

        def early(node: Node) -> bool:
            op = OPS.get(node.type)
            return op is not None and op.early is not None and op.early(node, semantics)

        plan = Plan.build(graph, hoist_from=math.inf, early=early)
        nodes = [n for s in plan.segments for n in s.nodes]
        back = frozenset(e for s in plan.segments for e in s.back_edges)
        ahead = frozenset(n for s in plan.segments for n in s.early)
        return cls(plan.graph, plan.shapes, semantics, nodes, back, ahead)

    @property
    def carried(self) -> list[str]:
        """Nodes whose previous output a step needs (sources of back edges)."""
        return sorted({src for src, _ in self.back})

    def in_shape(self, name: str) -> tuple[int, ...]:
        return tuple(self.shapes[name].input)

    def out_shape(self, name: str) -> tuple[int, ...]:
        return tuple(self.shapes[name].output)

    def gather(self, name: str, now: Mapping, last: Mapping, lead: tuple[int, ...]) -> Any:
        """The summed input of ``name``, reshaped to ``lead + input shape``."""
        total = None
        for src in self.graph.predecessors(name):
            value = last[src] if (src, name) in self.back else now[src]
            value = value.reshape((*lead, *self.in_shape(name)))
            total = value if total is None else total + value
        return total

    def step(
        self,
        call: Callable[[str, Any], Any],
        peek: Callable[[str], Any],
        inputs: Mapping[str, Any],
        last: Mapping[str, Any],
        lead: tuple[int, ...],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """One step: ``call(name, x) -> y`` steps a node (keeping its own state), ``peek(name)``
        is an early node's output before it steps. Returns ``(outputs per Output, the values
        the next step's back edges need)``. Input spikes are scaled like every spike (1/dt)."""
        scale = 1.0 / self.semantics.dt if self.semantics.spike_amplitude == "1/dt" else None
        now = {k: v if scale is None else v * scale for k, v in inputs.items()}
        for name in self.early:
            now[name] = peek(name)
        for name in self.order:
            y = call(name, self.gather(name, now, last, lead))
            now.setdefault(name, y)
        outputs = {o: self.gather(o, now, last, lead) for o in self.graph.outputs}
        return outputs, {src: now[src] for src in self.carried}


class OpCell:
    """A node run by the simulator's op under ``semantics`` (float32, NIR's layout), on a batch
    ``(B, *shape)``: ``params`` (the trainable fields), ``init``, ``step``, ``emit``, ``apply``.

    >>> from snnx.ir.node import Node
    >>> cell = OpCell(Node("LIF", tau=[1e-3], r=[1.0], v_leak=[0.0], v_threshold=[0.5],
    ...               v_reset=[0.0]), (1,), (1,), Semantics.profile("nir-reference"))
    >>> state = cell.init(cell.params, 2)
    >>> state, y = cell.step(cell.params, state, jnp.full((2, 1), 9.0))
    >>> y.tolist()
    [[1.0], [1.0]]
    """

    def __init__(
        self,
        node: Node,
        in_shape: tuple[int, ...],
        out_shape: tuple[int, ...],
        semantics: Semantics,
        name: str = "",
    ) -> None:
        own = semantics.for_type(node.type)
        spike = spike_function(SURROGATE, SLOPE, inclusive=own.threshold == ">=")
        self.op = OPS[node.type]
        self.ctx = Context(
            name, node, tuple(in_shape), tuple(out_shape), own, spike, jnp.dtype(jnp.float32)
        )
        self.params = {
            k: jnp.asarray(np.asarray(node.fields[k]), jnp.float32)
            for k in self.op.params
            if k in node.fields
        }

    @property
    def stateful(self) -> bool:
        return self.op.stateful

    def _prepared(self, params: dict) -> Any:
        return self.op.prepare(params, self.ctx) if self.op.prepare else params

    def init(self, params: dict, batch: int) -> Any:
        init = self.op.init
        return None if init is None else init(self._prepared(params), batch, self.ctx)

    def step(self, params: dict, state: Any, x: Any) -> tuple[Any, Any]:
        if self.op.step is None:  # stateless
            assert self.op.apply is not None  # an op without `step` has `apply` (registry)
            return state, self.op.apply(self._prepared(params), x, self.ctx)
        return self.op.step(self._prepared(params), state, x, self.ctx)

    def emit(self, params: dict, state: Any) -> Any:
        assert self.op.emit is not None  # asked of early ops only, which say what they emit
        return self.op.emit(self._prepared(params), state, self.ctx)
