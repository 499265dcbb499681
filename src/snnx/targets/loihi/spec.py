"""Loihi 2 (through Lava / lava-dl netx) as snnx sees it: the numbers lowering enforces and the
resource estimate assumes.

Chip figures are Intel's public ones (128 neuro cores, about 1 million neurons per chip, so
8192 per core); the synaptic memory per core is an assumption for the estimate (Intel does not
publish how netx packs synapses), stated as such in every resource report.

>>> SPEC.limits["delay_steps"], SPEC.facts["weight_bits"]
(62, 8)
"""

from __future__ import annotations

from snnx.targets.base import Spec

#: What netx builds: synapses, pooling folded into convolutions, reshapes, axonal delays, and
#: spiking CUBA neurons.
SUPPORTED = (
    "Input",
    "Output",
    "Affine",
    "Linear",
    "Scale",
    "Conv2d",
    "SumPool2d",
    "AvgPool2d",
    "Flatten",
    "Delay",
    "IF",
    "LIF",
    "CubaLIF",
)

SPEC = Spec(
    "Intel Loihi 2 through Lava / lava-dl netx (model.net; bit-accurate CUBA numerics)",
    supported=SUPPORTED,
    limits={"delay_steps": 62},
    facts={
        "neuron": "CUBA LIF: 12-bit decays, 24-bit u (wraps) and v (saturates), v > vThMant<<6, "
        "reset to 0, one spike per step",
        "layers": "dense, dense_rec, conv (pooling folded into convolutions); one chain",
        "weight_bits": 8,
        "dense_weights": "[-256, 254] mixed sign, [0, 255] excitatory, even [-254, 0] inhibitory",
        "decay_bits": 12,
        "state_bits": 24,
        "max_threshold": (1 << 17) - 1,
        "latency": "one step per layer",
        "cores_per_chip": 128,
        "neurons_per_core": 8192,
        "synapse_bytes_per_core": 128 * 1024,
    },
)
