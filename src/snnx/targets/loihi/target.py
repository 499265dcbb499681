"""`LoihiTarget`: the ``loihi`` target -- lowering, bit-exact numerics, ``model.net``, resources.

>>> import numpy as np, snnx
>>> target = LoihiTarget()
>>> lowered = target.lower(snnx.read(snnx.example_path("braille")), snnx.Semantics.profile("snntorch-nir"))
>>> out = target.run(lowered, np.zeros((5, 2, 12)))
>>> sorted(out), out["2"].shape
(['1', '2'], (5, 2, 7))
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from snnx.ir.graph import Graph
from snnx.semantics import Semantics
from snnx.targets.base import Lowered, Target
from snnx.targets.loihi import artifact, numerics
from snnx.targets.loihi.lower import lower, spike_amplitude
from snnx.targets.loihi.resources import resources
from snnx.targets.loihi.spec import SPEC


class LoihiTarget(Target):
    """Intel Loihi 2 through Lava / lava-dl netx."""

    name = "loihi"
    spec = SPEC
    #: 8-bit weight mantissas sharing a power-of-two exponent per layer, 24-bit states.
    quantize_preset: ClassVar[Mapping[str, Any]] = {
        "bits": 8,
        "per": "tensor",
        "power_of_two": True,
        "state_bits": 24,
    }

    def lower(self, graph: Graph, semantics: Semantics, **options: Any) -> Lowered:
        """See `snnx.targets.loihi.lower.lower`."""
        return lower(graph, semantics, **options)

    def run(self, lowered: Lowered, inputs: np.ndarray) -> dict[str, np.ndarray]:
        """Loihi's integer numerics (`numerics.run`): layer name -> ``(T, B, size)`` spikes,
        each worth what the reference node emits per spike (``1/dt`` for unit-area spikes)."""
        out = numerics.run(lowered.program, inputs)
        for layer in lowered.layers:
            amplitude = spike_amplitude(lowered.semantics, lowered.graph[layer.node].type)
            if amplitude != 1.0:
                out[layer.name] = out[layer.name] * np.float32(amplitude)
        return out

    def write(self, lowered: Lowered, directory: Path) -> list[Path]:
        """``directory/model.net``, the netx HDF5 file."""
        path = Path(directory) / "model.net"
        artifact.write(lowered.program, path)
        return [path]

    def resources(self, lowered: Lowered) -> dict[str, Any]:
        """Neurons, synapses, weight memory and estimated cores (`resources.resources`)."""
        return resources(lowered.program)
