"""The Xylo chips snnx lowers to, and their limits.

Two generations of SynSense's Xylo SNN core share one integer neuron model (see `numerics`) and
differ in size:

=====================  ==============  ==============
                       Xylo Audio 2    Xylo IMU
=====================  ==============  ==============
Rockpool name          syns61201       syns63300
input channels         16              16
hidden neurons         1000            496
output neurons         8               16
synaptic states        2               1
max fan-out            64              512
recurrent weights      64000           31744
input projection       all hidden      first 128
output projection      all hidden      last 128
=====================  ==============  ==============

Fan-out is the number of non-zero recurrent weights leaving one hidden neuron (each target and
synaptic state counts once); "recurrent weights" the chip's budget of them in all (average fan-out
times hidden neurons). Both come from Rockpool's Xylo overview table; sizes and projections from
Rockpool's mapper and ``config_from_specification``. Every chip: int8 weights, one left shift
per weight matrix (0..7), int16 saturating states, thresholds and biases, 4-bit decays (0..15),
at most 15 input events per channel, 31 events per hidden neuron and 1 per output neuron per step.

>>> AUDIO2.hidden, IMU.synapses
(1000, 1)
>>> AUDIO2.limits()["fan_out"], IMU.limits()["fan_out"]
(64, 512)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from snnx.targets.base import Spec

#: What lowers: spiking populations (``LI`` only as a synaptic filter in front of one), dense
#: weights, one Input and one Output.
SUPPORTED = ("Input", "Output", "Linear", "Affine", "CubaLIF", "LIF", "IF", "LI")
#: int16 range of states, thresholds and biases
STATE_MIN, STATE_MAX = -(2**15), 2**15 - 1
#: int8 range of weights
WEIGHT_MIN, WEIGHT_MAX = -(2**7), 2**7 - 1
#: weight shifts (a 3-bit field per matrix)
SHIFT_MAX = 7
#: bit-shift decays (4 bits)
DASH_MAX = 15
#: events per step: per input channel, per hidden neuron, per output neuron
MAX_INPUT_EVENTS, MAX_HIDDEN_SPIKES, MAX_OUTPUT_SPIKES = 15, 31, 1


@dataclasses.dataclass(frozen=True)
class Chip:
    """One Xylo generation: its Rockpool name and sizes (see the module docstring)."""

    name: str
    rockpool: str
    inputs: int
    hidden: int
    outputs: int
    synapses: int
    max_fan_out: int
    recurrent_weights: int
    input_projection: int
    output_projection: int

    def limits(self) -> dict[str, int]:
        """The sizes lowering checks (`snnx.targets.base.Spec.limits`)."""
        return {
            "inputs": self.inputs,
            "hidden_neurons": self.hidden,
            "output_neurons": self.outputs,
            "synaptic_states": self.synapses,
            "fan_out": self.max_fan_out,
            "recurrent_weights": self.recurrent_weights,
            "input_projection": self.input_projection,
            "output_projection": self.output_projection,
        }

    def facts(self) -> dict[str, Any]:
        """What else `snnx targets` lists."""
        return {
            "chip": f"{self.name} ({self.rockpool})",
            "projections": f"input to the first {self.input_projection} hidden neurons, output "
            f"from the last {self.output_projection}",
            "weights": f"int8 << shift (0..{SHIFT_MAX}) per matrix",
            "states": "int16, saturating",
            "threshold": "int16",
            "bias": "int16",
            "dash": f"0..{DASH_MAX} (decay 1 - 2^-dash per step)",
            "events_per_step": f"input {MAX_INPUT_EVENTS}/channel, hidden "
            f"{MAX_HIDDEN_SPIKES}, output {MAX_OUTPUT_SPIKES}",
            "neurons": "CubaLIF, LIF, IF (one recurrent hidden population, one output population)",
        }

    def spec(self, description: str) -> Spec:
        """This chip's `Spec`."""
        return Spec(description, SUPPORTED, self.limits(), self.facts())


AUDIO2 = Chip(
    name="Xylo Audio 2",
    rockpool="syns61201",
    inputs=16,
    hidden=1000,
    outputs=8,
    synapses=2,
    max_fan_out=64,
    recurrent_weights=64000,
    input_projection=1000,
    output_projection=1000,
)

IMU = Chip(
    name="Xylo IMU",
    rockpool="syns63300",
    inputs=16,
    hidden=496,
    outputs=16,
    synapses=1,
    max_fan_out=512,
    recurrent_weights=31744,
    input_projection=128,
    output_projection=128,
)

CHIPS = {chip.rockpool: chip for chip in (AUDIO2, IMU)}
