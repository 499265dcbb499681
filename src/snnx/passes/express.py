"""`express`: the same network re-written to run under other semantics.

Every integrator makes a neuron's step affine, ``v' = A v + B x + C`` (with a current,
``i' = As i + Bs x`` and a gain from ``i`` to ``v``); see `snnx.dynamics`. A graph
expressed for a target semantics keeps those coefficients: from the source's (its own semantics,
field overrides included) it solves the target's fields at the target's ``dt``::

    euler:                 tau' = dt' / (1 - A),       r' = B tau' / dt'
    exact, exp-decay:      tau' = -dt' / ln A,         r' = B / (1 - A)  (exact),  B tau' / dt'
    always                 v_leak' = C / (1 - A);      IF/I: r' = B / dt'

A gain the target fixes (an importer that ignores ``r``: Norse's LIF, Sinabs, Spyx), or
``unit_gain=True`` (input gain 1, as snnTorch's importer wants one gain per layer), leaves a
factor ``k`` = wanted / achieved gain, which is folded into the weights feeding the neuron (rows of
an ``Affine``/``Linear``, output channels of a convolution; each such layer must feed only this
neuron). Delays keep their number of steps. What the target cannot express is an error naming the
node: a different reset, reset or spike timing, threshold test, spikes per step, floor, current
timing, initial voltage, a field it fixes to another value, or a gain to fold with no weights in
front of the neuron. The result is flat (subgraphs inlined) and stores the target semantics.
As a pass (``express``, option ``target=PROFILE``, ``unit_gain``), the manager's equivalence check
runs the result under the semantics it stores.

>>> import snnx
>>> g = snnx.read(snnx.example_path("braille"))
>>> g.semantics = snnx.Semantics.profile("snntorch-nir")
>>> h = express(g, snnx.Semantics.profile("snntorch-nir", dt=1e-3))
>>> round(float(h["lif2"].tau_mem[0] / g["lif2"].tau_mem[0]), 6)
10.0
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from snnx import dynamics
from snnx.importers.requirements import ConversionError
from snnx.ir.graph import Graph
from snnx.ir.node import Node
from snnx.ir.schema import SCHEMA
from snnx.passes.base import PassContext, register
from snnx.semantics import Semantics
from snnx.sim.simulator import resolve_semantics

_SPIKING_KNOBS = ("reset", "reset_timing", "spike_output", "threshold", "max_spikes", "v_min")


def _decay_gain(tau: np.ndarray, dt: float, integrator: str) -> tuple[np.ndarray, np.ndarray]:
    """``(A, gain per unit r)`` of ``tau dv/dt = -v + r x`` (`snnx.dynamics.leaky`)."""
    decay, gain, _ = dynamics.leaky(tau, 1.0, 0.0, dt, integrator)
    return decay, gain


def _tau_for(a: np.ndarray, dt: float, integrator: str, name: str, field: str) -> np.ndarray:
    if np.any(a >= 1.0) or (integrator != "euler" and np.any(a <= 0.0)):
        raise ConversionError(
            f"a decay factor of {float(np.max(a)) if np.any(a >= 1) else float(np.min(a)):g} per "
            f"step has no time constant under the {integrator} integrator",
            node=name,
            field=field,
        )
    return dynamics.time_constant(a, dt, integrator)


def express(
    graph: Graph,
    target: Semantics | str,
    *,
    source: Semantics | str | None = None,
    unit_gain: bool = False,
) -> Graph:
    """``graph`` (under ``source``: given, else its own) re-written to behave the same under
    ``target`` (see the module docstring). Raises `ConversionError` where it cannot."""
    source = resolve_semantics(graph, source)
    target = Semantics.profile(target) if isinstance(target, str) else target
    if source.spike_amplitude != target.spike_amplitude:
        raise ConversionError(
            f"spike amplitude {source.spike_amplitude} cannot become {target.spike_amplitude}"
        )
    flat = graph.flatten()
    shapes = flat.check()
    out = flat.copy()
    fold: dict[str, np.ndarray] = {}
    for name, node in flat.primitives.items():
        if node.type == "Delay":
            steps = np.round(np.asarray(node.delay, np.float64) / source.dt)
            out.replace_node(name, node.replace(delay=steps * target.dt))
        elif node.type == "Threshold":
            _same(name, node.type, source, target, ("threshold",))
        elif SCHEMA[node.type].category == "neuron":
            new, k = _neuron(name, node, source, target, unit_gain)
            out.replace_node(name, new)
            if k is not None:
                fold[name] = np.broadcast_to(k, shapes[name].output)
    for name, k in fold.items():
        _fold(out, name, k)
    out.semantics = target
    out.check()
    return out


def _same(
    name: str, type_name: str, source: Semantics, target: Semantics, knobs: tuple[str, ...]
) -> None:
    s, t = source.for_type(type_name), target.for_type(type_name)
    for knob in knobs:
        if getattr(s, knob) != getattr(t, knob):
            raise ConversionError(
                f"the target semantics has {knob}={getattr(t, knob)!r}, the model "
                f"{getattr(s, knob)!r}; {type_name} cannot be expressed",
                node=name,
            )


def _neuron(
    name: str, node: Node, source: Semantics, target: Semantics, unit_gain: bool
) -> tuple[Node, np.ndarray | None]:
    t_name = node.type
    kind, spiking = SCHEMA[t_name].neuron, SCHEMA[t_name].spiking
    s, t = source.for_type(t_name), target.for_type(t_name)
    if spiking:
        _same(name, t_name, source, target, _SPIKING_KNOBS)
    raw = {k: np.asarray(v, np.float64) for k, v in node.fields.items()}
    p = dynamics.effective_fields(t_name, raw, source)
    fixed = dynamics.fixed_fields(t_name, target)
    fields: dict[str, Any] = {}
    if kind == "integrator":
        gain = s.dt * p["r"]
        natural = np.full_like(gain, t.dt)
        fields["r"], k = _gain("r", gain, natural, fixed, t, unit_gain, name, p)
    elif kind == "leaky":
        a, g = _decay_gain(p["tau"], s.dt, s.integrator)
        b, c = p["r"] * g, p["v_leak"] * (1.0 - a)
        tau = _tau_for(a, t.dt, t.integrator, name, "tau")
        _, g_t = _decay_gain(tau, t.dt, t.integrator)
        fields["tau"] = tau
        fields["r"], k = _gain("r", b, g_t, fixed, t, unit_gain, name, {**p, "tau": tau})
        fields["v_leak"] = c / (1.0 - a)
    elif "exact" in (s.integrator, t.integrator):
        if (
            s.integrator != t.integrator
            or s.dt != t.dt
            or any(k in fixed for k in ("r", "w_in", "v_leak"))
        ):
            raise ConversionError(
                f"a {t_name} under the exact integrator is re-expressed only under the same "
                "integrator and dt",
                node=name,
            )
        fields = {k: v for k, v in p.items() if k not in ("v_threshold", "v_reset")}
        k = None
    else:
        _same(name, t_name, source, target, ("current",))
        w_in = p.get("w_in", np.ones_like(p["tau_syn"]))
        a_s, g_s = _decay_gain(p["tau_syn"], s.dt, s.integrator)
        a_m, g_m = _decay_gain(p["tau_mem"], s.dt, s.integrator)
        tau_syn = _tau_for(a_s, t.dt, t.integrator, name, "tau_syn")
        tau_mem = _tau_for(a_m, t.dt, t.integrator, name, "tau_mem")
        _, gs_t = _decay_gain(tau_syn, t.dt, t.integrator)
        _, gm_t = _decay_gain(tau_mem, t.dt, t.integrator)
        q = {**p, "tau_syn": tau_syn, "tau_mem": tau_mem}
        # The voltage's gain from the input is (w_in gs) (r gm): keep r gm unless the target
        # fixes r, put the rest on w_in, and fold what neither can hold into the weights.
        if "r" in fixed:
            r = np.broadcast_to(dynamics.resolve_field(fixed["r"], q, t.dt), np.shape(tau_mem))
            r = np.asarray(r, np.float64)
        else:
            r = p["r"] * g_m / gm_t
        total = w_in * g_s * p["r"] * g_m
        fields["tau_syn"], fields["tau_mem"], fields["r"] = tau_syn, tau_mem, r
        wanted = total / (r * gm_t)
        fields["w_in"], k = _gain("w_in", wanted, gs_t, fixed, t, unit_gain, name, q)
        fields["v_leak"] = p["v_leak"]
    if spiking:
        fields["v_threshold"] = p["v_threshold"]
        fields["v_reset"] = p.get("v_reset", np.zeros_like(p["v_threshold"]))
    for key, value in fixed.items():
        if key in fields and key not in ("r", "w_in"):
            wanted = np.asarray(dynamics.resolve_field(value, fields, t.dt), np.float64)
            matters = key != "v_reset" or (s.reset == "zero" and spiking)
            if matters and not np.allclose(fields[key], wanted, rtol=1e-9, atol=1e-12):
                raise ConversionError(
                    f"the target semantics fixes {key} to {value!r}; the model needs "
                    f"{_show(fields[key])}",
                    node=name,
                    field=key,
                )
            fields[key] = np.broadcast_to(wanted, np.shape(fields[key])).copy()
    _check_start(name, t_name, p, fields, s, t)
    return node.replace(**{key: np.asarray(v, np.float64) for key, v in fields.items()}), k


def _gain(
    field: str,
    wanted: np.ndarray,
    natural: np.ndarray,
    fixed: Mapping[str, Any],
    t: Semantics,
    unit_gain: bool,
    name: str,
    p: Mapping[str, Any],
) -> tuple[Any, np.ndarray | None]:
    """The field value giving gain ``wanted`` (``field * natural``) and the factor left over."""
    if field in fixed:
        value = np.asarray(dynamics.resolve_field(fixed[field], p, t.dt), np.float64)
        value = np.broadcast_to(value, np.shape(wanted)).astype(np.float64)
        k = wanted / (value * natural)
    elif unit_gain:
        value, k = 1.0 / natural, wanted
    else:
        return wanted / natural, None
    return value, (None if np.allclose(k, 1.0, rtol=1e-12, atol=0) else k)


def _check_start(
    name: str,
    t_name: str,
    p: Mapping[str, Any],
    fields: Mapping[str, Any],
    s: Semantics,
    t: Semantics,
) -> None:
    def start(values: Mapping[str, Any], semantics: Semantics) -> np.ndarray:
        return np.asarray(dynamics.start_voltage(values, semantics), np.float64)

    if not np.allclose(start(p, s), start(fields, t), atol=1e-12):
        raise ConversionError(
            f"the voltage starts at {s.v_init} ({_show(start(p, s))}) in the model but at "
            f"{t.v_init} ({_show(start(fields, t))}) under the target semantics",
            node=name,
            field="v_init",
        )


def _show(value: Any) -> str:
    flat = np.asarray(value).reshape(-1)
    return f"{flat[0]:g}" if np.all(flat == flat[0]) else f"{flat[:3].tolist()}..."


def _fold(graph: Graph, name: str, k: np.ndarray) -> None:
    """Scale what feeds ``name`` by ``k`` (per neuron) through the weights in front of it."""
    preds = list(dict.fromkeys(graph.predecessors(name)))
    for pred in preds:
        node = graph[pred]
        alone = set(graph.successors(pred)) == {name}
        if not (isinstance(node, Node) and SCHEMA[node.type].shape in ("dense", "conv") and alone):
            raise ConversionError(
                f"the target needs this neuron's input scaled by {_show(k)}, but '{pred}' "
                f"({getattr(node, 'type', 'subgraph')}) is not a weight layer feeding only it",
                node=name,
            )
        weight = np.asarray(node.weight)
        if SCHEMA[node.type].shape == "conv":
            per = k.reshape(k.shape[0], -1)
            if not np.allclose(per, per[:, :1]):
                raise ConversionError(
                    f"the input scaling varies within a channel; '{pred}' cannot hold it",
                    node=name,
                )
            row = per[:, 0]
        else:
            row = k.reshape(-1)
        expand = (slice(None),) + (None,) * (weight.ndim - 1)
        changes = {"weight": (weight * row[expand]).astype(weight.dtype)}
        if "bias" in node.fields:
            bias = np.asarray(node.bias)
            changes["bias"] = (np.broadcast_to(bias, row.shape) * row).astype(bias.dtype)
        graph.replace_node(pred, node.replace(**changes))


@register("express", exact=False)
def express_pass(graph: Graph, ctx: PassContext) -> Graph:
    """The graph re-written to behave the same under the semantics ``options["target"]`` (a
    profile name), from ``ctx.semantics`` (`express`); the result stores the target semantics.
    Exact up to the float rounding of the re-derived fields (tau from its decay, ...), so not
    marked exact: with ``--check-equivalence`` the manager reports the difference, running the
    result under the semantics it stores."""
    target = ctx.options.get("target")
    if target is None:
        raise ConversionError("the express pass needs the option target=PROFILE")
    out = express(graph, target, source=ctx.semantics, unit_gain=bool(ctx.options.get("unit_gain")))
    profile = None if out.semantics is None else out.semantics.profile_name
    ctx.note(f"expressed for {profile or 'the target semantics'}")
    return out
