"""`XyloProgram`: a network as Xylo's integer registers, with where each population sits.

Fields carry Rockpool's names (``weights_in``, ``dash_mem``, ...). Weights are kept whole inside
snnx: ``weights_in (Nin, Nhid, S)``, ``weights_rec (Nhid, Nhid, S)``, ``weights_out (Nhid, Nout)``
(``S`` synaptic states); the artifact cuts them to what each chip's configuration takes.
`check` enforces the chip's limits with the numbers that do not fit.

>>> from snnx.targets.xylo.spec import IMU
>>> p = XyloProgram.empty(IMU, n_in=2, n_hidden=3, n_out=1)
>>> p.weights_in.shape, p.weights_out.shape, p.input_expansion, p.output_expansion
((2, 3, 1), (3, 1), 0, 0)
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from snnx.errors import LoweringError
from snnx.targets.xylo.spec import (
    DASH_MAX,
    SHIFT_MAX,
    STATE_MAX,
    STATE_MIN,
    WEIGHT_MAX,
    WEIGHT_MIN,
    Chip,
)


@dataclasses.dataclass(frozen=True)
class Block:
    """A population of the graph placed on the chip: hidden neurons ``start .. start+size`` (or
    the output neurons), the reference ``node`` it stands for, the steps its spikes lag the
    reference's (``latency``), and its integer units per float unit of voltage (``scale``)."""

    name: str
    node: str
    start: int
    size: int
    latency: int
    output: bool
    scale: tuple[float, ...]


