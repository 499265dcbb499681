"""snnx: move spiking neural networks between frameworks and onto neuromorphic hardware, via NIR.

The public API is re-exported here and imported on first use, so ``import snnx`` stays cheap:
``read``/``write`` and `Graph` (the IR), `Semantics`, `Simulator`/``simulate`` (the reference),
``optimize`` (passes), ``compile``/``verify``/``get_target`` (hardware), and the importers
(``from_*``) and exporters (``to_*``, ``express``).

>>> import snnx
>>> graph = snnx.read(snnx.example_path("braille"))
>>> sorted(graph.nodes)[:3], graph.nir_version
(['fc1', 'fc2', 'input'], '0.2.0')
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("snnx")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"

_LAZY = {
    # the graph and its files
    "Graph": "snnx.ir.graph",
    "Node": "snnx.ir.node",
    "read": "snnx.ir.nirfile",
    "write": "snnx.ir.nirfile",
    "infer_shapes": "snnx.ir.shapes",
    "example_path": "snnx.examples",
    # what a graph means in discrete time
    "Semantics": "snnx.semantics",
    "PROFILES": "snnx.semantics",
    # running, rewriting, compiling, verifying
    "Simulator": "snnx.sim.simulator",
    "simulate": "snnx.sim.simulator",
    "optimize": "snnx.passes.manager",
    "compile": "snnx.compiler",
    "verify": "snnx.verification",
    "get_target": "snnx.targets",
    "target_names": "snnx.targets",
    # frameworks in and out
    "from_torch": "snnx.importers.torch",
    "from_equinox": "snnx.importers.jax",
    "from_spyx": "snnx.importers.jax",
    "from_snnax": "snnx.importers.snnax",
    "from_slax": "snnx.importers.slax",
    "from_rockpool": "snnx.importers.rockpool",
    "to_torch": "snnx.exporters.torch",
    "to_torchscript": "snnx.exporters.torch",
    "to_equinox": "snnx.exporters.equinox",
    "to_snnax": "snnx.exporters.snnax",
    "to_slax": "snnx.exporters.slax",
    "to_snntorch": "snnx.exporters.peers",
    "to_norse": "snnx.exporters.peers",
    "express": "snnx.passes.express",
    # errors
    "SnnxError": "snnx.errors",
}

__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'snnx' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
