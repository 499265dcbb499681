"""Sinabs 3.1 neurons as NIR neurons: ``LIF``/``LIFSqueeze`` -> ``LIF`` (``CubaLIF`` with
``tau_syn``), ``IAF``/``IAFSqueeze`` -> ``IF``, ``ExpLeak``/``ExpLeakSqueeze`` -> ``LI``;
``LIFRecurrent``/``IAFRecurrent`` -> a subgraph ``{input, lif, w_rec, output}`` whose back edge
``lif -> w_rec -> lif`` carries the last step's spikes through ``rec_connect`` (a ``Linear``).

Sinabs has no time step: ``tau`` counts steps, ``a = exp(-1 / tau)``. One step::

    i' = a_syn (i + x)                    (with tau_syn; else i' = x)
    v' = a_mem v + g i'                   (g = 1 - a_mem with norm_input, else 1; IAF: a_mem = 1)
    n = floor(v' / threshold) if v' > 0   (MultiSpike; SingleSpike: n = [v' >= threshold])
    v' = v' - n threshold                 (MembraneSubtract; MembraneReset(0): v' = 0 where n > 0)
    v' = max(v', min_v_mem)               (if set)

This is snnx's ``exp-decay`` integrator (exact decay, Euler input gain ``r dt / tau``) with
``tau = tau_steps dt``, ``r = g tau / dt`` and, for the current, ``w_in = a_syn tau_syn / dt``;
IAF is IF with ``r = 1 / dt``. Semantics: profile ``sinabs`` (``>=``, any number of spikes per
step, subtract) with its importer's field overrides removed; ``min_v_mem = -threshold`` is the
``v_min`` knob, other floors are refused. The default ``dt`` is 1 (``tau`` in steps).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from snnx import dynamics
from snnx.importers.torch_maps import LayerContext, register
from snnx.importers.torch_maps.nn import array, linear
from snnx.ir.graph import Graph
from snnx.ir.node import Node

PROFILE = "sinabs"
DT = 1.0


def _spiking(m: Any, ctx: LayerContext) -> tuple[dict, np.ndarray]:
    spike_fn = getattr(m.spike_fn, "__name__", type(m.spike_fn).__name__)
    if spike_fn == "MultiSpike":
        max_spikes = 0
    elif spike_fn == "SingleSpike":
        max_spikes = 1
    else:
        raise ctx.fail(f"spike_fn {spike_fn} is not supported (MultiSpike, SingleSpike)")
    threshold = array(m.spike_threshold, np.float64)
    reset = type(m.reset_fn).__name__
    if reset == "MembraneSubtract":
        value = m.reset_fn.subtract_value
        if value is not None and not np.allclose(value, threshold):
            raise ctx.fail("MembraneSubtract by a value other than the threshold")
        mode = "subtract"
    elif reset == "MembraneReset" and float(m.reset_fn.reset_value) == 0.0:
        mode = "zero"
    else:
        raise ctx.fail(f"reset_fn {reset} is not supported (MembraneSubtract, MembraneReset(0))")
    floor = "none"
    if m.min_v_mem is not None:
        if not np.allclose(array(m.min_v_mem), -threshold):
            raise ctx.fail("min_v_mem other than -spike_threshold is not supported")
        floor = "-threshold"
    knobs = dict(
        reset=mode, threshold=">=", max_spikes=max_spikes, v_min=floor, reset_timing="same-step"
    )
    return knobs, threshold


def _taus(m: Any, dt: float) -> tuple[np.ndarray, np.ndarray | None]:
    tau_mem = array(m.tau_mem_calculated, np.float64)
    tau_syn = m.tau_syn_calculated
    return tau_mem * dt, None if tau_syn is None else array(tau_syn, np.float64) * dt


def _input_r(m: Any, tau: np.ndarray, dt: float) -> np.ndarray:
    """Sinabs adds its input with gain ``1 - e^(-dt/tau)`` (``norm_input``) or 1, after an
    exact decay: the ``r`` that gives that gain under the ``exp-decay`` integrator."""
    gain = dynamics.leaky(tau, 1.0, 0.0, dt, "exact")[1] if m.norm_input else 1.0
    return dynamics.r_for_gain(gain, tau, dt, "exp-decay")


@register("sinabs", "LIF", "LIFSqueeze")
def lif(m: Any, ctx: LayerContext) -> Node:
    """``LIF`` -> ``LIF`` (``CubaLIF`` when it has ``tau_syn``)."""
    dt = ctx.dt(DT)
    knobs, threshold = _spiking(m, ctx)
    tau, tau_syn = _taus(m, dt)
    fields = dict(
        r=_input_r(m, tau, dt),
        v_leak=np.zeros_like(tau),
        v_threshold=threshold,
        v_reset=np.zeros_like(threshold),
    )
    if tau_syn is None:
        ctx.need("LIF", PROFILE, integrator="exp-decay", **knobs)
        return Node("LIF", {"tau": tau, **fields})
    ctx.need("CubaLIF", PROFILE, integrator="exp-decay", current="new", **knobs)
    decay_syn = dynamics.leaky(tau_syn, 1.0, 0.0, dt, "exp-decay")[0]
    w_in = dynamics.r_for_gain(decay_syn, tau_syn, dt, "exp-decay")
    return Node("CubaLIF", {"tau_syn": tau_syn, "tau_mem": tau, "w_in": w_in, **fields})


@register("sinabs", "IAF", "IAFSqueeze")
def iaf(m: Any, ctx: LayerContext) -> Node:
    """``IAF`` -> ``IF`` with ``r = 1 / dt``."""
    dt = ctx.dt(DT)
    if m.tau_syn_calculated is not None:
        raise ctx.fail("IAF with tau_syn (a current without leak on the membrane) is not supported")
    knobs, threshold = _spiking(m, ctx)
    ctx.need("IF", PROFILE, **knobs)
    return Node(
        "IF",
        r=np.full(threshold.shape, 1.0 / dt),
        v_threshold=threshold,
        v_reset=np.zeros_like(threshold),
    )


@register("sinabs", "ExpLeak", "ExpLeakSqueeze")
def exp_leak(m: Any, ctx: LayerContext) -> Node:
    """``ExpLeak`` -> ``LI``."""
    dt = ctx.dt(DT)
    tau, tau_syn = _taus(m, dt)
    if tau_syn is not None:
        raise ctx.fail("ExpLeak with tau_syn is not supported")
    ctx.need("LI", PROFILE, integrator="exp-decay")
    return Node("LI", tau=tau, r=_input_r(m, tau, dt), v_leak=np.zeros_like(tau))


@register("sinabs", "LIFRecurrent", "IAFRecurrent")
def lif_recurrent(m: Any, ctx: LayerContext) -> Graph:
    """``LIFRecurrent`` / ``IAFRecurrent`` -> ``{input, lif, w_rec, output}``, the last step's
    spikes fed back through ``rec_connect``."""
    rec = m.rec_connect
    if type(rec).__name__ != "Linear":
        raise ctx.fail("rec_connect other than a torch Linear is not supported", "rec_connect")
    neuron = iaf(m, ctx) if type(m).__name__ == "IAFRecurrent" else lif(m, ctx)
    n = array(rec.weight).shape[0]
    neuron = neuron.replace(
        **{k: np.broadcast_to(np.asarray(v), (n,)).copy() for k, v in neuron.fields.items()}
    )
    nodes = {
        "input": Node("Input", shape=[n]),
        "lif": neuron,
        "w_rec": linear(rec, ctx),
        "output": Node("Output", shape=[n]),
    }
    edges = [("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")]
    return Graph(nodes, edges)
