"""A neuron's one-step coefficients, in float64, from its NIR fields and the semantics.

Every neuron step under every integrator of `snnx.semantics` is affine in the state and the input
(the reference simulator's model, re-derived here in float64 so that the float16 values are one
rounding away from the exact ones). With ``a = dt/tau``:

- ``I``/``IF``: ``A = 1``, ``B = r dt``, ``C = 0``
- ``LI``/``LIF``: euler ``A = 1 - a``, ``B = r a``; exact ``A = e^-a``, ``B = r (1 - e^-a)``;
  exp-decay ``A = e^-a``, ``B = r a``; always ``C = v_leak (1 - A)``
- ``CubaLI``/``CubaLIF``: the current ``i' = As i + Bs x`` is the leaky step of
  ``tau_syn di/dt = -i + w_in x``; the voltage ``v' = A v + Bn i' + Bi i + Bx x + C`` takes the
  membrane's ``A, C`` and gain ``g`` (``B`` above with ``r``) on the new current (``Bn = g``) or
  the previous one (``Bi = g``). The exact integrator solves the coupled pair with ``x`` held over
  the step: ``Bi = r k``, ``Bx = (g - r k) w_in``, ``Bn = 0``, where
  ``k = tau_syn (As - A) / (tau_syn - tau_mem) = tau_syn A expm1(dt (tau_syn - tau_mem) /
  (tau_syn tau_mem)) / (tau_syn - tau_mem)`` (``dt/tau_mem A`` when the two are equal).

Field overrides of the semantics (``r = tau/dt``, ...) apply first; absent ``v_reset`` is 0 and
absent ``w_in`` is 1. ``v0`` is where the voltage starts (``v_init``).

>>> from snnx.ir import Node
>>> from snnx.semantics import Semantics
>>> lif = Node("LIF", tau=2.5e-3, r=1.0, v_leak=0.0, v_threshold=0.1)
>>> kind, c = neuron_coefficients(lif, Semantics(dt=1e-4), (1,))
>>> kind, round(float(c["A"][0]), 12), round(float(c["B"][0]), 12)
('leaky', 0.96, 0.04)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from snnx.ir.node import Node
from snnx.semantics import Semantics, resolve_field

KINDS = {
    "I": "integrator",
    "IF": "integrator",
    "LI": "leaky",
    "LIF": "leaky",
    "CubaLI": "cuba",
    "CubaLIF": "cuba",
}


def effective_fields(node: Node, semantics: Semantics) -> dict[str, Any]:
    """The node's fields as float64 arrays, with the semantics' field overrides applied."""
    fields = {k: np.asarray(v, dtype=np.float64) for k, v in node.fields.items()}
    for key, value in semantics.field_overrides(node.type).items():
        fields[key] = np.asarray(resolve_field(value, fields, semantics.dt), dtype=np.float64)
    return fields


def leaky(tau, r, leak, dt: float, integrator: str):
    """``(A, B, C)`` of one step of ``tau dv/dt = leak - v + r x`` (see the module docstring)."""
    a = dt / tau
    if integrator == "euler":
        decay, gain = 1.0 - a, a
    else:
        decay = np.exp(-a)
        gain = -np.expm1(-a) if integrator == "exact" else a
    return decay, r * gain, leak * (1.0 - decay)


def neuron_coefficients(
    node: Node, semantics: Semantics, shape: tuple[int, ...]
) -> tuple[str, dict[str, np.ndarray]]:
    """The kind (``integrator``, ``leaky``, ``cuba``) and float64 coefficients of a neuron node,
    each broadcast to ``shape``, with ``v_threshold``, ``v_reset`` and ``v0``."""
    s = semantics.for_type(node.type)
    p = effective_fields(node, semantics)
    kind = KINDS[node.type]
    dt = s.dt
    zero = np.zeros((), np.float64)
    if kind == "integrator":
        out = {"A": np.ones(()), "B": dt * p["r"], "C": zero}
    elif kind == "leaky":
        out = dict(zip("ABC", leaky(p["tau"], p["r"], p["v_leak"], dt, s.integrator), strict=True))
    else:
        w_in = p.get("w_in", np.ones(()))
        a_s, b_s, _ = leaky(p["tau_syn"], w_in, zero, dt, s.integrator)
        a_m, gain, c = leaky(p["tau_mem"], p["r"], p["v_leak"], dt, s.integrator)
        out = {"As": a_s, "Bs": b_s, "A": a_m, "C": c}
        if s.integrator == "exact":
            ts, tm = np.broadcast_arrays(p["tau_syn"], p["tau_mem"])
            gap = ts - tm
            same = gap == 0
            safe = np.where(same, 1.0, gap)
            k = np.where(
                same,
                dt / tm * a_m,
                ts * a_m * np.expm1(dt * gap / (ts * tm)) / safe,
            )
            out.update(Bn=zero, Bi=p["r"] * k, Bx=(gain - p["r"] * k) * w_in)
        elif s.current == "new":
            out.update(Bn=gain, Bi=zero, Bx=zero)
        else:
            out.update(Bn=zero, Bi=gain, Bx=zero)
    v_reset = p.get("v_reset", zero)
    out["v0"] = {"zero": zero, "v_leak": p.get("v_leak", zero), "v_reset": v_reset}[s.v_init]
    if "v_threshold" in p:
        out["v_threshold"] = p["v_threshold"]
        out["v_reset"] = v_reset
    return kind, {
        k: np.broadcast_to(np.asarray(v, np.float64), shape).copy() for k, v in out.items()
    }
