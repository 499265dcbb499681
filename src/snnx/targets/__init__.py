"""Hardware targets, found by name: every subpackage here exposes ``TARGETS`` (name -> `Target`).

>>> sorted(target_names()) == sorted(set(target_names()))
True
"""

from __future__ import annotations

import importlib
import pkgutil

from snnx.errors import SnnxError
from snnx.targets.base import LayerMap, Lowered, Spec, Target

_REGISTERED: dict[str, Target] = {}


def register(target: Target) -> Target:
    """Make a target defined outside snnx (a plugin, a test) known by its name."""
    _REGISTERED[target.name] = target
    return target


def _all() -> dict[str, Target]:
    found: dict[str, Target] = dict(_REGISTERED)
    for module in pkgutil.iter_modules(__path__):
        if module.ispkg:
            found.update(importlib.import_module(f"snnx.targets.{module.name}").TARGETS)
    return found


def target_names() -> list[str]:
    """Names of every target, sorted."""
    return sorted(_all())


def get_target(name: str) -> Target:
    """The target called ``name``, or an error listing the known ones."""
    targets = _all()
    if name not in targets:
        raise SnnxError(f"unknown target {name!r}; targets: {', '.join(sorted(targets)) or 'none'}")
    return targets[name]


__all__ = ["LayerMap", "Lowered", "Spec", "Target", "get_target", "register", "target_names"]
