"""Converting models between frameworks through snnx graphs.

- `from_torch`: a PyTorch model (torch.nn, snnTorch, Norse, Sinabs, SpikingJelly) -> `Graph`
- `from_equinox`, `from_spyx`, `from_snnax`, `from_slax`: JAX models -> `Graph`
- `to_torch`: `Graph` -> a stateful torch module running snnx's semantics
- `to_equinox`: `Graph` -> an Equinox module (jit- and grad-friendly)
- `to_snntorch`, `to_norse`: `Graph` -> those frameworks' own modules, through their NIR importers
- `to_snnax`, `to_slax`: `Graph` -> SNNAX and Slax models (their own layers where they express it)
- `express`: the same network re-written for other semantics (another framework's dt, gain, ...)

Each imported graph carries the source framework's `Semantics` (``graph.semantics``).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "ConversionError": "snnx.convert._base",
    "from_torch": "snnx.convert.torch_import",
    "to_torch": "snnx.convert.torch_export",
    "TorchNetwork": "snnx.convert.torch_export",
    "to_torchscript": "snnx.convert.torch_export",
    "to_equinox": "snnx.convert.jax_export",
    "EquinoxNetwork": "snnx.convert.jax_export",
    "save_equinox": "snnx.convert.jax_export",
    "load_equinox": "snnx.convert.jax_export",
    "from_equinox": "snnx.convert.jax_import",
    "from_spyx": "snnx.convert.jax_import",
    "from_snnax": "snnx.convert.snnax_import",
    "from_slax": "snnx.convert.slax_import",
    "to_snnax": "snnx.convert.snnax_export",
    "to_slax": "snnx.convert.slax_export",
    "to_snntorch": "snnx.convert.peers_export",
    "to_norse": "snnx.convert.peers_export",
    "express": "snnx.convert.express",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'snnx.convert' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
