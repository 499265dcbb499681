"""BrainScaleS-2 projections: every weighted path into a population (Linear/Affine nodes, direct
edges), their current jumps quantized to signed 6-bit weights (a scale shared per population or
chosen per projection), and their synapse rows. See `snnx.targets.bss2.lower`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from snnx.errors import LoweringError
from snnx.ir.graph import Graph
from snnx.ir.schema import SCHEMA
from snnx.targets.bss2 import placement
from snnx.targets.bss2.program import Projection
from snnx.targets.bss2.quantize import quantize as quantize_weights
from snnx.targets.bss2.quantize import shared_scale
from snnx.targets.bss2.spec import LIMITS, SPEC


def raw_projections(flat: Graph, sizes: dict[str, int], source: str, n_in: int) -> list[dict]:
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
            node = flat.node(src)
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


def quantized_projections(
    raw: list[dict],
    params: dict[str, dict],
    gains: dict[str, np.ndarray],
    offsets: dict[str, float],
    quantize: bool,
    scale_per: str,
    weight_scale: float | None,
    notes: list[str],
) -> list[Projection]:
    """The projections' current jumps (``gain W``, ``(post, pre)``), quantized to 6 bits when
    ``quantize`` and placed on synapse rows; a note on the largest rounding error."""
    jumps = [gains[r["target"]][:, None] * r["w"] for r in raw]
    scales: list[float | None] = [None] * len(raw)
    if quantize:
        if weight_scale is not None:
            scales = [float(weight_scale)] * len(raw)
        elif scale_per == "population":
            for target in {r["target"] for r in raw}:
                members = [k for k, r in enumerate(raw) if r["target"] == target]
                shared = shared_scale([jumps[k] for k in members])
                for k in members:
                    scales[k] = shared
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


def check_rows(pops: list[str], projections: list[Projection]) -> None:
    """Refuse a population whose neurons need more synapse rows than a neuron has."""
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
