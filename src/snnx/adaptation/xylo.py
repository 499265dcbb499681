"""Adapting a Xylo program (`snnx.targets.xylo`): the int8 input, recurrent and readout weights,
the int16 thresholds and the 4-bit decay shifts (``dash``), trained through Xylo's integer step (`snnx.targets.xylo.numerics`) in
float32 (every value an integer below 2^16, so exact) with straight-through rounding::

    I  += counts @ (w << shift)                         (saturating adds as one clamp)
    I  -= dec(I, dash_syn),   dec(x, d) = floor(x / 2^d), or sign(x) where that is 0
    dV  = clamp(-dec(V, dash_mem) + sum I + bias),   V = clamp(V + dV)
    n   = min(floor(V / threshold), 31 (1 for outputs)) where V >= threshold,   V -= n threshold

The neuron update is the exact numerics' own (`snnx.targets.xylo.numerics.neurons`), given the
straight-through shift and the surrogate-gradient firing rule. Weight shifts and biases keep
their lowered values. A weight may only
become non-zero where the lowered program connects the two populations (and, for recurrent
weights, only where it was non-zero if the block pattern would exceed the chip's fan-out), so
the adapted program keeps within the chip's projection and fan-out limits; `XyloProgram.check`
confirms it on the written program.

>>> import numpy as np, snnx
>>> from snnx.targets import get_target
>>> lowered = get_target("xylo").lower(
...     snnx.read(snnx.example_path("braille")), snnx.Semantics.profile("snntorch"))
>>> adapter = XyloAdapter()
>>> again = adapter.apply(lowered, adapter.init(lowered))
>>> bool(np.array_equal(again.program.weights_rec, lowered.program.weights_rec))
True
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from snnx.adaptation.base import Params
from snnx.adaptation.surrogate import floor_ste, round_ste, spike_count
from snnx.targets.base import Lowered
from snnx.targets.xylo import numerics
from snnx.targets.xylo.program import XyloProgram
from snnx.targets.xylo.spec import (
    DASH_MAX,
    MAX_HIDDEN_SPIKES,
    MAX_INPUT_EVENTS,
    MAX_OUTPUT_SPIKES,
    STATE_MAX,
    WEIGHT_MAX,
    WEIGHT_MIN,
)

_WEIGHTS = ("weights_in", "weights_rec", "weights_out")
_THRESHOLDS = ("threshold", "threshold_out")
_DASHES = ("dash_mem", "dash_syn", "dash_syn_2", "dash_mem_out", "dash_syn_out")


class XyloAdapter:
    """The Xylo adapter (`snnx.adaptation.base.Adapter`)."""

    batch = 32
    learning_rate = 0.0003

    def init(self, lowered: Lowered) -> Params:
        """Weights over 128, thresholds over their lowered values."""
        p: XyloProgram = lowered.program
        params: Params = {k: jnp.asarray(getattr(p, k), jnp.float32) / 128.0 for k in _WEIGHTS}
        for k in _THRESHOLDS:
            params[k] = jnp.ones(np.shape(getattr(p, k)), jnp.float32)
        for k in _DASHES:
            params[k] = jnp.asarray(getattr(p, k), jnp.float32) / DASH_MAX
        return params

    def feed(self, lowered: Lowered, inputs: np.ndarray) -> np.ndarray:
        """Input event counts ``(T, B, Nin)``, at most 15 per step (as the chip clips)."""
        inputs = np.asarray(inputs, np.float32)
        raster = inputs.reshape(inputs.shape[0], inputs.shape[1], -1)
        return np.clip(np.round(raster), 0, MAX_INPUT_EVENTS)

    def forward(self, lowered: Lowered, params: Params, x: jax.Array) -> dict[str, jax.Array]:
        """Each population's spike counts ``(T, B, size)``, differentiably."""
        p: XyloProgram = lowered.program
        w = _integers(lowered, params)
        f32 = lambda a: jnp.asarray(np.asarray(a), jnp.float32)  # noqa: E731
        w_src = jnp.concatenate(
            [w["weights_in"] * 2.0**p.weight_shift_in, w["weights_rec"] * 2.0**p.weight_shift_rec]
        )
        w_out = w["weights_out"] * 2.0**p.weight_shift_out
        syn_dash = jnp.stack([w["dash_syn"], w["dash_syn_2"]], axis=-1)[:, : p.synapses]
        hidden = (syn_dash, w["dash_mem"], w["threshold"], f32(p.bias), MAX_HIDDEN_SPIKES)
        out_consts = (
            w["dash_syn_out"][:, None],
            w["dash_mem_out"],
            w["threshold_out"],
            f32(p.bias_out),
            MAX_OUTPUT_SPIKES,
        )
        batch = x.shape[1]
        init = (
            jnp.zeros((batch, p.n_hidden, p.synapses)),
            jnp.zeros((batch, p.n_hidden)),
            jnp.zeros((batch, p.n_out, 1)),
            jnp.zeros((batch, p.n_out)),
            jnp.zeros((batch, p.n_hidden)),
        )

        def step(carry: tuple[jax.Array, ...], xt: jax.Array) -> tuple[Any, Any]:
            syn, v, syn_out, v_out, last = carry
            # the recurrent path passes no gradient back in time (it would explode: each hidden
            # spike moves a neighbour's current by thousands of units)
            sources = jnp.concatenate([xt, jax.lax.stop_gradient(last)], axis=1)
            syn = numerics.sat(syn + jnp.einsum("bk,kns->bns", sources, w_src))
            syn_out = numerics.sat(syn_out + (last @ w_out)[..., None])
            syn, v, n = numerics.neurons(syn, v, *hidden, shift=_dec, events=_events)
            syn_out, v_out, n_out = numerics.neurons(
                syn_out, v_out, *out_consts, shift=_dec, events=_events
            )
            return (syn, v, syn_out, v_out, n), (n, n_out)

        _, (h, o) = jax.lax.scan(step, init, x)
        return {b.name: (o if b.output else h)[:, :, b.start : b.start + b.size] for b in p.blocks}

    def apply(self, lowered: Lowered, params: Params) -> Lowered:
        """The program with the trained int8 weights and int16 thresholds (checked)."""
        p: XyloProgram = lowered.program
        found = {k: np.asarray(v) for k, v in _integers(lowered, params).items()}
        changes: dict[str, Any] = {k: found[k].astype(np.int8) for k in _WEIGHTS}
        changes.update({k: found[k].astype(np.int64) for k in (*_THRESHOLDS, *_DASHES)})
        program = dataclasses.replace(p, **changes)
        program.check()
        return dataclasses.replace(lowered, program=program)


