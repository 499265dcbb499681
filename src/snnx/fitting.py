"""The semantics fitter: the knobs of `snnx.semantics.Semantics`, and dt, under which snnx's
simulator reproduces a trace recorded by another simulator or a chip (`snnx.traces`).

The residual of candidate semantics ``s`` on a trace with input ``x``, spike counts ``n`` and,
optionally, voltages ``u`` (of the neuron that drives the Output):

- spike mismatches ``m(s) = sum_t,k |c_tk(s) - n_tk|``, ``c`` the simulated spike counts (the
  emitted value over the spike amplitude);
- voltage RMS ``e(s) = sqrt(mean((g v(s) - u)^2))`` with the least-squares scale
  ``g = <v, u> / <v, v>``: frameworks and chips record v in their own units (snnTorch divides it
  by ``r dt / tau``, chips hold integers), so ``g`` is reported, not imposed.

Candidates are ordered by ``m``, then ``e``; two match *equally well* when their ``m`` are equal
and their ``e`` differ by at most `V_TOLERANCE` times the trace's largest ``|u|``.

The search, over the variables dt, every knob of `snnx.semantics.CHOICES`, ``max_spikes``
(1 or 0, no limit) and, per neuron type of the graph, each overridable field (the file's value or
one of the overrides some profile uses, such as ``r = tau/dt``):

1. dt candidates: the trace's time column, 1e-4, 1e-3 and each profile's dt;
2. starting points: every profile at every dt candidate, its per-type knobs folded in
   (`Fitter.project`);
3. from the `STARTS` best, local search: change one variable at a time, take the best change,
   until none improves;
4. the plateau: every setting that matches equally well and is reachable by single changes from
   the best, from another descent's end or from a starting point as good; a variable that varies
   on it is one the trace does not determine.

Candidates that run identically on the graph (equal step coefficients, computed in float64, for
every neuron, and equal firing, reset and output knobs) share one simulation
(`Fitter.behaviour`), so a knob that cannot matter to this graph (the current on a graph
without ``CubaLIF``) costs nothing. The simulations are the simulator's own programs
(`snnx.sim.Simulator`), `BATCH` of them jitted together into one compiled function.

>>> import numpy as np
>>> from snnx.ir import Graph, Node
>>> from snnx.traces import Trace
>>> graph = Graph.sequential({"in": Node("Input", shape=[1]),
...     "if": Node("IF", r=[1.0], v_threshold=[2.5], v_reset=[0.0]),
...     "out": Node("Output", shape=[1])})
>>> spikes = np.array([[0], [0], [1], [0], [0], [1], [0], [0]])  # v: 1 2 3->0 1 2 3->0 1 2
>>> fitter = Fitter(graph, Trace(np.ones((8, 1)), spikes, None, None, "example"))
>>> [fitter.score(Semantics(dt=1.0, reset=r)).spikes for r in ("zero", "subtract")]
[0.0, 1.0]
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from snnx import dynamics
from snnx.errors import SnnxError
from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.schema import SCHEMA
from snnx.ir.shapes import infer_shapes
from snnx.semantics import CHOICES, OVERRIDABLE_FIELDS, PROFILES, Semantics
from snnx.traces import Trace

#: Voltage RMS differences below this fraction of the trace's largest |v| count as equal.
V_TOLERANCE = 1e-4
#: How many of the best starting points the local search starts from.
STARTS = 3
#: Common time steps tried besides the trace's own and the profiles'.
COMMON_DT = (1e-4, 1e-3)
#: The values of ``max_spikes`` tried: one spike per step, or no limit.
MAX_SPIKES = (1, 0)
#: Candidates compiled together into one jitted function.
BATCH = 32
#: At most this many equally good settings are collected.
PLATEAU_LIMIT = 20000

KNOBS = (*CHOICES, "max_spikes")


@dataclasses.dataclass(frozen=True, order=True)
class Residual:
    """How far a simulation is from the trace: spike mismatches, then voltage RMS (0 without
    a v column) and the voltage scale that RMS was computed with."""

    spikes: float
    v_rms: float = 0.0
    v_scale: float = dataclasses.field(default=1.0, compare=False)


@dataclasses.dataclass(frozen=True)
class Fit:
    """What the fitter found.

    ``semantics``: the best match (among equally good settings, the one closest to a profile);
    ``residual``: its `Residual`; ``equal``: every setting found that matches equally well (the
    best included), each as `Fitter.setting` describes it; ``determined``/``undetermined``: the
    variables that are the same on all of them, and the values the others take;
    ``profiles``: profiles that reproduce the trace equally well at one of the fitted dt values;
    ``closest``: the profile nearest to the best match and the variables in which it differs;
    ``simulations``: how many simulations the search ran.
    """

    semantics: Semantics
    residual: Residual
    equal: tuple[dict[str, Any], ...]
    determined: dict[str, Any]
    undetermined: dict[str, tuple[Any, ...]]
    profiles: tuple[str, ...]
    closest: tuple[str, dict[str, tuple[Any, Any]]]
    simulations: int
    trace_spikes: int
    complete: bool = True

    def to_json(self) -> dict[str, Any]:
        """The fit as plain JSON values."""
        return {
            "semantics": self.semantics.to_metadata(),
            "residual": {
                "spike_mismatches": _number(self.residual.spikes),
                "trace_spikes": self.trace_spikes,
                "v_rms": self.residual.v_rms,
                "v_scale": self.residual.v_scale,
            },
            "determined": self.determined,
            "undetermined": {k: list(v) for k, v in self.undetermined.items()},
            "equal_settings": len(self.equal),
            "equal": list(self.equal),
            "complete": self.complete,
            "profiles": list(self.profiles),
            "closest_profile": {
                "name": self.closest[0],
                "differs": {k: list(v) for k, v in self.closest[1].items()},
            },
            "simulations": self.simulations,
        }


class Fitter:
    """Scores candidate semantics of one graph against one trace (see the module docstring).

    ``graph`` needs one Input and one Output, the Output fed by a spiking node; the trace's
    columns must have as many elements as the Input takes and the Output gives (and ``v`` as
    many as the node driving the Output has). The module docstring has an example.
    """

    def __init__(self, graph: Graph, trace: Trace, dts: tuple[float, ...] | None = None) -> None:
        self.graph = graph.flatten()
        self.trace = trace
        g = self.graph
        if len(g.inputs) != 1 or len(g.outputs) != 1:
            raise SnnxError(
                f"the fitter takes a graph with one Input and one Output (this one has "
                f"{len(g.inputs)} and {len(g.outputs)})"
            )
        shapes = infer_shapes(g)
        self.input, self.output = g.inputs[0], g.outputs[0]
        self.input_shape = tuple(shapes[self.input].output)
        sources = g.predecessors(self.output)
        if len(sources) != 1 or not SCHEMA[g[sources[0]].type].spiking:
            raise SnnxError(
                f"the Output '{self.output}' must be fed by one spiking node to compare spikes",
                node=self.output,
            )
        self.driver: str = sources[0]
        driver_type = g[self.driver].type
        self._check_width(
            "input", trace.input, math.prod(self.input_shape), f"Input '{self.input}'"
        )
        out_size = math.prod(shapes[self.output].input)
        self._check_width("spike", trace.spikes, out_size, f"Output '{self.output}'")
        if trace.v is not None:
            if SCHEMA[driver_type].category != "neuron":
                raise SnnxError(
                    f"column 'v': the Output is fed by '{self.driver}' ({driver_type}), which "
                    "has no voltage",
                    file=trace.source,
                )
            self._check_width("v", trace.v, out_size, f"neuron '{self.driver}'")
        self.v_tolerance = (
            V_TOLERANCE * max(float(np.abs(trace.v).max()), 1e-30) if trace.v is not None else 0.0
        )
        self.neurons = {
            name: (
                node.type,
                {
                    k: np.asarray(v, np.float64)
                    for k, v in node.fields.items()
                    if k in SCHEMA[node.type].params
                },
            )
            for name, node in g.nodes.items()
            if isinstance(node, Node) and SCHEMA[node.type].category == "neuron"
        }
        self.types = tuple(sorted({t for t, _ in self.neurons.values()}))
        # Other nodes that read the semantics: thresholds (> or >=, amplitude) and delays (dt).
        self.others = sorted(
            {g[n].type for n in g if SCHEMA[g[n].type].category in ("threshold", "delay")}
        )
        self.dts = _dts(trace.dt, dts)
        self.fields = self._field_options()
        self.simulations = 0
        self._scores: dict[tuple, Residual] = {}
        self._failure: SnnxError | None = None
        self._keys: dict[tuple, tuple] = {}
        self._x = np.asarray(trace.input, np.float32).reshape(trace.steps, 1, *self.input_shape)

    def _check_width(self, column: str, values: np.ndarray, size: int, what: str) -> None:
        if values.shape[1] != size:
            raise SnnxError(
                f"column '{column}': {values.shape[1]} value(s) per row, but {what} has {size}",
                file=self.trace.source,
            )

    def _field_options(self) -> dict[str, dict[str, tuple[Any, ...]]]:
        """Per neuron type and field: the file's value (None) and the overrides profiles use."""
        options: dict[str, dict[str, tuple[Any, ...]]] = {}
        for t in self.types:
            options[t] = {}
            for field in OVERRIDABLE_FIELDS[t]:
                values: list[Any] = [None]
                for profile in PROFILES.values():
                    value = dynamics.fixed_fields(t, profile).get(field)
                    if value is not None and value not in values and _valid(t, field, value):
                        values.append(value)
                if len(values) > 1:
                    options[t][field] = tuple(values)
        return options

    # -- candidates ---------------------------------------------------------------------------

    def project(self, profile: Semantics, dt: float) -> Semantics:
        """``profile`` at ``dt`` with its overrides written per neuron type of this graph: with
        one neuron type, its knobs become the global ones."""
        base = profile.for_type(self.types[0]) if len(self.types) == 1 else profile
        knobs = {k: getattr(base, k) for k in KNOBS}
        overrides = {}
        for t in self.types:
            own = profile.for_type(t)
            changes = {k: getattr(own, k) for k in KNOBS if getattr(own, k) != knobs[k]}
            changes.update(dynamics.fixed_fields(t, profile))
            if changes:
                overrides[t] = changes
        return Semantics(dt=dt, **knobs, overrides=overrides)

    def neighbours(self, s: Semantics) -> Iterator[Semantics]:
        """Every setting one variable away from ``s``."""
        for dt in self.dts:
            if dt != s.dt:
                yield s.replace(dt=dt)
        for knob in KNOBS:
            for value in MAX_SPIKES if knob == "max_spikes" else CHOICES[knob]:
                moved = _set_knob(s, knob, value)
                if moved != s:
                    yield moved
        for t, fields in self.fields.items():
            for field, values in fields.items():
                for value in values:
                    moved = _set_field(s, t, field, value)
                    if moved != s:
                        yield moved

    def setting(self, s: Semantics) -> dict[str, Any]:
        """``s`` as the fitter's variables: dt, each knob (per neuron type, ``LIF.reset``, when
        the graph has several types), and each searched field (``LIF.r``: ``"file"`` or the
        override)."""
        out: dict[str, Any] = {"dt": s.dt}
        for knob in KNOBS:
            if len(self.types) == 1:
                out[knob] = getattr(s.for_type(self.types[0]), knob)
            elif not self.types:
                out[knob] = getattr(s, knob)
            else:
                out.update({f"{t}.{knob}": getattr(s.for_type(t), knob) for t in self.types})
        for t, fields in self.fields.items():
            for field in fields:
                out[f"{t}.{field}"] = dynamics.fixed_fields(t, s).get(field, "file")
        return out

    def behaviour(self, s: Semantics) -> tuple:
        """A key equal for semantics that run identically on this graph: the global spike
        amplitude (inputs are scaled by it), per neuron its float64 step coefficients and the
        knobs that decide firing, reset and output, per Threshold and Delay what they read."""
        ident = identity(s)
        if ident in self._keys:
            return self._keys[ident]
        parts: list[Any] = [dynamics.amplitude(s)]
        for name, (node_type, fields) in self.neurons.items():
            own = s.for_type(node_type)
            q = dynamics.coefficients(node_type, fields, s)
            spiking = SCHEMA[node_type].spiking
            if not spiking or own.reset != "zero":
                q.pop("v_reset", None)
            parts.append(
                (name, *((k, np.asarray(v, np.float64).tobytes()) for k, v in sorted(q.items())))
            )
            if spiking:
                timing = own.reset_timing if own.reset != "none" else None
                parts.append(
                    (own.threshold, own.max_spikes, own.v_min, own.spike_output, own.reset, timing)
                )
                parts.append(dynamics.amplitude(own))
        for other in self.others:
            own = s.for_type(other)
            parts.append((other, own.threshold, dynamics.amplitude(own), own.dt))
        key = tuple(parts)
        self._keys[ident] = key
        return key

    # -- scoring ------------------------------------------------------------------------------

    def score(self, s: Semantics) -> Residual:
        """The residual of ``s`` (simulated once per distinct `behaviour`)."""
        return self.score_all([s])[0]

    def score_all(self, candidates: list[Semantics]) -> list[Residual]:
        """The residuals of ``candidates``; those not yet simulated run `BATCH` at a time, each
        batch one jitted function of the simulator's programs (one compilation)."""
        keys = [self.behaviour(s) for s in candidates]
        todo: dict[tuple, Semantics] = {}
        for key, s in zip(keys, candidates, strict=True):
            if key not in self._scores:
                todo.setdefault(key, s)
        pending = list(todo.items())
        for start in range(0, len(pending), BATCH):
            chunk = pending[start : start + BATCH]
            for (key, _), residual in zip(
                chunk, self._simulate([s for _, s in chunk]), strict=True
            ):
                self._scores[key] = residual
        return [self._scores[key] for key in keys]

    def _simulate(self, candidates: list[Semantics]) -> list[Residual]:
        import jax

        from snnx.sim import Simulator

        record = [self.driver] if self.trace.v is not None else []
        results: list[Residual | None] = []
        programs, params = [], []
        for s in candidates:
            try:
                simulator = Simulator(self.graph, s, record=record)
            except SnnxError as err:  # e.g. a delay that is no whole number of steps at this dt
                self._failure = err
                results.append(Residual(math.inf, math.inf))
                continue
            results.append(None)
            programs.append(simulator.forward_program)
            params.append(simulator.params)
        self.simulations += len(programs)

        def run(params: list[Any], x: jax.Array) -> list[Any]:
            return [p.run(q, {self.input: x})[:2] for p, q in zip(programs, params, strict=True)]

        with jax.default_matmul_precision("highest"):
            runs = iter(jax.device_get(jax.jit(run)(params, self._x)) if programs else [])
        return [
            result if result is not None else self._residual(s, *next(runs))
            for s, result in zip(candidates, results, strict=True)
        ]

    def _residual(self, s: Semantics, outputs: Mapping, records: Mapping) -> Residual:
        own = s.for_type(self.graph[self.driver].type)
        steps = self.trace.steps
        counts = np.asarray(outputs[self.output], np.float64).reshape(steps, -1)
        counts = counts / dynamics.amplitude(own)
        mismatches = float(np.abs(counts - self.trace.spikes).sum())
        if not math.isfinite(mismatches):
            return Residual(math.inf, math.inf)
        if self.trace.v is None:
            return Residual(mismatches)
        v = np.asarray(records[f"{self.driver}.v"], np.float64).reshape(steps, -1)
        u = self.trace.v
        if not np.all(np.isfinite(v)):
            return Residual(mismatches, math.inf)
        norm = float((v * v).sum())
        scale = float((v * u).sum()) / norm if norm > 0 else 1.0
        return Residual(mismatches, float(np.sqrt(np.mean((scale * v - u) ** 2))), scale)

    def verify(self, s: Semantics) -> Residual:
        """The residual of ``s`` as `snnx.sim.simulate` runs it alone (what ``snnx simulate``
        does with a file storing ``s``), outside the search's batches."""
        from snnx.sim import Simulator

        record = [self.driver] if self.trace.v is not None else []
        result = Simulator(self.graph, s, record=record)(self._x)
        return self._residual(s, result.outputs, result.records)

    def better(self, a: Residual, b: Residual) -> bool:
        """Whether ``a`` is strictly better than ``b`` (beyond the voltage tolerance)."""
        return a.spikes < b.spikes or (
            a.spikes == b.spikes and a.v_rms < b.v_rms - self.v_tolerance
        )

    def same(self, a: Residual, b: Residual) -> bool:
        """Whether ``a`` and ``b`` match the trace equally well."""
        return a.spikes == b.spikes and (
            abs(a.v_rms - b.v_rms) <= self.v_tolerance or a.v_rms == b.v_rms
        )

    # -- search -------------------------------------------------------------------------------

    def fit(self, progress: Callable[[str], None] | None = None) -> Fit:
        """Run the search (module docstring) and return the `Fit`."""
        say = progress or (lambda text: None)
        starts = [self.project(p, dt) for p in PROFILES.values() for dt in self.dts]
        unique: dict[tuple, Semantics] = {}
        for s in starts:
            unique.setdefault(identity(s), s)
        self.score_all(list(unique.values()))
        ranked = sorted(unique.values(), key=self.score)
        say(f"{len(starts)} starting points, {self.simulations} simulations")
        seeds: list[Semantics] = []
        for s in ranked:
            if all(self.behaviour(s) != self.behaviour(t) for t in seeds):
                seeds.append(s)
            if len(seeds) == STARTS:
                break
        ends = [self._descend(seed) for seed in seeds]
        best = ranked[0]
        for found in ends:
            if self.better(self.score(found), self.score(best)):
                best = found
        say(f"local search done, {self.simulations} simulations")
        if not math.isfinite(self.score(best).spikes):
            why = f" (e.g. {self._failure})" if self._failure else ""
            raise SnnxError(f"no candidate semantics gives a finite residual{why}")
        # Every descent's end and starting point as good as the best seeds the plateau, so
        # equally good settings that no single change connects are found too.
        roots = [s for s in [best, *ends, *ranked] if self.same(self.score(s), self.score(best))]
        while True:
            plateau, improved, complete = self._plateau(roots)
            if improved is None:
                break
            best = self._descend(improved)
            roots = [best]
        say(f"{len(plateau)} equally good settings, {self.simulations} simulations")
        return self._report(plateau[0], plateau, complete)

    def _descend(self, s: Semantics) -> Semantics:
        """Best single changes until none improves."""
        current = s
        while True:
            best = current
            moves = list(self.neighbours(current))
            for moved, score in zip(moves, self.score_all(moves), strict=True):
                if self.better(score, self.score(best)):
                    best = moved
            if best is current:
                return current
            current = best

    def _plateau(self, roots: list[Semantics]) -> tuple[list[Semantics], Semantics | None, bool]:
        """Settings as good as ``roots`` (equally good ones) reachable from them by single
        changes; or a better one."""
        target = self.score(roots[0])
        unique = {identity(s): s for s in reversed(roots)}
        plateau = [unique[k] for k in dict.fromkeys(identity(s) for s in roots)]
        seen = set(unique)
        frontier = list(plateau)
        while frontier:
            moves = []
            for s in frontier:
                for moved in self.neighbours(s):
                    if identity(moved) not in seen:
                        seen.add(identity(moved))
                        moves.append(moved)
            frontier = []
            for moved, score in zip(moves, self.score_all(moves), strict=True):
                if self.better(score, target):
                    return plateau, moved, True
                if self.same(score, target):
                    plateau.append(moved)
                    frontier.append(moved)
            if len(plateau) >= PLATEAU_LIMIT:
                return plateau, None, False
        return plateau, None, True

    def _report(self, best: Semantics, plateau: list[Semantics], complete: bool) -> Fit:
        settings = [self.setting(s) for s in plateau]
        names = list(settings[0])
        determined, undetermined = {}, {}
        for name in names:
            values = list(dict.fromkeys(s[name] for s in settings))
            if len(values) == 1:
                determined[name] = values[0]
            else:
                undetermined[name] = tuple(values)
        keys = {self.behaviour(s) for s in plateau}
        dts = sorted({s.dt for s in plateau})
        matching = tuple(
            name
            for name, profile in PROFILES.items()
            if any(self.behaviour(self.project(profile, dt)) in keys for dt in dts)
        )
        chosen = best
        closest: tuple[str, dict[str, tuple[Any, Any]]] = ("", {})
        distance = math.inf
        for name, profile in PROFILES.items():
            for s, setting in zip(plateau, settings, strict=True):
                other = self.setting(self.project(profile, s.dt))
                differs = {k: (other[k], v) for k, v in setting.items() if other[k] != v}
                if len(differs) < distance:
                    distance, chosen, closest = len(differs), s, (name, differs)
        return Fit(
            semantics=chosen,
            residual=self.score(chosen),
            equal=tuple(settings),
            determined=determined,
            undetermined=undetermined,
            profiles=matching,
            closest=closest,
            simulations=self.simulations,
            trace_spikes=int(self.trace.spikes.sum()),
            complete=complete,
        )


