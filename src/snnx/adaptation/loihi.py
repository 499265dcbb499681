"""Adapting a Loihi 2 program (`snnx.targets.loihi`): per layer, the dense and recurrent
weights (integers within netx's exact range ``[-256, 254]``), the shared threshold ``vThMant``
(``[1, 2048]``) and the two 12-bit decays, trained through Lava's fixed-point CUBA step
(`snnx.targets.loihi.numerics`), in float32 with straight-through truncation::

    u' = trunc(u (4096 - iDecay) / 4096) + 2^6 a
    v' = trunc(v (4096 - vDecay) / 4096) + u' + 2^6 bias
    s  = v' > 2^6 vThMant,   v' = 0 where s

Each parameter is trained as a multiple of its starting scale (the largest weight, the
threshold, 4096 for decays), so one learning rate fits all. The relay neurons of the bias line
(`snnx.targets.loihi.program`) keep their weights. Convolution layers are not adapted (refused).

>>> import numpy as np, snnx
>>> from snnx.targets.loihi.lower import lower
>>> lowered = lower(snnx.read(snnx.example_path("braille")), snnx.Semantics.profile("snntorch-nir"))
>>> adapter = LoihiAdapter()
>>> params = adapter.init(lowered)
>>> again = adapter.apply(lowered, params)
>>> [np.array_equal(a.weight, b.weight) for a, b in zip(lowered.program.layers, again.program.layers)]
[True, True]
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from snnx.adaptation.base import Params
from snnx.adaptation.surrogate import round_ste, spike, trunc_ste
from snnx.errors import SnnxError
from snnx.targets.base import Lowered
from snnx.targets.loihi import numerics
from snnx.targets.loihi import weights as netx_weights
from snnx.targets.loihi.program import Layer
from snnx.targets.loihi.quantize import DECAY_UNITY, MAX_THRESHOLD

#: netx applies mixed-sign weights within this range exactly.
WEIGHT_RANGE = (-256.0, 254.0)


class LoihiAdapter:
    """The Loihi 2 adapter (`snnx.adaptation.base.Adapter`)."""

    batch = 64
    learning_rate = 0.001

    def init(self, lowered: Lowered) -> Params:
        """Per layer: ``w`` (and ``w_rec``) over ``w_scale``, ``threshold`` over its value,
        ``decays`` over 4096; the scales are kept as constants in `scales`."""
        params: Params = {}
        for layer in lowered.program.layers:
            if layer.kind == "conv":
                raise SnnxError(
                    f"adaptation runs dense layers; layer {layer.name} is a convolution"
                )
            scale = _weight_scale(layer)
            w, w_rec = _effective(layer)
            entry = {
                "w": jnp.asarray(w / scale, jnp.float32),
                "threshold": jnp.float32(1.0),
                "decays": jnp.asarray([layer.i_decay, layer.v_decay], jnp.float32) / DECAY_UNITY,
            }
            if w_rec is not None:
                entry["w_rec"] = jnp.asarray(w_rec / scale, jnp.float32)
            params[layer.name] = entry
        return params

    def feed(self, lowered: Lowered, inputs: np.ndarray) -> np.ndarray:
        """What ``model.net`` receives (`snnx.targets.loihi.numerics.feed`)."""
        return numerics.feed(lowered.program, inputs)

    def forward(self, lowered: Lowered, params: Params, x: jax.Array) -> dict[str, jax.Array]:
        """Every layer's spikes ``(T, B, size)`` through the CUBA step, differentiably."""
        out = {}
        for layer in lowered.program.layers:
            p = params[layer.name]
            scale = _weight_scale(layer)
            frozen = _frozen_rows(layer)
            w = _weights(p["w"], scale, frozen, layer.weight, _effective(layer)[0])
            w_rec = None
            if layer.weight_rec is not None:
                w_rec = _weights(p["w_rec"], scale, frozen, layer.weight_rec, _effective(layer)[1])
            threshold = jnp.clip(round_ste(p["threshold"] * layer.threshold), 1, MAX_THRESHOLD)
            decays = jnp.clip(round_ste(p["decays"] * DECAY_UNITY), 0, DECAY_UNITY)
            keep = DECAY_UNITY - decays
            a_all = _delayed_sums(layer, x, w)
            a_all = jnp.concatenate([jnp.zeros_like(a_all[:1]), a_all[:-1]])  # sent a step later
            theta = threshold * (1 << numerics.ACT_SHIFT)

            def step(
                carry: tuple[jax.Array, jax.Array, jax.Array],
                a: jax.Array,
                w_rec: jax.Array | None = w_rec,
                keep: jax.Array = keep,
                theta: jax.Array = theta,
            ) -> tuple[tuple[jax.Array, jax.Array, jax.Array], jax.Array]:
                u, v, last = carry
                if w_rec is not None:
                    a = a + last @ w_rec.T
                u = trunc_ste(u * keep[0] / DECAY_UNITY) + a * (1 << numerics.ACT_SHIFT)
                v = trunc_ste(v * keep[1] / DECAY_UNITY) + u
                s = spike(v, theta)
                v = v * (1.0 - jax.lax.stop_gradient(s))
                return (u, v, s), s

            zeros = jnp.zeros((x.shape[1], layer.neurons), jnp.float32)
            _, s = jax.lax.scan(step, (zeros, zeros, zeros), a_all)
            out[layer.name] = s[..., : layer.size]
            x = s
        return out

    def apply(self, lowered: Lowered, params: Params) -> Lowered:
        """The program with the trained integers: weights rounded into ``[-256, 254]``
        (relay rows as they were), ``vThMant`` in ``[1, 2048]``, decays in ``[0, 4096]``."""
        layers = []
        for layer in lowered.program.layers:
            p = {k: np.asarray(v, np.float64) for k, v in params[layer.name].items()}
            scale = _weight_scale(layer)
            frozen = _frozen_rows(layer)

            def integers(
                trained: np.ndarray,
                stored: np.ndarray,
                frozen: np.ndarray = frozen,
                scale: float = scale,
            ) -> np.ndarray:
                w = np.clip(np.round(trained * scale), *WEIGHT_RANGE).astype(np.int64)
                w[frozen] = np.asarray(stored, np.int64)[frozen]
                return w

            changes = {
                "weight": integers(p["w"], layer.weight),
                "threshold": int(
                    np.clip(np.round(p["threshold"] * layer.threshold), 1, MAX_THRESHOLD)
                ),
                "i_decay": int(np.clip(np.round(p["decays"][0] * DECAY_UNITY), 0, DECAY_UNITY)),
                "v_decay": int(np.clip(np.round(p["decays"][1] * DECAY_UNITY), 0, DECAY_UNITY)),
            }
            if layer.weight_rec is not None:
                changes["weight_rec"] = integers(p["w_rec"], layer.weight_rec)
            layers.append(dataclasses.replace(layer, **changes))
        program = dataclasses.replace(lowered.program, layers=layers)
        return dataclasses.replace(lowered, program=program)


