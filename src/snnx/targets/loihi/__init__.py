"""Loihi 2 through Lava / lava-dl netx: the ``loihi`` target.

- `lower`: a NIR graph under a `Semantics` to a netx `Program` (CUBA decays, 8-bit weights and
  thresholds by `quantize`, dense / dense_rec / conv layers, pooling folded into convolutions,
  delays, constants on a bias line), or a `LoweringError` naming the node and the knob;
- `numerics`: Loihi's integer arithmetic as Lava's bit-accurate models compute it, in JAX;
- `artifact`: ``model.net``, the lava-dl netx HDF5 file (and reading one back);
- `resources`: neurons, synapses, weight memory, estimated cores.

The facts behind each (measured against lava-nc 0.10.0 / lava-dl 0.6.0) are in the module
docstrings; ``tests/crosscheck/lava`` runs every compiled network through real Lava.

>>> sorted(TARGETS)
['loihi']
"""

from __future__ import annotations

from snnx.targets.loihi.target import LoihiTarget

TARGETS = {"loihi": LoihiTarget()}

__all__ = ["TARGETS", "LoihiTarget"]
