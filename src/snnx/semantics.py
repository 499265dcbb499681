"""`Semantics`: the discrete-time meaning NIR leaves open, made explicit.

A NIR file describes continuous-time dynamics such as ``tau dv/dt = (v_leak - v) + r I``; running
it needs choices the file does not carry, and frameworks choose differently. A `Semantics` value
holds them. One step of a neuron, with ``x`` its summed input:

1. *integrate*: ``w = integrate(v, x)`` with the ``integrator`` (``a = exp(-dt/tau)``):

   - ``euler``:     ``w = v + dt/tau (v_leak - v + r x)``
   - ``exact``:     ``w = v_leak + r x + (v - v_leak - r x) a`` (input held over the step)
   - ``exp-decay``: ``w = v_leak + (v - v_leak) a + dt/tau r x`` (exact decay, Euler gain:
     Sinabs, Rockpool)

   CubaLIF first updates its current the same way (``tau_syn di/dt = -i + w_in x``) and integrates
   the voltage with this step's ``new`` current or the ``previous`` one; ``exact`` solves the
   coupled pair exactly. ``I``/``IF`` (no time constant) always take ``w = v + dt r x``.
2. *fire*: spikes where ``w > v_threshold`` (``threshold=">"``, NIR) or ``>=``; up to
   ``max_spikes`` per step (``floor(w / v_threshold)`` of them; 0 means no limit).
3. *reset*: ``zero`` sets ``v = v_reset``, ``subtract`` takes ``v_threshold`` off per spike,
   ``none`` leaves v as it is (snnTorch's ``reset_mechanism="none"``). With
   ``reset_timing="same-step"`` the reset applies to ``w`` now; with ``"next-step"`` it lands in
   the next step (a subtraction after that step's integration, a zero reset before it), as
   snnTorch's ``reset_delay=True`` and Spyx's LIF do. ``v_min="-threshold"`` then clamps v from
   below (Sinabs' IAF).
4. *emit*: the spike count times ``spike_amplitude`` (``"1"`` per step, or ``"1/dt"``, unit area),
   in the same step or, with ``spike_output="next-step"``, one step later (Spyx, Lava).

Voltages start at ``v_init`` (``zero``, ``v_leak`` or ``v_reset``); currents at zero. Input
trains are spikes too: they are scaled by the amplitude like every other spike.

``overrides`` holds what a framework does differently per node type (``"*"``: every type): knob
values (``{"CubaLIF": {"reset_timing": "same-step"}}``) and fields it reads in place of the file's
(``{"LIF": {"r": "tau/dt"}}``: an importer that ignores ``r`` and adds its input with gain 1). A
field override is a number or one of `EXPRESSIONS`.

Named profiles reproduce each framework: natively (``snntorch``: models written in snnTorch) or
through its own NIR importer (``snntorch-nir``, `IMPORTERS`), `PROFILES`;
``Semantics.profile("norse", dt=1e-4)`` takes one and overrides knobs. A graph stores its semantics
in metadata under ``snnx_semantics``.

>>> s = Semantics.profile("snntorch")
>>> s.dt, s.integrator, s.reset, s.reset_timing
(0.0001, 'euler', 'subtract', 'next-step')
>>> Semantics.profile("spyx").for_type("CubaLIF").reset_timing
'same-step'
>>> Semantics.from_metadata({"snnx_semantics": s.to_metadata()}) == s
True
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from snnx.errors import SemanticsError

METADATA_KEY = "snnx_semantics"

CHOICES: dict[str, tuple[str, ...]] = {
    "integrator": ("euler", "exact", "exp-decay"),
    "reset": ("zero", "subtract", "none"),
    "reset_timing": ("same-step", "next-step"),
    "spike_output": ("same-step", "next-step"),
    "current": ("new", "previous"),
    "threshold": (">", ">="),
    "spike_amplitude": ("1", "1/dt"),
    "v_init": ("zero", "v_leak", "v_reset"),
    "v_min": ("none", "-threshold"),
}

#: What a field override may say besides a number: a value computed from the node's own fields.
EXPRESSIONS = ("tau/dt", "tau_mem/dt", "tau_syn/dt", "1/dt")

#: Fields an override may replace, per neuron type.
OVERRIDABLE_FIELDS = {
    "I": ("r",),
    "IF": ("r", "v_reset"),
    "LI": ("r", "v_leak"),
    "LIF": ("r", "v_leak", "v_reset"),
    "CubaLI": ("r", "v_leak", "w_in"),
    "CubaLIF": ("r", "v_leak", "v_reset", "w_in"),
}


_TIME_CONSTANTS = {
    "I": (),
    "IF": (),
    "LI": ("tau",),
    "LIF": ("tau",),
    "CubaLI": ("tau_syn", "tau_mem"),
    "CubaLIF": ("tau_syn", "tau_mem"),
}


@dataclasses.dataclass(frozen=True)
class Semantics:
    """How a NIR graph runs in discrete time (see the module docstring for each knob)."""

    dt: float = 1e-4
    integrator: str = "euler"
    reset: str = "zero"
    reset_timing: str = "same-step"
    spike_output: str = "same-step"
    current: str = "new"
    threshold: str = ">"
    max_spikes: int = 1
    spike_amplitude: str = "1"
    v_init: str = "zero"
    v_min: str = "none"
    overrides: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    profile_name: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.dt, bool) or not isinstance(self.dt, (int, float)) or not self.dt > 0:
            raise SemanticsError(
                f"dt must be a positive number of seconds, got {self.dt!r}", field="dt"
            )
        object.__setattr__(self, "dt", float(self.dt))
        for knob in CHOICES:
            _check_choice(knob, getattr(self, knob), knob)
        _check_max_spikes(self.max_spikes, "max_spikes")
        if not isinstance(self.overrides, Mapping):
            raise SemanticsError("must map node types to overrides", field="overrides")
        frozen = {}
        for type_name, changes in self.overrides.items():
            where = f"overrides/{type_name}"
            if type_name != "*" and type_name not in OVERRIDABLE_FIELDS:
                raise SemanticsError(
                    f"overrides apply to neuron types {', '.join(OVERRIDABLE_FIELDS)} or '*'",
                    field=where,
                )
            fields = (
                set().union(*OVERRIDABLE_FIELDS.values())
                if type_name == "*"
                else set(OVERRIDABLE_FIELDS[type_name])
            )
            for key, value in changes.items():
                if key in CHOICES:
                    _check_choice(key, value, f"{where}/{key}")
                elif key == "max_spikes":
                    _check_max_spikes(value, f"{where}/{key}")
                elif key in fields:
                    _check_field_value(value, type_name, f"{where}/{key}")
                else:
                    raise SemanticsError(
                        f"{key!r} is neither a knob nor an overridable field of {type_name}",
                        field=where,
                    )
            frozen[type_name] = dict(changes)
        object.__setattr__(self, "overrides", frozen)

    @classmethod
    def profile(cls, name: str, **changes: Any) -> Semantics:
        """The named profile, with some knobs changed (``dt=1e-3``, ...)."""
        if name not in PROFILES:
            raise SemanticsError(f"unknown profile {name!r}; profiles: {', '.join(PROFILES)}")
        return dataclasses.replace(PROFILES[name], **changes)

    def replace(self, **changes: Any) -> Semantics:
        """A copy with some knobs changed."""
        return dataclasses.replace(self, **changes)

    def for_type(self, type_name: str) -> Semantics:
        """The knobs as they apply to one node type (its overrides of knobs folded in)."""
        knobs = {
            k: v
            for scope in ("*", type_name)
            for k, v in self.overrides.get(scope, {}).items()
            if k in CHOICES or k == "max_spikes"
        }
        return dataclasses.replace(self, **knobs) if knobs else self

    def field_overrides(self, type_name: str) -> dict[str, Any]:
        """Fields this semantics reads in place of the file's for one node type."""
        allowed = OVERRIDABLE_FIELDS.get(type_name, ())
        return {
            k: v
            for scope in ("*", type_name)
            for k, v in self.overrides.get(scope, {}).items()
            if k in allowed
        }

    def to_metadata(self) -> dict[str, Any]:
        """The knobs as a dict of numbers and strings (overrides nested), for graph metadata."""
        data = dataclasses.asdict(self)
        data["overrides"] = {k: dict(v) for k, v in self.overrides.items()}
        if not data["overrides"]:
            del data["overrides"]
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
        try:
            return cls(**{k: _plain(v) for k, v in stored.items()})
        except SemanticsError as err:
            raise SemanticsError(err.reason, field=f"metadata/{METADATA_KEY}/{err.field}") from None
        except (TypeError, ValueError) as err:  # a knob of the wrong kind (an array, a struct)
            raise SemanticsError(
                f"a knob cannot be read ({err})", field=f"metadata/{METADATA_KEY}"
            ) from None

    def describe(self) -> str:
        """One line naming every knob."""
        name = f"{self.profile_name}: " if self.profile_name else ""
        spikes = "any number of" if self.max_spikes == 0 else f"up to {self.max_spikes}"
        text = (
            f"{name}dt={self.dt:g} s, {self.integrator} integrator, reset {self.reset} "
            f"({self.reset_timing}), spikes emitted {self.spike_output}, {self.current} current, "
            f"v {self.threshold} threshold, {spikes} spike(s) per step of amplitude "
            f"{self.spike_amplitude}, v starts at {self.v_init}, v floor {self.v_min}"
        )
        if self.overrides:
            text += "; " + "; ".join(
                ("every type" if scope == "*" else scope)
                + ": "
                + ", ".join(
                    f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in knobs.items()
                )
                for scope, knobs in self.overrides.items()
            )
        return text


