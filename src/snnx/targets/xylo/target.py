"""`XyloTarget`: lowering, exact numerics, artifact and resources for one Xylo chip.

>>> from snnx.targets.xylo.spec import IMU
>>> XyloTarget("xylo-imu", IMU).spec.limits["hidden_neurons"]
496
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from snnx import dynamics
from snnx.ir.graph import Graph
from snnx.semantics import Semantics
from snnx.targets.base import Lowered, Target
from snnx.targets.xylo import artifact
from snnx.targets.xylo.lower import lower
from snnx.targets.xylo.numerics import simulate
from snnx.targets.xylo.program import XyloProgram
from snnx.targets.xylo.spec import Chip


class XyloTarget(Target):
    """A Xylo chip: `lower.lower`, `numerics.simulate`, `artifact.write`."""

    #: int8 weights with a weight shift (a power of two), int16 thresholds and states.
    quantize_preset: ClassVar[Mapping[str, Any]] = {
        "bits": 8,
        "per": "tensor",
        "power_of_two": True,
        "state_bits": 16,
    }

    def __init__(self, name: str, chip: Chip, alias_of: str | None = None) -> None:
        self.name = name
        self.chip = chip
        what = f"SynSense {chip.name} ({chip.rockpool}) via Rockpool's XyloSim specification"
        self.spec = chip.spec(f"{what}{f'; same as {alias_of}' if alias_of else ''}")

    def lower(self, graph: Graph, semantics: Semantics, **options: Any) -> Lowered:
        """See `snnx.targets.xylo.lower.lower` (option ``max_threshold``)."""
        return lower(graph, semantics, self.chip, target=self.name, **options)

    def run(self, lowered: Lowered, inputs: np.ndarray) -> dict[str, np.ndarray]:
        """Xylo's integer numerics on input event counts ``(T, B, *input shape)``: each
        population's spikes per step (counts, times the reference's spike amplitude)."""
        program: XyloProgram = lowered.program
        inputs = np.asarray(inputs)
        raster = inputs.reshape(inputs.shape[0], inputs.shape[1], -1)
        result = simulate(program, raster)
        amplitude = dynamics.amplitude(lowered.semantics)
        out = {}
        for block in program.blocks:
            spikes = result["out_spikes" if block.output else "hidden_spikes"]
            out[block.name] = spikes[:, :, block.start : block.start + block.size] * amplitude
        return out

    def write(self, lowered: Lowered, directory: Path) -> list[Path]:
        """Rockpool's specification and the layout (see `snnx.targets.xylo.artifact`)."""
        return artifact.write(lowered, Path(directory))

    def resources(self, lowered: Lowered) -> dict[str, Any]:
        """Neurons, weights, fan-out and projections used, against the chip's limits."""
        p: XyloProgram = lowered.program
        chip = self.chip
        fan = p.fan_out()

        def use(n: int, limit: int) -> str:
            return f"{n} / {limit}"

        return {
            "chip": f"{chip.name} ({chip.rockpool})",
            "neurons": p.n_hidden + p.n_out,
            "layers": len(lowered.layers),
            "input_channels": use(p.n_in, chip.inputs),
            "hidden_neurons": use(p.n_hidden, chip.hidden),
            "output_neurons": use(p.n_out, chip.outputs),
            "synaptic_states": use(p.synapses, chip.synapses),
            "input_weights": int(np.count_nonzero(p.weights_in)),
            "recurrent_weights": use(int(np.count_nonzero(p.weights_rec)), chip.recurrent_weights),
            "output_weights": int(np.count_nonzero(p.weights_out)),
            "max_fan_out": use(int(fan.max(initial=0)), chip.max_fan_out),
            "max_fan_in": int(
                np.count_nonzero(np.concatenate([p.weights_in, p.weights_rec]), axis=(0, 2)).max(
                    initial=0
                )
            ),
            "input_projection": use(p.input_expansion, chip.input_projection),
            "output_projection": use(p.output_expansion, chip.output_projection),
            "weight_shifts": {
                "in": p.weight_shift_in,
                "rec": p.weight_shift_rec,
                "out": p.weight_shift_out,
            },
            "populations": {
                b.name: f"{b.node}: {'output' if b.output else 'hidden'} "
                f"{b.start}..{b.start + b.size - 1}, latency {b.latency}"
                for b in p.blocks
            },
        }
