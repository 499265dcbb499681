"""Lowering a graph to the KA200's form: a float16 `Program` with a fixed number of steps.

The graph is flattened and scheduled as the reference simulator schedules it layer by layer
(`snnx.sim.plan.Plan` with every stateless layer over the whole folded sequence, neurons and
recurrent groups stepped in time). Each node becomes a `Step` whose tensors are rounded once to
float16 (`quantize.to_float16`): weights as they are, neurons as the coefficients of their affine
step computed in float64 (`snnx.dynamics.coefficients`). Limits (`spec`) are checked on the way, each failure a
`LoweringError` naming the node and the numbers.

>>> import snnx
>>> graph = snnx.read(snnx.example_path("braille"))
>>> program, notes = lower_program(graph, snnx.Semantics.profile("snntorch-nir"), steps=10, batch=2)
>>> [g.kind for g in program.schedule], program.layers
(['sequence', 'scan', 'sequence', 'scan'], ('lif1.lif', 'lif2'))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from snnx import dynamics
from snnx.errors import LoweringError
from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.schema import SCHEMA
from snnx.ir.shapes import GraphShapes
from snnx.semantics import Semantics
from snnx.targets.base import input_name
from snnx.targets.lynxi import spec
from snnx.targets.lynxi.program import Program, Segment, Step
from snnx.targets.lynxi.quantize import rounding, to_float16


def lower_program(
    graph: Graph,
    semantics: Semantics | str | None,
    *,
    steps: int = spec.DEFAULT_STEPS,
    batch: int = spec.DEFAULT_BATCH,
) -> tuple[Program, list[str]]:
    """``graph`` (run under ``semantics``) as a `Program` of ``steps`` x ``batch``, and notes
    on the approximations made; `LoweringError` when it does not fit the KA200."""
    from snnx.sim import resolve_semantics
    from snnx.sim.plan import Plan

    semantics = resolve_semantics(graph, semantics)
    _check_count("steps", steps, spec.MAX_STEPS)
    _check_count("batch", batch, None)
    plan = Plan.build(graph, hoist_from=0)
    flat, shapes = plan.graph, plan.shapes
    source = input_name(flat)
    spec.SPEC.check_types(flat, "lynxi")
    for name in flat:
        for side in ("input", "output"):
            shape = getattr(shapes[name], side)
            if shape is not None and 1 + len(shape) > spec.MAX_RANK:
                raise LoweringError(
                    f"its {side} (T*B, {', '.join(map(str, shape))}) has rank {1 + len(shape)} "
                    f"with the batch folded into time; the KA200 takes at most {spec.MAX_RANK}",
                    node=name,
                )
    if len(flat.outputs) != 1:
        raise LoweringError(f"the lynxi target takes one Output; the graph has {flat.outputs}")
    output = flat.outputs[0]
    feeding = list(dict.fromkeys(flat.predecessors(output)))
    if len(feeding) != 1 or flat[feeding[0]].type == "Input":
        raise LoweringError(
            f"the Output must be fed by one computing node; it is fed by {feeding}", node=output
        )
    notes: list[str] = []
    report = _Report()
    amplitude = _amplitude(semantics, "input", report)
    steps_by_name: dict[str, Step] = {}
    for name in flat.flow_order():
        node = flat.node(name)
        if SCHEMA[node.type].category == "io":
            continue
        steps_by_name[name] = _step(name, node, flat, shapes, semantics, report)
    schedule = tuple(
        Segment(
            "sequence" if s.kind == "sequence" else "scan",
            tuple(s.nodes),
            tuple(sorted(s.back_edges)),
        )
        for s in plan.segments
    )
    layers = [
        n for n, s in steps_by_name.items() if s.op in ("neuron", "threshold") and n != feeding[0]
    ]
    program = Program(
        input=source,
        input_shape=tuple(shapes[source].output),
        input_amplitude=amplitude,
        output=output,
        output_source=feeding[0],
        output_shape=tuple(shapes[output].input),
        nodes=steps_by_name,
        schedule=schedule,
        layers=(*layers, feeding[0]),
        steps=int(steps),
        batch=int(batch),
    )
    usage = resources(program)
    spec.SPEC.enforce({k: usage[k] for k in ("neurons", "synapses")}, target="lynxi")
    for key, dense in (("neurons", spec.DENSE_NEURONS), ("synapses", spec.DENSE_SYNAPSES)):
        if usage[key] > dense:
            notes.append(f"{usage[key]:,} {key}: more than dense mode's {dense:,} (sparse mode)")
    notes.append(
        "float16 throughout: tensors rounded once to float16, products accumulated in float32 "
        "with the bias and rounded once, every other operation rounded to float16"
    )
    notes += report.lines()
    return program, notes


def resources(program: Program) -> dict[str, Any]:
    """Neurons, synapses (connections), stored float16 values and bytes, steps and batch."""
    neurons = synapses = values = 0
    for step in program.nodes.values():
        size = math.prod(step.output_shape)
        if step.op == "neuron":
            neurons += size
        if step.op in ("dense", "conv"):
            w = step.tensors["weight"]
            per_output = math.prod(w.shape[1:])
            synapses += per_output * size
        values += sum(t.size for t in step.tensors.values())
    return {
        "neurons": neurons,
        "synapses": synapses,
        "float16_values": values,
        "weight_bytes": 2 * values,
        "layers": len(program.layers),
        "steps": program.steps,
        "batch": program.batch,
    }


# -- one node -----------------------------------------------------------------------------------


class _Report:
    """Collects what rounding to float16 did, for the notes."""

    def __init__(self) -> None:
        self.worst: tuple[float, str] = (0.0, "")
        self.flushed: list[str] = []
        self.coefficients: list[str] = []

    def add(self, exact: np.ndarray, rounded: np.ndarray, where: str, coefficient: bool) -> None:
        r = rounding(exact, rounded)
        if r.max_rel_error > self.worst[0]:
            self.worst = (r.max_rel_error, where)
        if r.flushed:
            self.flushed.append(f"{where} ({r.flushed})")
        if coefficient and r.max_rel_error > 1e-3:
            self.coefficients.append(f"{where} off by up to {r.max_rel_error:.2%}")

    def lines(self) -> list[str]:
        out = []
        if self.worst[1]:
            out.append(f"largest relative rounding error {self.worst[0]:.2e} (at {self.worst[1]})")
        if self.flushed:
            out.append("nonzero values rounded to 0: " + ", ".join(self.flushed))
        if self.coefficients:
            out.append("neuron coefficients coarsened: " + ", ".join(self.coefficients))
        return out


def _half(
    values: ArrayLike, name: str, field: str, report: _Report, coefficient: bool = False
) -> np.ndarray:
    rounded = to_float16(values, node=name, field=field)
    report.add(np.asarray(values, np.float64), rounded, f"{name}.{field}", coefficient)
    return rounded


def _amplitude(semantics: Semantics, where: str, report: _Report) -> float | None:
    amplitude = dynamics.amplitude(semantics)
    return None if amplitude == 1.0 else float(_half(amplitude, where, "spike_amplitude", report))


def _step(
    name: str, node: Node, graph: Graph, shapes: GraphShapes, semantics: Semantics, report: _Report
) -> Step:
    kind = node.type
    rule = SCHEMA[kind].shape
    shape_in, shape_out = tuple(shapes[name].input), tuple(shapes[name].output)
    f = node.fields
    attributes: dict[str, Any] = {}
    tensors: dict[str, np.ndarray] = {}
    if rule == "dense":
        op = "dense"
        tensors["weight"] = _half(f["weight"], name, "weight", report)
        if "bias" in f:
            bias = np.broadcast_to(np.asarray(f["bias"], np.float64), shape_out)
            tensors["bias"] = _half(bias, name, "bias", report)
    elif rule == "conv":
        op = "conv"
        weight = np.asarray(f["weight"])
        ndim = weight.ndim - 2
        kernel: Sequence[int] = weight.shape[2:]
        stride, dilation = _per_dim(f["stride"], ndim), _per_dim(f["dilation"], ndim)
        attributes.update(
            stride=stride,
            dilation=dilation,
            padding=_padding(f["padding"], shape_in[1:], kernel, stride, dilation),
            groups=int(f["groups"]),
        )
        tensors["weight"] = _half(weight, name, "weight", report)
        bias = np.broadcast_to(np.asarray(f["bias"], np.float64), (weight.shape[0],))
        tensors["bias"] = _half(bias, name, "bias", report)
    elif rule == "pool":
        op = "pool"
        kernel, stride = _per_dim(f["kernel_size"], 2), _per_dim(f["stride"], 2)
        padding = _per_dim(f["padding"], 2)
        for k, p in zip(kernel, padding, strict=True):
            if p > k // 2:
                raise LoweringError(
                    f"padding {padding} is more than half the kernel {kernel}; torch's "
                    "avg_pool2d (the form lyngor compiles) allows at most half",
                    node=name,
                    field="padding",
                )
        attributes.update(
            kernel=kernel,
            stride=stride,
            padding=padding,
            divisor=1 if kind == "SumPool2d" else math.prod(kernel),
        )
    elif kind == "Flatten":
        op = "flatten"
    elif kind == "Scale":
        op = "scale"
        scale = np.broadcast_to(np.asarray(f["scale"], np.float64), shape_out)
        tensors["scale"] = _half(scale, name, "scale", report)
    elif kind == "Threshold":
        op = "threshold"
        own = semantics.for_type(kind)
        threshold = np.broadcast_to(np.asarray(f["threshold"], np.float64), shape_out)
        tensors["threshold"] = _half(threshold, name, "threshold", report)
        attributes.update(compare=own.threshold, amplitude=_amplitude(own, name, report))
    else:
        op = "neuron"
        attributes, tensors = _neuron(name, node, shape_out, semantics, report)
    return Step(
        name=name,
        type=kind,
        op=op,
        inputs=tuple(graph.predecessors(name)),
        input_shape=shape_in,
        output_shape=shape_out,
        attributes=attributes,
        tensors=tensors,
    )


def _neuron(
    name: str, node: Node, shape: tuple[int, ...], semantics: Semantics, report: _Report
) -> tuple[dict, dict]:
    own = semantics.for_type(node.type)
    kind = SCHEMA[node.type].neuron
    fields = {k: np.asarray(v, np.float64) for k, v in node.fields.items()}
    exact = {
        k: np.broadcast_to(np.asarray(v, np.float64), shape)
        for k, v in dynamics.coefficients(node.type, fields, semantics).items()
    }
    half = {
        k: _half(v, name, k, report, coefficient=k not in ("v_threshold", "v_reset", "v0"))
        for k, v in exact.items()
    }
    spiking = SCHEMA[node.type].spiking

    def used(*names: tuple[str, str | None]) -> list[list]:
        return [[k, var] for k, var in names if np.any(half[k] != 0)]

    attributes: dict[str, Any] = {"kind": kind, "spiking": spiking}
    if kind == "cuba":
        attributes["current_terms"] = [["As", "i"], ["Bs", "x"]]
        voltage = used(("A", "v"), ("Bn", "i_new"), ("Bi", "i"), ("Bx", "x"), ("C", None))
    else:
        voltage = used(("A", "v"), ("B", "x"), ("C", None))
    attributes["voltage_terms"] = voltage or [["A", "v"]]
    voltage = attributes["voltage_terms"]
    keep = {k for k, _ in voltage} | ({"As", "Bs"} if kind == "cuba" else set()) | {"v0"}
    if spiking:
        carries = dynamics.carries_last(own)
        attributes.update(
            compare=own.threshold,
            reset=own.reset,
            reset_timing=own.reset_timing,
            spike_output=own.spike_output,
            max_spikes=own.max_spikes,
            v_min=own.v_min,
            amplitude=_amplitude(own, name, report),
            carries_last=carries,
        )
        keep.add("v_threshold")
        if own.reset == "zero":
            keep.add("v_reset")
    tensors = {k: v for k, v in half.items() if k in keep}
    return attributes, tensors


# -- small helpers ------------------------------------------------------------------------------


def _check_count(field: str, value: Any, limit: int | None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise LoweringError(f"must be a positive whole number, got {value!r}", field=field)
    if limit is not None and value > limit:
        raise LoweringError(
            f"{value} time steps exceed the {limit} the lynxi target unrolls", field=field
        )


def _per_dim(value: Any, ndim: int) -> list[int]:
    return [int(v) for v in np.broadcast_to(np.atleast_1d(np.asarray(value)), (ndim,))]


def _padding(
    padding: Any,
    spatial: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
) -> list[list[int]]:
    """``[low, high]`` per spatial dimension; ``same`` as the reference simulator pads (the
    extra element, if any, after), ``valid`` none."""
    if isinstance(padding, str):
        if padding.lower() == "valid":
            return [[0, 0] for _ in kernel]
        pads = []
        for n, k, s, d in zip(spatial, kernel, stride, dilation, strict=True):
            out = -(-n // s)
            total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
            pads.append([total // 2, total - total // 2])
        return pads
    return [[p, p] for p in _per_dim(padding, len(kernel))]
