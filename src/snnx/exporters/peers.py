"""Back into snnTorch and Norse modules, through their own NIR importers (snnTorch 1.0's
``import_from_nir``, Norse 1.1's ``from_nir``), after `express` has re-written the graph for what
each importer computes (measured facts: the ``snntorch`` and ``norse`` profiles).

What they can express, and what is refused here with the reason:

- snnTorch: Euler at dt = 1e-4 (fixed), reset to zero in the same step, ``v > threshold``, one
  threshold per layer (its input gain is folded into the threshold), LIF with ``v_leak = 0``,
  CubaLIF with ``r = tau_mem / dt``; layers Affine, Linear, Conv1d/2d, AvgPool2d. Refused:
  subtractive or delayed resets (snnTorch's own default: its importer always builds zero-reset
  neurons), IF (imported as a leaky neuron returning a tuple), LI/CubaLI/I/Scale/Threshold/Delay
  (no map), a neuron <-> dense 2-cycle (wired through the recurrent weights), Flatten (the batch
  dimension is flattened too). Run it as ``out, state = net(x_t, state)`` step by step; the
  neuron states live in the modules (``snntorch.utils.reset(net)`` between sequences).
- Norse: Euler at any dt, reset to zero ignoring ``v_reset`` (so ``v_reset = 0``), LIF input gain
  ``dt / tau`` (``r`` ignored; the rest is folded into the weights), v starts at ``v_leak``;
  layers Affine, Linear, Conv2d, SumPool2d. Refused: AvgPool2d, Conv1d, LI, CubaLI, I, Scale,
  Threshold, Delay (silently dropped by Norse), Flatten (batch), branches that meet again (its
  depth-first schedule delays one of them), CubaLIF with ``v_leak != 0`` (Norse lets the current
  relax to v_leak too). Run it as ``out, state = net(x_t, state)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from snnx.importers.requirements import ConversionError
from snnx.ir.graph import Graph
from snnx.ir.schema import SCHEMA
from snnx.passes.express import express
from snnx.semantics import Semantics

#: What snnTorch 1.0's importer computes, as a target for `express`.
SNNTORCH_IMPORT = Semantics.profile(
    "snntorch-nir", overrides={"*": {"v_reset": 0.0}, "CubaLIF": {"r": "tau_mem/dt", "v_leak": 0.0}}
)


#: What each peer's NIR importer can build (Input and Output aside).
SNNTORCH_SUPPORTED = ("Affine", "Linear", "Conv1d", "Conv2d", "AvgPool2d", "LIF", "CubaLIF")
NORSE_SUPPORTED = ("Affine", "Linear", "Conv2d", "SumPool2d", "IF", "LIF", "CubaLIF")


def _refuse(graph: Graph, framework: str, allowed: set[str], why: dict[str, str]) -> None:
    for name, node in graph.nodes.items():
        if SCHEMA[node.type].category == "io" or node.type in allowed:
            continue
        reason = why.get(node.type, "its NIR importer has no map for it")
        raise ConversionError(f"{framework} cannot express a {node.type}: {reason}", node=name)


def _two_cycles(graph: Graph) -> list[str]:
    return [
        n
        for group in graph.recurrent_groups()
        if len(group) == 2 and any(SCHEMA[graph[m].type].shape == "dense" for m in group)
        for n in group
        if graph[n].type in SNNTORCH_SUPPORTED and SCHEMA[graph[n].type].spiking
    ]


def to_snntorch(graph: Graph) -> Any:
    """snnTorch modules for ``graph`` (see the module docstring), from snnTorch's importer."""
    flat = express(graph, SNNTORCH_IMPORT, unit_gain=True)
    _refuse(
        flat,
        "snnTorch",
        set(SNNTORCH_SUPPORTED),
        {
            "IF": "its importer builds a leaky neuron (beta 0.9) that returns a tuple",
            "Flatten": "its importer flattens the batch dimension too",
        },
    )
    rings = _two_cycles(flat)
    if rings:
        raise ConversionError(
            "snnTorch's importer wires a neuron <-> dense 2-cycle through the recurrent weights",
            node=rings[0],
        )
    for name, node in flat.primitives.items():
        if SCHEMA[node.type].spiking and np.unique(np.asarray(node.v_threshold)).size > 1:
            raise ConversionError(
                "snnTorch's importer takes one threshold per layer", node=name, field="v_threshold"
            )
    from snntorch.import_nir import import_from_nir

    return import_from_nir(flat.to_nir())


def to_norse(graph: Graph, dt: float | None = None) -> Any:
    """Norse modules for ``graph`` (see the module docstring) at ``dt`` (default: the graph's),
    from Norse's importer."""
    source = graph.semantics or Semantics.profile("nir-reference")
    target = Semantics.profile("norse-nir", dt=dt or source.dt)
    flat = express(graph, target)
    _refuse(
        flat,
        "Norse",
        set(NORSE_SUPPORTED),
        {"Flatten": "its importer flattens the batch dimension too"},
    )
    back = flat.back_edges()
    for name in flat:
        if len([p for p in flat.predecessors(name) if (p, name) not in back]) > 1:
            raise ConversionError(
                "Norse's depth-first schedule delays one of two branches meeting here", node=name
            )
        node = flat.node(name)
        if node.type == "CubaLIF" and np.any(np.asarray(node.v_leak) != 0):
            raise ConversionError(
                "Norse's CubaLIF lets its current relax to v_leak too", node=name, field="v_leak"
            )
    from norse.torch import from_nir

    return from_nir(flat.to_nir(), dt=target.dt)
