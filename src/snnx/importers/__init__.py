"""Importers: models written in other frameworks become snnx graphs, each carrying the `Semantics`
that reproduces the framework (``graph.semantics``).

- `from_torch`: a PyTorch model (torch.nn, snnTorch, Norse, Sinabs, SpikingJelly), traced with
  nirtorch and read through the maps of `snnx.importers.torch_maps`;
- `from_equinox`, `from_spyx`: JAX models (snnx's Equinox modules and ``eqx.nn`` layers; Spyx
  through its NIR export);
- `from_snnax`, `from_slax`: the SNNAX (Equinox) and Slax (Flax) libraries;
- `from_rockpool`: Rockpool's LIF and Linear modules (Jax and numpy) in a Sequential.

Reading ``.nir`` files is `snnx.read`. Importers need no simulator.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "from_torch": "snnx.importers.torch",
    "from_equinox": "snnx.importers.jax",
    "from_spyx": "snnx.importers.jax",
    "from_snnax": "snnx.importers.snnax",
    "from_slax": "snnx.importers.slax",
    "from_rockpool": "snnx.importers.rockpool",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'snnx.importers' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