def _effective(layer: Layer) -> tuple[np.ndarray, np.ndarray | None]:
    """The per-spike weights netx and Lava apply (`snnx.targets.loihi.weights`)."""
    if layer.weight_rec is not None:
        w, w_rec = netx_weights.effective_dense_rec(layer.weight, layer.weight_rec)
        return np.asarray(w, np.float64), np.asarray(w_rec, np.float64)
    return np.asarray(netx_weights.effective_dense(layer.weight), np.float64), None


def _weight_scale(layer: Layer) -> float:
    """The largest stored weight magnitude (1 for an all-zero layer)."""
    stored = [np.abs(np.asarray(layer.weight)).max(initial=0)]
    if layer.weight_rec is not None:
        stored.append(np.abs(np.asarray(layer.weight_rec)).max(initial=0))
    return float(max(max(stored), 1))


def _frozen_rows(layer: Layer) -> np.ndarray:
    """Rows that keep their weights: the bias line's relay neurons (beyond ``size``)."""
    frozen = np.zeros(layer.neurons, bool)
    frozen[layer.size :] = True
    return frozen


def _weights(
    trained: jax.Array,
    scale: float,
    frozen: np.ndarray,
    stored: np.ndarray,
    effective: np.ndarray | None,
) -> jax.Array:
    """Trained weights as integers in the exact range (straight through), frozen rows as
    applied."""
    w = jnp.clip(round_ste(trained * scale), *WEIGHT_RANGE)
    return jnp.where(frozen[:, None], jnp.asarray(effective, jnp.float32), w)


def _delayed_sums(layer: Layer, x: jax.Array, w: jax.Array) -> jax.Array:
    """``W x`` per step, each synapse's delay applied (netx's ``delay``)."""
    delay = numerics.delay_matrix(layer)
    if delay is None:
        return jnp.einsum("tbi,oi->tbo", x, w)
    steps = x.shape[0]
    total = jnp.zeros((*x.shape[:2], w.shape[0]), jnp.float32)
    for d in np.unique(delay):
        y = jnp.einsum("tbi,oi->tbo", x, jnp.where(jnp.asarray(delay == d), w, 0.0))
        total = total + jnp.concatenate([jnp.zeros((int(d), *y.shape[1:])), y])[:steps]
    return total
