"""Which semantics a run uses, and where each knob came from.

A run's semantics are resolved in this order (`resolve`):

1. what the file fixes (`file_facts`): semantics stored in its metadata (``snnx_semantics``), a
   reset implied by its nir version (before 1.0.6, spiking nodes without ``v_reset`` meant
   ``reset: subtract``; from 1.0.6 on a ``v_reset`` field means reset to it, ``reset: zero``);
2. what the user set explicitly (``--set KNOB=VALUE``, ``--set TYPE.KNOB=VALUE``, ``--dt``);
3. the chosen profile's defaults, else ``nir-reference``'s.

A profile never overrides the file; an explicit choice that contradicts the file wins with a
warning naming the knob, both values and their sources. A profile that reproduces a framework's
NIR importer (`snnx.semantics.IMPORTERS`) is such a choice: the importer runs its own knobs
whatever the file says. A native profile whose framework's exporter does not record a knob says
so (`EXPORTER_LOSSES`) where the file does not fix it either.

Each knob is reported with its source: ``file``, ``flag``, ``profile`` or ``default``.

>>> import snnx
>>> r = resolve(snnx.read(snnx.example_path("braille")), "snntorch", warn=False)
>>> r.semantics.reset, r.sources["reset"]["source"], r.sources["reset_timing"]["source"]
('subtract', 'file', 'profile')
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from typing import Any

from snnx.errors import SemanticsError, SnnxWarning
from snnx.exporter_losses import LOSSES, exporter_notes
from snnx.ir.graph import V_RESET_SINCE, Graph, parse_version
from snnx.ir.node import Node
from snnx.ir.schema import SPIKING_NEURONS
from snnx.semantics import CHOICES, IMPORTERS, OVERRIDABLE_FIELDS, Semantics

_V_RESET = "with v_reset (reset to it)"

#: Knobs every `Semantics` has (per-type ones are written ``TYPE.KNOB``).
KNOBS = ("dt", *CHOICES, "max_spikes")

#: What a native profile's framework does not write into a NIR file, and what to do about it.
EXPORTER_LOSSES: dict[str, dict[str, str]] = {
    "snntorch": {
        "reset": "snnTorch's export_to_nir writes v_reset=0 whatever reset_mechanism; if the "
        "model used another (its default is subtract), --set reset=subtract|none",
        "reset_timing": "snnTorch's export_to_nir does not record reset_delay; next-step is its "
        "default (reset_delay=True); for reset_delay=False, --set reset_timing=same-step",
    },
    "norse": {
        "dt": "Norse 1.1's to_nir writes tau = dt / tau_inv (dt times the time constant: 1000x "
        "too small at its dt=1e-3), CubaLIF w_in=1 and IF r=1 where LIFCell and IAFCell add their "
        "input with gain 1; for a file it wrote, --dt 1e-06 (its dt squared) "
        "--set CubaLIF.w_in=tau_syn/dt (--set IF.r=1/dt)",
        "reset": "Norse 1.1's to_nir writes v_reset=0 whatever the model's v_reset and "
        "reset_method (LIFBoxCell may subtract: --set LIF.reset=subtract)",
    },
    "sinabs": {
        "reset": "Sinabs 3.1's to_nir does not record reset_fn (nir writes v_reset=0); "
        "MembraneSubtract is its default (--set reset=subtract), MembraneReset is reset=zero",
        "max_spikes": "Sinabs 3.1's to_nir does not record spike_fn; MultiSpike is its default, "
        "for SingleSpike --set max_spikes=1",
        "v_min": "Sinabs 3.1's to_nir does not record min_v_mem; for -threshold, "
        "--set v_min=-threshold",
        "integrator": "Sinabs 3.1's to_nir writes LIF r=1 whatever norm_input and drops tau_syn "
        "(a synaptic current cannot be set back; snnx convert keeps it); for its default "
        "norm_input=True (input gain 1 - exp(-1/tau)) --set integrator=exact, for "
        "norm_input=False --set LIF.r=tau/dt",
    },
}


@dataclasses.dataclass(frozen=True)
class Resolution:
    """Resolved semantics, each knob's ``{"value", "source", "why"}`` and the warnings given."""

    semantics: Semantics
    sources: dict[str, dict[str, Any]]
    warnings: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """One line per knob: ``knob = value  (source: why)``."""
        width = max(map(len, self.sources))
        return [
            f"{knob:<{width}} = {_shown(entry['value'])}  ({entry['source']}: {entry['why']})"
            for knob, entry in self.sources.items()
        ]


