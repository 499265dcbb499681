"""Neurons: ``I``, ``IF``, ``LI``, ``LIF``, ``CubaLI``, ``CubaLIF`` and the stateless ``Threshold``.

Continuous-time models (NIR):

- ``LI``/``LIF``: ``tau dv/dt = (v_leak - v) + r x``
- ``CubaLI``/``CubaLIF``: ``tau_syn di/dt = -i + w_in x`` and ``tau_mem dv/dt = (v_leak - v) + r i``
- ``I``/``IF``: ``dv/dt = r x``

Each step follows `snnx.semantics`: integrate (`relax`, `cuba_exact`), fire, reset (now or on the
next step), clamp, emit (now or one step later). Gradients pass through spikes by the surrogate,
not through resets. A spiking neuron's state is its voltage (and
current) plus last step's spike count, which a next-step reset or a delayed output needs.

>>> import jax.numpy as jnp
>>> round(float(relax(jnp.array(0.0), 0.0, 1.0, 2.5e-3, 1e-4, "euler")), 6)
0.04
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from snnx.semantics import resolve_field
from snnx.sim.ops.registry import Context, Op, register


def relax(v, leak, drive, tau, dt: float, integrator: str):
    """One step of ``tau dv/dt = leak - v + drive`` (``drive`` held over the step)."""
    if integrator == "euler":
        return v + dt / tau * (leak - v + drive)
    decay = jnp.exp(-dt / tau)
    if integrator == "exact":
        return leak + drive + (v - leak - drive) * decay
    return leak + (v - leak) * decay + dt / tau * drive  # exp-decay: exact decay, Euler gain


def cuba_exact(i, v, current_in, p, dt: float):
    """The coupled current and voltage after one step, exactly, with the input held:
    ``i = i_in + (i - i_in) a_s`` and ``v = L + r i_in + (v - L - r i_in) a_m + r (i - i_in) k``
    where ``k = tau_syn (a_s - a_m) / (tau_syn - tau_mem)`` (``dt/tau_mem a_m`` when they match)."""
    tau_s, tau_m, r, leak = p["tau_syn"], p["tau_mem"], p["r"], p["v_leak"]
    a_s, a_m = jnp.exp(-dt / tau_s), jnp.exp(-dt / tau_m)
    gap = tau_s - tau_m
    close = jnp.abs(gap) < 1e-9 * tau_m
    safe_gap = jnp.where(close, 1.0, gap)
    kernel = jnp.where(close, dt / tau_m * a_m, tau_s * (a_s - a_m) / safe_gap)
    i_new = current_in + (i - current_in) * a_s
    v_new = (
        leak + r * current_in + (v - leak - r * current_in) * a_m + r * (i - current_in) * kernel
    )
    return i_new, v_new


def effective(p, ctx: Context):
    """The node's parameters with the semantics' field overrides applied."""
    overrides = ctx.semantics.field_overrides(ctx.node.type)
    if not overrides:
        return p
    return {**p, **{k: resolve_field(v, p, ctx.semantics.dt) for k, v in overrides.items()}}


def initial_voltage(p, batch: int, ctx: Context):
    """``v_init``: zero, the leak voltage or the reset voltage, per neuron."""
    start = {"zero": 0.0, "v_leak": p.get("v_leak", 0.0), "v_reset": p.get("v_reset", 0.0)}
    return jnp.broadcast_to(
        jnp.asarray(start[ctx.semantics.v_init], jnp.float32), (batch, *ctx.out_shape)
    )


def spike_and_reset(w, last, p, ctx: Context):
    """Fire on the integrated voltage ``w`` and reset; ``last`` is last step's spike count.
    Returns ``(v, count, output)``."""
    s = ctx.semantics
    threshold = p["v_threshold"]
    v_reset = p.get("v_reset", 0.0)
    if s.reset_timing == "next-step" and s.reset == "subtract":
        w = w - jax.lax.stop_gradient(last) * threshold
    count = ctx.spike(w - threshold)
    if s.max_spikes != 1:
        extra = jnp.floor(w / threshold) - 1
        extra = jnp.maximum(extra, 0) if s.max_spikes == 0 else jnp.clip(extra, 0, s.max_spikes - 1)
        count = count * (1 + jax.lax.stop_gradient(extra))
    v = w
    if s.reset_timing == "same-step":  # the reset carries no gradient (as snnTorch's default)
        fired = jax.lax.stop_gradient(count)
        v = w - fired * threshold if s.reset == "subtract" else jnp.where(fired > 0, v_reset, w)
    if s.v_min == "-threshold":
        v = jnp.maximum(v, -threshold)
    sent = last if s.spike_output == "next-step" else count
    amplitude = 1.0 / s.dt if s.spike_amplitude == "1/dt" else 1.0
    return v, count, sent * amplitude


def before_integration(v, last, p, ctx: Context):
    """A next-step zero reset acts on last step's voltage before it is integrated."""
    s = ctx.semantics
    if s.reset_timing == "next-step" and s.reset == "zero":
        return jnp.where(last > 0, p.get("v_reset", 0.0), v)
    return v


