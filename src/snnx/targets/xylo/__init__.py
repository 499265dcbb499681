"""SynSense Xylo: Xylo Audio 2 (``xylo-audio2``, also ``xylo``) and Xylo IMU (``xylo-imu``).

A graph's spiking populations become one recurrent hidden population and an output population of
Xylo's integer LIF neurons (`lower`), with int8 weights shifted per matrix and int16 thresholds
(`quantize`), bit-shift decays (`decay`); `numerics` runs the chip's exact arithmetic in JAX and
`artifact` writes Rockpool's hardware specification.

>>> sorted(TARGETS)
['xylo', 'xylo-audio2', 'xylo-imu']
"""

from __future__ import annotations

from snnx.targets.xylo.spec import AUDIO2, IMU
from snnx.targets.xylo.target import XyloTarget

TARGETS = {
    "xylo-audio2": XyloTarget("xylo-audio2", AUDIO2),
    "xylo-imu": XyloTarget("xylo-imu", IMU),
    "xylo": XyloTarget("xylo", AUDIO2, alias_of="xylo-audio2"),
}

__all__ = ["TARGETS", "XyloTarget"]
