"""The executor: a `Plan` becomes one pure function ``run(params, inputs) -> (outputs, records)``.

Values flow as sequences ``(T, B, *shape)``. Edges into a node are summed (each reshaped to the
node's input shape, for edges between same-size shapes). A hoisted node folds time into the batch:
``(T * B, *shape)`` in, one call, and back. A scan segment advances its nodes one step at a time
in one `jax.lax.scan`; its carry holds every stateful node's state and, for each back edge, what
the edge's source produced on the previous step (zeros before the first step).

Feature maps are held channels-last inside (`snnx.sim.layout`); inputs, outputs and records are
in NIR's layout.

Records: for each recorded node, ``"NODE.out"`` (what it emits) and ``"NODE.STATE"`` for each of its
states (``v``, ``i``, ...), all sampled at the end of each step. With ``margins``, a recorded node
that decides spikes also gives ``"NODE.margin"``: how far each decision was from a tie, the
argument of its spike function ``v - threshold`` in units of the threshold's float spacing
(``ulp``): ``(v - threshold) / ulp(threshold)``. Where ``|margin|`` is a few units, the decision
is a float tie that another device's rounding (a different summation order, a fused multiply-add)
may turn over.

The function is pure and jit-able; ``params`` (node -> field -> array) is its first argument, so
`jax.grad` reaches every weight and time constant. It also takes and returns the ``carry`` (every
scan's state where the sequence ended), so a long sequence can run in chunks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from snnx import dynamics
from snnx.errors import GraphError, SnnxError
from snnx.ir.schema import SCHEMA
from snnx.semantics import Semantics
from snnx.sim import layout
from snnx.sim.ops import OPS
from snnx.sim.ops.registry import Context, Op
from snnx.sim.plan import Plan, Segment
from snnx.sim.runs import Run, find_runs
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
    channels_last: bool = True
    margins: bool = False

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
        channels_last: bool = True,
        margins: bool = False,
    ) -> Program:
        """Bind ``plan`` to ``semantics``; ``record`` names nodes whose states to return; every
        value is computed in ``dtype`` (float32; float16 for half-precision hardware, float64);
        ``channels_last`` holds feature maps as ``(H, W, C)`` inside (the same results, faster
        convolutions on CPU); ``margins`` also records each recorded node's distance from a tie
        (the module docstring)."""
        graph, shapes = plan.graph, plan.shapes
        ops, contexts = {}, {}
        for name in graph:
            node = graph.node(name)  # the plan's graph is flat
            if SCHEMA[node.type].category == "io":
                continue
            own = semantics.for_type(node.type)
            spike = spike_function(surrogate, slope, inclusive=own.threshold == ">=")
            if margins and name in record:
                spike = SpikeProbe(spike)
            ops[name] = OPS[node.type]
            last = channels_last and ops[name].layout != "canonical"
            held = layout.internal_shape if last else tuple
            contexts[name] = Context(
                name,
                node,
                held(shapes[name].input),
                held(shapes[name].output),
                own,
                spike,
                jnp.dtype(dtype),
                channels_last=last,
            )
        for name in record:
            if name not in graph or SCHEMA[graph[name].type].category == "io":
                raise GraphError("cannot record this node: no such simulated node", node=name)
        return cls(
            plan,
            semantics,
            ops,
            contexts,
            tuple(record),
            checkpoint,
            jnp.dtype(dtype),
            channels_last,
            margins,
        )

    def params(self) -> Params:
        """The trainable parameters, read from the graph as arrays of the program's dtype."""
        out = {}
        for name, op in self.ops.items():
            fields = self.plan.graph.node(name).fields
            out[name] = {k: jnp.asarray(fields[k], self.dtype) for k in op.params if k in fields}
        return out

    def run(
        self, params: Params, inputs: Mapping[str, jax.Array], carry: dict | None = None
    ) -> tuple[dict[str, jax.Array], dict[str, jax.Array], dict]:
        """Run a sequence: ``inputs`` maps each Input name to ``(T, B, *shape)``. ``carry`` is
        where a previous run stopped (``None``: from rest). Returns ``(outputs, records, carry)``."""
        return self.run_packed(self.pack(params), inputs, carry)

    def pack(self, params: Params) -> dict[str, Any]:
        """``params`` as `run_packed` takes them: rearranged for channels-last maps, and each run
        of identical blocks' (`snnx.sim.runs`) stacked, one array per block position and field,
        under its first node's name. Packing outside `jax.jit` spares the compiler thousands of
        arguments and one long concatenation per field."""
        packed: dict[str, Any] = dict(self._held_params(params))
        for segment in self.plan.segments:
            if segment.kind != "scan":
                continue
            for piece in self._pieces(segment):
                if isinstance(piece, Run):
                    stacked = [
                        {k: _stack([packed[b[j]][k] for b in piece.blocks]) for k in packed[n]}
                        for j, n in enumerate(piece.blocks[0])
                    ]
                    for name in piece.nodes:
                        del packed[name]
                    packed[piece.key] = stacked
        return packed

    def run_packed(
        self, params: dict[str, Any], inputs: Mapping[str, jax.Array], carry: dict | None = None
    ) -> tuple[dict[str, jax.Array], dict[str, jax.Array], dict]:
        """`run` with parameters already `pack`ed."""
        graph, shapes = self.plan.graph, self.plan.shapes
        seqs: dict[str, jax.Array] = {}
        steps = batch = 0  # set by the inputs: a checked graph has at least one
        for name in graph.inputs:
            if name not in inputs:
                raise SnnxError(
                    f"no input given for Input node '{name}' (inputs: {sorted(inputs)})"
                )
            x = jnp.asarray(inputs[name], self.dtype)
            x = dynamics.emit(x, self.semantics)  # input spikes are spikes too
            steps, batch = x.shape[0], x.shape[1]
            try:
                x = x.reshape((steps, batch, *shapes[name].output))
            except TypeError:
                raise SnnxError(
                    f"input for '{name}' has shape {tuple(x.shape)}; expected (T, B, "
                    f"{', '.join(map(str, shapes[name].output))})"
                ) from None
            seqs[name] = self._held(x, shapes[name].output)
        records: dict[str, jax.Array] = {}
        carry = dict(carry or {})
        for index, segment in enumerate(self.plan.segments):
            if segment.kind == "sequence":
                name = segment.nodes[0]
                x = self._gather(name, seqs, (steps, batch))
                y = self._apply(name, params[name], x.reshape((steps * batch, *x.shape[2:])))
                seqs[name] = y.reshape((steps, batch, *y.shape[1:]))
                if name in self.record:
                    records[f"{name}.out"] = seqs[name]
                    records.update(self._margin(name, params[name], (steps, batch)))
            else:
                carry[index] = self._scan(segment, params, seqs, records, batch, carry.get(index))
        outputs = {
            name: self._canonical(self._gather(name, seqs, (steps, batch)), shapes[name].input)
            for name in graph.outputs
        }
        records = {
            key: self._canonical(value, shapes[key.rsplit(".", 1)[0]].output)
            for key, value in records.items()
        }
        return outputs, records, carry

    def _held_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        """A per-sample shape (NIR's layout) as the program holds it."""
        return layout.internal_shape(shape) if self.channels_last else tuple(shape)

    def _held(self, x: jax.Array, shape: Sequence[int]) -> jax.Array:
        """Values in NIR's layout (per-sample ``shape``) -> as the program holds them."""
        return layout.to_internal(x, shape) if self.channels_last else x

    def _canonical(self, x: jax.Array, shape: Sequence[int]) -> jax.Array:
        """Values as the program holds them -> NIR's layout (per-sample ``shape``)."""
        return layout.to_canonical(x, shape) if self.channels_last else x

    def _held_params(self, params: Params) -> Params:
        """Parameters of elementwise ops on feature maps, rearranged to broadcast channels-last."""
        if not self.channels_last:
            return params
        out = dict(params)
        for name, op in self.ops.items():
            shape = self.plan.shapes[name].output
            if op.layout == "elementwise" and layout.is_map(shape):
                out[name] = {k: layout.param_to_internal(v, shape) for k, v in params[name].items()}
        return out

    def _converts(self, name: str) -> bool:
        """Whether the op of ``name`` takes NIR's layout where the program holds another."""
        return self.channels_last and self.ops[name].layout == "canonical"

    def _to_op(self, name: str, x: jax.Array) -> jax.Array:
        return self._canonical(x, self.plan.shapes[name].input) if self._converts(name) else x

    def _from_op(self, name: str, y: jax.Array) -> jax.Array:
        return self._held(y, self.plan.shapes[name].output) if self._converts(name) else y

    def _apply(self, name: str, p: Mapping[str, jax.Array], x: jax.Array) -> jax.Array:
        """A stateless op on values as the program holds them."""
        apply = self.ops[name].apply
        assert apply is not None  # the plan applies stateless ops only; stateful ones step
        y = apply(p, self._to_op(name, x), self.contexts[name])
        return self._from_op(name, y)

    def _gather(
        self,
        name: str,
        values: Mapping[str, jax.Array],
        lead: tuple,
        back: Collection[tuple[str, str]] = (),
        prev: Mapping[str, jax.Array] | None = None,
    ) -> jax.Array:
        """Sum of what the edges into ``name`` carry, each shaped as ``name``'s input (an edge
        between different shapes reshapes in NIR's layout)."""
        total = None
        for pred in self.plan.graph.predecessors(name):
            value = prev[pred] if prev is not None and (pred, name) in back else values[pred]
            value = self._edge(value, pred, name, lead)
            total = value if total is None else total + value
        assert total is not None  # `Graph.check`: every node but an Input has an edge in
        return total

    def _edge(self, value: jax.Array, pred: str, name: str, lead: tuple) -> jax.Array:
        """What ``pred`` emitted, shaped as ``name``'s input."""
        shapes = self.plan.shapes
        shape, source = tuple(shapes[name].input), tuple(shapes[pred].output)
        if source != shape:
            return self._held(self._canonical(value, source).reshape((*lead, *shape)), shape)
        return value.reshape((*lead, *self._held_shape(shape)))

    def _margin(self, name: str, p: Mapping[str, jax.Array], lead: tuple) -> dict[str, jax.Array]:
        """``{"NODE.margin": (v - threshold) / ulp(threshold)}`` for the spike decisions the
        node's op just made (traced in this step), or nothing."""
        probe = self.contexts[name].spike
        seen = probe.take() if isinstance(probe, SpikeProbe) else None
        if seen is None:
            return {}
        seen = jax.lax.stop_gradient(seen)
        threshold = p.get("v_threshold", p.get("threshold", 1.0))
        threshold = jnp.abs(jax.lax.stop_gradient(jnp.asarray(threshold, seen.dtype)))
        ulp = jnp.nextafter(threshold, jnp.asarray(jnp.inf, seen.dtype)) - threshold
        return {f"{name}.margin": (seen / ulp).reshape((*lead, *seen.shape[1:]))}

    def _scan(
        self,
        segment: Segment,
        params: Params,
        seqs: dict[str, jax.Array],
        records: dict[str, jax.Array],
        batch: int,
        carry: Any,
    ) -> Any:
        graph = self.plan.graph
        inside = set(segment.nodes)
        external = list(
            dict.fromkeys(
                p for n in segment.nodes for p in graph.predecessors(n) if p not in inside
            )
        )
        carried = sorted({src for src, _ in segment.back_edges})
        wanted = self._wanted(segment)
        shapes = self.plan.shapes
        pieces = self._pieces(segment)
        prepared: dict[str, Any] = {}
        for piece in pieces:
            if isinstance(piece, Run):
                prepared[piece.key] = self._prepare_run(piece, params)
                continue
            prepare = self.ops[piece].prepare
            prepared[piece] = (
                prepare(params[piece], self.contexts[piece]) if prepare else params[piece]
            )

        def step(carry: Any, xs: Mapping[str, jax.Array]) -> tuple[Any, dict[str, jax.Array]]:
            states, prev = carry
            now = dict(xs)
            for name in segment.early:  # outputs known before this step's inputs
                emit = self.ops[name].emit
                assert emit is not None  # `segment.early` holds the ops that say `emit`
                y = emit(prepared[name], states[name], self.contexts[name])
                now[name] = self._from_op(name, y)
            new_states = {}
            for piece in pieces:
                if isinstance(piece, Run):
                    x = self._gather(piece.blocks[0][0], now, (batch,), segment.back_edges, prev)
                    new_states[piece.key], now[piece.blocks[-1][-1]] = self._step_run(
                        piece, prepared[piece.key], states[piece.key], x, batch
                    )
                    continue
                name = piece
                x = self._gather(name, now, (batch,), segment.back_edges, prev)
                op, ctx = self.ops[name], self.contexts[name]
                if op.step is not None:  # `op.stateful`
                    new_states[name], y = op.step(
                        prepared[name], states[name], self._to_op(name, x), ctx
                    )
                    now.setdefault(name, self._from_op(name, y))
                else:
                    now[name] = self._apply(name, prepared[name], x)
            out = {name: now[name] for name in wanted}
            for name in (n for n in self.record if n in inside):
                for label in self.ops[name].states:
                    out[f"{name}.{label}"] = new_states[name][label]
                out.update(self._margin(name, params[name], (batch,)))
            return (new_states, {src: now[src] for src in carried}), out

        if carry is None:
            states = {}
            for piece in pieces:
                if isinstance(piece, Run):
                    states[piece.key] = self._init_run(piece, prepared[piece.key], batch)
                    continue
                n = piece
                init = self.ops[n].init
                if self.ops[n].stateful:
                    assert init is not None  # a stateful op starts from its `init` state
                    states[n] = init(prepared[n], batch, self.contexts[n])
            zeros = {
                src: jnp.zeros((batch, *self._held_shape(shapes[src].output)), self.dtype)
                for src in carried
            }
            carry = (states, zeros)
        body = jax.checkpoint(step) if self.checkpoint else step
        carry, ys = jax.lax.scan(body, carry, {p: seqs[p] for p in external})
        for name in wanted:
            seqs[name] = ys.pop(name)
            if name in self.record:
                records[f"{name}.out"] = seqs[name]
        records.update(ys)
        return carry

    def _wanted(self, segment: Segment) -> list[str]:
        """The nodes of a scan segment whose values leave its steps (read outside it, recorded)."""
        graph, inside = self.plan.graph, set(segment.nodes)
        return [
            n
            for n in segment.nodes
            if n in self.record or any(s not in inside for s in graph.successors(n))
        ]

    def _pieces(self, segment: Segment) -> list[str | Run]:
        """A scan segment's nodes in step order, runs of identical blocks grouped."""
        return find_runs(self, segment, self._wanted(segment))

    def _prepare_run(self, run: Run, params: dict[str, Any]) -> list[tuple[dict, dict]]:
        """For each block position: its nodes' prepared parameters stacked along a first axis
        (`pack`), and the constants (Python numbers) they share."""
        out = []
        for j, first in enumerate(run.blocks[0]):
            column = [block[j] for block in run.blocks]
            q = params[run.key][j]
            prepare_many = self.ops[first].prepare_many
            if prepare_many is not None:  # `runs.signature`: else the op prepares nothing
                q = prepare_many(q, [self.contexts[n] for n in column])
            arrays = {k: v for k, v in q.items() if not isinstance(v, float)}
            out.append((arrays, {k: v for k, v in q.items() if isinstance(v, float)}))
        return out

    def _init_run(self, run: Run, prepared: list[tuple[dict, dict]], batch: int) -> dict:
        """The stacked rest states of a run's stateful block positions."""
        states = {}
        for j, name in enumerate(run.blocks[0]):
            op, ctx = self.ops[name], self.contexts[name]
            if op.stateful:
                assert op.init is not None  # a stateful op starts from its `init` state
                arrays, constants = prepared[j]
                init = lambda a, i=op.init, c=constants, x=ctx: i({**a, **c}, batch, x)  # noqa: E731
                states[str(j)] = jax.vmap(init, axis_size=len(run.blocks))(arrays)
        return states

    def _step_run(
        self, run: Run, prepared: list[tuple[dict, dict]], states: dict, x: jax.Array, batch: int
    ) -> tuple[dict, jax.Array]:
        """One step of a run (`snnx.sim.runs`): ``x`` into its first node; returns its new
        stacked states and what its last node emits."""
        block = run.blocks[0]

        def repeat(carry: tuple, slab: tuple) -> tuple[tuple, dict]:
            x, _ = carry
            arrays, old = slab
            new = {}
            for j, name in enumerate(block):
                if j:
                    x = self._edge(x, block[j - 1], name, (batch,))
                p = {**arrays[j], **prepared[j][1]}
                step = self.ops[name].step
                if step is not None:
                    new[str(j)], y = step(p, old[str(j)], self._to_op(name, x), self.contexts[name])
                    x = self._from_op(name, y)
                else:
                    x = self._apply(name, p, x)
            return (self._edge(x, block[-1], block[0], (batch,)), x), new

        last = jnp.zeros((batch, *self._held_shape(self.plan.shapes[block[-1]].output)), x.dtype)
        slabs = ([a for a, _ in prepared], states)
        # ``length``: a run of parameterless, stateless blocks has nothing to scan over
        (_, y), new = jax.lax.scan(repeat, (x, last), slabs, length=len(run.blocks))
        return new, y


def _stack(values: list[Any]) -> jax.Array:
    """``jnp.stack(values)``; concrete values stacked by numpy (no program compiled for each
    number of them), traced ones (under `jax.grad` or `jax.jit`) by JAX."""
    if any(isinstance(v, jax.core.Tracer) for v in values):
        return jnp.stack(values)
    return jnp.asarray(np.stack([np.asarray(v) for v in values]))


class SpikeProbe:
    """A node's spike function that keeps the argument of its last call (``v - threshold``)
    until the executor takes it, in the same trace: how `Program` records margins without the
    ops knowing.

    >>> import jax.numpy as jnp
    >>> probe = SpikeProbe(lambda x: (x > 0).astype(x.dtype))
    >>> probe(jnp.array([0.5, -1.0])).tolist(), probe.take().tolist(), probe.take()
    ([1.0, 0.0], [0.5, -1.0], None)
    """

    def __init__(self, spike: Callable[[Any], Any]) -> None:
        self.spike = spike
        self.seen: Any = None

    def __call__(self, x: Any) -> Any:
        self.seen = x
        return self.spike(x)

    def take(self) -> Any:
        """The argument of the last call since the last `take`, or None."""
        seen, self.seen = self.seen, None
        return seen
