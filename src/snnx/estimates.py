"""What the vendors publish about each target's cost, and the estimates it gives for one network.

Each figure in `PUBLISHED` names its source; where a vendor publishes none, the entry says so
and no estimate is made from it. `estimate` combines a target's figures with a compiled
network's resources (`snnx.compiler.Compiled.resources`) and, after a simulation, NeuroBench's
workload counts (`snnx.metrics`):

- energy per sample ``= effective synaptic operations x energy per synaptic operation
  + membrane updates x energy per neuron update`` (only where both figures are published);
- cores, as the target's resource report counts them;
- time per step on the chip.

These are first-order estimates from published per-operation figures, not measurements: static
power, input and output, and routing are left out.

>>> est = estimate("loihi", {"estimated_cores": 2}, {"synaptic_operations": {"effective_acs": 1e3,
...     "effective_macs": 0.0}, "membrane_updates": 100.0}, dt=1e-3)
>>> round(est["energy_per_sample_j"] * 1e9, 4), est["cores"]
(31.7, 2)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

_LOIHI = (
    "M. Davies et al., 'Loihi: A Neuromorphic Manycore Processor with On-Chip Learning', "
    "IEEE Micro 38(1), 2018, Table 2 (first-generation Loihi; Intel publishes no "
    "per-operation energy for Loihi 2)"
)
_LOIHI2 = (
    "Intel, 'Taking Neuromorphic Computing to the Next Level with Loihi 2', technology brief, 2021"
)
_XYLO = (
    "H. Bos and D. R. Muir, 'Micro-power spoken keyword spotting on Xylo Audio 2', "
    "arXiv:2406.15112, 2024"
)
_BSS2 = (
    "C. Pehle et al., 'The BrainScaleS-2 Accelerated Neuromorphic System With Hybrid "
    "Plasticity', Frontiers in Neuroscience 16:795876, 2022"
)


@dataclasses.dataclass(frozen=True)
class Published:
    """What a vendor publishes about a chip (``None``: nothing published), with the sources.

    ``step_time``: ``"real-time"`` (a step lasts ``dt``), ``"accelerated"`` (``dt /
    speedup``), or ``None``."""

    chip: str
    energy_per_synop_j: float | None
    energy_per_neuron_update_j: float | None
    cores_per_chip: int | None
    step_time: str | None
    speedup: float | None
    sources: tuple[str, ...]
    remarks: str = ""


PUBLISHED: dict[str, Published] = {
    "loihi": Published(
        chip="Intel Loihi 2",
        energy_per_synop_j=23.6e-12,
        energy_per_neuron_update_j=81e-12,
        cores_per_chip=128,
        step_time=None,
        speedup=None,
        sources=(_LOIHI, _LOIHI2),
        remarks="23.6 pJ per synaptic spike operation and 81 pJ per active neuron update are "
        "Loihi 1 figures; a step's duration depends on the mapping (barrier synchronisation)",
    ),
    "xylo-audio2": Published(
        chip="SynSense Xylo Audio 2 (syns61201)",
        energy_per_synop_j=None,
        energy_per_neuron_update_j=None,
        cores_per_chip=1,
        step_time="real-time",
        speedup=None,
        sources=(_XYLO,),
        remarks="no per-operation energy is published; measured on the Aloha keyword-spotting "
        "benchmark: 291 uW dynamic inference power, 6.6 uJ per inference",
    ),
    "xylo-imu": Published(
        chip="SynSense Xylo IMU (syns63300)",
        energy_per_synop_j=None,
        energy_per_neuron_update_j=None,
        cores_per_chip=1,
        step_time="real-time",
        speedup=None,
        sources=(),
        remarks="no energy figure published",
    ),
    "lynxi": Published(
        chip="Lynxi KA200",
        energy_per_synop_j=None,
        energy_per_neuron_update_j=None,
        cores_per_chip=None,
        step_time=None,
        speedup=None,
        sources=(),
        remarks="no per-operation figures published",
    ),
    "bss2": Published(
        chip="BrainScaleS-2",
        energy_per_synop_j=None,
        energy_per_neuron_update_j=None,
        cores_per_chip=1,
        step_time="accelerated",
        speedup=1000.0,
        sources=(_BSS2,),
        remarks="analog: no per-operation energy; runs 1000 times faster than biological time",
    ),
}
PUBLISHED["xylo"] = PUBLISHED["xylo-audio2"]


def estimate(
    target: str,
    resources: Mapping[str, Any],
    workload: Mapping[str, Any] | None = None,
    *,
    dt: float | None = None,
) -> dict[str, Any]:
    """The published figures for ``target`` and what they give for a network with these
    ``resources`` and (optionally) NeuroBench ``workload`` metrics (`snnx.metrics`) run at
    time step ``dt`` (seconds)."""
    figures = PUBLISHED.get(target)
    if figures is None:
        return {"target": target, "remarks": "no published figures known to snnx"}
    out: dict[str, Any] = {
        "target": target,
        "chip": figures.chip,
        "energy_per_synop_j": figures.energy_per_synop_j,
        "energy_per_neuron_update_j": figures.energy_per_neuron_update_j,
        "cores": _cores(resources, figures),
        "cores_per_chip": figures.cores_per_chip,
        "time_per_step_s": _step_time(figures, dt),
        "energy_per_sample_j": None,
        "remarks": figures.remarks,
        "sources": list(figures.sources),
    }
    if (
        workload is not None
        and figures.energy_per_synop_j is not None
        and figures.energy_per_neuron_update_j is not None
    ):
        ops = workload["synaptic_operations"]
        synops = ops["effective_acs"] + ops["effective_macs"]
        out["energy_per_sample_j"] = (
            synops * figures.energy_per_synop_j
            + workload["membrane_updates"] * figures.energy_per_neuron_update_j
        )
    return out


def _cores(resources: Mapping[str, Any], figures: Published) -> int | None:
    if "estimated_cores" in resources:
        return int(resources["estimated_cores"])
    return figures.cores_per_chip


def _step_time(figures: Published, dt: float | None) -> float | None:
    if dt is None or figures.step_time is None:
        return None
    if figures.step_time == "real-time":
        return dt
    assert figures.speedup is not None  # a chip faster than real time states by how much
    return dt / figures.speedup


def summary(estimates: Mapping[str, Any]) -> list[str]:
    """Lines for a terminal report.

    >>> summary({"target": "lynxi", "chip": "Lynxi KA200", "remarks": "none published"})
    ['Lynxi KA200: none published']
    """
    lines = []
    head = estimates.get("chip", estimates["target"])
    parts = []
    if estimates.get("energy_per_sample_j") is not None:
        parts.append(f"~{estimates['energy_per_sample_j'] * 1e9:.3g} nJ per sample")
    if estimates.get("cores") is not None:
        parts.append(f"{estimates['cores']} core(s)")
    if estimates.get("time_per_step_s") is not None:
        parts.append(f"{estimates['time_per_step_s'] * 1e6:.3g} us per step")
    lines.append(f"{head}: {', '.join(parts) or estimates.get('remarks', '')}")
    if parts and estimates.get("remarks"):
        lines.append(f"  ({estimates['remarks']})")
    lines += [f"  source: {s}" for s in estimates.get("sources", ())]
    return lines
