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

**Two starts** (`LoihiAdapter.starts`; the loop fits from each and keeps the best). Loihi resets
v to zero; a reference that resets by subtraction is emulated by `subtractive_start`: ``vDecay =
4096`` makes ``v' = u'`` every step, so ``u`` carries the membrane (``iDecay`` takes the
membrane's decay) and v's reset to zero is forgotten by the next step; a self-connection of
weight ``-round(k θ)`` (``k`` the kept fraction per step) subtracts the threshold from ``u`` when
the neuron spikes, a step later as ``k (u - θ)`` would. The synaptic current's own filter is lost
(the weights are scaled by its area ``1 / (1 - k_syn)``, the threshold instead where the
weights have no room; all of them down where ``k θ`` exceeds the weight range), and adaptation
fits the rest.

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

    def starts(self, lowered: Lowered) -> list[tuple[str, Lowered]]:
        """The programs to fit from: the lowering, and where the reference resets by
        subtraction and the chip lowering resets to zero, `subtractive_start` of it."""
        options = [("lowered", lowered)]
        if lowered.semantics.reset == "subtract":
            emulated = subtractive_start(lowered)
            if emulated is not None:
                options.append(("subtractive reset emulated", emulated))
        return options

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


def subtractive_start(lowered: Lowered) -> Lowered | None:
    """``lowered`` with every layer in the subtractive-reset form (module docstring), or
    ``None`` where a layer's membrane does not leak (``vDecay == 0``: its relay's current would
    grow without bound), has delays, or would not arrive in Lava as stored.

    >>> import snnx
    >>> from snnx.targets.loihi.lower import lower
    >>> lowered = lower(snnx.read(snnx.example_path("braille")), snnx.Semantics.profile("snntorch-nir"))
    >>> start = subtractive_start(lowered)
    >>> [(layer.kind, layer.v_decay) for layer in start.program.layers]
    [('dense_rec', 4096), ('dense_rec', 4096)]
    >>> [int(layer.weight_rec[0, 0]) < 0 for layer in start.program.layers]
    [True, True]
    """
    layers = []
    for layer in lowered.program.layers:
        if layer.kind == "conv" or layer.v_decay == 0 or layer.delay is not None:
            return None
        kept_syn = (DECAY_UNITY - layer.i_decay) / DECAY_UNITY
        kept_mem = (DECAY_UNITY - layer.v_decay) / DECAY_UNITY
        gain = 1.0 / max(1.0 - kept_syn, 1.0 / 64)
        w, w_rec = (np.asarray(m, np.int64) for m in _stored(layer))
        real = slice(0, layer.size)
        room = WEIGHT_RANGE[1] / max(
            np.abs(w[real]).max(initial=1), np.abs(w_rec[real]).max(initial=1)
        )
        factor = min(gain, max(room, 1.0))
        threshold = int(np.clip(round(layer.threshold * factor / gain), 1, MAX_THRESHOLD))
        if kept_mem * threshold > WEIGHT_RANGE[1]:  # the self weight must fit: shrink all
            factor *= WEIGHT_RANGE[1] / (kept_mem * threshold)
            threshold = max(int(WEIGHT_RANGE[1] / kept_mem), 1)
        w = w.copy()
        w_rec = w_rec.copy()
        w[real] = np.clip(np.round(w[real] * factor), *WEIGHT_RANGE)
        w_rec[real] = np.clip(np.round(w_rec[real] * factor), *WEIGHT_RANGE)
        self_weight = -round(kept_mem * threshold)
        for n in range(layer.size):
            w_rec[n, n] += self_weight
        shape = layer.shape
        if not (np.any(w_rec > 0) and np.any(w < 0) and np.any(w > 0)):
            # a single-sign matrix loses a bit in Lava (`snnx.targets.loihi.weights`): one more
            # neuron, whose spikes go nowhere, with the missing signs makes both mixed
            if layer is not lowered.program.layers[-1]:
                return None
            w = np.vstack([w, np.zeros((1, w.shape[1]), np.int64)])
            w[-1, 0] = 1 if not np.any(w > 0) else -1
            w_rec = np.pad(w_rec, ((0, 1), (0, 1)))
            w_rec[-1, -1] = 1
            shape = (layer.neurons + 1,)
        if not all(
            np.array_equal(a, b)
            for a, b in zip(netx_weights.effective_dense_rec(w, w_rec), (w, w_rec), strict=True)
        ):
            return None
        layers.append(
            dataclasses.replace(
                layer,
                kind="dense_rec",
                shape=shape,
                weight=w,
                weight_rec=w_rec,
                i_decay=layer.v_decay,
                v_decay=DECAY_UNITY,
                threshold=threshold,
            )
        )
    program = dataclasses.replace(lowered.program, layers=layers)
    return dataclasses.replace(lowered, program=program)


def _stored(layer: Layer) -> tuple[np.ndarray, np.ndarray]:
    """``(weight, weight_rec)`` as stored, a zero ``weight_rec`` for a ``dense`` layer."""
    if layer.weight_rec is not None:
        return np.asarray(layer.weight), np.asarray(layer.weight_rec)
    return np.asarray(layer.weight), np.zeros((layer.neurons, layer.neurons), np.int64)


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