def _dec(x: jax.Array, dash: jax.Array) -> jax.Array:
    """``x >> dash``, or ``sign(x)`` where that is 0 and ``x != 0`` (straight through)."""
    d = floor_ste(x * 2.0 ** (-dash))
    return jnp.where((jax.lax.stop_gradient(d) == 0) & (x != 0), jnp.sign(x), d)


def _events(v: jax.Array, threshold: jax.Array, cap: int) -> tuple[jax.Array, jax.Array]:
    """`numerics.fire` with the surrogate gradient of `spike_count`."""
    n = spike_count(v, threshold, cap)
    return n, v - jax.lax.stop_gradient(n) * threshold


def _integers(lowered: Lowered, params: Params) -> dict[str, jax.Array]:
    """The trained parameters as the chip's integers (straight through), masked weights."""
    p: XyloProgram = lowered.program
    out = {}
    for k in _WEIGHTS:
        w = jnp.clip(round_ste(params[k] * 128.0), WEIGHT_MIN, WEIGHT_MAX)
        out[k] = jnp.where(jnp.asarray(allowed(p, k)), w, 0.0)
    for k in _THRESHOLDS:
        lowered_value = jnp.asarray(np.asarray(getattr(p, k)), jnp.float32)
        out[k] = jnp.clip(round_ste(params[k] * lowered_value), 1, STATE_MAX)
    for k in _DASHES:
        out[k] = jnp.clip(round_ste(params[k] * DASH_MAX), 0, DASH_MAX)
    return out


def allowed(program: XyloProgram, name: str) -> np.ndarray:
    """Where weight matrix ``name`` may be non-zero: between populations the lowered program
    connects (recurrent: only its non-zero entries, if the block pattern would exceed the
    chip's fan-out).

    >>> from snnx.targets.xylo.spec import IMU
    >>> p = XyloProgram.empty(IMU, n_in=1, n_hidden=2, n_out=1)
    >>> p.weights_out[1, 0] = 3
    >>> allowed(p, "weights_out").tolist()
    [[False], [True]]
    """
    w = np.asarray(getattr(program, name))
    if not program.blocks:
        return w != 0
    hidden = [b for b in program.blocks if not b.output]
    outputs = [b for b in program.blocks if b.output]
    rows = {"weights_in": None, "weights_rec": hidden, "weights_out": hidden}[name]
    cols = {"weights_in": hidden, "weights_rec": hidden, "weights_out": outputs}[name]
    mask = np.zeros(w.shape, bool)
    row_spans = [slice(None)] if rows is None else [slice(b.start, b.start + b.size) for b in rows]
    for r in row_spans:
        for b in cols:
            c = slice(b.start, b.start + b.size)
            if np.any(w[r, c] != 0):
                mask[r, c] = True
    if (
        name == "weights_rec"
        and np.count_nonzero(mask.any(axis=2) if mask.ndim == 3 else mask, axis=1).max(initial=0)
        > program.chip.max_fan_out
    ):
        return w != 0
    if name == "weights_rec" and np.count_nonzero(mask) > program.chip.recurrent_weights:
        return w != 0
    return mask
