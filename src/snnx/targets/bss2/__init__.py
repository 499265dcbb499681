"""BrainScaleS-2 target (``bss2``): analog current-based LIF neurons in continuous time.

Parts: ``spec`` (the chip's limits, with sources), ``quantize`` (6-bit weights, signs split into
rows), ``grid`` (a discrete-time spike as a continuous-time event), ``lower`` (graph -> `Program`,
or an error with the numbers), ``placement`` (neurons and synapse rows), ``network`` and
``numerics`` (exact event-based simulation), ``mismatch`` (fixed-pattern variation, Monte-Carlo
robustness), ``agreement`` (spike-time and rate agreement), ``artifact`` (the JSON experiment
description, ``SCHEMA.md``), ``target`` (the `Target`).

>>> sorted(TARGETS)
['bss2']
"""

from __future__ import annotations

from snnx.targets.bss2.target import BrainScaleS2

TARGETS = {"bss2": BrainScaleS2()}

__all__ = ["TARGETS", "BrainScaleS2"]
