"""`Simulator` and `simulate`: the reference executor's public face.

A `Simulator` compiles a graph once for given semantics and options (a `Plan`, then a `Program`
jitted with `jax.jit`); compiled programs are cached by the graph's structure, so graphs that
differ only in parameter values share one. Parameters are an argument, not constants: pass your
own (`Simulator.params` is the graph's) to train with `jax.grad`.

Precision: the reference computes matrix products and convolutions in full float32 on every
device (``precision="highest"``, scoped to snnx's own programs), so its spikes are those of the
CPU but for float ties (``margins``). ``precision="fast"`` lets the device round products as it
does by default (TF32 on recent NVIDIA GPUs, bfloat16 passes on TPUs): faster on matrix-bound
networks, and no longer the CPU's answer (benchmarks/README.md measures by how much).

Calling a simulator returns a `Result` whose arrays stay on the device until read; spike
trains come back compactly: ``bool`` where a node emits at most one unit spike per step,
``uint8`` counts where it emits a bounded number.

>>> import numpy as np, snnx
>>> graph = snnx.read(snnx.example_path("braille"))
>>> sim = Simulator(graph, "snntorch-nir")
>>> result = sim(np.zeros((10, 2, 12)))
>>> result.outputs["output"].shape
(10, 2, 7)
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from snnx.errors import SnnxError
from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.schema import SCHEMA
from snnx.semantics import Semantics
from snnx.sim import batches
from snnx.sim.executor import Params, Program
from snnx.sim.ops import OPS
from snnx.sim.plan import HOIST_FROM, HOIST_FROM_GPU, Plan

#: Each schedule's ``hoist_from`` (`Plan.build`) for a forward call and for `Simulator.run`.
#: On a GPU or TPU ``auto`` hoists a forward call's layers only from `HOIST_FROM_GPU`
#: multiply-adds per sample (measured on an H200: hoisting every layer made the forward call
#: x1.35-x3.3 slower than one scan on the four smaller benchmark workloads, and stepping the
#: 16384-wide layer x3.3 slower than hoisting it); gradients hoist every layer there too.
SCHEDULES = {"auto": (HOIST_FROM, 0.0), "layer": (0.0, 0.0), "step": (math.inf, math.inf)}
#: Matrix-product precision of each mode (`jax.default_matmul_precision`; None: JAX's default).
PRECISIONS = {"highest": "highest", "fast": None}
_COMPILED: dict[str, Any] = {}
_CACHE_SIZE = 64


class HostArrays(Mapping):
    """Named arrays that stay where they were computed until read: each is copied to the host
    (numpy) the first time it is looked up.

    >>> arrays = HostArrays({"x": jnp.ones(3)})
    >>> type(arrays["x"]).__name__, list(arrays)
    ('ndarray', ['x'])
    """

    def __init__(self, arrays: Mapping[str, Any]) -> None:
        self._arrays = dict(arrays)
        self._host: dict[str, np.ndarray] = {}

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._host:
            self._host[key] = np.asarray(self._arrays[key])
        return self._host[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k!r}: {np.shape(v)} {v.dtype}" for k, v in self._arrays.items())
        return f"HostArrays({{{shapes}}})"

    def on_device(self) -> dict[str, Any]:
        """The arrays as computed (jax arrays), without copying."""
        return dict(self._arrays)


@dataclasses.dataclass(frozen=True)
class Result:
    """``outputs``: Output node -> ``(T, B, *shape)``; ``records``: ``"NODE.STATE"`` -> same.
    Both map names to numpy arrays, each copied from the device when first read."""

    outputs: HostArrays
    records: HostArrays

    def __init__(self, outputs: Mapping[str, Any], records: Mapping[str, Any]) -> None:
        for name, value in (("outputs", outputs), ("records", records)):
            held = value if isinstance(value, HostArrays) else HostArrays(value)
            object.__setattr__(self, name, held)

    def arrays(self) -> dict[str, np.ndarray]:
        """Outputs and records in one dict (what ``snnx simulate -o out.npz`` saves)."""
        return {**self.outputs, **self.records}

    def ready(self) -> Result:
        """Wait until every array is computed (they are computed asynchronously); ``self``."""
        jax.block_until_ready([self.outputs.on_device(), self.records.on_device()])
        return self


def resolve_semantics(graph: Graph, semantics: Semantics | str | None) -> Semantics:
    """The semantics to run with: the argument as it is (a `Semantics`), else what the file
    fixes over the named profile's defaults (`snnx.provenance.resolve`: a stored semantics, the
    subtractive reset of a pre-1.0.6 file, ...; ``nir-reference`` without a name)."""
    if isinstance(semantics, Semantics):
        return semantics
    from snnx.provenance import resolve

    return resolve(graph, semantics).semantics


class Simulator:
    """A graph compiled for the reference simulator.

    ``schedule``: ``auto`` (hoist costly stateless layers over the whole sequence, step the rest
    in scans), ``layer`` (hoist every stateless layer) or ``step`` (one scan for everything).
    Under ``auto``, calling the simulator (numpy results, no gradients: ``forward_program``)
    hoists layers from a million multiply-adds per sample, and `run` (differentiable:
    ``program``) hoists every one, as pays off for each (`snnx.sim.plan`).
    ``surrogate``/``slope`` pick the spike function's gradient; ``checkpoint`` trades compute for
    memory in the backward pass (re-computing each step); ``record`` names nodes whose states to
    return, and ``margins`` adds each one's distance from a float tie (`snnx.sim.executor`);
    ``shard`` splits the batch across all devices (of all processes under `jax.distributed`,
    `snnx.sim.batches`); ``dtype`` is the arithmetic (``float32``; ``float16`` as
    half-precision hardware computes; ``float64`` needs ``jax_enable_x64``); ``precision`` is
    ``highest`` (float32 products: the reference) or ``fast`` (the device's default).
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
        precision: str = "highest",
        margins: bool = False,
    ) -> None:
        if schedule not in SCHEDULES:
            raise SnnxError(f"unknown schedule {schedule!r}; choose from {', '.join(SCHEDULES)}")
        if precision not in PRECISIONS:
            raise SnnxError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
        self.source = graph
        self.semantics = resolve_semantics(graph, semantics)
        self.precision = precision
        options: dict[str, Any] = dict(
            surrogate=surrogate,
            slope=slope,
            record=record,
            checkpoint=checkpoint,
            dtype=dtype,
            margins=margins,
        )
        forward, gradients = SCHEDULES[schedule]
        if schedule == "auto" and jax.default_backend() != "cpu":
            forward = HOIST_FROM_GPU

        def build(hoist_from: float) -> Program:
            plan = Plan.build(graph, hoist_from=hoist_from, early=self._early)
            return Program.build(plan, self.semantics, **options)

        self.program = build(gradients)
        self.forward_program = self.program if forward == gradients else build(forward)
        self.params: Params = self.program.params()
        self.shard = shard
        key = (schedule, surrogate, slope, checkpoint, tuple(record), dtype, margins, precision)
        self._run = _compiled(self.program, key, precision)
        self._forward = _compiled(self.forward_program, key, precision, compact=True)

    def _early(self, node: Node) -> bool:
        op = OPS.get(node.type)
        return op is not None and op.early is not None and op.early(node, self.semantics)

    @property
    def inputs(self) -> list[str]:
        """Names of the graph's Input nodes."""
        return self.program.plan.graph.inputs

    def run(self, inputs: Any, params: Params | None = None, carry: dict | None = None) -> tuple:
        """Run on device arrays, differentiably: ``(outputs, records)`` as jax arrays; given a
        ``carry`` (where a previous run stopped, ``{}`` for rest), ``(outputs, records, carry)``."""
        params = self.params if params is None else params
        outputs, records, end = self._run(params, self._named(inputs), carry)
        return (outputs, records) if carry is None else (outputs, records, end)

    def forward(
        self, inputs: Any, params: Params | None = None, carry: dict | None = None
    ) -> tuple:
        """Run the forward program (no gradients) on device arrays: ``(outputs, records)``, spike
        trains compact (`spike_dtypes`); given a ``carry``, ``(outputs, records, carry)``."""
        params = self.params if params is None else params
        packed = self.forward_program.pack(params)
        outputs, records, end = self._forward(packed, self._named(inputs), carry or {})
        return (outputs, records) if carry is None else (outputs, records, end)

    def __call__(
        self,
        inputs: Any,
        params: Params | None = None,
        *,
        chunk: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> Result:
        """Run without gradients; a `Result` of numpy arrays, each copied from the device when
        first read (spike trains as ``bool`` or ``uint8`` counts). ``inputs``: one
        ``(T, B, *shape)`` array when the graph has one Input, else a dict Input name -> array.
        With ``chunk``, run ``chunk`` steps at a time (state carried over; the same result),
        copying each chunk to the host and calling ``progress(steps_done)`` after it."""
        named = self._named(inputs)
        params = self.params if params is None else params
        packed = self.forward_program.pack(params)
        steps = np.shape(next(iter(named.values())))[0]
        chunk = chunk or steps
        pieces: list[dict[str, Any]] = []
        carry: dict = {}
        for start in range(0, steps, chunk):
            part = (
                named if chunk >= steps else {k: v[start : start + chunk] for k, v in named.items()}
            )
            outputs, records, carry = self._forward(packed, part, carry)
            whole = {**outputs, **records}
            distributed = not all(getattr(v, "is_fully_addressable", True) for v in whole.values())
            pieces.append(batches.to_host(whole) if chunk < steps or distributed else whole)
            if progress is not None:
                progress(min(start + chunk, steps))
        joined = (
            pieces[0]
            if len(pieces) == 1
            else {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0]}
        )
        return Result({k: joined[k] for k in outputs}, {k: joined[k] for k in records})

    def graph(self, params: Mapping[str, Mapping[str, Any]] | None = None) -> Graph:
        """A copy of the graph with ``params`` (trained ones, say) written into its nodes' fields,
        each keeping its file dtype and shape; ready for `snnx.write`."""
        params = self.params if params is None else params
        graph = self.source.copy()
        for path, node in list(graph.walk()):
            values = params.get(path.replace("/", "."), {})
            if not values or not isinstance(node, Node):
                continue
            *parents, name = path.split("/")
            owner = graph
            for parent in parents:
                owner = owner.subgraph(parent)
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
        return batches.shard(named) if self.shard and jax.device_count() > 1 else named


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
    >>> simulate(lif, np.ones((5, 1, 12)), "snntorch-nir", record=["lif2"]).records["lif2.v"].shape
    (5, 1, 7)
    """
    return Simulator(graph, semantics, record=record, **options)(inputs)


def _compiled(program: Program, options: tuple, precision: str, compact: bool = False) -> Callable:
    """``jax.jit(program.run)`` traced at ``precision``, shared by programs of equal structure;
    ``compact``: spike trains cast to `spike_dtypes` inside the program."""
    key = _fingerprint(program, (*options, precision, compact))
    if key not in _COMPILED:
        if len(_COMPILED) >= _CACHE_SIZE:
            _COMPILED.pop(next(iter(_COMPILED)))
        run = program.run
        if compact:
            run = functools.partial(_compact_run, program, spike_dtypes(program))
        _COMPILED[key] = _at_precision(jax.jit(run), PRECISIONS[precision])
    return _COMPILED[key]


def _at_precision(jitted: Callable, precision: str | None) -> Callable:
    """``jitted`` traced (and so compiled) with ``precision`` as the default matrix-product
    precision, which the trace bakes into each product: scoped to this function, not the
    caller's program, and kept by `jax.grad` of a program that calls it."""
    if precision is None:
        return jitted

    @functools.wraps(jitted)
    def run(*args: Any) -> Any:
        with jax.default_matmul_precision(precision):
            return jitted(*args)

    return run


