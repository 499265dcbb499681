"""The ``lynxi`` target: lowering, float16 numerics and artifact behind the `Target` interface.

``lower(graph, semantics, steps=100, batch=1)`` fixes the time steps and batch of the compiled
module (the numerics run any number of steps up to the limit and any batch). Every reported layer
is a neuron (or Threshold) node, and the node feeding the Output, with latency 0: the float16
chip keeps the reference's clock, so verification compares step by step and reports where
float16 first flips a spike.

>>> import numpy as np, snnx
>>> target = Lynxi()
>>> lowered = target.lower(snnx.read(snnx.example_path("braille")), snnx.Semantics.profile("snntorch-nir"), steps=5)
>>> [(m.name, m.size, m.latency) for m in lowered.layers]
[('lif1.lif', 38, 0), ('lif2', 7, 0)]
>>> target.resources(lowered)["neurons"]
45
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from snnx.errors import LoweringError
from snnx.ir.graph import Graph
from snnx.semantics import Semantics
from snnx.targets.base import LayerMap, Lowered, Target
from snnx.targets.lynxi.quantize import to_float16
from snnx.targets.lynxi.spec import DEFAULT_BATCH, DEFAULT_STEPS, SPEC


class Lynxi(Target):
    """Lynxi KA200: float16, fixed steps, batch folded into time."""

    name = "lynxi"
    spec = SPEC
    #: float16 everywhere: every real field rounded once, an overflow an error.
    quantize_preset: ClassVar[Mapping[str, Any]] = {
        "round": to_float16,
        "round_name": "float16",
        "relative_error_bound": 2.0**-11,
    }

    def lower(
        self,
        graph: Graph,
        semantics: Semantics,
        *,
        steps: int = DEFAULT_STEPS,
        batch: int = DEFAULT_BATCH,
        **options: Any,
    ) -> Lowered:
        """``graph`` as a float16 program of ``steps`` x ``batch``, or a `LoweringError`."""
        from snnx.targets.lynxi.lower import lower_program

        if options:
            raise LoweringError(
                f"unknown lynxi options {sorted(options)}; it takes steps and batch"
            )
        program, notes = lower_program(graph, semantics, steps=steps, batch=batch)
        layers = [
            LayerMap(name, name, math.prod(program.nodes[name].output_shape), latency=0)
            for name in program.layers
        ]
        return Lowered(self.name, graph.flatten(), semantics, layers, program, notes)

    def run(self, lowered: Lowered, inputs: np.ndarray) -> dict[str, np.ndarray]:
        """The float16 numerics: layer name -> ``(T, B, size)`` (float16 values as float32)."""
        from snnx.targets.lynxi.numerics import run

        return run(lowered.program, inputs)

    def write(self, lowered: Lowered, directory: Path) -> list[Path]:
        """``model.pt``, ``network.json`` and ``weights.bin`` (see FORMAT.md)."""
        from snnx.targets.lynxi.artifact import write

        return write(
            lowered.program,
            directory,
            semantics=lowered.semantics.to_metadata(),
            notes=lowered.notes,
        )

    def resources(self, lowered: Lowered) -> dict[str, Any]:
        """Neurons, synapses, float16 values and bytes, layers, steps and batch."""
        from snnx.targets.lynxi.lower import resources

        return resources(lowered.program)