@dataclasses.dataclass
class XyloProgram:
    """Xylo's integer parameters (Rockpool's names) and the placement of the populations."""

    chip: Chip
    weights_in: np.ndarray
    weights_rec: np.ndarray
    weights_out: np.ndarray
    dash_mem: np.ndarray
    dash_syn: np.ndarray
    dash_syn_2: np.ndarray
    dash_mem_out: np.ndarray
    dash_syn_out: np.ndarray
    threshold: np.ndarray
    threshold_out: np.ndarray
    bias: np.ndarray
    bias_out: np.ndarray
    weight_shift_in: int = 0
    weight_shift_rec: int = 0
    weight_shift_out: int = 0
    dt: float = 1e-3
    blocks: tuple[Block, ...] = ()
    #: the float parameters quantization started from (`snnx.targets.xylo.parameters.FloatForm`)
    float_form: Any = dataclasses.field(default=None, repr=False, compare=False)

    @classmethod
    def empty(
        cls, chip: Chip, n_in: int, n_hidden: int, n_out: int, synapses: int = 1
    ) -> XyloProgram:
        """All-zero weights and decays, thresholds 1: a starting point to fill in."""
        zeros = lambda n: np.zeros(n, np.int64)  # noqa: E731
        return cls(
            chip=chip,
            weights_in=np.zeros((n_in, n_hidden, synapses), np.int8),
            weights_rec=np.zeros((n_hidden, n_hidden, synapses), np.int8),
            weights_out=np.zeros((n_hidden, n_out), np.int8),
            dash_mem=zeros(n_hidden),
            dash_syn=zeros(n_hidden),
            dash_syn_2=zeros(n_hidden),
            dash_mem_out=zeros(n_out),
            dash_syn_out=zeros(n_out),
            threshold=np.ones(n_hidden, np.int64),
            threshold_out=np.ones(n_out, np.int64),
            bias=zeros(n_hidden),
            bias_out=zeros(n_out),
        )

    @property
    def n_in(self) -> int:
        return self.weights_in.shape[0]

    @property
    def n_hidden(self) -> int:
        return self.weights_rec.shape[0]

    @property
    def n_out(self) -> int:
        return self.weights_out.shape[1]

    @property
    def synapses(self) -> int:
        """Synaptic states per hidden neuron in use (1 or 2)."""
        return self.weights_in.shape[2]

    @property
    def input_expansion(self) -> int:
        """How many leading hidden neurons receive input (Rockpool's IEN count)."""
        used = np.nonzero(np.any(self.weights_in != 0, axis=(0, 2)))[0]
        return int(used[-1]) + 1 if used.size else 0

    @property
    def output_expansion(self) -> int:
        """How many trailing hidden neurons drive outputs (Rockpool's OEN count)."""
        used = np.nonzero(np.any(self.weights_out != 0, axis=1))[0]
        return self.n_hidden - int(used[0]) if used.size else 0

    def fan_out(self) -> np.ndarray:
        """Non-zero recurrent weights leaving each hidden neuron (targets x synaptic states)."""
        return np.count_nonzero(self.weights_rec, axis=(1, 2))

    def check(self) -> None:
        """Raise `LoweringError` naming every register or limit that does not fit the chip."""
        chip, problems = self.chip, []
        sizes = {
            "inputs": (self.n_in, chip.inputs),
            "hidden neurons": (self.n_hidden, chip.hidden),
            "output neurons": (self.n_out, chip.outputs),
            "synaptic states": (self.synapses, chip.synapses),
            "input projection (IEN)": (self.input_expansion, chip.input_projection),
            "output projection (OEN)": (self.output_expansion, chip.output_projection),
            "recurrent weights": (int(np.count_nonzero(self.weights_rec)), chip.recurrent_weights),
        }
        problems += [f"{what}: {n} > {limit}" for what, (n, limit) in sizes.items() if n > limit]
        fan = self.fan_out()
        if fan.size and fan.max() > chip.max_fan_out:
            worst = int(np.argmax(fan))
            problems.append(
                f"fan-out: hidden neuron {worst} has {int(fan.max())} recurrent targets > "
                f"{chip.max_fan_out} ({int(np.sum(fan > chip.max_fan_out))} neurons over)"
            )
        for name in ("weights_in", "weights_rec", "weights_out"):
            problems += _range(name, getattr(self, name), WEIGHT_MIN, WEIGHT_MAX)
        for name in ("dash_mem", "dash_syn", "dash_syn_2", "dash_mem_out", "dash_syn_out"):
            problems += _range(name, getattr(self, name), 0, DASH_MAX)
        for name in ("bias", "bias_out"):
            problems += _range(name, getattr(self, name), STATE_MIN, STATE_MAX)
        for name in ("threshold", "threshold_out"):
            problems += _range(name, getattr(self, name), 1, STATE_MAX)
        for name in ("weight_shift_in", "weight_shift_rec", "weight_shift_out"):
            problems += _range(name, np.array([getattr(self, name)]), 0, SHIFT_MAX)
        shapes = {
            "weights_rec": (self.n_hidden, self.n_hidden, self.synapses),
            "dash_mem": (self.n_hidden,),
            "dash_syn": (self.n_hidden,),
            "dash_syn_2": (self.n_hidden,),
            "threshold": (self.n_hidden,),
            "bias": (self.n_hidden,),
            "weights_out": (self.n_hidden, self.n_out),
            "dash_mem_out": (self.n_out,),
            "dash_syn_out": (self.n_out,),
            "threshold_out": (self.n_out,),
            "bias_out": (self.n_out,),
        }
        problems += [
            f"{name}: shape {getattr(self, name).shape}, expected {shape}"
            for name, shape in shapes.items()
            if getattr(self, name).shape != shape
        ]
        if problems:
            raise LoweringError(
                f"does not fit {chip.name} ({chip.rockpool}): " + "; ".join(problems)
            )


def _range(name: str, values: np.ndarray, low: int, high: int) -> list[str]:
    values = np.asarray(values)
    if values.size and (values.min() < low or values.max() > high):
        return [f"{name}: values {values.min()}..{values.max()} outside {low}..{high}"]
    return []


def describe_program(program: XyloProgram) -> dict[str, Any]:
    """Where each population sits, for the artifact: name, node, rows, latency, and the float
    voltage of one integer unit (per neuron)."""
    return {
        b.name: {
            "node": b.node,
            "neurons": "output" if b.output else "hidden",
            "start": b.start,
            "size": b.size,
            "latency": b.latency,
            "volts_per_unit": [1.0 / s for s in b.scale],
        }
        for b in program.blocks
    }
