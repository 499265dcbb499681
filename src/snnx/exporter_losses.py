"""What a framework's own NIR exporter leaves out of a file, recognised in the file itself.

`snnx.provenance.resolve` asks `exporter_notes` for a warning per loss when a file without stored
semantics runs under a native profile:

- ``rockpool``: Rockpool 3.1's ``to_nir`` (Torch modules) writes an LIF layer as a CubaLIF with
  ``r = tau_mem exp(-dt/tau_mem) / dt`` and ``w_in = 1``, neither the gains its LIF runs (1 for
  the new current, ``exp(-dt/tau_syn)`` for the input into it), and drops the bias and the
  recurrent weights: ``--set CubaLIF.r=tau_mem/dt`` restores the first gain only.
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

#: The neuron types Spyx's ``to_nir`` writes (the ones whose ``dt`` it leaves in ``tau (1 - r)``).
SPYX_SUPPORTED = ("LIF", "CubaLIF")

#: Knobs a framework's exporter leaves out (`snnx.provenance.EXPORTER_LOSSES` has the others).
LOSSES: dict[str, dict[str, str]] = {
    "spyx": {
        "reset": "Spyx's to_nir leaves v_reset at nir's default 0 while Spyx's neurons subtract "
        "the threshold; --set reset=subtract",
    },
    "rockpool": {
        "reset": "Rockpool's to_nir leaves v_reset at nir's default 0 while Rockpool's LIF "
        "subtracts the threshold; --set reset=subtract",
    },
}


def exporter_notes(
    graph: Graph, profile: str | None, values: Mapping[str, Any], sources: Mapping[str, str]
) -> list[str]:
    """Warnings for what ``profile``'s framework exporter lost from ``graph`` (``values``: the
    knobs resolved so far, ``sources``: where each came from)."""
    if profile == "rockpool":
        return _rockpool_notes(graph, values, sources)
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


def _rockpool_notes(
    graph: Graph, values: Mapping[str, Any], sources: Mapping[str, str]
) -> list[str]:
    cuba = [n for _, n in graph.walk() if isinstance(n, Node) and n.type == "CubaLIF"]
    found = [rockpool_export_dt(node) for node in cuba]
    dts = np.array([np.nan if d is None else d for d in found], np.float64)
    if not len(dts) or not np.allclose(dts, dts[0], rtol=1e-4):
        return []
    dt = float(f"{np.median(dts):.6g}")
    notes = [
        "profile rockpool: the file's CubaLIF r = tau_mem exp(-dt/tau_mem)/dt and w_in = 1 are "
        "Rockpool's to_nir, which writes neither gain Rockpool's LIF runs (the new current added "
        "with gain 1: --set CubaLIF.r=tau_mem/dt; the input added to the current with gain "
        "exp(-dt/tau_syn), which no --set gives) nor the layer's bias and recurrent weights "
        "(w_rec); snnx.from_rockpool converts the model as Rockpool runs it"
    ]
    if sources["dt"] != "flag" and not np.isclose(dt, values["dt"]):
        notes.append(
            f"profile rockpool: dt={values['dt']:g}, but the file is Rockpool's to_nir at "
            f"dt={dt:g} (its r = tau_mem exp(-dt/tau_mem)/dt), which it does not record; "
            f"--set dt={dt:g}"
        )
    return notes


def rockpool_export_dt(node: Node) -> float | None:
    """The ``dt`` at which a CubaLIF has the fields Rockpool's ``to_nir`` writes (``r = tau_mem
    exp(-dt/tau_mem) / dt``, ``w_in = 1``, ``v_leak = 0``; the same for every neuron), else None.

    >>> from snnx.ir import Node
    >>> node = Node("CubaLIF", tau_syn=[1e-3], tau_mem=[1e-3], r=[0.36787944],
    ...     v_leak=[0.0], v_threshold=[1.0])
    >>> round(rockpool_export_dt(node), 9)
    0.001
    """
    tau = np.ravel(np.asarray(node.tau_mem, np.float64))
    r = np.ravel(np.asarray(node.r, np.float64))
    if (
        np.any(node.fields.get("w_in", 1.0) != np.float32(1))
        or np.any(node.v_leak)
        or not np.all(r > 0)
    ):
        return None
    # dt exp(dt / tau) = tau / r grows with dt: bisect each neuron's dt on a log scale
    low, high = np.full_like(tau, 1e-12), tau * 50
    for _ in range(100):
        mid = np.sqrt(low * high)
        above = mid * np.exp(mid / tau) > tau / r
        high, low = np.where(above, mid, high), np.where(above, low, mid)
    dt = np.sqrt(low * high)
    if not np.allclose(dt, dt[0], rtol=1e-4) or np.any(high >= tau * 50):
        return None
    return float(np.median(dt))


def spyx_export_dt(graph: Graph) -> float | None:
    """The ``dt`` Spyx's ``to_nir`` wrote ``graph`` at (``tau (1 - r)``, the same for every
    LIF/CubaLIF neuron, 6 digits), or None where the file is not such an export."""
    found = []
    for _, node in graph.walk():
        if isinstance(node, Node) and node.type in SPYX_SUPPORTED:
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
