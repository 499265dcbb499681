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

import math
from typing import Any

import numpy as np

from snnx.errors import LoweringError
from snnx.ir.graph import Graph
from snnx.semantics import Semantics
from snnx.targets.base import LayerMap, Lowered, input_name
from snnx.targets.bss2 import placement
from snnx.targets.bss2.hardware import chip_network, hardware_units, refractory_time
from snnx.targets.bss2.neurons import check_time_constants, neuron_params, spike_gain
from snnx.targets.bss2.program import Population, Program
from snnx.targets.bss2.projections import check_rows, quantized_projections, raw_projections
from snnx.targets.bss2.spec import LIMITS, SPEC

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
    refractory = refractory_time(refractory, float(speedup))
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
    params = {n: neuron_params(flat.node(n), sizes[n], n, semantics, notes) for n in pops}

    raw = raw_projections(flat, sizes, source, n_in)
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
        gains[n], offsets[n] = spike_gain(params[n], semantics, convention, n, notes)
    check_time_constants(params, speedup, notes)

    projections = quantized_projections(
        raw, params, gains, offsets, quantize, scale_per, weight_scale, notes
    )
    check_rows(pops, projections)

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
            hardware=hardware_units(params[n], speedup, quantize, refractory),
            output=n == out,
        )
        for n in pops
    ]
    network = chip_network(
        populations, projections, params, n_in, semantics.dt, quantize, refractory
    )
    note_semantics(semantics, convention, refractory, speedup, notes)
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


def _size(shape: Any) -> int:
    """The number of elements of a shape."""
    return int(math.prod(int(d) for d in shape))


def note_semantics(
    semantics: Semantics, convention: str, refractory: float, speedup: float, notes: list[str]
) -> None:
    """Notes on what the chip's continuous time does differently from the reference."""
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
