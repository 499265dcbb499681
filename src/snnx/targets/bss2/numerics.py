"""Exact event-based simulation of a `Network` in continuous time (float64, JAX, batched).

Between events each neuron's state has a closed form. With ``s`` the time since the last event,
``u = I0 - drive`` and ``v_inf = v_leak + drive``:

    I(s) = drive + u e^{-s/tau_syn}
    v(s) = v_inf + (v0 - v_inf) e^{-s/tau_mem} + u K(s)
    K(s) = tau_syn/(tau_syn - tau_mem) (e^{-s/tau_syn} - e^{-s/tau_mem})
         = (s/tau_mem) e^{-s/tau_max} phi(-s |1/tau_syn - 1/tau_mem|),   phi(x) = expm1(x)/x

The second form of ``K`` has no cancellation: it holds for any ratio, equal time constants
included (``K = (s/tau) e^{-s/tau}``). ``dv/ds = (v_leak + I - v)/tau_mem``, so ``v`` has at most
one stationary point for ``s > 0``, at

    s_p = tau_syn (1 - D) psi((1 - rho)(D - 1)),   D = (v0 - v_inf)/u,  rho = tau_syn/tau_mem,
    psi(x) = log1p(x)/x

(``tau (u - (v0 - v_inf))/u`` for equal time constants). Splitting the interval at ``s_p`` gives at
most two monotone pieces; the first piece whose end is at or above threshold brackets the first
crossing, which safeguarded Newton iterations (bisection whenever a Newton step leaves the
bracket, and every fourth step) pin down to float64 precision. A neuron found at or above
threshold when an interval starts fires at once, so near-simultaneous crossings are never lost;
neurons crossing at the same instant fire together.

Event loop, per sample of the batch (all samples advance together, each on its own clock): find
every neuron's first crossing before the next input event, take the earliest, advance all neurons
to it exactly, reset the ones that fired and add their jumps (zero delay), repeat; at an input
event add its jumps. A neuron that fired is held at ``v_reset`` for its refractory time while its
current keeps decaying; its crossing search starts where the hold ends. Inputs are either spike counts on a time grid (`run_grid`, a spike of step
``n`` arriving at ``n dt + input_offset``) or lists of events at arbitrary times (`run_events`).

>>> import numpy as np
>>> net = Network.single(tau_mem=1e-3, tau_syn=5e-4, weight=5.0)   # tau_mem = 2 tau_syn
>>> times = spike_times_events(net, [[[1e-3]]], t_end=0.01)
>>> t_exact = 1e-3 - 1e-3 * np.log((1 + np.sqrt(1 - 4 / 5.0)) / 2)   # closed form for ratio 2
>>> bool(abs(times[0][0][0] - t_exact) < 1e-15)
True
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from snnx.errors import SnnxError
from snnx.targets.bss2.network import Network

#: Most events (crossings) one sample may see between two input events, and Newton iterations.
MAX_EVENTS_PER_INTERVAL = 100_000
MAX_ROOT_ITERATIONS = 200


class Params(NamedTuple):
    """The network as float64 arrays (a pytree, so instances of the mismatch model share one
    compiled program)."""

    tau_mem: Any
    tau_syn: Any
    v_leak: Any
    v_threshold: Any
    v_reset: Any
    drive: Any
    v_start: Any
    w_input: Any  # (N, inputs)
    w_internal: Any  # (N, N)
    refractory: Any  # (N,)


def params_of(net: Network) -> Params:
    """The `Params` pytree of a `Network` (numpy float64; JAX converts on call)."""
    return Params(
        net.tau_mem,
        net.tau_syn,
        net.v_leak,
        net.v_threshold,
        net.v_reset,
        net.drive,
        net.v_start,
        net.w_input,
        net.w_internal,
        net.refractory,
    )


# -- closed forms ------------------------------------------------------------------------------


def _phi(x: jax.Array) -> jax.Array:
    """``expm1(x)/x``, 1 at 0."""
    small = jnp.abs(x) < 1e-9
    safe = jnp.where(small, 1.0, x)
    return jnp.where(small, 1.0 + 0.5 * x, jnp.expm1(safe) / safe)


def _psi(x: jax.Array) -> jax.Array:
    """``log1p(x)/x`` for ``x > -1``, 1 at 0."""
    small = jnp.abs(x) < 1e-9
    safe = jnp.where(small, 1.0, x)
    return jnp.where(small, 1.0 - 0.5 * x, jnp.log1p(safe) / safe)


def evolve(p: Params, v: jax.Array, i: jax.Array, s: jax.Array) -> tuple[jax.Array, jax.Array]:
    """State ``(v, I)`` after ``s`` seconds without events (``s`` broadcasts against ``v``)."""
    u = i - p.drive
    v_inf = p.v_leak + p.drive
    slow = jnp.maximum(p.tau_mem, p.tau_syn)
    gap = jnp.abs(1.0 / p.tau_syn - 1.0 / p.tau_mem)
    kernel = (s / p.tau_mem) * jnp.exp(-s / slow) * _phi(-s * gap)
    v_new = v_inf + (v - v_inf) * jnp.exp(-s / p.tau_mem) + u * kernel
    return v_new, p.drive + u * jnp.exp(-s / p.tau_syn)


def _slope(p: Params, v: jax.Array, i: jax.Array) -> jax.Array:
    return (p.v_leak + i - v) / p.tau_mem


def stationary_point(p: Params, v: jax.Array, i: jax.Array) -> jax.Array:
    """The ``s > 0`` where ``dv/ds = 0``, or ``inf``."""
    u = i - p.drive
    b = v - (p.v_leak + p.drive)
    rho = p.tau_syn / p.tau_mem
    nonzero = u != 0
    d = jnp.where(nonzero, b / jnp.where(nonzero, u, 1.0), 0.0)
    x = (1.0 - rho) * (d - 1.0)
    valid = nonzero & (x > -1.0)
    s = p.tau_syn * (1.0 - d) * _psi(jnp.where(valid, x, 0.0))
    return jnp.where(valid & (s > 0) & jnp.isfinite(s), s, jnp.inf)


def _root(
    p: Params, v: jax.Array, i: jax.Array, lo: jax.Array, hi: jax.Array, active: jax.Array
) -> jax.Array:
    """The crossing in ``[lo, hi]`` where ``f = v - threshold`` rises through 0 (``f(lo) < 0 <=
    f(hi)``, ``f`` monotone there), for the ``active`` entries."""
    eps = jnp.finfo(v.dtype).eps

    def body(c: tuple) -> tuple:
        lo, hi, x, done, k = c
        vx, ix = evolve(p, v, i, x)
        fx = vx - p.v_threshold
        new_lo = jnp.where(fx < 0, x, lo)
        new_hi = jnp.where(fx >= 0, x, hi)
        newton = x - fx / _slope(p, vx, ix)
        inside = jnp.isfinite(newton) & (newton > new_lo) & (newton < new_hi) & (k % 4 != 3)
        nxt = jnp.where(inside, newton, 0.5 * (new_lo + new_hi))
        tol = 4 * eps * jnp.maximum(jnp.abs(x), jnp.finfo(v.dtype).tiny)
        converged = (fx == 0) | (new_hi - new_lo <= tol) | (inside & (jnp.abs(newton - x) <= tol))
        final = jnp.where(fx == 0, x, jnp.where(inside, newton, new_hi))
        x = jnp.where(done, x, jnp.where(converged, final, nxt))
        lo = jnp.where(done, lo, new_lo)
        hi = jnp.where(done, hi, new_hi)
        return lo, hi, x, done | converged, k + 1

    def cond(c: tuple) -> jax.Array:
        return (~jnp.all(c[3])) & (c[4] < MAX_ROOT_ITERATIONS)

    start = 0.5 * (lo + hi)
    lo, hi, x, _, _ = jax.lax.while_loop(cond, body, (lo, hi, start, ~active, jnp.int32(0)))
    return jnp.clip(x, lo, hi)


def _release(
    p: Params, v: jax.Array, i: jax.Array, s: jax.Array, hold: ArrayLike
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The state where the free dynamics take over: after ``min(hold, s)`` seconds clamped at
    ``v_reset`` (the refractory time left), and that time."""
    h = jnp.minimum(hold, s)
    i_h = p.drive + (i - p.drive) * jnp.exp(-h / p.tau_syn)
    return jnp.where(jnp.asarray(hold) > 0, p.v_reset, v), i_h, h


