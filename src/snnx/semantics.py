"""`Semantics`: the discrete-time meaning NIR leaves open, made explicit.

A NIR file describes continuous-time dynamics such as ``tau dv/dt = (v_leak - v) + r I``; running
it needs choices the file does not carry, and frameworks choose differently. A `Semantics` value
holds them:

- ``dt``: the time step, in seconds.
- ``integrator``: ``"euler"`` steps ``v += dt/tau (v_leak - v + r I)``; ``"exact"`` holds the input
  over the step (zero-order hold), ``v = v_leak + r I + (v - v_leak - r I) exp(-dt/tau)``.
- ``reset``: after a spike, ``"zero"`` sets ``v = v_reset`` (0 unless given); ``"subtract"`` sets
  ``v -= v_threshold``.
- ``spike_amplitude``: a spike is ``"1"`` per step, or ``"1/dt"`` (unit area, a delta function).
- ``current``: the voltage integrates this step's ``"new"`` synaptic current or the
  ``"previous"`` one (CubaLIF).
- ``spike_test``: the threshold is tested ``"after"`` integrating this step (the spike leaves in the
  same step) or ``"before"`` (on the last step's voltage: spikes leave one step later).
- ``threshold``: the comparison, ``">"`` (NIR) or ``">="``.
- ``max_spikes``: spikes one neuron may emit per step (1; Xylo and Sinabs count several).

Named profiles reproduce each framework (`PROFILES`); ``Semantics.profile("norse", dt=1e-4)``
takes one and overrides fields. A graph stores its semantics in metadata under ``snnx_semantics``.

>>> s = Semantics.profile("snntorch")
>>> s.dt, s.integrator, s.reset
(0.0001, 'euler', 'zero')
>>> Semantics.from_metadata({"snnx_semantics": s.to_metadata()}) == s
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from snnx.errors import SemanticsError

METADATA_KEY = "snnx_semantics"

CHOICES: dict[str, tuple[str, ...]] = {
    "integrator": ("euler", "exact"),
    "reset": ("zero", "subtract"),
    "spike_amplitude": ("1", "1/dt"),
    "current": ("new", "previous"),
    "spike_test": ("after", "before"),
    "threshold": (">", ">="),
}


@dataclasses.dataclass(frozen=True)
class Semantics:
    """How a NIR graph runs in discrete time (see the module docstring for each knob)."""

    dt: float = 1e-4
    integrator: str = "euler"
    reset: str = "zero"
    spike_amplitude: str = "1"
    current: str = "new"
    spike_test: str = "after"
    threshold: str = ">"
    max_spikes: int = 1
    profile_name: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.dt, bool) or not isinstance(self.dt, (int, float)) or not self.dt > 0:
            raise SemanticsError(
                f"dt must be a positive number of seconds, got {self.dt!r}", field="dt"
            )
        object.__setattr__(self, "dt", float(self.dt))
        for knob, allowed in CHOICES.items():
            value = getattr(self, knob)
            if value not in allowed:
                raise SemanticsError(f"must be one of {list(allowed)}, got {value!r}", field=knob)
        if (
            isinstance(self.max_spikes, bool)
            or not isinstance(self.max_spikes, int)
            or self.max_spikes < 1
        ):
            raise SemanticsError(
                f"must be a positive integer, got {self.max_spikes!r}", field="max_spikes"
            )

    @classmethod
    def profile(cls, name: str, **overrides: Any) -> Semantics:
        """The named profile, with some knobs overridden (``dt=1e-3``, ...)."""
        if name not in PROFILES:
            raise SemanticsError(f"unknown profile {name!r}; profiles: {', '.join(PROFILES)}")
        return dataclasses.replace(PROFILES[name], **overrides)

    def replace(self, **changes: Any) -> Semantics:
        """A copy with some knobs changed."""
        return dataclasses.replace(self, **changes)

    def to_metadata(self) -> dict[str, Any]:
        """The knobs as a flat dict of numbers and strings, for graph metadata."""
        data = dataclasses.asdict(self)
        if data["profile_name"] is None:
            del data["profile_name"]
        return data

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any] | None) -> Semantics | None:
        """The semantics stored under ``snnx_semantics`` in graph metadata, if any."""
        if not metadata or METADATA_KEY not in metadata:
            return None
        stored = metadata[METADATA_KEY]
        if not isinstance(stored, Mapping):
            raise SemanticsError("must be a group of knobs", field=f"metadata/{METADATA_KEY}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(stored) - known)
        if unknown:
            raise SemanticsError(f"unknown knobs {unknown}", field=f"metadata/{METADATA_KEY}")
        values = {k: _plain(v) for k, v in stored.items()}
        try:
            return cls(**values)
        except SemanticsError as err:
            raise SemanticsError(err.reason, field=f"metadata/{METADATA_KEY}/{err.field}") from None

    def describe(self) -> str:
        """One line naming every knob."""
        name = f"{self.profile_name}: " if self.profile_name else ""
        return (
            f"{name}dt={self.dt:g} s, {self.integrator} integrator, reset {self.reset}, "
            f"spike amplitude {self.spike_amplitude}, {self.current} current, "
            f"spike test {self.spike_test} integration, v {self.threshold} threshold, "
            f"up to {self.max_spikes} spike(s) per step"
        )


def _plain(value: Any) -> Any:
    """numpy scalars read back from a file become Python numbers."""
    return value.item() if hasattr(value, "item") else value


PROFILES: dict[str, Semantics] = {
    "nir-reference": Semantics(dt=1e-4, integrator="exact", profile_name="nir-reference"),
    "snntorch": Semantics(dt=1e-4, profile_name="snntorch"),
    "norse": Semantics(dt=1e-3, current="previous", profile_name="norse"),
    "spyx": Semantics(dt=1e-4, reset="subtract", spike_test="before", profile_name="spyx"),
    "rockpool": Semantics(dt=1e-4, integrator="exact", reset="subtract", profile_name="rockpool"),
    "sinabs": Semantics(
        dt=1e-4, integrator="exact", reset="subtract", threshold=">=", profile_name="sinabs"
    ),
    "lava": Semantics(dt=1e-4, profile_name="lava"),
}
