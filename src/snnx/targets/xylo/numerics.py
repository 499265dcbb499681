"""Xylo's integer arithmetic, bit-exact, batched, in JAX.

``sat(x)`` clamps to int16 ``[-32768, 32767]``; ``dec(x, d) = x >> d`` (arithmetic shift, i.e.
floor division by ``2^d``), replaced by ``sign(x)`` where that is 0 and ``x != 0``. Weights take
effect as ``w' = w << shift`` (int8 weight, the matrix's left shift, wrapped to int16). Each step:

1. **Input.** Channel ``c`` carries ``n = min(count, 15)`` events; each adds ``w'`` to its
   target's synaptic state with one saturating add (``I = sat(I + w')``), channels in ascending
   order; then the hidden events of the previous step (``<= 31`` per neuron) arrive through the
   recurrent weights, sources in ascending order, and through the readout weights into the
   output neurons' single synaptic state. (``k`` saturating adds of one ``w'`` are
   ``clamp(I + k w')``; when no running sum can leave int16 the whole delivery is one matrix
   product, otherwise it goes source by source.)
2. **Synapses.** ``I -= dec(I, dash_syn)`` (and ``dash_syn_2`` for the second state): the input
   of this step decays at once.
3. **Membrane.** ``dv = sat(wrap16(-dec(V, dash_mem)) + (I1 + I2))``, ``dv = sat(dv + bias)``,
   ``V = sat(V + dv)``.
4. **Spikes.** While ``V >= threshold`` and fewer than 31 events (1 for an output neuron):
   one more event, ``V -= threshold``. No refractory period, no reset to zero.

Latency: input reaches the hidden neurons in the same step; a hidden spike reaches another hidden
neuron or an output neuron one step later. These rules were measured against xylosim 0.1.3 (the
simulator behind Rockpool's ``XyloSim``); the ``xylo`` cross-check tier compares this module with
it spike for spike and state for state.

>>> import numpy as np
>>> from snnx.targets.xylo.program import XyloProgram
>>> from snnx.targets.xylo.spec import AUDIO2
>>> p = XyloProgram.empty(AUDIO2, n_in=1, n_hidden=1, n_out=1)
>>> p.weights_in[0, 0, 0] = p.weights_out[0, 0] = 100
>>> p.threshold[:] = p.threshold_out[:] = 50
>>> p.dash_syn[:] = p.dash_mem[:] = p.dash_syn_out[:] = p.dash_mem_out[:] = 15
>>> r = simulate(p, np.array([[1], [0], [0]]).reshape(3, 1, 1), states=True)
>>> r["hidden_spikes"][:, 0, 0].tolist(), r["vmem"][:, 0, 0].tolist(), r["out_spikes"][:, 0, 0].tolist()
([1, 2, 2], [49, 46, 42], [0, 1, 1])
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from snnx.errors import SnnxError
from snnx.targets.xylo.program import XyloProgram
from snnx.targets.xylo.spec import (
    MAX_HIDDEN_SPIKES,
    MAX_INPUT_EVENTS,
    MAX_OUTPUT_SPIKES,
    STATE_MAX,
    STATE_MIN,
)

_I32 = jnp.int32


def sat(x: jax.Array) -> jax.Array:
    """Clamp to the int16 range."""
    return jnp.clip(x, STATE_MIN, STATE_MAX)


def wrap16(x: jax.Array) -> jax.Array:
    """Two's-complement wrap to int16 (what a 16-bit register keeps)."""
    return (x - STATE_MIN) % 2**16 + STATE_MIN


def dec(x: jax.Array, dash: jax.Array) -> jax.Array:
    """``x >> dash``, or ``sign(x)`` where that is 0 for a non-zero ``x``.

    >>> dec(jnp.array([100, -100, 3, -3, 0]), 2).tolist()
    [25, -25, 1, -1, 0]
    """
    d = jnp.right_shift(x, dash)
    return jnp.where((d == 0) & (x != 0), jnp.sign(x), d)


def deliver(state: jax.Array, counts: jax.Array, weights: jax.Array) -> jax.Array:
    """Add ``counts[b, k]`` events of ``weights[k, ...]`` to ``state[b, ...]``, each event one
    saturating add, sources ``k`` in ascending order. When neither the sum of the positive nor
    that of the negative contributions can leave int16, no add saturates and the result is one
    matrix product; otherwise the sources are added one after the other (``clamp(I + k w')``).

    >>> s = deliver(jnp.array([[32000]]), jnp.array([[2, 1]]), jnp.array([[500], [-1000]]))
    >>> s.tolist()  # 32000 + 500 + 500 saturates at 32767 before the -1000 arrives
    [[31767]]
    """
    pos = jnp.tensordot(counts, jnp.maximum(weights, 0), axes=1)
    neg = jnp.tensordot(counts, jnp.minimum(weights, 0), axes=1)
    safe = jnp.all(state + pos <= STATE_MAX) & jnp.all(state + neg >= STATE_MIN)

    def by_source(state: jax.Array) -> jax.Array:
        shaped = counts.reshape(counts.shape + (1,) * (weights.ndim - 1))

        def add(k: int, s: jax.Array) -> jax.Array:
            return sat(s + shaped[:, k] * weights[k][None])

        return jax.lax.fori_loop(0, weights.shape[0], add, state)

    return jax.lax.cond(safe, lambda s: s + pos + neg, by_source, state)


