"""What every importer shares: the error type, and `Requirements`, which collects the semantics
each imported layer needs and merges them into one `Semantics` for the graph.

A layer map reports, per neuron layer, the framework profile it follows and the knobs its
equations need (``reset="subtract"``, ``reset_timing="next-step"``, ...). Knobs that every neuron
type agrees on become the graph's knobs; knobs that differ between node types become per-type
overrides; two layers of one node type that disagree cannot share one `Semantics`, which is an
error naming both layers.

>>> req = Requirements(dt=1e-4)
>>> req.need("lif1", "LIF", "snntorch", reset="subtract", reset_timing="next-step")
>>> req.need("lif2", "CubaLIF", "snntorch", reset="zero")
>>> s = req.semantics()
>>> s.profile_name, s.for_type("LIF").reset, s.for_type("CubaLIF").reset
('snntorch', 'subtract', 'zero')
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any

from snnx.errors import ConversionError
from snnx.semantics import CHOICES, Semantics

__all__ = ["KNOBS", "ConversionError", "Requirements", "threshold_rule"]


#: Knobs a layer map may ask for.
KNOBS = (*CHOICES, "max_spikes")


@dataclasses.dataclass
class Requirements:
    """Semantics needs collected from the layers of one model (see the module docstring)."""

    dt: float | None = None
    base: dict[str, Semantics] = dataclasses.field(default_factory=dict)
    needs: list[tuple[str, str, str, dict[str, Any]]] = dataclasses.field(default_factory=list)

    def need(self, layer: str, type_name: str, profile: str, **knobs: Any) -> None:
        """Record that ``layer`` (a node of ``type_name``) runs under ``profile`` with ``knobs``."""
        unknown = set(knobs) - set(KNOBS)
        if unknown:
            raise ConversionError(f"unknown semantics knobs {sorted(unknown)}", node=layer)
        self.needs.append((layer, type_name, profile, dict(knobs)))

    def semantics(self, default_profile: str = "nir-reference") -> Semantics:
        """One `Semantics` satisfying every recorded need (raises `ConversionError` if none can)."""
        profiles = list(dict.fromkeys(p for _, _, p, _ in self.needs)) or [default_profile]
        if len(profiles) > 1:
            layers = {p: next(n for n, _, q, _ in self.needs if q == p) for p in profiles}
            shown = ", ".join(f"'{n}' ({p})" for p, n in layers.items())
            raise ConversionError(
                f"the model mixes neurons of several frameworks ({shown}); convert each part "
                "separately"
            )
        base = self.base.get(profiles[0]) or Semantics.profile(profiles[0], overrides={})
        if self.dt is not None:
            base = base.replace(dt=self.dt)
        per_type: dict[str, dict[str, tuple[Any, str]]] = collections.defaultdict(dict)
        for layer, type_name, _, knobs in self.needs:
            for knob, value in knobs.items():
                seen = per_type[type_name].get(knob)
                if seen is not None and seen[0] != value:
                    raise ConversionError(
                        f"layers '{seen[1]}' and '{layer}' are both {type_name} but need "
                        f"{knob}={seen[0]!r} and {knob}={value!r}; snnx semantics hold one value "
                        "per node type",
                    )
                per_type[type_name].setdefault(knob, (value, layer))
        common: dict[str, Any] = {}
        overrides: dict[str, dict[str, Any]] = {k: dict(v) for k, v in base.overrides.items()}
        for knob in sorted({k for values in per_type.values() for k in values}):
            values = {t: v[knob][0] for t, v in per_type.items() if knob in v}
            counts = collections.Counter(values.values())
            if len(counts) == 1 and len(values) == len(per_type):
                common[knob] = next(iter(counts))
                continue
            for type_name, value in values.items():
                if value != getattr(base, knob):
                    overrides.setdefault(type_name, {})[knob] = value
        return base.replace(**common, overrides=overrides)


def threshold_rule(spike_fn: Any, layer: str) -> str:
    """``">="`` or ``">"``: what a JAX library's spike function ``f(v - threshold)`` does at 0
    (it must be a step from 0 to 1).

    >>> import jax.numpy as jnp
    >>> threshold_rule(lambda x: jnp.heaviside(x, 1.0), "lif")
    '>='
    """
    import jax.numpy as jnp
    import numpy as np

    probe = np.asarray(spike_fn(jnp.asarray([-1e-3, 0.0, 1e-3], jnp.float32))).tolist()
    if probe == [0.0, 1.0, 1.0]:
        return ">="
    if probe == [0.0, 0.0, 1.0]:
        return ">"
    raise ConversionError(
        f"the spike function is not a step from 0 to 1 (gives {probe})", node=layer
    )