def file_facts(graph: Graph) -> dict[str, tuple[Any, str]]:
    """The knobs ``graph`` fixes itself: ``knob -> (value, why)`` (see the module docstring).

    >>> import snnx
    >>> file_facts(snnx.read(snnx.example_path("braille")))["reset"][0]
    'subtract'
    """
    stored = graph.semantics
    if stored is not None:
        why = "stored in the file (snnx_semantics)"
        facts = {k: (getattr(stored, k), why) for k in KNOBS}
        for scope, changes in stored.overrides.items():
            facts.update({f"{scope}.{k}": (v, why) for k, v in changes.items()})
        return facts
    if graph.legacy_reset:
        return {
            "reset": (
                "subtract",
                f"implied: written by nir {graph.nir_version} (before 1.0.6), its spiking nodes "
                "carry no v_reset",
            )
        }
    version = parse_version(graph.nir_version)
    spiking = [p for _, p in graph.walk() if isinstance(p, Node) and p.type in SPIKING_NEURONS]
    modern = version is not None and version >= V_RESET_SINCE
    if modern and spiking and all("v_reset" in p.fields for p in spiking):
        return {"reset": ("zero", f"nir {graph.nir_version} file {_V_RESET}")}
    return {}


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    """``KNOB=VALUE`` / ``TYPE.KNOB=VALUE`` strings as knob values, each checked (`SemanticsError`
    listing the valid knobs or values).

    >>> parse_sets(["reset=subtract", "CubaLIF.reset_timing=next-step", "max_spikes=0"])
    {'reset': 'subtract', 'CubaLIF.reset_timing': 'next-step', 'max_spikes': 0}
    >>> parse_sets(["reset=sometimes"])
    Traceback (most recent call last):
    snnx.errors.SemanticsError: --set reset=sometimes: reset must be one of ['zero', 'subtract', 'none']
    """
    values: dict[str, Any] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key or not text:
            raise SemanticsError(f"--set {item!r}: expected KNOB=VALUE or TYPE.KNOB=VALUE")
        scope, dot, knob = key.rpartition(".")
        allowed = (*KNOBS, *sorted(set().union(*OVERRIDABLE_FIELDS.values()))) if dot else KNOBS
        if knob not in allowed or (knob == "dt" and dot):
            raise SemanticsError(
                f"--set {item}: unknown knob {knob!r}; knobs: {', '.join(KNOBS)} (per type, "
                f"TYPE.KNOB, TYPE one of {', '.join(OVERRIDABLE_FIELDS)} or *; fields "
                f"{', '.join(sorted(set().union(*OVERRIDABLE_FIELDS.values())))} too)"
            )
        if dot and scope != "*" and scope not in OVERRIDABLE_FIELDS:
            raise SemanticsError(
                f"--set {item}: unknown node type {scope!r}; types: "
                f"{', '.join(OVERRIDABLE_FIELDS)} or *"
            )
        value = _typed(knob, text)
        try:
            _build({**_flat(Semantics()), key: value}, None)
        except SemanticsError as err:
            choices = CHOICES.get(knob)
            reason = f"must be one of {list(choices)}" if choices else err.reason
            raise SemanticsError(f"--set {item}: {knob} {reason}") from None
        values[key] = value
    return values


