"""The executor: a `Plan` becomes one pure function ``run(params, inputs) -> (outputs, records)``.

Values flow as sequences ``(T, B, *shape)``. Edges into a node are summed (each reshaped to the
node's input shape, for edges between same-size shapes). A hoisted node folds time into the batch:
``(T * B, *shape)`` in, one call, and back. A scan segment advances its nodes one step at a time
in one `jax.lax.scan`; its carry holds every stateful node's state and, for each back edge, what
the edge's source produced on the previous step (zeros before the first step).

Records: for each recorded node, ``"NODE.out"`` (what it emits) and ``"NODE.STATE"`` for each of its
states (``v``, ``i``, ...), all sampled at the end of each step.

The function is pure and jit-able; ``params`` (node -> field -> array) is its first argument, so
`jax.grad` reaches every weight and time constant. It also takes and returns the ``carry`` (every
scan's state where the sequence ended), so a long sequence can run in chunks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from snnx.errors import GraphError, SnnxError
from snnx.semantics import Semantics
from snnx.sim.ops import OPS
from snnx.sim.ops.registry import Context, Op
from snnx.sim.plan import Plan, Segment
from snnx.sim.surrogate import spike_function

Params = dict[str, dict[str, jax.Array]]


@dataclasses.dataclass(frozen=True)
class Program:
    """A plan bound to semantics and options, with each node's op and static context."""

    plan: Plan
    semantics: Semantics
    ops: Mapping[str, Op]
    contexts: Mapping[str, Context]
    record: tuple[str, ...]
    checkpoint: bool
    dtype: Any

    @classmethod
    def build(
        cls,
        plan: Plan,
        semantics: Semantics,
        *,
        surrogate: str = "fast-sigmoid",
        slope: float = 10.0,
        record: Sequence[str] = (),
        checkpoint: bool = False,
        dtype: Any = jnp.float32,
    ) -> Program:
        """Bind ``plan`` to ``semantics``; ``record`` names nodes whose states to return; every
        value is computed in ``dtype`` (float32; float16 for half-precision hardware, float64)."""
        graph, shapes = plan.graph, plan.shapes
        ops, contexts = {}, {}
        for name in graph:
            node = graph[name]
            if node.type in ("Input", "Output"):
                continue
            own = semantics.for_type(node.type)
            spike = spike_function(surrogate, slope, inclusive=own.threshold == ">=")
            ops[name] = OPS[node.type]
            contexts[name] = Context(
                name, node, shapes[name].input, shapes[name].output, own, spike, jnp.dtype(dtype)
            )
        for name in record:
            if name not in graph or graph[name].type in ("Input", "Output"):
                raise GraphError("cannot record this node: no such simulated node", node=name)
        return cls(plan, semantics, ops, contexts, tuple(record), checkpoint, jnp.dtype(dtype))

    def params(self) -> Params:
        """The trainable parameters, read from the graph as arrays of the program's dtype."""
        out = {}
        for name, op in self.ops.items():
            fields = self.plan.graph[name].fields
            out[name] = {k: jnp.asarray(fields[k], self.dtype) for k in op.params if k in fields}
        return out

    def run(self, params: Params, inputs: Mapping[str, jax.Array], carry: dict | None = None):
        """Run a sequence: ``inputs`` maps each Input name to ``(T, B, *shape)``. ``carry`` is
        where a previous run stopped (``None``: from rest). Returns ``(outputs, records, carry)``."""
        graph, shapes = self.plan.graph, self.plan.shapes
        seqs: dict[str, jax.Array] = {}
        steps = batch = None
        for name in graph.inputs:
            if name not in inputs:
                raise SnnxError(
                    f"no input given for Input node '{name}' (inputs: {sorted(inputs)})"
                )
            x = jnp.asarray(inputs[name], self.dtype)
            if self.semantics.spike_amplitude == "1/dt":
                x = x / self.semantics.dt
            steps, batch = x.shape[0], x.shape[1]
            try:
                seqs[name] = x.reshape((steps, batch, *shapes[name].output))
            except TypeError:
                raise SnnxError(
                    f"input for '{name}' has shape {tuple(x.shape)}; expected (T, B, "
                    f"{', '.join(map(str, shapes[name].output))})"
                ) from None
        records: dict[str, jax.Array] = {}
        carry = dict(carry or {})
        for index, segment in enumerate(self.plan.segments):
            if segment.kind == "sequence":
                name = segment.nodes[0]
                x = self._gather(name, seqs, (steps, batch))
                y = self.ops[name].apply(
                    params[name], x.reshape((steps * batch, *x.shape[2:])), self.contexts[name]
                )
                seqs[name] = y.reshape((steps, batch, *y.shape[1:]))
                if name in self.record:
                    records[f"{name}.out"] = seqs[name]
            else:
                carry[index] = self._scan(segment, params, seqs, records, batch, carry.get(index))
        outputs = {
            name: self._gather(name, seqs, (steps, batch)).reshape(
                (steps, batch, *shapes[name].input)
            )
            for name in graph.outputs
        }
        return outputs, records, carry

    def _gather(self, name: str, values: Mapping[str, jax.Array], lead: tuple, back=(), prev=None):
        """Sum of what the edges into ``name`` carry, each shaped as ``name``'s input."""
        shape = self.plan.shapes[name].input
        total = None
        for pred in self.plan.graph.predecessors(name):
            value = prev[pred] if (pred, name) in back else values[pred]
            value = value.reshape((*lead, *shape))
            total = value if total is None else total + value
        return total

    def _scan(self, segment: Segment, params: Params, seqs: dict, records: dict, batch: int, carry):
        graph = self.plan.graph
        inside = set(segment.nodes)
        external = list(
            dict.fromkeys(
                p for n in segment.nodes for p in graph.predecessors(n) if p not in inside
            )
        )
        carried = sorted({src for src, _ in segment.back_edges})
        wanted = [
            n
            for n in segment.nodes
            if n in self.record or any(s not in inside for s in graph.successors(n))
        ]
        shapes = self.plan.shapes
        prepared = {
            n: self.ops[n].prepare(params[n], self.contexts[n])
            if self.ops[n].prepare
            else params[n]
            for n in segment.nodes
        }

        def step(carry, xs):
            states, prev = carry
            now = dict(xs)
            for name in segment.early:  # outputs known before this step's inputs
                now[name] = self.ops[name].emit(prepared[name], states[name], self.contexts[name])
            new_states = {}
            for name in segment.nodes:
                x = self._gather(name, now, (batch,), segment.back_edges, prev)
                op, ctx = self.ops[name], self.contexts[name]
                if op.stateful:
                    new_states[name], y = op.step(prepared[name], states[name], x, ctx)
                    now.setdefault(name, y)
                else:
                    now[name] = op.apply(prepared[name], x, ctx)
            out = {name: now[name] for name in wanted}
            for name in (n for n in self.record if n in inside):
                for label in self.ops[name].states:
                    out[f"{name}.{label}"] = new_states[name][label]
            return (new_states, {src: now[src] for src in carried}), out

        if carry is None:
            states = {
                n: self.ops[n].init(prepared[n], batch, self.contexts[n])
                for n in segment.nodes
                if self.ops[n].stateful
            }
            zeros = {src: jnp.zeros((batch, *shapes[src].output), self.dtype) for src in carried}
            carry = (states, zeros)
        body = jax.checkpoint(step) if self.checkpoint else step
        carry, ys = jax.lax.scan(body, carry, {p: seqs[p] for p in external})
        for name in wanted:
            seqs[name] = ys.pop(name)
            if name in self.record:
                records[f"{name}.out"] = seqs[name]
        records.update(ys)
        return carry