def fit(graph: Graph, trace: Trace, dts: tuple[float, ...] | None = None) -> Fit:
    """Fit semantics (and dt) to ``trace``: `Fitter` ``(graph, trace, dts).fit()``. ``dts``
    replaces the dt candidates (default: the trace's time step, `COMMON_DT` and the profiles'); the
    module docstring has an example."""
    return Fitter(graph, trace, dts).fit()


def identity(s: Semantics) -> tuple:
    """A hashable value equal for equal semantics (a `Semantics` holds dicts).

    >>> identity(Semantics.profile("norse")) == identity(Semantics.profile("norse"))
    True
    """
    overrides = tuple(
        sorted(
            (t, tuple(sorted(o.items(), key=lambda item: item[0]))) for t, o in s.overrides.items()
        )
    )
    return (s.dt, *(getattr(s, k) for k in KNOBS), overrides)


def _dts(trace_dt: float | None, given: tuple[float, ...] | None) -> tuple[float, ...]:
    if given:
        return tuple(dict.fromkeys(float(dt) for dt in given))
    found = [trace_dt] if trace_dt else []
    found += [*COMMON_DT, *(p.dt for p in PROFILES.values())]
    return tuple(dict.fromkeys(found))


def _set_knob(s: Semantics, knob: str, value: Any) -> Semantics:
    """``s`` with ``knob`` set to ``value`` for every node type."""
    overrides = {t: {k: v for k, v in o.items() if k != knob} for t, o in s.overrides.items()}
    return s.replace(**{knob: value}, overrides={t: o for t, o in overrides.items() if o})


