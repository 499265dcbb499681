"""The ``bss2`` `Target`: lowering, exact event-based numerics on the reference's grid, the JSON
experiment description, the resource report.

``run`` feeds grid inputs ``(T, B, *shape)`` (a spike of step ``n`` arrives ``input_offset``
into the step, `snnx.targets.bss2.grid`), simulates in continuous time and bins every threshold
crossing into the step it falls in: layer name -> ``(T, B, size)`` spike counts on the
reference's clock (latency 0).

>>> import numpy as np, snnx
>>> target = BrainScaleS2()
>>> lowered = target.lower(snnx.read(snnx.example_path("braille")), snnx.Semantics.profile("nir-reference"))
>>> out = target.run(lowered, np.zeros((20, 2, 12), np.float32))
>>> {name: trace.shape for name, trace in out.items()}
{'lif1.lif': (20, 2, 38), 'lif2': (20, 2, 7)}
>>> target.resources(lowered)["neurons"], target.resources(lowered)["rows_per_neuron_max"]
(45, 100)
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from snnx.errors import SnnxWarning
from snnx.ir.graph import Graph
from snnx.semantics import Semantics
from snnx.targets.base import Lowered, Target
from snnx.targets.bss2 import artifact
from snnx.targets.bss2.lower import lower
from snnx.targets.bss2.mismatch import Robustness, Spread, robustness
from snnx.targets.bss2.numerics import run_grid
from snnx.targets.bss2.program import Program
from snnx.targets.bss2.spec import LIMITS, SPEC


class BrainScaleS2(Target):
    """BrainScaleS-2 (see `snnx.targets.bss2`)."""

    name = "bss2"
    spec = SPEC
    #: 6-bit magnitudes per sign (excitatory and inhibitory rows), one scale per layer.
    quantize_preset: ClassVar[Mapping[str, Any]] = {
        "bits": 7,
        "per": "tensor",
        "power_of_two": False,
        "state_bits": None,
    }

    def lower(self, graph: Graph, semantics: Semantics, **options: Any) -> Lowered:
        """`snnx.targets.bss2.lower.lower`; calibrated-range warnings go to the notes only."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SnnxWarning)
            return lower(graph, semantics, target=self.name, **options)

    def run(self, lowered: Lowered, inputs: np.ndarray) -> dict[str, np.ndarray]:
        """Spike counts per reference step of every population."""
        program: Program = lowered.program
        x = np.asarray(inputs)
        counts = run_grid(program.network, x.reshape(x.shape[0], x.shape[1], -1))["counts"]
        return {
            layer.name: counts[:, :, slice(*program.population(layer.name).neurons)].astype(
                np.float32
            )
            for layer in lowered.layers
        }

    def write(self, lowered: Lowered, directory: Path) -> list[Path]:
        """``experiment.json`` (schema: ``SCHEMA.md`` beside this file)."""
        return [artifact.write(lowered, Path(directory) / "experiment.json")]

    def robustness(
        self,
        lowered: Lowered,
        inputs: np.ndarray,
        n: int,
        spread: Spread | float | None = None,
        **options: Any,
    ) -> Robustness:  # the ``robustness`` capability (`Spec.capabilities`)
        """Monte-Carlo over ``n`` chip instances of the fixed-pattern mismatch model
        (`snnx.targets.bss2.mismatch.robustness`; what ``snnx verify --mismatch N`` reports)."""
        return robustness(lowered, inputs, n, spread, **options)

    def resources(self, lowered: Lowered) -> dict[str, Any]:
        """Neurons and synapse rows used against the chip's, synapses, saturated weights."""
        program: Program = lowered.program
        rows = {p.name: program.rows_used(p.name) for p in program.populations}
        used = sum(p.size for p in program.populations)
        synapses = sum(int(np.count_nonzero(p.applied)) for p in program.projections)
        return {
            "neurons": used,
            "neurons_available": LIMITS.neurons,
            "neuron_circuits": {p.name: list(p.neurons) for p in program.populations},
            "hemispheres": sorted({0, max(used - 1, 0) // LIMITS.neurons_per_hemisphere}),
            "rows_per_neuron": rows,
            "rows_per_neuron_max": max(rows.values(), default=0),
            "rows_available": LIMITS.rows_per_neuron,
            "synapses": synapses,
            "projections": len(program.projections),
            "weights_saturated": sum(p.clipped for p in program.projections),
            "input_channels": program.input_size,
            "speedup": program.speedup,
            "step_on_chip_us": program.dt * 1e6 / program.speedup,
            "layers": len(lowered.layers),
        }
