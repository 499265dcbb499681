"""`Simulator` and `simulate`: the reference executor's public face.

A `Simulator` compiles a graph once for given semantics and options (a `Plan`, then a `Program`
jitted with `jax.jit`); compiled programs are cached by the graph's structure, so graphs that
differ only in parameter values share one. Parameters are an argument, not constants: pass your
own (`Simulator.params` is the graph's) to train with `jax.grad`.

>>> import numpy as np, snnx
>>> graph = snnx.read(snnx.example_path("braille"))
>>> sim = Simulator(graph, "snntorch")
>>> result = sim(np.zeros((10, 2, 12)))
>>> result.outputs["output"].shape
(10, 2, 7)
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import numpy as np

from snnx.errors import SnnxError
from snnx.ir.graph import Graph
from snnx.semantics import Semantics
from snnx.sim.executor import Params, Program
from snnx.sim.ops import OPS
from snnx.sim.plan import HOIST_FROM, Plan

#: Each schedule's ``hoist_from`` (`Plan.build`) for a forward call and for `Simulator.run`.
SCHEDULES = {"auto": (HOIST_FROM, 0.0), "layer": (0.0, 0.0), "step": (math.inf, math.inf)}
_COMPILED: dict[str, Any] = {}
_CACHE_SIZE = 64


@dataclasses.dataclass(frozen=True)
class Result:
    """``outputs``: Output node -> ``(T, B, *shape)``; ``records``: ``"NODE.STATE"`` -> same."""

    outputs: dict[str, np.ndarray]
    records: dict[str, np.ndarray]

    def arrays(self) -> dict[str, np.ndarray]:
        """Outputs and records in one dict (what ``snnx simulate -o out.npz`` saves)."""
        return {**self.outputs, **self.records}


def resolve_semantics(graph: Graph, semantics: Semantics | str | None) -> Semantics:
    """The semantics to run with: the argument (a `Semantics` or a profile name), else the
    graph's stored ones, else ``nir-reference`` (with subtractive reset for pre-1.0.6 files)."""
    if isinstance(semantics, str):
        return Semantics.profile(semantics)
    if semantics is not None:
        return semantics
    if graph.semantics is not None:
        return graph.semantics
    default = Semantics.profile("nir-reference")
    return default.replace(reset="subtract") if graph.legacy_reset else default