def resolve(
    graph: Graph,
    profile: str | None = None,
    sets: Mapping[str, Any] | None = None,
    *,
    warn: bool = True,
) -> Resolution:
    """The semantics ``graph`` runs under with ``profile`` and the user's ``sets`` (knob ->
    value, as `parse_sets` returns; ``dt`` included), each knob's source, and the warnings
    (given as `SnnxWarning` unless ``warn=False``).

    >>> import snnx
    >>> graph = snnx.read(snnx.example_path("braille"))
    >>> r = resolve(graph, "nir-reference", {"reset": "zero"}, warn=False)
    >>> r.semantics.reset, r.sources["reset"]["source"]
    ('zero', 'flag')
    >>> print(r.warnings[0])
    reset=zero (--set) contradicts the file's reset=subtract (implied: written by nir 0.2.0 (before 1.0.6), its spiking nodes carry no v_reset); running reset=zero as asked
    """
    base = Semantics.profile(profile or "nir-reference")
    forced = profile in IMPORTERS
    if profile:
        origin = ("profile", f"{profile}'s {'importer' if forced else 'default'}")
    else:
        origin = ("default", "nir-reference's")
    values = _flat(base)
    sources = {k: origin for k in values}
    facts = file_facts(graph)
    notes: list[str] = []
    if facts and not forced and graph.semantics is not None:
        values = {k: v for k, v in values.items() if "." not in k}  # the file's overrides only
    for key, (value, why) in facts.items():
        if forced:
            if key in values and values[key] != value:
                notes.append(
                    f"profile {profile} reproduces its framework's NIR importer, which runs "
                    f"{key}={_shown(values[key])} whatever the file says; the file says "
                    f"{key}={_shown(value)} ({why})"
                )
            continue
        values[key], sources[key] = value, ("file", why)
    for key, value in (sets or {}).items():
        if key in facts and facts[key][0] != value and not forced:
            notes.append(
                f"{key}={_shown(value)} (--set) contradicts the file's {key}="
                f"{_shown(facts[key][0])} ({facts[key][1]}); running {key}={_shown(value)} as asked"
            )
        values[key], sources[key] = value, ("flag", f"--set {key}={_shown(value)}")
    for key, advice in {**EXPORTER_LOSSES, **LOSSES}.get(profile or "", {}).items():
        source, why = sources[key]
        if source == "profile" or (source == "file" and why.endswith(_V_RESET)):
            notes.append(f"profile {profile}: {key}={_shown(values[key])}, but {advice}")
    if profile == "snntorch" and graph.semantics is None:
        biased = _recurrent_biases(graph)
        if biased:
            notes.append(
                f"profile snntorch: the recurrent Affine {', '.join(biased)} has a bias, which "
                "snnTorch adds from the first step (V(0) = bias) while a NIR back edge carries "
                "nothing in it; the first steps differ from the native model (snnx convert moves "
                "the bias onto its own node)"
            )
    if graph.semantics is None:
        notes += exporter_notes(graph, profile, values, {k: v[0] for k, v in sources.items()})
    name = profile or (graph.semantics.profile_name if graph.semantics else None)
    semantics = _build(values, name or ("nir-reference" if not facts else None))
    if warn:
        for note in notes:
            warnings.warn(note, SnnxWarning, stacklevel=2)
    table = {
        k: {"value": values[k], "source": sources[k][0], "why": sources[k][1]}
        for k in sorted(values, key=_order)
    }
    return Resolution(semantics, table, tuple(notes))


def _recurrent_biases(graph: Graph, prefix: str = "") -> list[str]:
    """Affine nodes with a non-zero bias inside a recurrent loop, at any depth."""
    import numpy as np

    found = []
    for name in (n for group in graph.recurrent_groups() for n in group):
        node = graph[name]
        if isinstance(node, Node) and node.type == "Affine" and np.any(node.fields["bias"]):
            found.append(f"{prefix}{name}")
    for name in graph.flow_order():
        inner = graph[name]
        if isinstance(inner, Graph):
            found += _recurrent_biases(inner, f"{prefix}{name}.")
    return found


def _flat(semantics: Semantics) -> dict[str, Any]:
    flat = {k: getattr(semantics, k) for k in KNOBS}
    for scope, changes in semantics.overrides.items():
        flat.update({f"{scope}.{k}": v for k, v in changes.items()})
    return flat


def _build(values: Mapping[str, Any], profile_name: str | None) -> Semantics:
    knobs = {k: v for k, v in values.items() if "." not in k}
    overrides: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        if "." in key:
            scope, _, knob = key.rpartition(".")
            overrides.setdefault(scope, {})[knob] = value
    return Semantics(**knobs, overrides=overrides, profile_name=profile_name)


def _typed(knob: str, text: str) -> Any:
    if knob in CHOICES:
        return text
    try:
        return int(text) if knob == "max_spikes" else float(text)
    except ValueError:
        return text  # an expression (tau/dt, ...) or a bad value `_build` names


def _order(key: str) -> tuple[int, str]:
    return (KNOBS.index(key), "") if key in KNOBS else (len(KNOBS), key)


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