def _check_choice(knob: str, value: Any, where: str) -> None:
    if value not in CHOICES[knob]:
        raise SemanticsError(f"must be one of {list(CHOICES[knob])}, got {value!r}", field=where)


def _check_max_spikes(value: Any, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SemanticsError(
            f"must be 0 (no limit) or a positive integer, got {value!r}", field=where
        )


def _check_field_value(value: Any, type_name: str, where: str) -> None:
    if isinstance(value, str):
        if value not in EXPRESSIONS:
            raise SemanticsError(
                f"must be a number or one of {list(EXPRESSIONS)}, got {value!r}", field=where
            )
        needed = value.split("/")[0]
        if needed != "1" and (type_name == "*" or needed not in _TIME_CONSTANTS[type_name]):
            raise SemanticsError(
                f"{value!r} needs a field {needed!r}, which {type_name} does not have", field=where
            )
    elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SemanticsError(
            f"must be a finite number or an expression, got {value!r}", field=where
        )


def _plain(value: Any) -> Any:
    """numpy scalars read back from a file become Python numbers; groups become dicts."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value.item() if hasattr(value, "item") else value


_IGNORES_R_GAIN_1 = {"r": "tau/dt", "v_leak": 0.0}

PROFILES: dict[str, Semantics] = {
    # NIR's own continuous-time meaning, solved exactly with the input held over each step.
    "nir-reference": Semantics(dt=1e-4, integrator="exact", profile_name="nir-reference"),
    # snnTorch 1.0 as its models run natively (snntorch/_neurons): Leaky/Synaptic default to
    # reset_mechanism="subtract" and reset_delay=True (the subtraction lands in the step after the
    # spike), threshold=1.0 tested as mem - threshold > 0 (surrogate's Heaviside), state from 0,
    # Euler at export_to_nir's dt=1e-4 (its tau = dt / (1 - beta), r = tau / dt: gain 1).
    "snntorch": Semantics(
        dt=1e-4, reset="subtract", reset_timing="next-step", profile_name="snntorch"
    ),
    # snnTorch 1.0's import_from_nir: Euler at a hard-coded 1e-4, reset to zero at once (it builds
    # reset_delay=False neurons), v_reset ignored; r honoured (folded into the threshold).
    "snntorch-nir": Semantics(
        dt=1e-4, overrides={"*": {"v_reset": 0.0}}, profile_name="snntorch-nir"
    ),
    # Norse 1.1 as its models run natively (norse.torch.LIFCell, LIFBoxCell, IAFCell): Euler at
    # its modules' dt=1e-3, v > v_th, reset to v_reset in the same step, v starts at v_leak; the
    # file's r, w_in and v_reset honoured (snnx convert writes LIFCell's gain-1 input as
    # w_in = tau_syn/dt); measured: tests/crosscheck/peers/native_matrix_norse.py.
    "norse": Semantics(dt=1e-3, v_init="v_leak", profile_name="norse"),
    # Norse 1.1 from_nir: as native, but LIF and IF ignore r (IF adds its input as is) and the
    # reset goes to zero whatever v_reset says (tests/crosscheck/peers/test_norse.py).
    "norse-nir": Semantics(
        dt=1e-3,
        v_init="v_leak",
        overrides={"*": {"v_reset": 0.0}, "LIF": {"r": 1.0}, "IF": {"r": "1/dt"}},
        profile_name="norse-nir",
    ),
    # Spyx 1.0 from_nir (dt defaults to 1): Euler decay, input gain 1 (r, w_in, v_leak ignored),
    # spikes tested on last step's v so they leave one step late; LIF subtracts in the step after
    # the crossing, CubaLIF before the decay (the same-step reset of the voltage it tested).
    # An LI followed by a Threshold imports as Spyx's PSU_LIF, v = (1 - dt/tau) v + x: gain 1 as
    # well, r and v_leak ignored (measured: tests/crosscheck/peers/test_spyx.py; without the LI
    # override 74/320 and 94/320 outputs differed at dt = 1 and 1e-4).
    "spyx": Semantics(
        dt=1.0,
        reset="subtract",
        reset_timing="next-step",
        spike_output="next-step",
        overrides={
            "LIF": dict(_IGNORES_R_GAIN_1),
            "LI": dict(_IGNORES_R_GAIN_1),
            "IF": {"r": "1/dt"},
            "CubaLIF": {
                "reset_timing": "same-step",
                "r": "tau_mem/dt",
                "w_in": "tau_syn/dt",
                "v_leak": 0.0,
            },
        },
        profile_name="spyx",
    ),
    # Rockpool 3.1 LIF: exact decay, input added with gain 1 (r ignored), any number of spikes
    # per step while v >= threshold, each subtracting it; its modules' default dt is 1 ms.
    "rockpool": Semantics(
        dt=1e-3,
        integrator="exp-decay",
        reset="subtract",
        threshold=">=",
        max_spikes=0,
        overrides={"LIF": {"r": "tau/dt"}, "IF": {"r": "1/dt"}},
        profile_name="rockpool",
    ),
    # Sinabs 3.1 as its layers run natively (sinabs.layers.LIF, IAF, ExpLeak, LIFRecurrent): no
    # time step (tau counts steps: dt=1), exact decay, v >= threshold, MultiSpike (floor(v /
    # threshold) spikes, each subtracting it); the file's r honoured (norm_input's gain
    # 1 - exp(-1/tau) is an r: snnx convert writes it); measured:
    # tests/crosscheck/peers/native_matrix_sinabs.py.
    "sinabs": Semantics(
        dt=1.0,
        integrator="exp-decay",
        reset="subtract",
        threshold=">=",
        max_spikes=0,
        profile_name="sinabs",
    ),
    # Sinabs 3.1 from_nir: as native, but LIF and LI add their input with gain 1 (r and v_leak
    # ignored) and IAF clamps v at -threshold (tests/crosscheck/peers/test_sinabs.py).
    "sinabs-nir": Semantics(
        dt=1.0,
        integrator="exp-decay",
        reset="subtract",
        threshold=">=",
        max_spikes=0,
        overrides={
            "LIF": dict(_IGNORES_R_GAIN_1),
            "LI": dict(_IGNORES_R_GAIN_1),
            "IF": {"r": "1/dt", "v_min": "-threshold"},
        },
        profile_name="sinabs-nir",
    ),
    # SpikingJelly 2.0 import_from_nir: Euler, v_reset honoured, v >= threshold, v starts at v_reset.
    "spikingjelly": Semantics(
        dt=1e-4, threshold=">=", v_init="v_reset", profile_name="spikingjelly"
    ),
    # Lava (floating point): Euler-like CUBA decays, reset to zero, spikes reach the next layer one
    # step later.
    "lava": Semantics(dt=1e-4, spike_output="next-step", profile_name="lava"),
}

#: Profiles that reproduce a framework's own NIR importer (``<framework>-nir``): what the importer
#: runs whatever a file says, so their knobs take precedence over the file's (`snnx.provenance`
#: warns where they contradict it). The others honour what a file fixes.
IMPORTERS = ("snntorch-nir", "norse-nir", "sinabs-nir", "spyx-nir", "spikingjelly-nir")

# Spyx's and SpikingJelly's profiles were measured against their importers; as native profiles
# they honour the file, as ``-nir`` ones they override it.
PROFILES.update(
    {
        name: dataclasses.replace(PROFILES[name.removesuffix("-nir")], profile_name=name)
        for name in ("spyx-nir", "spikingjelly-nir")
    }
)
