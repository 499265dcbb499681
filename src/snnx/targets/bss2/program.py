"""`Program`: a graph lowered for BrainScaleS-2, the chip's own numbers next to the `Network` the
numerics run.

Populations carry hardware parameters (time constants in hardware microseconds, potentials in CADC
LSB); projections carry 6-bit weights split by sign, the scale that turns a model current jump
into LSB, and the rows they occupy. ``network`` is what those numbers mean in model units
(dequantized), so the simulation runs exactly what the artifact describes.

>>> Population("lif", "lif", 0, 4).neurons
(0, 4)
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from snnx.targets.bss2.network import Network


@dataclasses.dataclass(frozen=True)
class Population:
    """A CubaLIF node placed on neuron circuits ``[start, start + size)``. ``hardware`` holds
    per-neuron arrays: ``tau_mem_us``, ``tau_syn_us``, ``leak_cadc``, ``reset_cadc``,
    ``threshold_cadc``, ``volts_per_cadc``, ``v_low`` (the model potential at ``CADC_LOW``),
    ``drive`` (model volts) and ``refractory_us``."""

    name: str
    node: str
    start: int
    size: int
    hardware: dict[str, np.ndarray] = dataclasses.field(default_factory=dict, compare=False)
    output: bool = False

    @property
    def neurons(self) -> tuple[int, int]:
        """``(first, stop)`` neuron circuits."""
        return self.start, self.start + self.size


@dataclasses.dataclass(frozen=True)
class Projection:
    """Weights from ``source`` (the input or a population) to ``target`` (a population).

    ``weight``: the effective current jump per presynaptic spike, model volts, ``(post, pre)``
    before quantization; ``q``: signed integers (``None`` when not quantized) with ``scale`` LSB
    per volt; ``rows``: ``{"excitatory": (first, stop), "inhibitory": ...}`` in the target's
    synapse columns; ``input_offset``: for projections from the input, when a spike of grid step
    ``n`` arrives (``n dt + input_offset``, model seconds)."""

    name: str
    node: str
    source: str
    target: str
    weight: np.ndarray = dataclasses.field(compare=False)
    q: np.ndarray | None = dataclasses.field(default=None, compare=False)
    scale: float | None = None
    clipped: int = 0
    rows: dict[str, tuple[int, int]] = dataclasses.field(default_factory=dict)
    input_offset: float | None = None

    @property
    def applied(self) -> np.ndarray:
        """The jumps the chip applies: ``q / scale`` when quantized, else ``weight``."""
        if self.q is None or self.scale is None:  # quantized weights come with their scale
            return self.weight
        return self.q.astype(np.float64) / self.scale

    @property
    def pre(self) -> int:
        """Presynaptic neurons (sources)."""
        return int(self.weight.shape[1])

    @property
    def signs(self) -> int:
        """Row signs in use: 0, 1 or 2."""
        w = self.applied
        return int(bool((w > 0).any())) + int(bool((w < 0).any()))


@dataclasses.dataclass(frozen=True)
class Program:
    """What lowering produced: populations (flow order, the output last), projections, the
    `Network` in model units, the input size and node, time scales and options."""

    populations: list[Population]
    projections: list[Projection]
    network: Network
    input_node: str
    input_size: int
    speedup: float
    dt: float
    convention: str
    quantized: bool
    options: dict[str, Any] = dataclasses.field(default_factory=dict)

    def population(self, name: str) -> Population:
        """The population called ``name``."""
        for pop in self.populations:
            if pop.name == name:
                return pop
        raise KeyError(name)

    def rows_used(self, population: str) -> int:
        """Synapse rows the population's neurons use (all incoming projections, both signs)."""
        return sum(
            stop - start
            for proj in self.projections
            if proj.target == population
            for start, stop in proj.rows.values()
        )
