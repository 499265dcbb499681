"""Loihi 2's integer CUBA numerics, bit-exact with Lava's ``Loihi2SimCfg(select_tag="fixed_pt")``
(``PyLifModelBitAcc``, ``PyDenseModelBitAcc``, ``PyDelayDenseModelBitAcc``, ``PyConvModelFixed``),
in JAX, batched and jit-compiled.

One step of a layer at Lava time step ``t`` (row ``t - 1`` of the output), all integers::

    a    = what the synapses accumulated at step t-1     (Dense/Conv send last step's sum)
    u'   = trunc(u * (4096 - iDecay) / 4096) + (a << 6)   then wrapped once into (-2^23, 2^23]
    v'   = trunc(v * (4096 - vDecay) / 4096) + u' + (bias << 6),  saturated to ±(2^23 - 1)
    s    = v' > vThMant << 6                              (strict), and v' = 0 where s

``trunc`` rounds toward zero (``sign(x) (|x| * k >> 12)``). ``a`` sums, per neuron, the weights
as netx and Lava actually apply them (`weights`) of the synapses whose source spiked at step
``t - 1`` (``t - 1 - d`` through a delay of ``d``); a recurrent layer adds ``W_rec s(t - 1)``;
a conv layer's sum is wrapped to signed 24 bits. An input value counts as a spike when it is
not zero (netx casts unary spikes to bool). Input row ``r`` enters at Lava step ``r + 1``, so
the ``k``-th layer first responds in row ``r + k``.

The 36-bit products of the decays are computed exactly in 32-bit integers by splitting
``|x| = h·4096 + l``: ``(|x| k) >> 12 = h k + (l k >> 12)``. Synaptic sums are computed in
float32 (exact for sums below 2^24, checked per layer) or else in int32; the neuron states in
float32 as well (`decay_float`) while a step's drive stays below 2^17 weight units, so that
every value stays an integer below 2^24, else in int32.

>>> import numpy as np
>>> from snnx.targets.loihi.program import Layer, Program
>>> layer = Layer(index=1, kind="dense", node="n", size=1, shape=(1,), weight=np.array([[100]]),
...               i_decay=4096, v_decay=2048, threshold=120)
>>> program = Program(input_shape=(1,), data_shape=(1,), bias_channel=False, layers=[layer])
>>> out = run(program, np.array([1, 1, 0, 0, 0]).reshape(5, 1, 1))
>>> out["1"][:, 0, 0].astype(int).tolist()  # v: 6400 at row 1, 6400/2 + 6400 = 9600 > 7680 at row 2
[0, 0, 1, 0, 0]
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Literal, overload

import jax
import jax.numpy as jnp
import numpy as np

from snnx.errors import LoweringError
from snnx.targets.loihi import weights as netx_weights
from snnx.targets.loihi.program import Layer, Program

#: u and v are 24-bit signed states.
STATE_LIMIT = 1 << 23
#: Synaptic input and threshold are shifted left by this many bits inside the neuron.
ACT_SHIFT = 6
#: Sums below this are exact in float32.
FLOAT_EXACT = 1 << 24
#: Below this drive per step (weight units), u and v stay integers below 2^24: float32 states.
FLOAT_STATES = 1 << 17
#: netx clips delays to this many steps.
MAX_DELAY = 62


def decay(x: jax.Array, keep: jax.Array) -> jax.Array:
    """``sign(x) * ((|x| * keep) >> 12)`` for int32 ``x`` (``|x| <= 2^24``), ``keep`` in
    ``[0, 4096]``, without a 64-bit product.

    >>> decay(jnp.array([192, -192, 49, 3]), jnp.int32(4096 - 3072)).tolist()
    [48, -48, 12, 0]
    """
    magnitude = jnp.abs(x)
    high = magnitude >> 12
    low = magnitude & 4095
    return jnp.sign(x) * (high * keep + ((low * keep) >> 12))


def wrap_current(u: jax.Array) -> jax.Array:
    """Lava's one-shot 24-bit wrap of the current: ``u - 2^24`` above ``2^23``, ``u + 2^24`` at
    or below ``-2^23``.

    >>> wrap_current(jnp.array([1 << 23, (1 << 23) + 1, -(1 << 23)])).tolist()
    [8388608, -8388607, 8388608]
    """
    wrapped = jnp.where(u > STATE_LIMIT, u - 2 * STATE_LIMIT, u)
    return jnp.where(wrapped <= -STATE_LIMIT, u + 2 * STATE_LIMIT, wrapped)


def wrap24(x: jax.Array) -> jax.Array:
    """Lava conv's signed 24-bit clamp (a modulo wrap) of int32 values.

    >>> wrap24(jnp.array([(1 << 23) - 1, 1 << 23, -(1 << 23) - 1])).tolist()
    [8388607, -8388608, 8388607]
    """
    return ((x + STATE_LIMIT) & (2 * STATE_LIMIT - 1)) - STATE_LIMIT


def decay_float(x: jax.Array, keep: jax.Array) -> jax.Array:
    """`decay` in float32 for integer-valued ``x`` with ``|x| <= 2^24``. With
    ``x = h 4096 + l`` (``h = trunc(x / 4096)``, ``l`` of x's sign, ``|l| < 4096``):
    ``trunc(x k / 4096) = h k + trunc(l k / 4096)``; every intermediate is an integer below
    2^24 or a power-of-two scaling of one, so float32 holds it exactly.

    >>> decay_float(jnp.array([192.0, -192.0, 49.0]), jnp.float32(1024)).tolist()
    [48.0, -48.0, 12.0]
    """
    high = jnp.trunc(x * (1.0 / 4096))
    low = x - high * 4096
    return high * keep + jnp.trunc(low * keep * (1.0 / 4096))


def neuron_step(
    state: tuple[jax.Array, jax.Array],
    a: jax.Array,
    params: Mapping[str, jax.Array],
    floating: bool,
) -> tuple[tuple[jax.Array, jax.Array], jax.Array]:
    """One CUBA step on synaptic input ``a``; ``state`` = ``(u, v)``; returns
    ``(state, spikes)``. ``floating``: integer values held in float32 (exact while every value
    stays below 2^24, which `prepare` checks), else int32."""
    u, v = state
    if floating:
        u = wrap_current(decay_float(u, params["keep_u"]) + a * (1 << ACT_SHIFT))
        v = decay_float(v, params["keep_v"]) + u + params["bias"]
    else:
        u = wrap_current(decay(u, params["keep_u"]) + (a << ACT_SHIFT))
        v = decay(v, params["keep_v"]) + u + params["bias"]
    v = jnp.clip(v, -(STATE_LIMIT - 1), STATE_LIMIT - 1)
    spikes = v > params["threshold"]
    return (u, jnp.where(spikes, 0, v)), spikes


# -- preparing a program: weights as applied, exactness of the sums -----------------------------


def delay_matrix(layer: Layer) -> np.ndarray | None:
    """Per-synapse delays ``(n, n_in)`` as netx builds them (per-neuron delays broadcast)."""
    if layer.delay is None:
        return None
    delay = np.asarray(layer.delay).astype(np.int64)
    n, n_in = np.shape(layer.weight)
    if delay.ndim == 0:
        delay = np.full((n, n_in), int(delay))
    elif delay.ndim == 1:
        if delay.size == n:
            delay = np.repeat(delay[:, None], n_in, axis=1)
        elif delay.size == n_in:
            delay = np.repeat(delay[None, :], n, axis=0)
        else:
            raise LoweringError(
                f"delay of shape {delay.shape} fits neither {n} neurons nor {n_in} inputs",
                node=layer.name,
                field="delay",
            )
    if delay.min(initial=0) < 0:
        raise LoweringError("negative delays", node=layer.name, field="delay")
    return np.minimum(delay, MAX_DELAY)


def prepare(program: Program) -> tuple[tuple, list[dict[str, Any]]]:
    """The static structure (for the compiled function) and per-layer arrays: effective
    weights (`weights`), delays split by value, decays, thresholds and biases."""
    static, arrays = [], []
    in_shape = tuple(program.input_shape)
    for layer in program.layers:
        n = layer.neurons
        if layer.kind == "conv":
            w = np.asarray(layer.weight).astype(np.int64)
            if w.ndim == 5:  # lava-dl writes (Cout, Cin/g, kH, kW, 1)
                w = w[..., 0]
            w_rec = None
        elif layer.kind == "dense_rec":
            assert layer.weight_rec is not None  # what makes a layer `dense_rec`
            w, w_rec = netx_weights.effective_dense_rec(layer.weight, layer.weight_rec)
        else:
            w, w_rec = netx_weights.effective_dense(layer.weight), None
        bound = float(np.abs(w).reshape(w.shape[0], -1).sum(axis=1).max(initial=0))
        if w_rec is not None:
            bound += float(np.abs(w_rec).sum(axis=1).max(initial=0))
        exact = bound < FLOAT_EXACT
        if layer.kind == "conv" and not exact:
            raise LoweringError(
                f"a conv neuron can sum up to {bound:.0f}, beyond 2^24", node=layer.name
            )
        floating = bound < FLOAT_STATES
        dtype = np.float32 if exact else np.int32
        state = np.float32 if floating else np.int32
        bias = np.zeros(n, np.int64) if layer.bias is None else _bias(layer.bias, n)
        entry: dict[str, Any] = {
            "keep_u": state(4096 - int(layer.i_decay)),
            "keep_v": state(4096 - int(layer.v_decay)),
            "threshold": state(int(layer.threshold) << ACT_SHIFT),
            "bias": (bias << ACT_SHIFT).astype(state),
        }
        delays: tuple[int, ...] = ()
        delay = delay_matrix(layer) if layer.kind != "conv" else None
        if delay is not None:
            delays = tuple(int(d) for d in np.unique(delay))
            entry["weight"] = np.stack([np.where(delay == d, w, 0) for d in delays]).astype(dtype)
        else:
            entry["weight"] = w.astype(dtype)
        if w_rec is not None:
            entry["weight_rec"] = w_rec.astype(dtype)
        static.append(
            (
                layer.kind,
                in_shape,
                layer.stride,
                layer.padding,
                layer.dilation,
                layer.groups,
                delays,
                exact,
                floating,
            )
        )
        arrays.append(entry)
        in_shape = tuple(layer.shape)
    return tuple(static), arrays


def _bias(bias: Any, n: int) -> np.ndarray:
    """netx's ``bias`` broadcast to the neurons, as Lava's int16 ``bias_mant`` stores it."""
    values = np.broadcast_to(np.asarray(bias).astype(np.int64).reshape(-1), (n,))
    return ((values + (1 << 15)) % (1 << 16)) - (1 << 15)


# -- the compiled forward pass ---------------------------------------------------------------


def _synapses(spec: tuple, p: Mapping[str, jax.Array], x: jax.Array) -> jax.Array:
    """What the layer's synapses accumulate each step: ``(T, B, n)`` int32, before the one-step
    delivery delay."""
    kind, in_shape, stride, padding, dilation, groups, delays, exact, floating = spec
    steps, batch = x.shape[:2]
    xs = x.astype(jnp.float32 if exact else jnp.int32)
    if kind == "conv":
        y = jax.lax.conv_general_dilated(
            xs.reshape(steps * batch, *in_shape),
            p["weight"],
            window_strides=stride,
            padding=[(padding[0], padding[0]), (padding[1], padding[1])],
            rhs_dilation=dilation,
            feature_group_count=groups,
            dimension_numbers=("NCHW", "OIHW", "NCHW"),
        ).reshape(steps, batch, -1)
        if floating:  # sums below 2^17: exact, and no 24-bit wrap can occur
            return y
        return wrap24(jnp.round(y).astype(jnp.int32))
    if not delays:
        return _matmul(xs, p["weight"], exact, floating)
    total = None
    for k, d in enumerate(delays):
        y = _matmul(xs, p["weight"][k], exact, floating)
        y = jnp.concatenate([jnp.zeros((d, *y.shape[1:]), y.dtype), y])[:steps]
        total = y if total is None else total + y
    assert total is not None  # `delays` is not empty here
    return total


def _matmul(x: jax.Array, w: jax.Array, exact: bool, floating: bool) -> jax.Array:
    """Exact synaptic sums: float32 kept as is (``floating``), float32 converted to int32
    (``exact``), or int32 products."""
    if floating:
        return jnp.einsum("tbi,oi->tbo", x, w)
    if exact:
        return jnp.round(jnp.einsum("tbi,oi->tbo", x, w)).astype(jnp.int32)
    return jnp.einsum("tbi,oi->tbo", x, w, preferred_element_type=jnp.int32)


def _layer(spec: tuple, p: Mapping[str, jax.Array], x: jax.Array, full: bool) -> Any:
    exact, floating = spec[-2:]
    y = _synapses(spec, p, x)
    a_seq = jnp.concatenate([jnp.zeros_like(y[:1]), y[:-1]])  # sent one step later
    zeros = jnp.zeros(y.shape[1:], y.dtype)
    rec = p.get("weight_rec")

    def step(carry: tuple, a: jax.Array) -> tuple[tuple, Any]:
        state, last = carry
        if rec is not None:
            a = a + _matmul(last[None].astype(rec.dtype), rec, exact, floating)[0]
        state, spikes = neuron_step(state, a, p, floating)
        out = (spikes, *state) if full else spikes
        return (state, spikes.astype(x.dtype)), out

    _, out = jax.lax.scan(step, ((zeros, zeros), zeros.astype(x.dtype)), a_seq)
    return out


def feed(program: Program, inputs: np.ndarray) -> np.ndarray:
    """What ``model.net`` receives: ``inputs`` ``(T, B, *data_shape)`` as spikes (non-zero is a
    spike), flattened, with the bias channel (always 1) appended when the program has one --
    the last element, or the last plane of an image. Returns ``(T, B, input_size)`` float32.

    >>> from snnx.targets.loihi.program import Program
    >>> feed(Program((3,), (2,), True, []), np.array([[[0.0, 2.5]]])).tolist()
    [[[0.0, 1.0, 1.0]]]
    """
    inputs = np.asarray(inputs)
    steps, batch = inputs.shape[:2]
    x = (inputs != 0).astype(np.float32).reshape(steps, batch, *program.data_shape)
    if program.bias_channel:
        if len(program.input_shape) == 3:
            ones = np.ones((steps, batch, 1, *program.input_shape[1:]), np.float32)
            x = np.concatenate([x, ones], axis=2)
        else:
            ones = np.ones((steps, batch, 1), np.float32)
            x = np.concatenate([x.reshape(steps, batch, -1), ones], axis=2)
    return x.reshape(steps, batch, -1)


@functools.lru_cache(maxsize=32)
def _compiled(static: tuple, full: bool) -> Callable:
    def forward(arrays: Any, x: jax.Array) -> list[Any]:
        outputs = []
        for spec, p in zip(static, arrays, strict=True):
            out = _layer(spec, p, x, full)
            outputs.append(out)
            x = (out[0] if full else out).astype(jnp.float32)
        return outputs

    return jax.jit(forward)


@overload
def run(
    program: Program, inputs: np.ndarray, *, full: Literal[False] = False
) -> dict[str, np.ndarray]: ...
@overload
def run(
    program: Program, inputs: np.ndarray, *, full: Literal[True]
) -> dict[str, dict[str, np.ndarray]]: ...
def run(
    program: Program, inputs: np.ndarray, *, full: bool = False
) -> dict[str, np.ndarray] | dict[str, dict[str, np.ndarray]]:
    """Run ``program`` on ``inputs`` ``(T, B, *data_shape)``.

    Returns layer name -> spikes ``(T, B, size)`` (the neurons that reproduce the reference;
    row ``t`` is Lava step ``t + 1``). With ``full``, layer name -> ``{"s", "u", "v"}``, each
    ``(T, B, neurons)`` over every neuron of the layer (relay included), ``u``/``v`` the raw
    24-bit states after each step (after reset), as Lava's monitors read them.
    """
    inputs = np.asarray(inputs)
    if inputs.ndim < 2:
        raise LoweringError(f"inputs must be (T, B, ...), got shape {inputs.shape}")
    if int(np.prod(inputs.shape[2:])) != int(np.prod(program.data_shape)):
        raise LoweringError(
            f"inputs of shape {inputs.shape} do not hold (T, B, {program.data_shape})"
        )
    static, arrays = prepare(program)
    outputs = _compiled(static, full)(arrays, jnp.asarray(feed(program, inputs)))
    result: dict[str, Any] = {}
    for layer, out in zip(program.layers, outputs, strict=True):
        if full:
            spikes, u, v = (np.asarray(o) for o in out)
            result[layer.name] = {
                "s": spikes.astype(np.int32),
                "u": u.astype(np.int64),
                "v": v.astype(np.int64),
            }
        else:
            result[layer.name] = np.asarray(out)[:, :, : layer.size].astype(np.float32)
    return result
