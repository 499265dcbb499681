"""One time step of every NIR neuron, written once: what the simulator runs, what every target
lowers from and every exporter builds.

Continuous time (NIR), ``x`` the summed input:

- ``LI``/``LIF``: ``tau dv/dt = (v_leak - v) + r x``
- ``CubaLI``/``CubaLIF``: ``tau_syn di/dt = -i + w_in x`` and ``tau_mem dv/dt = (v_leak - v) + r i``
- ``I``/``IF``: ``dv/dt = r x``

Under every integrator of `snnx.semantics` one step is affine in the state and the input, with
coefficients computed once (`coefficients`), ``a = dt/tau``:

- voltage only, ``v' = A v + B x + C``: ``I``/``IF`` ``A = 1, B = r dt, C = 0``; ``LI``/``LIF``
  euler ``A = 1 - a, B = r a``, exact ``A = e^-a, B = -r expm1(-a)``, exp-decay ``A = e^-a,
  B = r a``, always ``C = v_leak (1 - A)``;
- with a current, ``i' = As i + Bs x`` (the leaky step of the current, gain ``w_in``) and
  ``v' = A v + Bn i' + Bi i + Bx x + C`` (the membrane's ``A``, ``C`` and gain ``g``): the
  voltage takes the new current (``Bn = g``) or the previous one (``Bi = g``); the exact
  integrator solves the coupled pair with ``x`` held over the step: ``Bn = 0``, ``Bi = r k``,
  ``Bx = (g - r k) w_in`` with ``k = tau_syn A expm1(dt (tau_syn - tau_mem) / (tau_syn tau_mem))
  / (tau_syn - tau_mem)`` (``dt/tau_mem A`` when the two are equal).

A term an integrator does not have is the number ``0.0`` (`ABSENT`), which `integrate` leaves out.
Then `fire`: spikes where ``w - v_threshold`` passes the spike function (``>`` or ``>=``), up to
``max_spikes`` of them (``floor(w / v_threshold)``); the reset (to ``v_reset`` or by subtraction,
now or on the next step); the floor ``v >= -v_threshold``; the emitted count (now or one step
late) times the spike amplitude (`emit`). The semantics' field overrides (``r = tau/dt``, ...)
apply first (`effective_fields`). Gradients pass through spikes by the surrogate, never through
resets.

The arithmetic is written once for numpy, JAX and torch: an `Arithmetic` names the handful of
array functions a step needs (`NUMPY`, `jax_arithmetic`, `torch_arithmetic`).

>>> import numpy as np
>>> from snnx.semantics import Semantics
>>> fields = {"tau": np.array(2.5e-3), "r": np.array(1.0), "v_leak": np.array(0.0)}
>>> q = coefficients("LI", fields, Semantics(dt=1e-4))
>>> round(float(q["A"]), 12), round(float(q["B"]), 12), float(q["C"])
(0.96, 0.04, 0.0)
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from snnx.ir.schema import SCHEMA
from snnx.semantics import Semantics

#: A term that an integrator does not have: the number 0.0, left out of the step.
ABSENT = 0.0


@dataclasses.dataclass(frozen=True)
class Arithmetic:
    """The array functions one step needs, for one array library. ``detach`` blocks gradients
    (resets, spike counts beyond the first); ``divide`` is a true division (XLA would turn a
    division by a broadcast constant into a product with its rounded reciprocal)."""

    exp: Callable
    expm1: Callable
    log: Callable
    where: Callable
    floor: Callable
    maximum: Callable
    clip: Callable
    detach: Callable = lambda a: a
    divide: Callable = operator.truediv


NUMPY = Arithmetic(np.exp, np.expm1, np.log, np.where, np.floor, np.maximum, np.clip)


@functools.cache
def jax_arithmetic() -> Arithmetic:
    """`Arithmetic` for JAX: ``stop_gradient`` detaches, divisions stay divisions."""
    import jax
    import jax.numpy as jnp

    def divide(a: jax.Array, b: Any) -> jax.Array:
        return a / jax.lax.optimization_barrier(jnp.broadcast_to(b, jnp.shape(a)))

    return Arithmetic(
        jnp.exp,
        jnp.expm1,
        jnp.log,
        jnp.where,
        jnp.floor,
        jnp.maximum,
        jnp.clip,
        detach=jax.lax.stop_gradient,
        divide=divide,
    )


@functools.cache
def torch_arithmetic() -> Arithmetic:
    """`Arithmetic` for torch tensors."""
    import torch

    def maximum(a: torch.Tensor, b: Any) -> torch.Tensor:
        return torch.maximum(a, torch.as_tensor(b).to(a))

    return Arithmetic(
        torch.exp,
        torch.expm1,
        torch.log,
        torch.where,
        torch.floor,
        maximum,
        torch.clamp,
        detach=lambda a: a.detach() if isinstance(a, torch.Tensor) else a,
    )


def resolve_field(value: Any, fields: Mapping[str, Any], dt: float) -> Any:
    """The value a field override stands for (a number, or one of `snnx.semantics.EXPRESSIONS`
    computed from the node's own fields and ``dt``).

    >>> resolve_field("tau/dt", {"tau": 2.5e-3}, 1e-4)
    25.0
    """
    if not isinstance(value, str):
        return value
    if value == "1/dt":
        return 1.0 / dt
    return fields[value.split("/")[0]] / dt


def fixed_fields(node_type: str, semantics: Semantics) -> dict[str, Any]:
    """The fields ``semantics`` reads in place of the file's for ``node_type`` (numbers or
    `snnx.semantics.EXPRESSIONS`, unresolved).

    >>> fixed_fields("LIF", Semantics.profile("norse-nir"))
    {'v_reset': 0.0, 'r': 1.0}
    """
    return semantics.field_overrides(node_type)


def effective_fields(
    node_type: str, fields: Mapping[str, Any], semantics: Semantics
) -> dict[str, Any]:
    """The fields a neuron runs with: its own, with the semantics' field overrides for its type.

    >>> effective_fields("LIF", {"tau": 2.5e-3, "r": 3.0}, Semantics.profile("rockpool"))["r"]
    2.5
    """
    overrides = fixed_fields(node_type, semantics)
    if not overrides:
        return dict(fields)
    return {**fields, **{k: resolve_field(v, fields, semantics.dt) for k, v in overrides.items()}}


def leaky(
    tau: Any, r: Any, leak: Any, dt: float, integrator: str, ar: Arithmetic = NUMPY
) -> tuple[Any, Any, Any]:
    """``(A, B, C)`` of one step of ``tau dv/dt = leak - v + r x`` (see the module docstring).

    >>> [round(float(c), 6) for c in leaky(2.5e-3, 1.0, 0.5, 1e-4, "euler")]
    [0.96, 0.04, 0.02]
    """
    a = dt / tau
    if integrator == "euler":
        decay, gain = 1.0 - a, a
    else:
        decay = ar.exp(-a)
        gain = -ar.expm1(-a) if integrator == "exact" else a
    return decay, r * gain, leak * (1.0 - decay)


def r_for_gain(gain: Any, tau: Any, dt: float, integrator: str) -> Any:
    """The ``r`` whose step adds ``gain x`` to v (the inverse of `leaky`'s ``B``): an importer's
    way to say "this framework adds its input with this gain".

    >>> round(float(r_for_gain(0.04, 2.5e-3, 1e-4, "euler")), 9)
    1.0
    """
    return gain / leaky(tau, 1.0, 0.0, dt, integrator)[1]


def time_constant(decay: Any, dt: float, integrator: str, ar: Arithmetic = NUMPY) -> Any:
    """The time constant whose step decays by ``decay`` (the inverse of `leaky`'s ``A``):
    euler ``tau = dt / (1 - A)``, otherwise ``tau = -dt / ln A``.

    >>> round(float(time_constant(0.96, 1e-4, "euler")), 9)
    0.0025
    """
    if integrator == "euler":
        return dt / (1.0 - decay)
    return -dt / ar.log(decay)


def coefficients(
    node_type: str, fields: Mapping[str, Any], semantics: Semantics, ar: Arithmetic = NUMPY
) -> dict[str, Any]:
    """A neuron's step coefficients (module docstring) from its fields (as given: float64 numpy
    arrays for exact values, JAX or torch arrays to differentiate), the field overrides applied;
    with ``v0`` (where v starts) and, for spiking neurons, ``v_threshold`` and ``v_reset``.

    >>> from snnx.semantics import Semantics
    >>> q = coefficients("IF", {"r": 2.0, "v_threshold": 1.0}, Semantics(dt=0.5))
    >>> q["A"], q["B"], q["v_reset"], q["v0"]
    (1.0, 1.0, 0.0, 0.0)
    """
    s = semantics.for_type(node_type)
    p = effective_fields(node_type, fields, semantics)
    kind = SCHEMA[node_type].neuron
    dt = s.dt
    if kind == "integrator":
        q = {"A": 1.0, "B": dt * p["r"], "C": ABSENT}
    elif kind == "leaky":
        q = dict(
            zip("ABC", leaky(p["tau"], p["r"], p["v_leak"], dt, s.integrator, ar), strict=True)
        )
    else:
        q = _cuba(p, dt, s.integrator, s.current, ar)
    q["v0"] = start_voltage(p, s)
    if SCHEMA[node_type].spiking:
        q["v_threshold"] = p["v_threshold"]
        q["v_reset"] = p.get("v_reset", 0.0)
    return q


def start_voltage(fields: Mapping[str, Any], semantics: Semantics) -> Any:
    """Where v starts (``v_init``): 0, ``v_leak`` or ``v_reset`` (each 0 where absent), from
    effective fields.

    >>> start_voltage({"v_leak": -0.5}, Semantics(v_init="v_leak"))
    -0.5
    """
    where = {"zero": None, "v_leak": "v_leak", "v_reset": "v_reset"}[semantics.v_init]
    return 0.0 if where is None else fields.get(where, 0.0)


def _cuba(
    p: Mapping[str, Any], dt: float, integrator: str, current: str, ar: Arithmetic
) -> dict[str, Any]:
    w_in = p.get("w_in", 1.0)
    a_s, b_s, _ = leaky(p["tau_syn"], w_in, 0.0, dt, integrator, ar)
    a_m, gain, c = leaky(p["tau_mem"], p["r"], p["v_leak"], dt, integrator, ar)
    q = {"As": a_s, "Bs": b_s, "A": a_m, "C": c}
    if integrator == "exact":
        tau_s, tau_m = p["tau_syn"], p["tau_mem"]
        gap = tau_s - tau_m
        same = gap == 0
        ratio = ar.expm1(dt * gap / (tau_s * tau_m)) / ar.where(same, 1.0, gap)
        k = ar.where(same, dt / tau_m * a_m, tau_s * a_m * ratio)
        q.update(Bn=ABSENT, Bi=p["r"] * k, Bx=(gain - p["r"] * k) * w_in)
    elif current == "new":
        q.update(Bn=gain, Bi=ABSENT, Bx=ABSENT)
    else:
        q.update(Bn=ABSENT, Bi=gain, Bx=ABSENT)
    return q


def is_absent(term: Any) -> bool:
    """Whether a coefficient is a term its integrator does not have (`ABSENT`)."""
    return isinstance(term, float) and term == ABSENT


def carries_last(semantics: Semantics) -> bool:
    """Whether a spiking neuron must remember last step's spike count (a next-step reset, or
    spikes that leave one step late)."""
    return semantics.reset_timing == "next-step" or semantics.spike_output == "next-step"


def amplitude(semantics: Semantics) -> float:
    """What one spike is worth: 1, or ``1/dt`` (unit area)."""
    return 1.0 / semantics.dt if semantics.spike_amplitude == "1/dt" else 1.0


def emit(spikes: Any, semantics: Semantics) -> Any:
    """Spike counts as values on the wire: divided by ``dt`` under unit-area amplitude."""
    return spikes / semantics.dt if semantics.spike_amplitude == "1/dt" else spikes


def rest_state(q: Mapping[str, Any], zeros: Any, node_type: str, semantics: Semantics) -> dict:
    """A neuron's state before the first step, given an array of zeros of the state's shape:
    ``v = v0``, ``i = 0`` (with a current), ``last = 0`` (when `carries_last`)."""
    primitive = SCHEMA[node_type]
    state = {"v": zeros + q["v0"]}
    if primitive.neuron == "cuba":
        state["i"] = zeros
    if primitive.spiking and carries_last(semantics.for_type(node_type)):
        state["last"] = zeros
    return state


def integrate(q: Mapping[str, Any], v: Any, i: Any, x: Any) -> tuple[Any, Any]:
    """This step's current (``None`` without one) and voltage before firing."""
    if "As" not in q:
        return None, q["A"] * v + q["B"] * x + q["C"]
    i_new = q["As"] * i + q["Bs"] * x
    w = q["A"] * v
    for key, value in (("Bn", i_new), ("Bi", i), ("Bx", x)):
        if not is_absent(q[key]):
            w = w + q[key] * value
    return i_new, w + q["C"]


