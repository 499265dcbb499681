"""SpikingJelly 2.0 neurons as NIR neurons: ``IFNode`` -> ``IF``, ``LIFNode`` and
``ParametricLIFNode`` -> ``LIF``.

SpikingJelly's step (``tau`` in steps; ``ParametricLIFNode``: ``1 / tau = sigmoid(w)``)::

    IF:   h = v + x
    LIF:  h = v + (x - (v - v_reset)) / tau     (decay_input=True)
          h = v - (v - v_reset) / tau + x       (decay_input=False)
    s = [h >= v_threshold];  v = v_reset where s  (hard reset), or v = h - v_threshold s (soft
    reset, ``v_reset=None``, decaying towards 0);  v starts at v_reset (0 for a soft reset)

Euler integration of NIR's LIF with ``tau_nir = tau dt``, ``v_leak = v_reset``, ``r = 1``
(``decay_input``) or ``r = tau``; IF has ``r = 1 / dt``. Semantics: profile ``spikingjelly``
(``>=``, ``v_init = v_reset``), ``reset = subtract`` for soft resets. Default ``dt`` 1e-4.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from snnx.importers.torch_maps import LayerContext, register
from snnx.importers.torch_maps.nn import array
from snnx.ir.node import Node

PROFILE = "spikingjelly"
DT = 1e-4


def _reset(m: Any) -> tuple[str, float]:
    return ("subtract", 0.0) if m.v_reset is None else ("zero", float(m.v_reset))


@register("spikingjelly", "IFNode")
def if_node(m: Any, ctx: LayerContext) -> Node:
    """``IFNode`` -> ``IF``."""
    dt = ctx.dt(DT)
    mode, v_reset = _reset(m)
    ctx.need("IF", PROFILE, reset=mode, threshold=">=", v_init="v_reset")
    return Node(
        "IF",
        r=np.asarray(1.0 / dt),
        v_threshold=np.asarray(float(m.v_threshold)),
        v_reset=np.asarray(v_reset),
    )


@register("spikingjelly", "LIFNode", "ParametricLIFNode")
def lif_node(m: Any, ctx: LayerContext) -> Node:
    """``LIFNode`` / ``ParametricLIFNode`` -> ``LIF``."""
    dt = ctx.dt(DT)
    mode, v_reset = _reset(m)
    if hasattr(m, "w"):
        steps = 1.0 / (1.0 / (1.0 + np.exp(-array(m.w, np.float64))))
    else:
        steps = np.asarray(float(m.tau))
    ctx.need("LIF", PROFILE, integrator="euler", reset=mode, threshold=">=", v_init="v_reset")
    return Node(
        "LIF",
        tau=steps * dt,
        r=np.asarray(1.0) if m.decay_input else steps.copy(),
        v_leak=np.asarray(v_reset),
        v_threshold=np.asarray(float(m.v_threshold)),
        v_reset=np.asarray(v_reset),
    )
