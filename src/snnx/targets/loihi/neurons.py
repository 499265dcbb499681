"""Reference neurons as Loihi CUBA neurons: which semantics map, to which decays and gains.

Loihi's CUBA neuron (scaled integers, rounding aside) is ::

    u' = (1 - iDecay/4096) u + a          v' = (1 - vDecay/4096) v + u'        fire: v' > θ, v' = 0

A reference neuron under a `Semantics` takes one step as (see `snnx.sim.ops.neurons`)

- ``LIF``/``IF``: ``v' = A v + B x + C`` with Euler ``A = 1 - dt/tau, B = r dt/tau``, exact
  ``A = e^(-dt/tau), B = r (1 - A)``, exp-decay ``A = e^(-dt/tau), B = r dt/tau``,
  ``C = v_leak (1 - A)``; ``IF``: ``A = 1, B = r dt``. On Loihi: ``iDecay = 4096`` (u holds
  this step's input only), ``vDecay = round((1 - A) 4096)``, input gain ``B``, and the constant
  ``C`` arrives through the bias line (see `program`).
- ``CubaLIF`` (Euler or exp-decay, ``current="new"``): ``i' = As i + Bs x`` and
  ``v' = A v + Bn i' + C``. With ``u = Bn i`` this is Loihi's neuron exactly:
  ``iDecay = round((1 - As) 4096)``, ``vDecay = round((1 - A) 4096)``, gain ``Bn Bs``.
  snnTorch's Euler CubaLIF (``r = tau_mem/dt``, ``w_in = tau_syn/dt``) has ``Bn = Bs = 1``.
- ``current="previous"`` (the voltage takes last step's current) is the same neuron fed one
  step later: its output lags Loihi's pipeline by one step less (``shift = 1``).
  ``spike_output="next-step"`` likewise (the reference emits one step late, as Lava does).

What Loihi cannot do is refused with a `LoweringError` naming the node and the knob or field:
reset by subtraction, a non-zero ``v_reset``, several spikes per step, a clamp of v from below,
the exact CubaLIF integrator (it adds the input to v directly as well as through the current),
a CubaLIF ``v_leak`` (a constant into v alone), neurons of one node with different decays,
non-positive thresholds, and Euler steps longer than a time constant.

>>> import numpy as np
>>> from snnx.ir import Node
>>> from snnx.semantics import Semantics
>>> lif = Node("LIF", tau=np.array([2.5e-3]), r=np.array([1.0]), v_leak=np.array([0.0]),
...            v_threshold=np.array([0.1]))
>>> cuba = cuba_neuron("1", lif, Semantics.profile("snntorch-nir"))
>>> cuba.i_decay, cuba.v_decay, round(float(cuba.gain[0]), 6)
(4096, 164, 0.04)
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from snnx import dynamics
from snnx.errors import LoweringError
from snnx.ir.node import Node
from snnx.ir.schema import types_where
from snnx.semantics import Semantics
from snnx.targets.loihi.quantize import decay, kept

#: What runs as a Loihi CUBA neuron: every spiking neuron primitive.
SPIKING_TYPES = types_where(category="neuron", spiking=True)


@dataclasses.dataclass(frozen=True)
class Cuba:
    """A reference neuron node as a Loihi CUBA layer: shared decays, and per neuron the input
    ``gain``, the float ``threshold``, the constant ``leak`` added to v each step; ``shift``:
    steps by which the reference's output comes later than Loihi's pipeline delivers it."""

    node: str
    size: int
    i_decay: int
    v_decay: int
    gain: np.ndarray
    threshold: np.ndarray
    leak: np.ndarray
    shift: int
    notes: tuple[str, ...]


def _coefficients(node: Node, semantics: Semantics, size: int) -> dict[str, np.ndarray]:
    """The node's step coefficients (`snnx.dynamics`, float64), one value per neuron."""
    fields = {k: np.asarray(v, np.float64) for k, v in node.fields.items()}
    return {
        k: np.broadcast_to(np.asarray(v, np.float64).reshape(-1), (size,))
        if np.size(v) in (1, size)
        else np.asarray(v, np.float64).reshape(-1)
        for k, v in dynamics.coefficients(node.type, fields, semantics).items()
    }


def _check_decay(keep: np.ndarray, dt: float, name: str, field: str) -> None:
    """An Euler step longer than the time constant has a negative decay: refused."""
    if np.any(keep < 0):
        tau = dt / (1.0 - float(np.min(keep)))
        raise LoweringError(
            f"an Euler step of dt={dt:g} s exceeds {field}={tau:g} s: the decay "
            "1 - dt/tau would be negative, which Loihi cannot hold",
            node=name,
            field=field,
        )


