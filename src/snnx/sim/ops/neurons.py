"""Neurons: ``I``, ``IF``, ``LI``, ``LIF``, ``CubaLI``, ``CubaLIF`` and the stateless ``Threshold``.

Continuous-time models (NIR):

- ``LI``/``LIF``: ``tau dv/dt = (v_leak - v) + r x``
- ``CubaLI``/``CubaLIF``: ``tau_syn di/dt = -i + w_in x`` and ``tau_mem dv/dt = (v_leak - v) + r i``
- ``I``/``IF``: ``dv/dt = r x``

Under every integrator of `snnx.semantics` one step is affine in the state and the input, with
per-neuron coefficients computed once per run (`prepare`, outside the time loop):

- voltage only:  ``v' = A v + B x + C``
- with current:  ``i' = As i + Bs x`` and ``v' = A v + Bn i' + Bi i + Bx x + C``

(for CubaLIF, the voltage uses the new current ``i'`` or the previous ``i``; the exact solution of
the coupled pair needs ``i`` and ``x`` both). Then fire, reset (now or on the next step), clamp and
emit (now or one step later). A spiking neuron also carries last step's spike count when a
next-step reset or a delayed output needs it. Gradients pass through spikes by the surrogate, not
through resets.

>>> import numpy as np
>>> a, b, c = leaky_coefficients(np.array(2.5e-3), 1.0, 0.0, 1e-4, "euler")
>>> round(float(a), 6), round(float(b), 6)
(0.96, 0.04)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from snnx.semantics import resolve_field
from snnx.sim.ops.registry import Context, Op, register


def leaky_coefficients(tau, r, leak, dt: float, integrator: str):
    """``(A, B, C)`` of one step of ``tau dv/dt = leak - v + r x``:
    euler ``A = 1 - dt/tau, B = r dt/tau``; exact ``A = e^(-dt/tau), B = r (1 - A)``; exp-decay
    ``A = e^(-dt/tau), B = r dt/tau``; always ``C = leak (1 - A)``."""
    if integrator == "euler":
        decay = 1.0 - dt / tau
        gain = dt / tau
    else:
        decay = jnp.exp(-dt / tau)
        gain = 1.0 - decay if integrator == "exact" else dt / tau
    return decay, r * gain, leak * (1.0 - decay)


def cuba_coefficients(p, dt: float, integrator: str, current: str):
    """Coefficients of the current-based step (see the module docstring). For ``exact``, the
    coupled pair solved with the input held: ``Bi = r k``, ``Bx = (r (1 - A) - r k) w_in``, where
    ``k = tau_syn (As - A) / (tau_syn - tau_mem)`` (``dt/tau_mem A`` when they match). A term
    the integrator does not have is the number ``0.0``, so the step leaves it out."""
    w_in = p.get("w_in", 1.0)
    a_s, b_s, _ = leaky_coefficients(p["tau_syn"], w_in, 0.0, dt, integrator)
    a_m, gain, c = leaky_coefficients(p["tau_mem"], p["r"], p["v_leak"], dt, integrator)
    zero = 0.0  # a term the integrator does not have: left out of the step (`_integrate`)
    if integrator == "exact":
        gap = p["tau_syn"] - p["tau_mem"]
        close = jnp.abs(gap) < 1e-9 * p["tau_mem"]
        k = jnp.where(
            close, dt / p["tau_mem"] * a_m, p["tau_syn"] * (a_s - a_m) / jnp.where(close, 1.0, gap)
        )
        return {
            "As": a_s,
            "Bs": b_s,
            "A": a_m,
            "Bn": zero,
            "Bi": p["r"] * k,
            "Bx": (gain - p["r"] * k) * w_in,
            "C": c,
        }
    new, old = (gain, zero) if current == "new" else (zero, gain)
    return {"As": a_s, "Bs": b_s, "A": a_m, "Bn": new, "Bi": old, "Bx": zero, "C": c}


def effective(p, ctx: Context):
    """The node's parameters with the semantics' field overrides applied."""
    overrides = ctx.semantics.field_overrides(ctx.node.type)
    if not overrides:
        return p
    return {**p, **{k: resolve_field(v, p, ctx.semantics.dt) for k, v in overrides.items()}}


def carries_last(ctx: Context) -> bool:
    """Whether a spiking neuron must remember last step's spikes."""
    s = ctx.semantics
    return s.reset_timing == "next-step" or s.spike_output == "next-step"


def _prepare(kind: str):
    """``prepare(p, ctx)``: coefficients and what firing needs, computed once per run."""

    def prepare(p, ctx):
        s = ctx.semantics
        p = effective(p, ctx)
        if kind == "integrator":
            out = {"A": 1.0, "B": s.dt * p["r"], "C": 0.0}
        elif kind == "leaky":
            out = dict(
                zip(
                    "ABC",
                    leaky_coefficients(p["tau"], p["r"], p["v_leak"], s.dt, s.integrator),
                    strict=True,
                )
            )
        else:
            out = cuba_coefficients(p, s.dt, s.integrator, s.current)
        start = {"zero": 0.0, "v_leak": p.get("v_leak", 0.0), "v_reset": p.get("v_reset", 0.0)}[
            s.v_init
        ]
        out["v0"] = jnp.broadcast_to(jnp.asarray(start, ctx.dtype), ctx.out_shape)
        for key in ("v_threshold", "v_reset"):
            if key in p or key == "v_reset":
                out[key] = p.get(key, 0.0)
        return out

    return prepare