def fire(
    w: Any, last: Any, q: Mapping[str, Any], s: Semantics, spike: Callable, ar: Arithmetic
) -> tuple[Any, Any, Any]:
    """Spikes from the integrated voltage ``w`` and the reset: ``(v, count, output)``. ``s`` is
    the semantics for the node's type; ``spike(d)`` is ``[d > 0]`` (``[d >= 0]``) with its
    surrogate gradient."""
    threshold, v_reset = q["v_threshold"], q["v_reset"]
    if s.reset_timing == "next-step" and s.reset == "subtract":
        w = w - ar.detach(last) * threshold
    count = spike(w - threshold)
    if s.max_spikes != 1:
        extra = ar.floor(ar.divide(w, threshold)) - 1
        extra = ar.clip(extra, 0, None if s.max_spikes == 0 else s.max_spikes - 1)
        count = count * (1 + ar.detach(extra))
    v = w
    if s.reset_timing == "same-step" and s.reset != "none":
        fired = ar.detach(count)
        v = w - fired * threshold if s.reset == "subtract" else ar.where(fired > 0, v_reset, w)
    if s.v_min == "-threshold":
        v = ar.maximum(v, -threshold)
    sent = last if s.spike_output == "next-step" else count
    return v, count, emit(sent, s)


def step(
    q: Mapping[str, Any],
    state: Mapping[str, Any],
    x: Any,
    node_type: str,
    s: Semantics,
    spike: Callable,
    ar: Arithmetic,
) -> tuple[dict, Any]:
    """One step of a neuron of ``node_type`` under ``s`` (the semantics for that type):
    ``(new state, output)``; a next-step zero reset lands before the integration.

    >>> from snnx.semantics import Semantics
    >>> s = Semantics(dt=1.0)
    >>> q = coefficients("IF", {"r": 1.0, "v_threshold": 1.5}, s)
    >>> state = rest_state(q, np.zeros(1), "IF", s)
    >>> for _ in range(3):
    ...     state, out = step(q, state, np.ones(1), "IF", s, lambda d: (d > 0) * 1.0, NUMPY)
    ...     print(state["v"], out)
    [1.] [0.]
    [0.] [1.]
    [1.] [0.]
    """
    spiking = SCHEMA[node_type].spiking
    last: Any = state.get("last")  # None where the semantics carries no last output
    v = state["v"]
    if spiking and s.reset_timing == "next-step" and s.reset == "zero":
        v = ar.where(last > 0, q["v_reset"], v)
    i, w = integrate(q, v, state.get("i"), x)
    new = {} if i is None else {"i": i}
    if not spiking:
        return {**new, "v": w}, w
    v, count, out = fire(w, last, q, s, spike, ar)
    new["v"] = v
    if carries_last(s):
        new["last"] = count
    return new, out