def fire(v: jax.Array, threshold: jax.Array, cap: int) -> tuple[jax.Array, jax.Array]:
    """Events and the voltage left: ``n = min(floor(V / threshold), cap)`` where ``V >=
    threshold`` (``cap`` whenever ``V >= 0`` for a zero threshold), ``V -= n threshold``."""
    positive = threshold > 0
    n = jnp.where(
        positive,
        jnp.clip(jnp.floor_divide(v, jnp.where(positive, threshold, 1)), 0, cap),
        jnp.where(v >= threshold, cap, 0),
    )
    return n, v - n * threshold


def neurons(
    syn: jax.Array,
    v: jax.Array,
    dash_syn: jax.Array,
    dash_mem: jax.Array,
    threshold: jax.Array,
    bias: jax.Array,
    cap: int,
    *,
    shift: Callable[[jax.Array, jax.Array], jax.Array] = dec,
    events: Callable[[jax.Array, jax.Array, int], tuple[jax.Array, jax.Array]] = fire,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Steps 2-4 for one population: ``syn (B, N, S)``, ``v (B, N)``, ``dash_syn (N, S)``;
    ``shift`` and ``events`` are `dec` and `fire` (the adapter, `snnx.adaptation.xylo`, passes
    their straight-through and surrogate-gradient forms: the one neuron update both use).

    >>> syn, v, n = neurons(jnp.array([[[40]]]), jnp.array([[30]]), jnp.array([[1]]),
    ...                     jnp.array([2]), jnp.array([25]), jnp.array([0]), 31)
    >>> syn.tolist(), v.tolist(), n.tolist()  # dv = -dec(30, 2) + 20 = 13, V = 43: 1 event
    ([[[20]]], [[18]], [[1]])
    """
    syn = syn - shift(syn, dash_syn[None])
    dv = sat(wrap16(-shift(v, dash_mem[None])) + jnp.sum(syn, axis=-1))
    dv = sat(dv + bias[None])
    v = sat(v + dv)
    n, v = events(v, threshold[None], cap)
    return syn, v, n


def arrays(program: XyloProgram) -> dict[str, jax.Array]:
    """The program as int32 device arrays, weights already shifted (``w << shift``, wrapped)."""

    def shifted(w: ArrayLike, shift: int) -> jax.Array:
        return wrap16(jnp.left_shift(jnp.asarray(w, _I32), int(shift)))

    s = program.synapses
    return {
        "w_src": jnp.concatenate(
            [
                shifted(program.weights_in, program.weight_shift_in),
                shifted(program.weights_rec, program.weight_shift_rec),
            ]
        ),
        "w_out": shifted(program.weights_out, program.weight_shift_out),
        "dash_syn": jnp.asarray(
            np.stack([program.dash_syn, program.dash_syn_2], axis=-1)[:, :s], _I32
        ),
        "dash_mem": jnp.asarray(program.dash_mem, _I32),
        "threshold": jnp.asarray(program.threshold, _I32),
        "bias": jnp.asarray(program.bias, _I32),
        "dash_syn_out": jnp.asarray(program.dash_syn_out, _I32)[:, None],
        "dash_mem_out": jnp.asarray(program.dash_mem_out, _I32),
        "threshold_out": jnp.asarray(program.threshold_out, _I32),
        "bias_out": jnp.asarray(program.bias_out, _I32),
    }


@functools.partial(jax.jit, static_argnames=("states",))
def _run(p: dict[str, jax.Array], raster: jax.Array, states: bool = False) -> dict[str, jax.Array]:
    batch = raster.shape[1]
    n_hidden, n_syn = p["w_src"].shape[1:]
    n_out = p["w_out"].shape[1]
    init = {
        "syn": jnp.zeros((batch, n_hidden, n_syn), _I32),
        "v": jnp.zeros((batch, n_hidden), _I32),
        "syn_out": jnp.zeros((batch, n_out, 1), _I32),
        "v_out": jnp.zeros((batch, n_out), _I32),
        "spikes": jnp.zeros((batch, n_hidden), _I32),
    }

    def step(
        c: dict[str, jax.Array], x: jax.Array
    ) -> tuple[dict[str, jax.Array], dict[str, jax.Array]]:
        sources = jnp.concatenate([jnp.clip(x, 0, MAX_INPUT_EVENTS), c["spikes"]], axis=1)
        syn = deliver(c["syn"], sources, p["w_src"])
        syn_out = deliver(c["syn_out"], c["spikes"], p["w_out"][..., None])
        syn, v, n = neurons(
            syn, c["v"], p["dash_syn"], p["dash_mem"], p["threshold"], p["bias"], MAX_HIDDEN_SPIKES
        )
        syn_out, v_out, n_out_ = neurons(
            syn_out,
            c["v_out"],
            p["dash_syn_out"],
            p["dash_mem_out"],
            p["threshold_out"],
            p["bias_out"],
            MAX_OUTPUT_SPIKES,
        )
        new = {"syn": syn, "v": v, "syn_out": syn_out, "v_out": v_out, "spikes": n}
        record = {"hidden_spikes": n, "out_spikes": n_out_}
        if states:
            record.update(
                vmem=v,
                isyn=syn[..., 0],
                isyn2=syn[..., 1] if n_syn > 1 else jnp.zeros_like(v),
                vmem_out=v_out,
                isyn_out=syn_out[..., 0],
            )
        return new, record

    _, records = jax.lax.scan(step, init, raster)
    return records


def simulate(
    program: XyloProgram, raster: ArrayLike, *, states: bool = False
) -> dict[str, np.ndarray]:
    """Run ``program`` on input event counts ``raster`` ``(T, B, Nin)`` (counts above 15 are
    clipped, as on the chip). Returns ``hidden_spikes (T, B, Nhid)`` and ``out_spikes (T, B,
    Nout)`` event counts, and with ``states`` also ``vmem``, ``isyn``, ``isyn2`` (hidden) and
    ``vmem_out``, ``isyn_out`` after each step, as int arrays."""
    raster = np.asarray(raster)
    if raster.ndim != 3 or raster.shape[2] != program.n_in:
        raise SnnxError(f"inputs must be (T, B, {program.n_in}) event counts, got {raster.shape}")
    if raster.size and (
        np.any(raster < 0) or np.any(raster != np.round(raster)) or not np.all(np.isfinite(raster))
    ):
        raise SnnxError("Xylo inputs are event counts: non-negative whole numbers per step")
    steps, batch = raster.shape[:2]
    n_hidden, n_out = program.n_hidden, program.n_out
    # pad to a few shapes so that one compiled step serves many programs and runs: extra steps
    # and samples are cut off; extra inputs never fire; extra neurons have no weights and a
    # threshold of 1 that V = 0 never reaches
    padded = _pad(program)
    counts = np.zeros((_bucket_steps(steps), _pow2(batch), padded.n_in), np.int32)
    counts[:steps, :batch, : program.n_in] = np.minimum(raster, 2**20)
    out = _run(arrays(padded), jnp.asarray(counts), states=states)
    sizes = {"out_spikes": n_out, "vmem_out": n_out, "isyn_out": n_out}
    return {k: np.asarray(v)[:steps, :batch, : sizes.get(k, n_hidden)] for k, v in out.items()}


def _pow2(n: int) -> int:
    return 1 << max(0, n - 1).bit_length()


def _bucket_steps(n: int) -> int:
    return 16 if n <= 16 else -(-n // 64) * 64


def _pad(program: XyloProgram) -> XyloProgram:
    """The same program with 16 inputs, hidden neurons to a multiple of 128 and outputs to 16
    (the added ones silent)."""
    n_in = max(16, program.n_in)
    n_hidden = -(-max(program.n_hidden, 1) // 128) * 128
    n_out = max(16, program.n_out)
    p = XyloProgram.empty(program.chip, n_in, n_hidden, n_out, program.synapses)
    h, o, i = program.n_hidden, program.n_out, program.n_in
    p.weights_in[:i, :h] = program.weights_in
    p.weights_rec[:h, :h] = program.weights_rec
    p.weights_out[:h, :o] = program.weights_out
    for name in ("dash_mem", "dash_syn", "dash_syn_2", "threshold", "bias"):
        getattr(p, name)[:h] = getattr(program, name)
    for name in ("dash_mem_out", "dash_syn_out", "threshold_out", "bias_out"):
        getattr(p, name)[:o] = getattr(program, name)
    p.weight_shift_in = program.weight_shift_in
    p.weight_shift_rec = program.weight_shift_rec
    p.weight_shift_out = program.weight_shift_out
    return p