def _init(currents: bool, spiking: bool):
    def init(q, batch, ctx):
        zeros = jnp.zeros((batch, *ctx.out_shape), ctx.dtype)
        state = {"v": jnp.broadcast_to(q["v0"], zeros.shape)}
        if currents:
            state["i"] = zeros
        if spiking and carries_last(ctx):
            state["last"] = zeros
        return state

    return init


def _integrate(q, state, x):
    """This step's current (if any) and voltage, before firing."""
    if "As" not in q:
        return None, q["A"] * state["v"] + q["B"] * x + q["C"]
    i = state["i"]
    i_new = q["As"] * i + q["Bs"] * x
    w = q["A"] * state["v"]
    for key, value in (("Bn", i_new), ("Bi", i), ("Bx", x)):
        if not (isinstance(q[key], float) and q[key] == 0.0):  # absent from this integrator
            w = w + q[key] * value
    return i_new, w + q["C"]


def fire(w, last, q, ctx: Context):
    """Spikes from the integrated voltage ``w``, and the reset: ``(v, count, output)``."""
    s = ctx.semantics
    threshold, v_reset = q["v_threshold"], q["v_reset"]
    if s.reset_timing == "next-step" and s.reset == "subtract":
        w = w - jax.lax.stop_gradient(last) * threshold
    count = ctx.spike(w - threshold)
    if (
        s.max_spikes != 1
    ):  # the barrier keeps XLA from turning the division into a rounded reciprocal
        extra = (
            jnp.floor(w / jax.lax.optimization_barrier(jnp.broadcast_to(threshold, w.shape))) - 1
        )
        extra = jnp.maximum(extra, 0) if s.max_spikes == 0 else jnp.clip(extra, 0, s.max_spikes - 1)
        count = count * (1 + jax.lax.stop_gradient(extra))
    v = w
    if (
        s.reset_timing == "same-step" and s.reset != "none"
    ):  # resets carry no gradient (as snnTorch's)
        fired = jax.lax.stop_gradient(count)
        v = w - fired * threshold if s.reset == "subtract" else jnp.where(fired > 0, v_reset, w)
    if s.v_min == "-threshold":
        v = jnp.maximum(v, -threshold)
    sent = last if s.spike_output == "next-step" else count
    return v, count, sent / s.dt if s.spike_amplitude == "1/dt" else sent


def _step(spiking: bool):
    def step(q, state, x, ctx):
        s = ctx.semantics
        last = state.get("last")
        if (
            spiking and s.reset_timing == "next-step" and s.reset == "zero"
        ):  # reset before integrating
            state = {**state, "v": jnp.where(last > 0, q["v_reset"], state["v"])}
        i, w = _integrate(q, state, x)
        new = {} if i is None else {"i": i}
        if not spiking:
            return {**new, "v": w}, w
        v, count, out = fire(w, last, q, ctx)
        new["v"] = v
        if carries_last(ctx):
            new["last"] = count
        return new, out

    return step


def _sends_late(node, semantics) -> bool:
    """Spikes that leave one step late are known when the step starts."""
    return semantics.for_type(node.type).spike_output == "next-step"


def _emit_last(q, state, ctx):
    s = ctx.semantics
    return state["last"] / s.dt if s.spike_amplitude == "1/dt" else state["last"]


def _neuron(type_name: str, kind: str, params: tuple[str, ...], spiking: bool) -> Op:
    currents = kind == "cuba"
    return register(type_name)(
        Op(
            params=params,
            prepare=_prepare(kind),
            init=_init(currents, spiking),
            step=_step(spiking),
            states=("i", "v") if currents else ("v",),
            early=_sends_late if spiking else None,
            emit=_emit_last if spiking else None,
            layout="elementwise",
        )
    )


_LEAKY = ("tau", "r", "v_leak")
_CUBA = ("tau_syn", "tau_mem", "r", "v_leak", "w_in")
_FIRE = ("v_threshold", "v_reset")
INTEGRATOR = _neuron("I", "integrator", ("r",), spiking=False)
INTEGRATE_AND_FIRE = _neuron("IF", "integrator", ("r", *_FIRE), spiking=True)
LEAKY_INTEGRATOR = _neuron("LI", "leaky", _LEAKY, spiking=False)
LEAKY_INTEGRATE_AND_FIRE = _neuron("LIF", "leaky", (*_LEAKY, *_FIRE), spiking=True)
CUBA_LI = _neuron("CubaLI", "cuba", _CUBA, spiking=False)
CUBA_LIF = _neuron("CubaLIF", "cuba", (*_CUBA, *_FIRE), spiking=True)


def _threshold(p, x, ctx):
    spikes = ctx.spike(x - p["threshold"])
    return spikes / ctx.semantics.dt if ctx.semantics.spike_amplitude == "1/dt" else spikes


THRESHOLD = register("Threshold")(Op(params=("threshold",), apply=_threshold, layout="elementwise"))
