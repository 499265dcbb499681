"""What a framework's own NIR exporter leaves out of a file, recognised in the file itself.

`snnx.provenance.resolve` asks `exporter_notes` for a warning per loss when a file without stored
semantics runs under a native profile:

- ``spyx``: ``spyx.nir.to_nir(model, ..., dt)`` writes each LIF/CubaLIF as ``tau = dt / (1 -
  beta)`` with ``r = beta`` and does not record ``dt``: the file's ``dt = tau (1 - r)`` is that
  dt, and the note suggests ``--set dt=...`` where it is not the one the run uses. A recurrent
  layer is written ``input -> w_rec <-> lif``, so the layer's input passes through the recurrent
  weights, where Spyx adds it to the neuron directly: no knob restores that (`snnx.from_spyx`
  converts the model as Spyx runs it).

>>> import numpy as np
>>> from snnx.ir import Graph, Node
>>> lif = Node("LIF", tau=[4.0], r=[0.75], v_leak=[0.0], v_threshold=[1.0])
>>> g = Graph({"input": Node("Input", shape=[1]), "lif": lif, "output": Node("Output", shape=[1])},
...          [("input", "lif"), ("lif", "output")])
>>> exporter_notes(g, "spyx", {"dt": 0.001}, {"dt": "profile"})[0][:40]
'profile spyx: dt=0.001, but the file is '
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.schema import SPIKING_NEURONS


def exporter_notes(
    graph: Graph, profile: str | None, values: Mapping[str, Any], sources: Mapping[str, str]
) -> list[str]:
    """Warnings for what ``profile``'s framework exporter lost from ``graph`` (``values``: the
    knobs resolved so far, ``sources``: where each came from)."""
    if profile != "spyx":
        return []
    notes = []
    dt = spyx_export_dt(graph)
    if dt is not None and sources["dt"] != "flag" and not np.isclose(dt, values["dt"]):
        notes.append(
            f"profile spyx: dt={values['dt']:g}, but the file is Spyx's to_nir at dt={dt:g} "
            f"(its LIF/CubaLIF r = beta = 1 - dt/tau), which it does not record; --set dt={dt:g}"
        )
    wired = _input_through_recurrence(graph)
    if wired:
        notes.append(
            f"profile spyx: the recurrent layer {', '.join(wired)} is wired input -> w_rec <-> "
            "neuron as Spyx's to_nir writes it, while Spyx adds the layer's input to the neuron "
            "directly; snnx runs the file as written (no --set restores it; snnx.from_spyx "
            "converts the model as Spyx runs it)"
        )
    return notes


def spyx_export_dt(graph: Graph) -> float | None:
    """The ``dt`` Spyx's ``to_nir`` wrote ``graph`` at (``tau (1 - r)``, the same for every
    LIF/CubaLIF neuron, 6 digits), or None where the file is not such an export."""
    found = []
    for _, node in graph.walk():
        if isinstance(node, Node) and node.type in ("LIF", "CubaLIF"):
            tau = node.fields["tau" if node.type == "LIF" else "tau_mem"]
            found.append(
                np.ravel(np.asarray(tau, np.float64) * (1 - np.asarray(node.r, np.float64)))
            )
    if not found:
        return None
    dts = np.concatenate(found)
    if not np.all(dts > 0) or not np.allclose(dts, dts[0], rtol=1e-4):
        return None
    return float(f"{np.median(dts):.6g}")


def _input_through_recurrence(graph: Graph, prefix: str = "") -> list[str]:
    """Subgraphs whose input feeds a weight node that forms a 2-cycle with a spiking neuron."""
    found = []
    for name, payload in graph.nodes.items():
        if isinstance(payload, Graph):
            found += _input_through_recurrence(payload, f"{prefix}{name}.")
            for src, dst in payload.edges:
                if payload[src].type != "Input" or isinstance(payload[dst], Graph):
                    continue
                loops = [
                    n
                    for n in payload.successors(dst)
                    if isinstance(payload[n], Node)
                    and payload[n].type in SPIKING_NEURONS
                    and payload.has_edge(n, dst)
                ]
                if loops and f"{prefix}{name}" not in found:
                    found.append(f"{prefix}{name}")
    return found