def _shared_decay(keep: np.ndarray, name: str, field: str, what: str) -> tuple[int, str | None]:
    """The one 12-bit decay for all neurons of the node, and a note when it is not exact."""
    values = {decay(k) for k in np.atleast_1d(keep)}
    if len(values) > 1:
        raise LoweringError(
            f"Loihi shares one {what} per layer, but {field} gives {sorted(values)} "
            f"(keep {float(np.min(keep)):.6g}..{float(np.max(keep)):.6g} per step)",
            node=name,
            field=field,
        )
    value = values.pop()
    reference = float(np.atleast_1d(keep)[0])
    if math.isclose(kept(value), reference, rel_tol=0, abs_tol=1e-12):
        return value, None
    return value, (
        f"{name}: {what}={value} keeps {kept(value):.6f} per step (reference {reference:.6f}; "
        "12-bit decays round to 1/4096)"
    )


def cuba_neuron(name: str, node: Node, semantics: Semantics, size: int | None = None) -> Cuba:
    """Map one spiking node (``LIF``, ``CubaLIF``, ``IF``) of ``size`` neurons to Loihi CUBA,
    or raise."""
    if node.type not in SPIKING_TYPES:
        raise LoweringError(
            f"{node.type} cannot run on Loihi through netx (spiking LIF, CubaLIF and IF only)",
            node=name,
        )
    own = semantics.for_type(node.type)
    if size is None:
        size = max(int(np.size(v)) for v in node.fields.values())
    q = _coefficients(node, semantics, size)
    _check_knobs(name, node, own, q)
    notes: list[str] = []
    shift = 1 if own.spike_output == "next-step" else 0
    field = "tau_mem" if node.type == "CubaLIF" else "tau"
    keep_v, keep_u = q["A"], np.zeros(())
    _check_decay(keep_v, own.dt, name, field)
    if node.type != "CubaLIF":
        gain, leak = q["B"], q["C"]
    else:
        if own.integrator == "exact":
            raise LoweringError(
                "the exact CubaLIF step adds the input to v directly as well as through the "
                "current; Loihi's neuron only integrates its current (use the euler or "
                "exp-decay integrator)",
                node=name,
                field="integrator",
            )
        if np.any(q["C"] != 0):
            v_leak = q["C"] / (1.0 - q["A"])
            raise LoweringError(
                f"v_leak={float(np.max(np.abs(v_leak))):g}: a CubaLIF's constant drive of v "
                "alone has no Loihi counterpart (it would have to enter through the current)",
                node=name,
                field="v_leak",
            )
        keep_u = q["As"]
        _check_decay(keep_u, own.dt, name, "tau_syn")
        gain, leak = q["Bs"] * (q["Bn"] + q["Bi"]), np.zeros(size)
        if own.current == "previous":
            shift += 1
    if node.type == "CubaLIF":
        i_decay, note = _shared_decay(np.asarray(keep_u), name, "tau_syn", "iDecay")
        notes += [note] if note else []
    else:
        i_decay = 4096
    v_decay, note = _shared_decay(np.asarray(keep_v), name, field, "vDecay")
    notes += [note] if note else []
    if own.threshold == ">=":
        notes.append(
            f"{name}: the reference fires at v >= threshold, Loihi at v > threshold "
            "(they differ only when v lands exactly on it)"
        )
    return Cuba(
        node=name,
        size=size,
        i_decay=i_decay,
        v_decay=v_decay,
        gain=np.asarray(gain, dtype=np.float64),
        threshold=np.asarray(q["v_threshold"], dtype=np.float64),
        leak=np.asarray(leak, dtype=np.float64),
        shift=shift,
        notes=tuple(notes),
    )


def _check_knobs(name: str, node: Node, own: Semantics, q: dict[str, np.ndarray]) -> None:
    """Refuse the semantics Loihi's CUBA neuron cannot reproduce."""
    if own.reset == "subtract":
        raise LoweringError(
            "Loihi resets v to 0 after a spike; reset by subtraction (semantics reset="
            "'subtract', the meaning of NIR files older than 1.0.6) cannot be represented. "
            "Lower under a reset-to-zero profile (for example --profile snntorch-nir)",
            node=name,
            field="reset",
        )
    v_reset = q["v_reset"]
    if np.any(v_reset != 0):
        raise LoweringError(
            f"v_reset={float(np.max(np.abs(v_reset))):g}: Loihi resets v to 0",
            node=name,
            field="v_reset",
        )
    if own.max_spikes != 1:
        raise LoweringError(
            f"max_spikes={own.max_spikes}: Loihi's CUBA neuron sends at most one spike per step",
            node=name,
            field="max_spikes",
        )
    if own.v_min != "none":
        raise LoweringError(
            f"v_min={own.v_min!r}: Loihi does not clamp v from below (it saturates at -2^23)",
            node=name,
            field="v_min",
        )
    if np.any(q["v0"] != 0):
        raise LoweringError(
            f"v starts at {own.v_init} != 0; Loihi's neurons start at 0", node=name, field="v_init"
        )
    if np.any(q["v_threshold"] <= 0):
        raise LoweringError(
            f"v_threshold={float(np.min(q['v_threshold'])):g}: Loihi needs positive thresholds",
            node=name,
            field="v_threshold",
        )