def _set_field(s: Semantics, node_type: str, field: str, value: Any) -> Semantics:
    """``s`` reading ``field`` of ``node_type`` from ``value`` (None: the file's own)."""
    overrides = {t: dict(o) for t, o in s.overrides.items()}
    own = overrides.setdefault(node_type, {})
    own.pop(field, None)
    if value is not None:
        own[field] = value
    return s.replace(overrides={t: o for t, o in overrides.items() if o})


def _valid(node_type: str, field: str, value: Any) -> bool:
    try:
        Semantics(overrides={node_type: {field: value}})
    except SnnxError:
        return False
    return True


def _number(value: float) -> float | int:
    return int(value) if math.isfinite(value) else value


def describe(fit: Fit, *, limit: int = 12) -> str:
    """The fit as text: best match, residual, determined and undetermined variables, profiles."""
    r = fit.residual
    lines = [f"best match: {fit.semantics.describe()}"]
    text = f"residual: {_number(r.spikes)} spike mismatch(es) of {fit.trace_spikes} trace spikes"
    if r.v_rms or r.v_scale != 1.0:
        text += f", voltage RMS {r.v_rms:.3g} (simulated v scaled by {r.v_scale:.6g})"
    lines.append(text)
    if fit.profiles:
        lines.append(f"profiles that match equally well: {', '.join(fit.profiles)}")
    name, differs = fit.closest
    if not fit.profiles and name:
        changes = ", ".join(f"{k}={v[1]} (profile: {v[0]})" for k, v in differs.items())
        lines.append(f"closest profile: {name}, differing in {changes}")
    lines.append(
        "determined by the trace: "
        + ", ".join(f"{k}={_show(v)}" for k, v in fit.determined.items())
    )
    if fit.undetermined:
        lines.append(f"{len(fit.equal)} settings match equally well; not determined by the trace:")
        lines += [
            f"  {k}: {', '.join(_show(x) for x in values)}"
            for k, values in list(fit.undetermined.items())[:limit]
        ]
    else:
        lines.append("every variable is determined by the trace")
    if not fit.complete:
        lines.append(f"(the search stopped after {len(fit.equal)} equally good settings)")
    lines.append(f"{fit.simulations} simulations")
    return "\n".join(lines)


def _show(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