def _compact_run(
    program: Program,
    dtypes: dict[str, Any],
    params: dict[str, Any],
    inputs: Mapping[str, jax.Array],
    carry: dict,
) -> tuple[dict[str, jax.Array], dict[str, jax.Array], dict]:
    outputs, records, carry = program.run_packed(params, inputs, carry)
    cast = lambda arrays: {k: v.astype(dtypes.get(k, v.dtype)) for k, v in arrays.items()}  # noqa: E731
    return cast(outputs), cast(records), carry


def spike_dtypes(program: Program) -> dict[str, Any]:
    """For each output and ``NODE.out`` record that carries spikes: the dtype that holds them
    exactly, ``bool`` (at most one unit spike per step) or ``uint8`` (at most 255)."""
    graph = program.plan.graph

    def dtype(name: str) -> Any:
        node = graph.node(name)
        if not SCHEMA[node.type].spiking:
            return None
        knobs = program.semantics.for_type(node.type)
        if knobs.spike_amplitude != "1":
            return None
        most = 1 if node.type == "Threshold" else knobs.max_spikes
        return jnp.bool_ if most == 1 else jnp.uint8 if 1 < most < 256 else None

    found = {f"{name}.out": dtype(name) for name in program.record}
    for name in graph.outputs:
        sources = list(graph.predecessors(name))
        found[name] = dtype(sources[0]) if len(sources) == 1 else None
    return {k: v for k, v in found.items() if v is not None}


def _fingerprint(program: Program, options: tuple) -> str:
    """A key that is equal for programs of equal structure, whatever their parameter values."""
    digest = hashlib.sha256(repr((program.semantics, options)).encode())
    graph = program.plan.graph
    for name in graph:
        node = graph.node(name)
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
