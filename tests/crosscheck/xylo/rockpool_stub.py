"""Import Rockpool's Xylo simulators without samna (Rockpool 3.1.0).

``rockpool/devices/xylo/__init__.py`` imports every chip subpackage, and two imports inside
``syns65302/__init__.py`` are not guarded by Rockpool's usual ``try/except`` for the samna
hardware library: ``syns65302.afe_samna_pdm`` and ``syns63300.power_cycles_model`` import samna at
module level. Without samna, any ``rockpool.devices.xylo.<chip>`` import then fails. Before the
first import we register those two leaf modules in ``sys.modules`` as stand-ins whose names are
Rockpool's own ``missing_backend_shim`` objects (what the guarded imports would have given); all
the rest, ``XyloSim`` included, is the real code. Nothing in site-packages changes; with samna
installed this does nothing.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

_UNGUARDED = {
    "rockpool.devices.xylo.syns65302.afe_samna_pdm": ("AFESamnaPDM",),
    "rockpool.devices.xylo.syns63300.power_cycles_model": ("cycles_model", "est_clock_freq"),
}


def install() -> bool:
    """Register the stand-ins when samna is missing; True if they were installed."""
    if importlib.util.find_spec("samna") is not None or "rockpool.devices.xylo" in sys.modules:
        return False
    from rockpool.utilities.backend_management import missing_backend_shim

    for name, exported in _UNGUARDED.items():
        if name in sys.modules:
            continue
        module = types.ModuleType(name, f"samna-free stand-in for {name} (snnx tests)")
        for attr in exported:
            setattr(module, attr, missing_backend_shim(attr, "samna"))
        module.__all__ = list(exported)
        sys.modules[name] = module
    return True


def xylo_sims() -> dict:
    """``{"syns61201": XyloSim, "syns63300": XyloSim}``: Rockpool's simulator classes."""
    install()
    return {
        chip: importlib.import_module(f"rockpool.devices.xylo.{chip}").XyloSim
        for chip in ("syns61201", "syns63300")
    }
