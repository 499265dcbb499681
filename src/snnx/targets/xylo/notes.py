"""What a Xylo lowering cannot follow of the reference's semantics, as notes for the user."""

from __future__ import annotations

import numpy as np

from snnx.ir.schema import SCHEMA
from snnx.semantics import Semantics
from snnx.targets.xylo.structure import Connection, Population


def semantics_notes(
    pops: dict[str, Population], links: list[Connection], semantics: Semantics
) -> list[str]:
    """A note per knob of ``semantics`` (and per population) that Xylo rounds or cannot follow."""
    notes = []
    types = sorted({p.type for p in pops.values()})
    knobs = {t: semantics.for_type(t) for t in types}
    if any(k.reset == "zero" for k in knobs.values()):
        notes.append("the reference resets to v_reset; Xylo subtracts the threshold")
    if any(k.max_spikes != 0 and k.max_spikes < 31 for k in knobs.values()):
        caps = sorted({k.max_spikes for k in knobs.values()})
        notes.append(
            f"the reference emits up to {caps} spike(s) per step; Xylo's hidden neurons up to 31 "
            "(outputs 1)"
        )
    if any(k.threshold == ">" for k in knobs.values()):
        notes.append("the reference fires when v > threshold; Xylo when v >= threshold")
    if any(k.reset_timing == "next-step" for k in knobs.values()):
        notes.append("the reference resets in the step after a spike; Xylo in the same step")
    if any(k.v_min != "none" for k in knobs.values()):
        notes.append("the reference floors v at -threshold; Xylo does not (int16 saturation only)")
    if any(k.current == "previous" for t, k in knobs.items() if t == "CubaLIF"):
        notes.append(
            "the reference's voltage uses last step's synaptic current; Xylo's uses this step's "
            "(responses come one step earlier)"
        )
    for pop in pops.values():
        if SCHEMA[pop.type].neuron != "cuba" and any(
            x.dst == pop.node and x.synapse is None for x in links
        ):
            notes.append(
                f"{pop.node}: {pop.type} has no synaptic current; Xylo's fastest synapse "
                "(dash_syn 1: half the charge now, half over the next steps) carries its input"
            )
        if pop.type == "IF":
            notes.append(
                f"{pop.node}: IF never leaks; Xylo leaks 1 integer unit per step (dash 15)"
            )
        if np.any(pop.v_start != 0):
            notes.append(f"{pop.node}: the reference starts v at {pop.v_start.max():g}; Xylo at 0")
    if any(x.bias is not None and np.any(x.bias) for x in links):
        notes.append(
            "Affine biases enter through the synapse in the reference and straight into the "
            "voltage on Xylo (same charge per step once the synapse has settled)"
        )
    return notes