class Simulator:
    """A graph compiled for the reference simulator.

    ``schedule``: ``auto`` (hoist costly stateless layers over the whole sequence, step the rest
    in scans), ``layer`` (hoist every stateless layer) or ``step`` (one scan for everything).
    Under ``auto``, calling the simulator (numpy results, no gradients: ``forward_program``)
    hoists layers from a million multiply-adds per sample, and `run` (differentiable:
    ``program``) hoists every one, as pays off for each (`snnx.sim.plan`).
    ``surrogate``/``slope`` pick the spike function's gradient; ``checkpoint`` trades compute for
    memory in the backward pass (re-computing each step); ``record`` names nodes whose states to
    return; ``shard`` splits the batch across all local devices; ``dtype`` is the arithmetic
    (``float32``; ``float16`` as half-precision hardware computes; ``float64`` needs
    ``jax_enable_x64``).
    """

    def __init__(
        self,
        graph: Graph,
        semantics: Semantics | str | None = None,
        *,
        schedule: str = "auto",
        surrogate: str = "fast-sigmoid",
        slope: float = 10.0,
        checkpoint: bool = False,
        record: Sequence[str] = (),
        shard: bool = False,
        dtype: str = "float32",
    ) -> None:
        if schedule not in SCHEDULES:
            raise SnnxError(f"unknown schedule {schedule!r}; choose from {', '.join(SCHEDULES)}")
        self.source = graph
        self.semantics = resolve_semantics(graph, semantics)
        options = dict(
            surrogate=surrogate, slope=slope, record=record, checkpoint=checkpoint, dtype=dtype
        )
        forward, gradients = SCHEDULES[schedule]

        def build(hoist_from: float) -> Program:
            plan = Plan.build(graph, hoist_from=hoist_from, early=self._early)
            return Program.build(plan, self.semantics, **options)

        self.program = build(gradients)
        self.forward_program = self.program if forward == gradients else build(forward)
        self.params: Params = self.program.params()
        self.shard = shard
        key = (schedule, surrogate, slope, checkpoint, tuple(record), dtype)
        self._run, self._forward = (_compiled(p, key) for p in (self.program, self.forward_program))

    def _early(self, node) -> bool:
        op = OPS.get(node.type)
        return op is not None and op.early is not None and op.early(node, self.semantics)

    @property
    def inputs(self) -> list[str]:
        """Names of the graph's Input nodes."""
        return self.program.plan.graph.inputs

    def run(self, inputs: Any, params: Params | None = None, carry: dict | None = None):
        """Run on device arrays, differentiably: ``(outputs, records)`` as jax arrays; given a
        ``carry`` (where a previous run stopped, ``{}`` for rest), ``(outputs, records, carry)``."""
        params = self.params if params is None else params
        outputs, records, end = self._run(params, self._named(inputs), carry)
        return (outputs, records) if carry is None else (outputs, records, end)

    def __call__(
        self,
        inputs: Any,
        params: Params | None = None,
        *,
        chunk: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> Result:
        """Run and return numpy arrays. ``inputs``: one ``(T, B, *shape)`` array when the graph
        has one Input, else a dict Input name -> array. With ``chunk``, run ``chunk`` steps at a
        time (state carried over; the same result), calling ``progress(steps_done)`` after each."""
        named = self._named(inputs)
        params = self.params if params is None else params
        steps = np.shape(next(iter(named.values())))[0]
        chunk = chunk or steps
        pieces, carry = [], {}
        for start in range(0, steps, chunk):
            part = (
                named if chunk >= steps else {k: v[start : start + chunk] for k, v in named.items()}
            )
            outputs, records, carry = self._forward(params, part, carry)
            pieces.append({**outputs, **records})
            if progress is not None:
                progress(min(start + chunk, steps))
        joined = {
            k: np.asarray(pieces[0][k])
            if len(pieces) == 1
            else np.concatenate([np.asarray(p[k]) for p in pieces])
            for k in pieces[0]
        }
        return Result({k: joined[k] for k in outputs}, {k: joined[k] for k in records})

    def graph(self, params: Params | None = None) -> Graph:
        """A copy of the graph with ``params`` (trained ones, say) written into its nodes' fields,
        each keeping its file dtype and shape; ready for `snnx.write`."""
        params = self.params if params is None else params
        graph = self.source.copy()
        for path, node in list(graph.walk()):
            values = params.get(path.replace("/", "."), {})
            if not values or not hasattr(node, "fields"):
                continue
            *parents, name = path.split("/")
            owner = graph
            for parent in parents:
                owner = owner[parent]
            changes = {
                k: np.asarray(v, dtype=np.asarray(node.fields[k]).dtype) for k, v in values.items()
            }
            owner.replace_node(name, node.replace(**changes))
        return graph

    def _named(self, inputs: Any) -> dict[str, Any]:
        if isinstance(inputs, Mapping):
            named = dict(inputs)
        elif len(self.inputs) != 1:
            raise SnnxError(f"the graph has Inputs {self.inputs}: give a dict of arrays")
        else:
            named = {self.inputs[0]: inputs}
        return _shard_batch(named) if self.shard and jax.device_count() > 1 else named


def simulate(
    graph: Graph,
    inputs: Any,
    semantics: Semantics | str | None = None,
    *,
    record: Sequence[str] = (),
    **options: Any,
) -> Result:
    """Run ``graph`` on ``inputs`` (time-major, ``(T, B, *shape)``) and return a `Result`.

    >>> import numpy as np, snnx
    >>> lif = snnx.read(snnx.example_path("braille"))
    >>> simulate(lif, np.ones((5, 1, 12)), "snntorch", record=["lif2"]).records["lif2.v"].shape
    (5, 1, 7)
    """
    return Simulator(graph, semantics, record=record, **options)(inputs)


def _compiled(program: Program, options: tuple) -> Callable:
    """``jax.jit(program.run)``, shared by programs of equal structure."""
    key = _fingerprint(program, options)
    if key not in _COMPILED:
        if len(_COMPILED) >= _CACHE_SIZE:
            _COMPILED.pop(next(iter(_COMPILED)))
        _COMPILED[key] = jax.jit(program.run)
    return _COMPILED[key]


def _fingerprint(program: Program, options: tuple) -> str:
    """A key that is equal for programs of equal structure, whatever their parameter values."""
    digest = hashlib.sha256(repr((program.semantics, options)).encode())
    graph = program.plan.graph
    for name in graph:
        node = graph[name]
        op = program.ops.get(name)
        for key, value in sorted(node.fields.items()):
            array = np.asarray(value)
            static = op is None or key not in op.params
            digest.update(f"{name}|{node.type}|{key}|{array.shape}|{array.dtype}".encode())
            if static:
                digest.update(array.tobytes() if array.dtype != object else repr(value).encode())
    digest.update(repr(graph.edges).encode())
    digest.update(
        repr([(s.kind, s.nodes, sorted(s.back_edges)) for s in program.plan.segments]).encode()
    )
    return digest.hexdigest()


def _shard_batch(inputs: dict[str, Any]) -> dict[str, Any]:
    """Place inputs split along the batch axis (axis 1) across all local devices."""
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    devices = np.array(jax.devices())
    mesh = Mesh(devices, ("batch",))
    sharding = NamedSharding(mesh, PartitionSpec(None, "batch"))
    for name, value in inputs.items():
        if np.shape(value)[1] % len(devices):
            raise SnnxError(
                f"batch of {np.shape(value)[1]} for '{name}' does not split across {len(devices)} devices"
            )
    return {name: jax.device_put(np.asarray(value), sharding) for name, value in inputs.items()}
