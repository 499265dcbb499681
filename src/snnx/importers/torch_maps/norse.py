"""Norse 1.1 neurons as NIR neurons: ``LIFCell``/``LIF`` -> ``CubaLIF``, ``LIFBoxCell`` -> ``LIF``,
``LICell``/``LI`` -> ``CubaLI``, ``LIBoxCell`` -> ``LI``, ``IAFCell``/``IAF`` -> ``IF``, and the
recurrent ``LIFRecurrentCell``/``LIFRecurrent`` -> a subgraph ``{input, w_in, lif, w_rec, output}``.

Norse's Euler step with ``k = 1 / tau`` (``tau_mem_inv``, ``tau_syn_inv``) at its ``dt``::

    LIFCell:    j = i + x;  v' = v + dt k_mem (v_leak - v + j);  i' = (1 - dt k_syn) j
    LIFBoxCell: v' = v + dt k_mem (v_leak - v + x)
    IAFCell:    v' = v + x
    then        z = [v' > v_th];  v' = v_reset where z   (LIFBoxCell may subtract v_th instead)

With ``j`` as snnx's current this is NIR's CubaLIF under Euler with the *new* current and
``tau_syn = 1 / k_syn``, ``w_in = tau_syn / dt`` (input gain 1), ``tau_mem = 1 / k_mem``,
``r = 1``; the box neurons are LIF/LI with ``r = 1``; IAF is IF with ``r = 1 / dt``. Norse starts
``v`` at ``v_leak`` (``v_reset`` for IAF) and honours ``v_reset``; the semantics are the ``norse``
profile with its importer's field overrides removed. A ``dt`` other than the modules' own keeps
the decay factors (``tau`` scales with it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from snnx.importers.torch_maps import SEQUENTIAL, LayerContext, register
from snnx.importers.torch_maps.nn import array
from snnx.ir.graph import Graph
from snnx.ir.node import Node

PROFILE = "norse"


def _tau(k: Any, m: Any, ctx: LayerContext) -> np.ndarray:
    """``1 / k`` at the module's dt, rescaled to keep ``dt k`` at the chosen dt."""
    dt = ctx.dt(float(m.dt))
    return (1.0 / array(k, np.float64)) * (dt / float(m.dt))


def _method(p: Any, ctx: LayerContext) -> None:
    if getattr(p, "method", "super") == "adjoint":
        raise ctx.fail("the adjoint method is not supported", field="p.method")


def _reset(p: Any) -> str:
    fn = getattr(p, "reset_method", None)
    return "subtract" if fn is not None and fn.__name__ == "reset_subtract" else "zero"


def _cuba(m: Any, ctx: LayerContext, spiking: bool) -> Node:
    p = m.p
    _method(p, ctx)
    tau_syn, tau_mem = np.broadcast_arrays(_tau(p.tau_syn_inv, m, ctx), _tau(p.tau_mem_inv, m, ctx))
    dt = ctx.requirements.dt
    fields = dict(
        tau_syn=tau_syn.copy(),
        tau_mem=tau_mem.copy(),
        r=np.ones_like(tau_mem),
        v_leak=np.broadcast_to(array(p.v_leak, np.float64), tau_mem.shape).copy(),
        w_in=tau_syn / dt,
    )
    knobs = dict(integrator="euler", current="new", v_init="v_leak")
    if not spiking:
        ctx.need("CubaLI", PROFILE, **knobs)
        return Node("CubaLI", fields)
    ctx.need("CubaLIF", PROFILE, reset="zero", reset_timing="same-step", threshold=">", **knobs)
    return Node(
        "CubaLIF",
        fields,
        v_threshold=array(p.v_th, np.float64),
        v_reset=array(p.v_reset, np.float64),
    )


@register("norse", "LIFCell", "LIF")
def lif(m: Any, ctx: LayerContext) -> Node:
    """``LIFCell`` / ``LIF`` -> ``CubaLIF``."""
    return _cuba(m, ctx, spiking=True)


@register("norse", "LICell", "LI")
def li(m: Any, ctx: LayerContext) -> Node:
    """``LICell`` / ``LI`` -> ``CubaLI``."""
    return _cuba(m, ctx, spiking=False)


@register("norse", "LIFBoxCell")
def lif_box(m: Any, ctx: LayerContext) -> Node:
    """``LIFBoxCell`` -> ``LIF``."""
    p = m.p
    _method(p, ctx)
    tau = _tau(p.tau_mem_inv, m, ctx)
    ctx.need(
        "LIF",
        PROFILE,
        integrator="euler",
        reset=_reset(p),
        reset_timing="same-step",
        threshold=">",
        v_init="v_leak",
    )
    return Node(
        "LIF",
        tau=tau,
        r=np.ones_like(tau),
        v_leak=np.broadcast_to(array(p.v_leak, np.float64), tau.shape).copy(),
        v_threshold=array(p.v_th, np.float64),
        v_reset=array(p.v_reset, np.float64),
    )


@register("norse", "LIBoxCell")
def li_box(m: Any, ctx: LayerContext) -> Node:
    """``LIBoxCell`` -> ``LI``."""
    tau = _tau(m.p.tau_mem_inv, m, ctx)
    ctx.need("LI", PROFILE, integrator="euler", v_init="v_leak")
    v_leak = np.broadcast_to(array(m.p.v_leak, np.float64), tau.shape).copy()
    return Node("LI", tau=tau, r=np.ones_like(tau), v_leak=v_leak)


@register("norse", "IAFCell", "IAF")
def iaf(m: Any, ctx: LayerContext) -> Node:
    """``IAFCell`` / ``IAF`` -> ``IF`` with ``r = 1 / dt``."""
    p = m.p
    _method(p, ctx)
    dt = ctx.dt(float(m.dt))
    ctx.need("IF", PROFILE, reset="zero", reset_timing="same-step", threshold=">", v_init="v_reset")
    threshold = array(p.v_th, np.float64)
    return Node(
        "IF",
        r=np.full(threshold.shape, 1.0 / dt),
        v_threshold=threshold,
        v_reset=array(p.v_reset, np.float64),
    )


@register("norse", "LIFRecurrentCell", "LIFRecurrent")
def lif_recurrent(m: Any, ctx: LayerContext) -> Graph:
    """``LIFRecurrentCell`` / ``LIFRecurrent`` -> ``{input, w_in, lif, w_rec, output}``."""
    w_in, w_rec = array(m.input_weights), array(m.recurrent_weights)
    n = w_rec.shape[0]
    neuron = _cuba(m, ctx, spiking=True)
    neuron = neuron.replace(
        **{k: np.broadcast_to(np.asarray(v), (n,)).copy() for k, v in neuron.fields.items()}
    )
    nodes = {
        "input": Node("Input", shape=[w_in.shape[1]]),
        "w_in": Node("Linear", weight=w_in),
        "lif": neuron,
        "w_rec": Node("Linear", weight=w_rec),
        "output": Node("Output", shape=[n]),
    }
    edges = [("input", "w_in"), ("w_in", "lif"), ("lif", "w_rec"), ("w_rec", "lif")]
    return Graph(nodes, [*edges, ("lif", "output")])


SEQUENTIAL.add(("norse", "SequentialState"))
