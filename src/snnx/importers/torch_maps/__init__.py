"""Layer maps from PyTorch modules to NIR nodes, one file per framework.

A map is a function ``fn(module, ctx) -> Node | Graph`` registered for a class by its package and
name (``("snntorch", "Leaky")``), so that no framework is imported unless a model uses it; a
subclass maps like its nearest registered base class. Neuron maps record the semantics their
equations need with ``ctx.need(...)`` (see `snnx.importers.requirements.Requirements`).

>>> "torch.Linear" in supported()
True
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from typing import Any

from snnx.importers.requirements import ConversionError, Requirements

_FRAMEWORK_MODULES = ("nn", "snntorch", "norse", "sinabs", "spikingjelly")
#: (top-level package, class name) -> map function
MAPS: dict[tuple[str, str], Callable] = {}
#: classes that pass their input through unchanged (at inference)
IDENTITY: set[tuple[str, str]] = set()
#: containers whose forward is "call each child in turn" (traced as torch.nn.Sequential)
SEQUENTIAL: set[tuple[str, str]] = set()
#: packages whose unmapped modules are refused (rather than traced into)
FRAMEWORKS = ("torch", "snntorch", "norse", "sinabs", "spikingjelly")


def register(package: str, *names: str) -> Callable[[Callable], Callable]:
    """Register a map for the classes ``names`` of ``package`` (its top-level name)."""

    def add(fn: Callable) -> Callable:
        for name in names:
            MAPS[(package, name)] = fn
        return fn

    return add


@dataclasses.dataclass
class LayerContext:
    """What a map gets besides the module: the layer's name, the chosen dt, the requirements."""

    name: str
    requirements: Requirements
    chosen_dt: float | None

    def dt(self, profile_dt: float) -> float:
        """The time step: the one asked for, else the first one a layer proposed (``profile_dt``,
        the framework's own), kept for every later layer."""
        if self.requirements.dt is None:
            self.requirements.dt = self.chosen_dt if self.chosen_dt is not None else profile_dt
        return self.requirements.dt

    def need(self, type_name: str, profile: str, **knobs: Any) -> None:
        """Record the semantics this layer's equations need."""
        self.requirements.need(self.name, type_name, profile, **knobs)

    def fail(self, reason: str, field: str | None = None) -> ConversionError:
        """An error naming this layer (raise it)."""
        return ConversionError(reason, node=self.name, field=field)


def _load() -> None:
    for name in _FRAMEWORK_MODULES:
        importlib.import_module(f"snnx.importers.torch_maps.{name}")


def key_of(cls: type) -> tuple[str, str]:
    """``(top-level package, class name)`` of a class."""
    return cls.__module__.split(".")[0], cls.__name__


def lookup(module: Any) -> tuple[str, Any] | None:
    """``("map", fn)``, ``("identity", None)`` or ``("sequential", None)`` for the nearest
    registered class in ``module``'s MRO; ``None`` when none is registered."""
    _load()
    for cls in type(module).__mro__:
        key = key_of(cls)
        if key in MAPS:
            return "map", MAPS[key]
        if key in IDENTITY:
            return "identity", None
        if key in SEQUENTIAL:
            return "sequential", None
    return None


def supported() -> list[str]:
    """Names of the supported layer classes, ``package.Class``."""
    _load()
    return sorted(f"{p}.{n}" for p, n in (*MAPS, *IDENTITY, *SEQUENTIAL))
