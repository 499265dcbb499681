"""Lowering a NIR graph to BrainScaleS-2: populations, signed 6-bit projections, hardware time.

What the chip runs (`snnx.targets.bss2.network`): current-based LIF neurons in continuous time.
The graph may hold ``Input`` (one), ``CubaLIF`` populations, ``Linear``/``Affine`` projections
between them (or direct edges, one to one) and ``Output``; subgraphs are flattened first.

1. *Neurons*: each CubaLIF's fields, with the semantics' field overrides, per neuron. ``r`` is
   folded into the current (``I = r i``); an Affine bias ``b`` becomes a constant drive
   ``r w_in b`` through the synaptic filter; ``reset="subtract"`` resets to 0 (the crossing
   happens at the threshold itself, so subtracting it leaves 0); neurons start at the
   semantics' ``v_init``.
2. *Spikes*: with ``convention="step"`` (default) a spike is what it is in the discrete-time
   reference, a pulse held over one step (amplitude 1 or 1/dt); `snnx.targets.bss2.grid` turns
   it into a jump ``gain r w_in W`` arriving ``offset`` into the step, exact at grid times below
   threshold. ``"jump"``: a spike adds ``r w_in W`` (jaxsnn's and hxtorch's reading);
   ``"dirac"``: ``r w_in W / tau_syn`` (a unit-area Dirac in NIR's equation).
3. *Weights*: each projection's jumps (model volts, ``(post, pre)``) quantized to 6 bits, signs
   split into excitatory and inhibitory rows (`snnx.targets.bss2.quantize`). The scale is shared
   by all projections into a population (``scale_per="population"``, default: a neuron has one
   synaptic-input calibration) or chosen per projection (``"projection"``); ``weight_scale``
   fixes it (LSB per volt). ``quantize=False`` keeps float weights (for cross-checks).
4. *Time*: hardware time = model time / ``speedup`` (1000). Time constants outside the hard
   calibration limits are refused, outside the calibrated ranges warned about.
5. *Potentials*: per neuron, the lower of leak and reset maps to 70 CADC LSB and the higher of
   threshold and leak to 150, rounded to whole LSB; the simulation uses the rounded values.
6. *Placement*: `snnx.targets.bss2.placement`; more than 512 neurons, or more than 256 synapse
   rows for a neuron, is an error with the numbers.

Braille's time constants (0.2-1 ms) fall inside the calibrated ranges at a speed-up of 400:

>>> import snnx
>>> braille = snnx.read(snnx.example_path("braille"))
>>> lowered = lower(braille, snnx.Semantics.profile("nir-reference"), speedup=400)
>>> [(p.name, p.neurons) for p in lowered.program.populations]
[('lif1.lif', (0, 38)), ('lif2', (38, 45))]
>>> lowered.program.rows_used("lif1.lif"), lowered.program.rows_used("lif2")
(100, 76)
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any

import numpy as np

from snnx import dynamics
from snnx.errors import LoweringError, SnnxWarning
from snnx.ir.graph import Graph
from snnx.ir.schema import SCHEMA
from snnx.semantics import Semantics
from snnx.targets.base import LayerMap, Lowered, input_name
from snnx.targets.bss2 import grid, placement
from snnx.targets.bss2.network import Network
from snnx.targets.bss2.program import Population, Program, Projection
from snnx.targets.bss2.quantize import quantize as quantize_weights
from snnx.targets.bss2.quantize import shared_scale
from snnx.targets.bss2.spec import CADC_HIGH, CADC_LOW, LIMITS, SPEC

CONVENTIONS = ("step", "jump", "dirac")
SCALE_PER = ("population", "projection")


def lower(
    graph: Graph,
    semantics: Semantics,
    *,
    speedup: float = LIMITS.speedup,
    quantize: bool = True,
    scale_per: str = "population",
    weight_scale: float | None = None,
    convention: str = "step",
    refractory: float | None = None,
    target: str = "bss2",
) -> Lowered:
    """Lower ``graph`` (run under ``semantics``) to BrainScaleS-2 (see the module docstring)."""
    if convention not in CONVENTIONS:
        raise LoweringError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    if scale_per not in SCALE_PER:
        raise LoweringError(f"scale_per must be one of {SCALE_PER}, got {scale_per!r}")
    if not (isinstance(speedup, (int, float)) and speedup > 0):
        raise LoweringError(f"speedup must be a positive number, got {speedup!r}")
    refractory = _refractory(refractory, float(speedup))
    flat = graph.flatten()
    shapes = flat.check()
    SPEC.check_types(flat, target)
    source = input_name(flat)
    n_in = _size(shapes[source].output)
    notes: list[str] = []

    order = flat.flow_order()
    pops = [n for n in order if flat[n].type == "CubaLIF"]
    if not pops:
        raise LoweringError("the graph has no CubaLIF node: nothing to run on the neurons")
    sizes = {n: _size(shapes[n].output) for n in pops}
    parts = ", ".join(f"{n}: {k}" for n, k in sizes.items())
    SPEC.enforce({"neurons": sum(sizes.values())}, target=target, detail=parts)
    params = {n: _neuron_params(flat[n], sizes[n], n, semantics, notes) for n in pops}

    raw = _raw_projections(flat, sizes, source, n_in)
    for proj in raw:
        if proj["bias"] is not None:
            p = params[proj["target"]]
            p["drive"] = p["drive"] + p["r"] * p["w_in"] * proj["bias"]
    if any(np.any(params[n]["drive"] != 0) for n in pops):
        notes.append(
            "Affine biases become a constant synaptic drive (r w_in b) per neuron; the chip has no "
            "such input: a runtime realises it with a membrane offset current (equal after the "
            "synaptic transient) or background spike sources"
        )

    gains, offsets = {}, {}
    for n in pops:
        gains[n], offsets[n] = _spike_gain(params[n], semantics, convention, n, notes)
    _check_time_constants(params, speedup, notes)

    projections = _quantize(raw, params, gains, offsets, quantize, scale_per, weight_scale, notes)
    _check_rows(pops, projections)

    placed = placement.place_neurons([(n, sizes[n]) for n in pops])
    outputs = [n for n in pops if any(flat[s].type == "Output" for s in flat.successors(n))]
    if not outputs:
        raise LoweringError("no CubaLIF feeds an Output node: the chip's output is spikes")
    out = outputs[-1]
    if len(outputs) > 1:
        notes.append(f"several populations feed Outputs {outputs}; {out!r} is the output layer")
    populations = [
        Population(
            name=n,
            node=n,
            start=placed[n][0],
            size=sizes[n],
            hardware=_hardware(params[n], speedup, quantize, refractory),
            output=n == out,
        )
        for n in pops
    ]
    network = _network(populations, projections, params, n_in, semantics.dt, quantize, refractory)
    _note_semantics(semantics, convention, refractory, speedup, notes)
    program = Program(
        populations=populations,
        projections=projections,
        network=network,
        input_node=source,
        input_size=n_in,
        speedup=float(speedup),
        dt=semantics.dt,
        convention=convention,
        quantized=quantize,
        options={
            "scale_per": scale_per,
            "weight_scale": weight_scale,
            "refractory": refractory,
        },
    )
    layers = [LayerMap(n, n, sizes[n], latency=0) for n in pops if n != out]
    layers.append(LayerMap(out, out, sizes[out], latency=0))
    return Lowered(target, flat, semantics, layers, program, notes)


# -- structure ---------------------------------------------------------------------------------


def _size(shape: Any) -> int:
    return int(math.prod(int(d) for d in shape))


def _raw_projections(flat: Graph, sizes: dict[str, int], source: str, n_in: int) -> list[dict]:
    """Every weighted path into a population: Linear/Affine nodes and direct edges."""

    def width(node: str) -> int:
        return n_in if node == source else sizes[node]

    found = []
    for src, dst, _, _ in flat.edge_records():
        kind_src, kind_dst = flat[src].type, flat[dst].type
        if SCHEMA[kind_dst].shape == "dense":
            preds = flat.predecessors(dst)
            if len(preds) != 1 or SCHEMA[flat[preds[0]].type].category not in ("io", "neuron"):
                raise LoweringError(
                    f"a projection takes one Input or CubaLIF as its source; it has {preds}",
                    node=dst,
                )
            continue
        if kind_dst == "Output":
            if kind_src != "CubaLIF":
                raise LoweringError(
                    f"only CubaLIF spikes can leave the chip; {kind_src} {src!r} feeds the Output",
                    node=dst,
                )
            continue
        if kind_dst == "Input":
            continue
        # kind_dst == "CubaLIF"
        if SCHEMA[kind_src].shape == "dense":
            node = flat[src]
            pre = flat.predecessors(src)[0]
            weight = np.asarray(node.weight, dtype=np.float64)
            if weight.ndim != 2 or weight.shape != (sizes[dst], width(pre)):
                raise LoweringError(
                    f"weight has shape {weight.shape}; the projection from {pre!r} "
                    f"({width(pre)}) to {dst!r} ({sizes[dst]}) needs {(sizes[dst], width(pre))}",
                    node=src,
                    field="weight",
                )
            bias = None
            if node.get("bias") is not None:
                bias = np.broadcast_to(
                    np.asarray(node.bias, dtype=np.float64).reshape(-1), (sizes[dst],)
                ).copy()
            found.append(
                {"name": src, "node": src, "source": pre, "target": dst, "w": weight, "bias": bias}
            )
        elif SCHEMA[kind_src].category in ("io", "neuron"):
            if width(src) != sizes[dst]:
                raise LoweringError(
                    f"a direct edge from {src!r} ({width(src)}) needs as many neurons; "
                    f"{dst!r} has {sizes[dst]}",
                    node=dst,
                )
            found.append(
                {
                    "name": f"{src}->{dst}",
                    "node": dst,
                    "source": src,
                    "target": dst,
                    "w": np.eye(sizes[dst]),
                    "bias": None,
                }
            )
        else:
            raise LoweringError(f"{kind_src} {src!r} cannot feed a CubaLIF on the chip", node=dst)
    return found


# -- neurons -----------------------------------------------------------------------------------


def _neuron_params(node, size: int, name: str, semantics: Semantics, notes: list[str]) -> dict:
    knobs = semantics.for_type("CubaLIF")

    def field(key: str, default: float | None = None) -> np.ndarray:
        value = node.get(key)
        if value is None:
            if default is None:
                raise LoweringError("missing field", node=name, field=key)
            value = default
        try:
            return np.broadcast_to(np.asarray(value, dtype=np.float64), (size,)).copy()
        except ValueError:
            arr = np.asarray(value, dtype=np.float64).reshape(-1)
            if arr.size != size:
                raise LoweringError(
                    f"has {arr.size} values for {size} neurons", node=name, field=key
                ) from None
            return arr.copy()

    p = {
        "tau_mem": field("tau_mem"),
        "tau_syn": field("tau_syn"),
        "r": field("r", 1.0),
        "v_leak": field("v_leak", 0.0),
        "v_threshold": field("v_threshold"),
        "v_reset": field("v_reset", 0.0),
        "w_in": field("w_in", 1.0),
    }
    p = {
        k: np.broadcast_to(np.asarray(v, dtype=np.float64), (size,)).copy()
        for k, v in dynamics.effective_fields("CubaLIF", p, semantics).items()
    }
    if knobs.reset == "subtract":
        p["v_reset"] = np.zeros(size)
        notes.append(
            f"{name}: reset by subtraction; in continuous time the crossing is at the "
            "threshold, so the chip resets to 0"
        )
    for key in ("tau_mem", "tau_syn"):
        if not np.all(np.isfinite(p[key]) & (p[key] > 0)):
            raise LoweringError("time constants must be positive", node=name, field=key)
    bad = np.flatnonzero(p["v_reset"] >= p["v_threshold"])
    if bad.size:
        k = int(bad[0])
        raise LoweringError(
            f"neuron {k}: v_reset {p['v_reset'][k]:g} is not below v_threshold "
            f"{p['v_threshold'][k]:g}; the chip would fire without bound",
            node=name,
            field="v_reset",
        )
    p["v_start"] = np.broadcast_to(dynamics.start_voltage(p, knobs), (size,)).copy()
    if not np.all((p["v_start"] == p["v_leak"]) | (p["v_start"] == p["v_reset"])):
        notes.append(
            f"{name}: neurons start at {knobs.v_init} (the semantics' v_init), which is neither "
            "rest nor reset potential on the chip"
        )
    p["drive"] = np.zeros(size)
    return p


def _spike_gain(p: dict, semantics: Semantics, convention: str, name: str, notes: list[str]):
    """Per neuron: current jump per unit weight (``r w_in`` included) and the input offset."""
    if convention == "jump":
        return p["r"] * p["w_in"], 0.0
    if convention == "dirac":
        return p["r"] * p["w_in"] / p["tau_syn"], 0.0
    offsets, gains = grid.step_event(p["tau_mem"], p["tau_syn"], semantics.dt)
    offset = float(np.median(offsets))
    if not np.allclose(offsets, offset, rtol=0, atol=1e-12 * semantics.dt):
        gains = grid.gain_at(p["tau_syn"], semantics.dt, offset)
        notes.append(
            f"{name}: time constants differ between neurons; input spikes arrive at one offset "
            f"({offset / semantics.dt:.4f} dt), so grid-time voltages are exact in the current only"
        )
    return p["r"] * p["w_in"] * gains * dynamics.amplitude(semantics), offset


def _check_time_constants(params: dict, speedup: float, notes: list[str]) -> None:
    ranges = {
        "tau_mem": (LIMITS.tau_mem_hard_us, LIMITS.tau_mem_calibrated_us),
        "tau_syn": (LIMITS.tau_syn_hard_us, LIMITS.tau_syn_calibrated_us),
    }
    for name, p in params.items():
        for key, (hard, calibrated) in ranges.items():
            us = p[key] * 1e6 / speedup
            lo, hi = float(us.min()), float(us.max())
            if lo < hard[0] or hi > hard[1]:
                bad = lo if lo < hard[0] else hi
                raise LoweringError(
                    f"{bad / 1e6 * speedup:g} s is {bad:g} us on the chip (speedup {speedup:g}); "
                    f"BrainScaleS-2 cannot calibrate {key} outside {hard[0]:g}-{hard[1]:g} us",
                    node=name,
                    field=key,
                )
            if lo < calibrated[0] or hi > calibrated[1]:
                text = (
                    f"{name}: {key} {lo:g}-{hi:g} us on the chip lies outside the calibrated range "
                    f"{calibrated[0]:g}-{calibrated[1]:g} us (speedup {speedup:g}): expect larger "
                    "deviations"
                )
                warnings.warn(text, SnnxWarning, stacklevel=3)
                notes.append(text)


# -- weights and rows --------------------------------------------------------------------------


def _quantize(raw, params, gains, offsets, quantize, scale_per, weight_scale, notes):
    jumps = [gains[r["target"]][:, None] * r["w"] for r in raw]
    scales: list[float | None] = [None] * len(raw)
    if quantize:
        if weight_scale is not None:
            scales = [float(weight_scale)] * len(raw)
        elif scale_per == "population":
            for target in {r["target"] for r in raw}:
                group = [k for k, r in enumerate(raw) if r["target"] == target]
                scale = shared_scale([jumps[k] for k in group])
                for k in group:
                    scales[k] = scale
        else:
            scales = [None] * len(raw)
    out = []
    worst, clipped = 0.0, 0
    for r, jump, scale in zip(raw, jumps, scales, strict=True):
        q, lost = None, 0
        if quantize:
            qw = quantize_weights(jump, scale)
            q, scale, lost = qw.q, qw.scale, qw.clipped
            clipped += lost
            peak = float(np.max(np.abs(jump), initial=0.0))
            if peak > 0:
                worst = max(worst, float(np.max(np.abs(qw.dequantized - jump))) / peak)
        offset = offsets[r["target"]] if r["source"] not in params else None
        out.append(
            Projection(
                name=r["name"],
                node=r["node"],
                source=r["source"],
                target=r["target"],
                weight=jump,
                q=q,
                scale=scale,
                clipped=lost,
                input_offset=offset,
            )
        )
    if quantize:
        notes.append(
            f"weights quantized to {LIMITS.weight_bits} bits (scale per {scale_per}"
            + (f", fixed {weight_scale:g} LSB/V" if weight_scale is not None else "")
            + f"): largest error {worst:.2%} of a projection's largest weight"
        )
        if clipped:
            notes.append(f"{clipped} weights saturated at +-{LIMITS.weight_max}")
    by_target: dict[str, list[Projection]] = {}
    for proj in out:
        by_target.setdefault(proj.target, []).append(proj)
    placed = []
    for proj in out:
        group = by_target[proj.target]
        rows = placement.place_rows(
            [
                (g.name, g.pre, bool((g.applied > 0).any()), bool((g.applied < 0).any()))
                for g in group
            ]
        )
        placed.append(dataclasses.replace(proj, rows=rows[proj.name]))
    return placed


def _check_rows(pops: list[str], projections: list[Projection]) -> None:
    for pop in pops:
        incoming = [p for p in projections if p.target == pop]
        used = sum(p.pre * p.signs for p in incoming)
        if used > SPEC.limits["rows_per_neuron"]:
            parts = ", ".join(f"{p.name}: {p.pre} sources x {p.signs} signs" for p in incoming)
            raise LoweringError(
                f"its neurons need {used} synapse rows ({parts}); a BrainScaleS-2 neuron has "
                f"{SPEC.limits['rows_per_neuron']}",
                node=pop,
            )


# -- hardware units and the network -------------------------------------------------------------


def _refractory(value: float | None, speedup: float) -> float:
    """The refractory time in model seconds: the chip's minimum unless given; 0 is the ideal
    NIR neuron (allowed, for comparisons); otherwise within the chip's range."""
    lo, hi = (x * speedup / 1e6 for x in LIMITS.refractory_us)
    if value is None:
        return lo
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        raise LoweringError(f"refractory must be a time in seconds, got {value!r}")
    if value and not lo <= value <= hi:
        raise LoweringError(
            f"refractory {value:g} s is {value * 1e6 / speedup:g} us on the chip (speedup "
            f"{speedup:g}); BrainScaleS-2 sets {LIMITS.refractory_us[0]:g}-"
            f"{LIMITS.refractory_us[1]:g} us",
            field="refractory",
        )
    return float(value)


