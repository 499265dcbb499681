"""snnTorch 1.0 neurons (``Leaky``, ``Synaptic``, ``RLeaky``, ``RSynaptic``) as NIR neurons.

snnTorch's step, with ``b = beta`` and ``a = alpha`` clamped to [0, 1] and ``s`` the spike::

    Leaky:     m_t = b m_{t-1} + x_t - R_t                 s_t = [m_t > threshold]
    Synaptic:  i_t = a i_{t-1} + x_t,  m_t = b m_{t-1} + i_t - R_t

(``RLeaky``/``RSynaptic`` add ``V(s_{t-1})`` to ``x_t``, ``V`` a ``Linear`` or one weight per
neuron). The reset ``R_t``: ``reset_mechanism="subtract"`` takes the threshold off, ``"zero"``
empties the membrane; with ``reset_delay=True`` (the default) it lands in the step after the
spike. This is Euler integration of NIR's LIF/CubaLIF at a time step ``dt`` with::

    tau = dt / (1 - b),  r = tau / dt      (LIF; the input gain r dt / tau is 1)
    tau_syn = dt / (1 - a),  w_in = tau_syn / dt,  tau_mem = dt / (1 - b),  r = tau_mem / dt

and ``v_leak = 0``, ``v_reset = 0``, ``v_threshold = threshold``; the membrane ``v`` equals
snnTorch's ``mem`` and the current its ``syn``. ``b = 1`` (no leak) becomes an ``IF`` with
``r = 1 / dt``. The graph's semantics: profile ``snntorch`` with ``reset`` and ``reset_timing``
from the layers (``reset_mechanism="none"``: ``reset="none"``). Not expressible: ``Synaptic``/``RLeaky``/``RSynaptic``
with a zero reset delayed to the next step (snnTorch zeroes after that step's integration),
graded spikes, inhibition, quantized states, convolutional recurrence. Approximate (a warning):
``reset_mechanism="subtract"`` with ``reset_delay=False``, which snnTorch implements so that a
membrane still above the threshold after its subtraction is tested against ``v - threshold`` in
the next step.

A recurrent layer becomes a subgraph ``{input, lif, w_rec, output}`` (``lif <-> w_rec``); snnTorch
adds the recurrent layer's bias from the first step on (``V(0) = bias``), which a NIR back edge
(zero before the first step) does not, so the bias moves onto an ``Affine`` with identity weights
between ``input`` and ``lif`` (``bias``) unless it is zero.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from snnx.errors import SnnxWarning
from snnx.importers.torch_maps import LayerContext, register
from snnx.importers.torch_maps.nn import array
from snnx.ir.graph import Graph
from snnx.ir.node import Node

PROFILE = "snntorch"
DT = 1e-4


def _common(m: Any, ctx: LayerContext, type_name: str) -> dict:
    mech = getattr(m, "reset_mechanism", "subtract")
    if mech not in ("subtract", "zero", "none"):
        raise ctx.fail(
            f"reset_mechanism={mech!r} has no counterpart in snnx semantics (subtract, zero, none)",
            field="reset_mechanism",
        )
    for flag in ("inhibition", "state_quant"):
        if getattr(m, flag, False):
            raise ctx.fail(f"{flag} is not supported", field=flag)
    if not np.allclose(array(m.graded_spikes_factor), 1.0):
        raise ctx.fail("graded spikes (graded_spikes_factor != 1) are not supported")
    timing = "next-step" if getattr(m, "reset_delay", True) else "same-step"
    if mech == "zero" and timing == "next-step" and type_name != "Leaky":
        raise ctx.fail(
            f"{type_name} with reset_mechanism='zero' and reset_delay=True zeroes the membrane "
            "after the next step's integration; snnx semantics cannot express that (use "
            "reset_delay=False or 'subtract')",
            field="reset_delay",
        )
    if mech == "subtract" and timing == "same-step":
        warnings.warn(
            f"layer '{ctx.name}': snnTorch's subtractive reset with reset_delay=False equals a "
            "same-step subtraction while the membrane stays below twice the threshold; above "
            "that snnTorch tests the next step against v - threshold",
            SnnxWarning,
            stacklevel=2,
        )
    return {"reset": mech, "reset_timing": timing}


def _decay(value: Any) -> np.ndarray:
    return np.clip(array(value, np.float64), 0.0, 1.0)


def leaky_node(m: Any, ctx: LayerContext, type_name: str) -> Node:
    """The LIF (or IF, without leak) node of a Leaky-type layer; records its semantics."""
    knobs = _common(m, ctx, type_name)
    dt = ctx.dt(DT)
    beta = _decay(m.beta)
    threshold = array(m.threshold, np.float64)
    if np.all(beta == 1.0):
        ctx.need("IF", PROFILE, **knobs)
        return Node("IF", r=np.full(beta.shape, 1.0 / dt), v_threshold=threshold, v_reset=0.0)
    if np.any(beta == 1.0):
        raise ctx.fail("beta = 1 on some neurons only (no leak) cannot be one NIR node")
    tau = dt / (1.0 - beta)
    ctx.need("LIF", PROFILE, integrator="euler", **knobs)
    return Node(
        "LIF",
        tau=tau,
        r=tau / dt,
        v_leak=np.zeros_like(tau),
        v_threshold=threshold,
        v_reset=np.zeros_like(threshold),
    )


def synaptic_node(m: Any, ctx: LayerContext, type_name: str) -> Node:
    """The CubaLIF node of a Synaptic-type layer; records its semantics."""
    knobs = _common(m, ctx, type_name)
    dt = ctx.dt(DT)
    alpha, beta = _decay(m.alpha), _decay(m.beta)
    if np.any(alpha == 1.0) or np.any(beta == 1.0):
        raise ctx.fail("alpha or beta = 1 (no decay) cannot be expressed as a CubaLIF")
    tau_syn, tau_mem = dt / (1.0 - alpha), dt / (1.0 - beta)
    tau_syn, tau_mem = np.broadcast_arrays(tau_syn, tau_mem)
    ctx.need("CubaLIF", PROFILE, integrator="euler", current="new", **knobs)
    threshold = array(m.threshold, np.float64)
    return Node(
        "CubaLIF",
        tau_syn=tau_syn.copy(),
        tau_mem=tau_mem.copy(),
        r=tau_mem / dt,
        v_leak=np.zeros_like(tau_mem),
        v_threshold=threshold,
        v_reset=np.zeros_like(threshold),
        w_in=tau_syn / dt,
    )


def recurrent_graph(neuron: Node, m: Any, ctx: LayerContext) -> Graph:
    """``{input, lif, w_rec, output}`` for a recurrent layer (see the module docstring)."""
    rec = m.recurrent
    bias = None
    if hasattr(rec, "weight") and array(rec.weight).ndim == 2:
        weight = array(rec.weight)
        if rec.bias is not None and np.any(array(rec.bias)):
            bias = array(rec.bias)
    elif hasattr(rec, "V") and not getattr(m, "all_to_all", True):
        v = array(rec.V, np.float32)
        n = int(m.linear_features) if getattr(m, "linear_features", None) else v.size
        weight = np.diag(np.broadcast_to(v, (n,))).astype(np.float32)
    else:
        raise ctx.fail("convolutional recurrence is not supported", field="recurrent")
    n = weight.shape[0]
    nodes: dict[str, Node] = {"input": Node("Input", shape=[n])}
    edges = []
    if bias is not None:
        nodes["bias"] = Node("Affine", weight=np.eye(n, dtype=weight.dtype), bias=bias)
        edges += [("input", "bias"), ("bias", "lif")]
    else:
        edges.append(("input", "lif"))
    nodes["lif"] = _broadcast(neuron, n)
    nodes["w_rec"] = Node("Linear", weight=weight)
    nodes["output"] = Node("Output", shape=[n])
    edges += [("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")]
    return Graph(nodes, edges)


def _broadcast(node: Node, n: int) -> Node:
    return node.replace(
        **{k: np.broadcast_to(np.asarray(v), (n,)).copy() for k, v in node.fields.items()}
    )


@register("snntorch", "Leaky")
def leaky(m: Any, ctx: LayerContext) -> Node:
    """``snn.Leaky`` -> ``LIF`` (``IF`` when beta = 1)."""
    return leaky_node(m, ctx, "Leaky")


@register("snntorch", "Synaptic")
def synaptic(m: Any, ctx: LayerContext) -> Node:
    """``snn.Synaptic`` -> ``CubaLIF``."""
    return synaptic_node(m, ctx, "Synaptic")


@register("snntorch", "RLeaky")
def rleaky(m: Any, ctx: LayerContext) -> Graph:
    """``snn.RLeaky`` -> subgraph with ``LIF`` and its recurrent weights."""
    return recurrent_graph(leaky_node(m, ctx, "RLeaky"), m, ctx)


@register("snntorch", "RSynaptic")
def rsynaptic(m: Any, ctx: LayerContext) -> Graph:
    """``snn.RSynaptic`` -> subgraph with ``CubaLIF`` and its recurrent weights."""
    return recurrent_graph(synaptic_node(m, ctx, "RSynaptic"), m, ctx)