def evolve_held(
    p: Params, v: jax.Array, i: jax.Array, s: jax.Array, hold: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """`evolve` for neurons that stay clamped at ``v_reset`` for ``hold`` more seconds."""
    v_h, i_h, h = _release(p, v, i, s, hold)
    return evolve(p, v_h, i_h, s - h)


def first_crossing(
    p: Params, v: jax.Array, i: jax.Array, horizon: jax.Array, hold: ArrayLike = 0.0
) -> jax.Array:
    """Time from now to each neuron's first threshold crossing within ``[0, horizon]``
    (``inf`` where there is none; 0 where ``v`` is already at or above threshold), for neurons
    clamped ``hold`` more seconds."""
    v, i, h = _release(p, v, i, horizon, hold)
    return h + _free_crossing(p, v, i, horizon - h)


def _free_crossing(p: Params, v: jax.Array, i: jax.Array, horizon: jax.Array) -> jax.Array:
    f0 = v - p.v_threshold
    sp = stationary_point(p, v, i)
    mid = jnp.minimum(sp, horizon)
    f_mid = evolve(p, v, i, mid)[0] - p.v_threshold
    f_end = evolve(p, v, i, horizon)[0] - p.v_threshold
    above = f0 >= 0
    first = ~above & (f_mid >= 0)
    second = ~above & ~first & (mid < horizon) & (f_end >= 0)
    found = first | second
    lo = jnp.where(second, mid, 0.0)
    hi = jnp.where(first, mid, horizon + jnp.zeros_like(v))
    root = jax.lax.cond(
        jnp.any(found), lambda: _root(p, v, i, lo, hi, found), lambda: jnp.zeros_like(v)
    )
    return jnp.where(above, 0.0, jnp.where(found, root, jnp.inf))


# -- the event loop ----------------------------------------------------------------------------


class State(NamedTuple):
    v: Any  # (B, N)
    i: Any  # (B, N)
    t: Any  # (B,)
    until: Any  # (B, N) end of each neuron's refractory time
    counts: Any  # (B, N) spikes since the counter was last cleared
    times: Any  # (B, cap) spike times (recorded when cap > 0)
    neurons: Any  # (B, cap) spiking neuron of each recorded time
    recorded: Any  # (B,) spikes seen (may exceed cap: then some were not recorded)
    overflow: Any  # () True when an interval hit MAX_EVENTS_PER_INTERVAL


def _advance(p: Params, state: State, t_stop: jax.Array) -> State:
    """Run every sample from its clock to ``t_stop`` (B,), firing on the way."""
    cap = state.times.shape[1]

    def body(c: tuple) -> tuple:
        st, _, k = c
        horizon = jnp.maximum(t_stop - st.t, 0.0)[:, None]
        hold = jnp.maximum(st.until - st.t[:, None], 0.0)
        s = first_crossing(p, st.v, st.i, horizon, hold)
        m = jnp.min(s, axis=1)
        has = jnp.isfinite(m)
        step = jnp.where(has, m, horizon[:, 0])
        v, i = evolve_held(p, st.v, st.i, step[:, None], hold)
        fired = has[:, None] & (s <= m[:, None])
        v = jnp.where(fired, p.v_reset, v)
        i = i + fired.astype(v.dtype) @ p.w_internal.T
        t = jnp.where(has, st.t + m, t_stop)
        until = jnp.where(fired, t[:, None] + p.refractory, st.until)
        times, neurons = st.times, st.neurons
        if cap:
            slot = st.recorded[:, None] + jnp.cumsum(fired, axis=1, dtype=jnp.int32) - 1
            slot = jnp.where(fired, slot, jnp.int32(cap))
            rows = jnp.broadcast_to(jnp.arange(v.shape[0])[:, None], slot.shape)
            cols = jnp.broadcast_to(jnp.arange(v.shape[1], dtype=jnp.int32)[None, :], slot.shape)
            times = times.at[rows, slot].set(jnp.broadcast_to(t[:, None], slot.shape), mode="drop")
            neurons = neurons.at[rows, slot].set(cols, mode="drop")
        st = State(
            v,
            i,
            t,
            until,
            st.counts + fired.astype(jnp.int32),
            times,
            neurons,
            st.recorded + fired.sum(axis=1, dtype=jnp.int32),
            st.overflow,
        )
        return st, jnp.any(has), k + 1

    def cond(c: tuple) -> jax.Array:
        return c[1] & (c[2] < MAX_EVENTS_PER_INTERVAL)

    state, busy, _ = jax.lax.while_loop(cond, body, (state, jnp.bool_(True), jnp.int32(0)))
    return state._replace(overflow=state.overflow | busy)


def _start(p: Params, batch: int, cap: int) -> State:
    n = p.tau_mem.shape[0]
    return State(
        v=jnp.broadcast_to(p.v_start, (batch, n)),
        i=jnp.zeros((batch, n)),
        t=jnp.zeros((batch,)),
        until=jnp.zeros((batch, n)),
        counts=jnp.zeros((batch, n), jnp.int32),
        times=jnp.full((batch, cap), jnp.inf),
        neurons=jnp.full((batch, cap), -1, jnp.int32),
        recorded=jnp.zeros((batch,), jnp.int32),
        overflow=jnp.bool_(False),
    )


@functools.partial(jax.jit, static_argnames=("cap", "record_v"))
def _grid(
    p: Params,
    offsets: jax.Array,
    groups: jax.Array,
    inputs: jax.Array,
    dt: float,
    cap: int,
    record_v: bool,
) -> tuple[jax.Array, jax.Array, State]:
    """inputs (T, B, n_in); groups (K, N) 0/1: which neurons receive inputs at offset k."""
    steps, batch = inputs.shape[:2]
    w_groups = groups[:, :, None] * p.w_input[None]  # (K, N, n_in)

    def step(state: State, xs: tuple) -> tuple[State, tuple[jax.Array, jax.Array]]:
        n, x = xs
        t0 = n * dt
        state = state._replace(counts=jnp.zeros_like(state.counts))
        for k in range(offsets.shape[0]):
            state = _advance(p, state, jnp.full((batch,), t0 + offsets[k]))
            state = state._replace(i=state.i + x @ w_groups[k].T)
        state = _advance(p, state, jnp.full((batch,), (n + 1) * dt))
        out = (state.counts, state.v if record_v else jnp.zeros((0,)))
        return state, out

    first = _start(p, batch, cap)
    index = jnp.arange(steps, dtype=inputs.dtype)
    last, (counts, volts) = jax.lax.scan(step, first, (index, inputs))
    return counts, volts, last


@functools.partial(jax.jit, static_argnames=("cap",))
def _events(
    p: Params,
    times: jax.Array,
    channels: jax.Array,
    amplitudes: jax.Array,
    t_end: ArrayLike,
    cap: int,
) -> State:
    """times/channels/amplitudes (E, B), sorted by time per sample; channel -1 is padding."""
    batch = times.shape[1]
    table = jnp.concatenate([p.w_input.T, jnp.zeros((1, p.w_input.shape[0]))])  # (n_in + 1, N)

    def step(state: State, xs: tuple) -> tuple[State, None]:
        t, ch, amp = xs
        state = _advance(p, state, jnp.minimum(t, t_end))
        live = (ch >= 0) & (t < t_end)
        jump = table[jnp.where(live, ch, table.shape[0] - 1)] * jnp.where(live, amp, 0.0)[:, None]
        return state._replace(i=state.i + jump), None

    state, _ = jax.lax.scan(step, _start(p, batch, cap), (times, channels, amplitudes))
    return _advance(p, state, jnp.full((batch,), t_end))


# -- public entry points -----------------------------------------------------------------------


def _offset_groups(net: Network) -> tuple[np.ndarray, np.ndarray]:
    fed = np.any(net.w_input != 0, axis=1)
    offsets = np.unique(net.input_offset[fed]) if fed.any() else np.zeros(1)
    if offsets.size and (offsets.min() < 0 or offsets.max() >= net.dt):
        raise SnnxError(f"input offsets must lie in [0, dt={net.dt:g}), got {offsets}")
    groups = np.stack([(net.input_offset == o) & fed for o in offsets]).astype(np.float64)
    return offsets, groups


def _check(state: State, cap: int) -> None:
    if bool(state.overflow):
        raise SnnxError(
            f"more than {MAX_EVENTS_PER_INTERVAL} spikes between two input events in one sample: "
            "a neuron fires without bound (reset at or above threshold?)"
        )
    if cap and int(np.max(np.asarray(state.recorded), initial=0)) > cap:
        raise SnnxError(
            f"{int(np.max(np.asarray(state.recorded)))} spikes in one sample exceed the recording "
            f"capacity {cap}; pass a larger capacity"
        )


def run_grid(
    net: Network,
    inputs: np.ndarray,
    *,
    params: Params | None = None,
    record_v: bool = False,
    capacity: int | None = 0,
) -> dict[str, Any]:
    """Simulate inputs on the grid: ``inputs`` ``(T, B, n_in)`` (spike counts per step; other
    values scale the jumps). Returns ``counts`` ``(T, B, N)``: spikes of each neuron in each step
    ``[n dt, (n+1) dt)``; with ``record_v`` also ``v`` ``(T, B, N)`` at the end of each step; with
    ``capacity`` > 0 (or ``None``: as many as needed) also ``times`` / ``neurons`` ``(B, cap)``:
    every spike (``inf`` / -1 padded). ``params`` replaces the network's numbers (same shapes:
    the mismatch model).

    >>> net = Network.single(tau_mem=1e-3, tau_syn=5e-4, weight=5.0, dt=1e-4)
    >>> x = np.zeros((30, 1, 1)); x[2] = 1
    >>> np.flatnonzero(run_grid(net, x)["counts"][:, 0, 0]).tolist()
    [5]
    """
    x = np.asarray(inputs, dtype=np.float64)
    steps, batch = x.shape[:2]
    x = x.reshape(steps, batch, -1)
    if x.shape[2] != net.inputs:
        raise SnnxError(
            f"inputs have {x.shape[2]} channels per step; the network takes {net.inputs}"
        )
    offsets, groups = _offset_groups(net)
    cap = 1 << (max(256, steps * net.size // 8) - 1).bit_length() if capacity is None else capacity
    with jax.enable_x64(True):
        while True:
            counts, volts, last = _grid(
                params or params_of(net),
                jnp.asarray(offsets),
                jnp.asarray(groups),
                jnp.asarray(x),
                jnp.float64(net.dt),
                cap=int(cap),
                record_v=bool(record_v),
            )
            seen = int(np.max(np.asarray(last.recorded), initial=0))
            if capacity is not None or seen <= cap:
                break
            cap = 1 << (seen - 1).bit_length()
        _check(last, cap)
        out = {"counts": np.asarray(counts)}
        if record_v:
            out["v"] = np.asarray(volts)
        if cap:
            out["times"] = np.asarray(last.times)
            out["neurons"] = np.asarray(last.neurons)
    return out


def run_events(
    net: Network,
    events: list[list[list[float]]],
    t_end: float,
    *,
    params: Params | None = None,
    amplitude: float = 1.0,
    capacity: int | None = None,
    slots: int | None = None,
) -> dict[str, np.ndarray]:
    """Simulate input spikes at arbitrary times: ``events[b][j]`` lists the spike times (model
    seconds) of input channel ``j`` in sample ``b``; each adds ``amplitude * w_input[:, j]``.
    Simultaneous events all apply. Returns ``times`` / ``neurons`` ``(B, capacity)`` (every spike
    before ``t_end``, ``inf`` / -1 padded) and ``counts`` ``(B, N)``. The event list is padded
    to ``slots`` (default: the next power of two), the capacity grown as needed unless given:
    equal shapes share one compiled program."""
    batch = len(events)
    flat = []
    for b, channels in enumerate(events):
        if len(channels) != net.inputs:
            raise SnnxError(
                f"sample {b} lists {len(channels)} input channels; the network takes {net.inputs}"
            )
        pairs = sorted((float(t), j) for j, train in enumerate(channels) for t in np.ravel(train))
        flat.append(pairs)
    longest = max(len(f) for f in flat)
    length = slots or 1 << max(0, longest - 1).bit_length()
    if length < longest:
        raise SnnxError(f"{longest} input events do not fit in {length} slots")
    times = np.full((length, batch), np.inf)
    chans = np.full((length, batch), -1, dtype=np.int32)
    for b, pairs in enumerate(flat):
        for e, (t, j) in enumerate(pairs):
            times[e, b], chans[e, b] = t, j
    amps = np.full((length, batch), float(amplitude))
    cap = int(capacity) if capacity else 1 << (8 * net.size + 2 * length - 1).bit_length()
    with jax.enable_x64(True):
        while True:
            state = _events(
                params or params_of(net),
                jnp.asarray(times),
                jnp.asarray(chans),
                jnp.asarray(amps),
                jnp.float64(t_end),
                cap=cap,
            )
            seen = int(np.max(np.asarray(state.recorded), initial=0))
            if capacity or seen <= cap:
                break
            cap = 1 << (seen - 1).bit_length()
        _check(state, cap)
        return {
            "times": np.asarray(state.times),
            "neurons": np.asarray(state.neurons),
            "counts": np.asarray(state.counts),
        }


def trains(times: np.ndarray, neurons: np.ndarray, size: int) -> list[list[np.ndarray]]:
    """Recorded ``(B, cap)`` times and neurons as ``[sample][neuron] -> sorted times``."""
    out = []
    for t_row, n_row in zip(np.asarray(times), np.asarray(neurons), strict=True):
        keep = n_row >= 0
        out.append([np.sort(t_row[keep & (n_row == k)]) for k in range(size)])
    return out


def spike_times_events(
    net: Network, events: list[list[list[float]]], t_end: float, **options: Any
) -> list[list[np.ndarray]]:
    """`run_events` as ``[sample][neuron] -> spike times (model seconds)``."""
    result = run_events(net, events, t_end, **options)
    return trains(result["times"], result["neurons"], net.size)