def _hardware(p: dict, speedup: float, quantize: bool, refractory: float) -> dict[str, np.ndarray]:
    low = np.minimum(p["v_leak"], p["v_reset"])
    high = np.maximum(p["v_threshold"], p["v_leak"])
    volts = (high - low) / (CADC_HIGH - CADC_LOW)

    def cadc(v):
        exact = CADC_LOW + (v - low) / volts
        return np.rint(exact) if quantize else exact

    return {
        "tau_mem_us": p["tau_mem"] * 1e6 / speedup,
        "tau_syn_us": p["tau_syn"] * 1e6 / speedup,
        "leak_cadc": cadc(p["v_leak"]),
        "reset_cadc": cadc(p["v_reset"]),
        "threshold_cadc": cadc(p["v_threshold"]),
        "v_low": low,
        "volts_per_cadc": volts,
        "drive": p["drive"],
        "v_start": p["v_start"],
        "refractory_us": np.full(p["v_leak"].shape, refractory * 1e6 / speedup),
    }


def volts(hardware: dict[str, np.ndarray], key: str) -> np.ndarray:
    """A potential of a population back in model volts, from its CADC value."""
    return hardware["v_low"] + (hardware[key] - CADC_LOW) * hardware["volts_per_cadc"]


def _network(populations, projections, params, n_in, dt, quantize, hold) -> Network:
    n = sum(p.size for p in populations)
    per = {
        k: np.zeros(n)
        for k in ("tau_mem", "tau_syn", "v_leak", "v_threshold", "v_reset", "drive", "v_start")
    }
    offset, refractory = np.zeros(n), np.zeros(n)
    for pop in populations:
        sl = slice(pop.start, pop.start + pop.size)
        p, hw = params[pop.name], pop.hardware
        for key in ("tau_mem", "tau_syn", "drive"):
            per[key][sl] = p[key]
        refractory[sl] = hold
        for key, cadc in (
            ("v_leak", "leak_cadc"),
            ("v_threshold", "threshold_cadc"),
            ("v_reset", "reset_cadc"),
        ):
            per[key][sl] = volts(hw, cadc) if quantize else p[key]
        per["v_start"][sl] = np.where(
            p["v_start"] == p["v_reset"],
            per["v_reset"][sl],
            np.where(p["v_start"] == p["v_leak"], per["v_leak"][sl], p["v_start"]),
        )
    index = {pop.name: pop for pop in populations}
    w_input, w_internal = np.zeros((n, n_in)), np.zeros((n, n))
    for proj in projections:
        post = index[proj.target]
        rows = slice(post.start, post.start + post.size)
        if proj.source in index:
            pre = index[proj.source]
            w_internal[rows, pre.start : pre.start + pre.size] += proj.applied
        else:
            w_input[rows] += proj.applied
            offset[rows] = proj.input_offset
    return Network(
        **per,
        w_input=w_input,
        w_internal=w_internal,
        input_offset=offset,
        dt=dt,
        populations=tuple((p.name, p.start, p.size) for p in populations),
        refractory=refractory,
    )


def _note_semantics(
    semantics: Semantics, convention: str, refractory: float, speedup: float, notes: list[str]
) -> None:
    s = semantics.for_type("CubaLIF")
    if convention == "step" and s.integrator != "exact":
        notes.append(
            f"the reference integrates with {s.integrator!r}; the chip's continuous-time dynamics "
            "match the 'exact' integrator (profile nir-reference) between spikes"
        )
    if s.spike_output == "next-step":
        notes.append(
            "the reference emits spikes one step late per layer; the chip passes them on at once"
        )
    held = (
        f"held at reset for {refractory:g} s ({refractory * 1e6 / speedup:g} us on the chip)"
        if refractory
        else f"not held (ideal NIR neuron; the chip's minimum is {LIMITS.refractory_us[0]:g} us)"
    )
    notes.append(
        "continuous time: a neuron fires at its threshold crossing and resets there (the "
        f"reference sees it at the end of the step), {held}; spike counts per step are binned "
        "crossings"
    )
