"""Lynxi KA200: float16 SNNs in the plain-PyTorch form Lynxi's compiler (``lyngor``) takes.

Parts: `spec` (limits, documented or snnx's own), `quantize` (rounding to float16, the generic
quantization pass's ``lynxi`` preset), `lower` (graph, neurons stepped as `snnx.dynamics` says
-> `program.Program`), `numerics` (the float16 arithmetic in JAX), `module` (the same in
TorchScript), `artifact` (``model.pt``, ``network.json``, ``weights.bin``; FORMAT.md) and
`target` (the `Target`).

>>> sorted(TARGETS)
['lynxi']
"""

from snnx.targets.lynxi.target import Lynxi

TARGETS = {"lynxi": Lynxi()}

__all__ = ["TARGETS", "Lynxi"]
