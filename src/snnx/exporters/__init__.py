"""Exporters: snnx graphs become runnable, trainable models in other frameworks, running the
graph's semantics.

- `to_torch` / `to_torchscript`: a stateful torch module (step by step or whole sequences);
- `to_equinox`: an Equinox module (jit- and grad-friendly; `save_equinox` / `load_equinox`);
- `to_snntorch`, `to_norse`: those frameworks' own modules, through their NIR importers, where
  they can express the graph (else a refusal naming the node);
- `to_snnax`, `to_slax`: SNNAX and Slax models, their own layers where they compute the same.

Writing ``.nir`` files is `snnx.write`; re-expressing a graph for other semantics is the
`express` pass (`snnx.express`).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "to_torch": "snnx.exporters.torch",
    "TorchNetwork": "snnx.exporters.torch",
    "to_torchscript": "snnx.exporters.torch",
    "to_equinox": "snnx.exporters.equinox",
    "EquinoxNetwork": "snnx.exporters.equinox",
    "save_equinox": "snnx.exporters.equinox",
    "load_equinox": "snnx.exporters.equinox",
    "to_snntorch": "snnx.exporters.peers",
    "to_norse": "snnx.exporters.peers",
    "to_snnax": "snnx.exporters.snnax",
    "to_slax": "snnx.exporters.slax",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'snnx.exporters' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