def _init(n_currents: int, spiking: bool):
    def init(p, batch, ctx):
        p = effective(p, ctx)
        zeros = jnp.zeros((batch, *ctx.out_shape))
        state = (*([zeros] * n_currents), initial_voltage(p, batch, ctx))
        return (*state, zeros) if spiking else state

    return init


# -- integrators: dv/dt = r x ------------------------------------------------------------------


def _i_step(p, state, x, ctx):
    p = effective(p, ctx)
    v = state[0] + ctx.semantics.dt * p["r"] * x
    return (v,), v


def _if_step(p, state, x, ctx):
    p = effective(p, ctx)
    v, last = state
    v = before_integration(v, last, p, ctx)
    v, count, out = spike_and_reset(v + ctx.semantics.dt * p["r"] * x, last, p, ctx)
    return (v, count), out


INTEGRATOR = register("I")(Op(params=("r",), init=_init(0, False), step=_i_step, states=("v",)))
INTEGRATE_AND_FIRE = register("IF")(
    Op(params=("r", "v_threshold", "v_reset"), init=_init(0, True), step=_if_step, states=("v",))
)


# -- leaky: tau dv/dt = v_leak - v + r x --------------------------------------------------------


def _leak(p, v, x, ctx):
    s = ctx.semantics
    return relax(v, p["v_leak"], p["r"] * x, p["tau"], s.dt, s.integrator)


def _li_step(p, state, x, ctx):
    p = effective(p, ctx)
    v = _leak(p, state[0], x, ctx)
    return (v,), v


def _lif_step(p, state, x, ctx):
    p = effective(p, ctx)
    v, last = state
    v, count, out = spike_and_reset(
        _leak(p, before_integration(v, last, p, ctx), x, ctx), last, p, ctx
    )
    return (v, count), out


_LEAKY = ("tau", "r", "v_leak")
LEAKY_INTEGRATOR = register("LI")(
    Op(params=_LEAKY, init=_init(0, False), step=_li_step, states=("v",))
)
LEAKY_INTEGRATE_AND_FIRE = register("LIF")(
    Op(
        params=(*_LEAKY, "v_threshold", "v_reset"),
        init=_init(0, True),
        step=_lif_step,
        states=("v",),
    )
)


# -- current-based: tau_syn di/dt = -i + w_in x, tau_mem dv/dt = v_leak - v + r i -----------------


def _cuba(p, i, v, x, ctx):
    """This step's current and integrated (not yet reset) voltage."""
    s = ctx.semantics
    current_in = p.get("w_in", 1.0) * x
    if s.integrator == "exact":
        return cuba_exact(i, v, current_in, p, s.dt)
    i_new = relax(i, 0.0, current_in, p["tau_syn"], s.dt, s.integrator)
    drive = i_new if s.current == "new" else i
    return i_new, relax(v, p["v_leak"], p["r"] * drive, p["tau_mem"], s.dt, s.integrator)


def _cubali_step(p, state, x, ctx):
    p = effective(p, ctx)
    i, v = _cuba(p, *state, x, ctx)
    return (i, v), v


def _cubalif_step(p, state, x, ctx):
    p = effective(p, ctx)
    i, v, last = state
    i, w = _cuba(p, i, before_integration(v, last, p, ctx), x, ctx)
    v, count, out = spike_and_reset(w, last, p, ctx)
    return (i, v, count), out


_CUBA = ("tau_syn", "tau_mem", "r", "v_leak", "w_in")
CUBA_LI = register("CubaLI")(
    Op(params=_CUBA, init=_init(1, False), step=_cubali_step, states=("i", "v"))
)
CUBA_LIF = register("CubaLIF")(
    Op(
        params=(*_CUBA, "v_threshold", "v_reset"),
        init=_init(1, True),
        step=_cubalif_step,
        states=("i", "v"),
    )
)


# -- threshold: z = H(x - threshold), stateless ------------------------------------------------


def _threshold(p, x, ctx):
    amplitude = 1.0 / ctx.semantics.dt if ctx.semantics.spike_amplitude == "1/dt" else 1.0
    return ctx.spike(x - p["threshold"]) * amplitude


THRESHOLD = register("Threshold")(Op(params=("threshold",), apply=_threshold))
