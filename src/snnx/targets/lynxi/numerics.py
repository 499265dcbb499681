"""The KA200's float16 arithmetic in JAX: a `Program` run on a batch, bit for bit what the
TorchScript module (`module.py`) computes.

Every value is a float16 value and every operation rounds its result to float16 (round to nearest,
ties to even), in the order the equations are written, left to right:

- ``dense`` / ``conv``: products of float16 values summed in float32 with the bias (float32
  accumulation, as torch computes half-precision ``linear``/``conv`` on the CPU), rounded once;
- ``pool``: window sums in float32, divided by the divisor in float32 (a true division, not a
  product with the reciprocal), rounded once;
- ``scale``: ``x * s``; ``threshold``: ``x > t`` (or ``>=``) as 0/1, times the amplitude;
- ``neuron``, one time step, ``x`` the summed input:

  1. next-step zero reset: ``f = (last > 0)``, ``v = (1 - f) v + f v_reset``
  2. current (cuba): ``i' = As i + Bs x``
  3. voltage: ``w`` = the ``voltage_terms`` summed left to right (``A v + B x + C``, or
     ``A v + Bn i' + Bi i + Bx x + C`` without the terms whose coefficients are all zero)
  4. next-step subtractive reset: ``w = w - last * v_threshold``
  5. fire: ``s = (w > v_threshold)`` (or ``>=``) as 0/1; with several spikes per step
     ``count = s * (1 + clip(floor(w / v_threshold) - 1, 0, max_spikes - 1))`` (a true float16
     division), else ``s``
  6. same-step reset: ``v = w - count * v_threshold`` (subtract) or ``v = (1 - s) w + s v_reset``
     (zero); next-step resets leave ``v = w``
  7. floor: ``v = max(v, -v_threshold)`` (``v_min="-threshold"``)
  8. emit ``count`` (or last step's, ``spike_output="next-step"``) times the amplitude.

Non-spiking neurons emit ``w``. The arithmetic runs on float32 values that are always float16
values, each result rounded to float16 by an explicit conversion (`_round`): for ``+ - * /``
that is the correctly rounded float16 result, float32 having at least 2 * 11 + 2 = 24 bits.
Computing in float16 types instead leaves roundings to the CPU: on CPUs with native float16
arithmetic (AVX512-FP16) XLA's LLVM backend fuses a float16 ``a * b + c`` into one multiply-add
rounded once, even across an optimization barrier, and first shrinks float32 operations on
values converted from float16 into float16 ones; float32 inputs, tensors and states (`run` passes
them so) give it nothing to shrink. Past a float16 overflow (``inf``, then ``NaN``) XLA and torch
part ways (XLA turns a product with a 0/1 mask into a selection), so `run` warns when a layer holds
a non-finite value; below it the two agree. The only freedom left is the order of the float32 sums
inside synapses, which XLA and torch's BLAS choose for themselves: when such a sum is exact in
float32 (spike inputs and weights of similar magnitude: the common case) the two agree bit for bit
on every CPU; otherwise a synapse's output may differ by the float32 summation error (see
FORMAT.md).

>>> import numpy as np, snnx
>>> from snnx.targets.lynxi.lower import lower_program
>>> program, _ = lower_program(snnx.read(snnx.example_path("braille")), "snntorch-nir", steps=5)
>>> out = run(program, np.ones((5, 2, 12), np.float32))
>>> out["lif2"].shape, bool((out["lif2"] == out["lif2"].astype(np.float16)).all())
((5, 2, 7), True)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Collection, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from snnx.errors import SnnxError, SnnxWarning
from snnx.targets.lynxi import spec
from snnx.targets.lynxi.program import Program, Segment, Step

F16 = jnp.float16
F32 = jnp.float32
_COMPILED: dict[str, Callable] = {}
_CACHE_SIZE = 32


def run(program: Program, inputs: np.ndarray) -> dict[str, np.ndarray]:
    """Run ``program`` on ``inputs`` ``(T, B, *input shape)`` (any ``T`` up to the limit, any
    ``B``): layer name -> ``(T, B, size)`` outputs, on the chip's clock (float16 values, given
    as float32 so that sums over them do not overflow)."""
    inputs = np.asarray(inputs)
    steps, batch = inputs.shape[:2]
    if steps > spec.MAX_STEPS:
        raise SnnxError(f"{steps} time steps exceed the lynxi target's {spec.MAX_STEPS}")
    if tuple(inputs.shape[2:]) != tuple(program.input_shape):
        raise SnnxError(
            f"inputs have shape {inputs.shape}; expected (T, B, "
            f"{', '.join(map(str, program.input_shape))})"
        )
    key = program.fingerprint()
    if key not in _COMPILED:
        if len(_COMPILED) >= _CACHE_SIZE:
            _COMPILED.pop(next(iter(_COMPILED)))
        _COMPILED[key] = jax.jit(_interpreter(program))
    tensors = {
        n: {k: np.asarray(v, np.float32) for k, v in t.items()}
        for n, t in program.tensors().items()
    }
    out = _COMPILED[key](tensors, np.asarray(inputs, np.float16).astype(np.float32))
    result = {k: np.asarray(v, np.float32).reshape(steps, batch, -1) for k, v in out.items()}
    for name, values in result.items():
        bad = ~np.isfinite(values)
        if bad.any():
            step = int(np.nonzero(bad.reshape(steps, -1).any(axis=1))[0][0])
            warnings.warn(
                SnnxWarning(
                    f"float16 overflow: layer '{name}' holds inf or NaN from step {step} on "
                    "(beyond 65504); the chip's behaviour past overflow is not modelled"
                ),
                stacklevel=2,
            )
    return result


def _interpreter(program: Program, fire: Callable | None = None) -> Callable:
    """``(tensors, x) -> {layer: (T, B, *shape)}`` for ``program``'s structure; ``fire``
    replaces the spike comparison (`_fire`: adaptation passes one with a surrogate gradient)."""
    nodes = program.nodes

    def forward(tensors: dict, x: jax.Array) -> dict[str, jax.Array]:
        steps, batch = x.shape[:2]
        tensors = jax.tree.map(lambda v: jnp.asarray(v, F32), tensors)
        x = jnp.asarray(x, F32)
        if program.input_amplitude is not None:
            x = _mul(x, _half(program.input_amplitude))
        seqs = {program.input: x}
        for segment in program.schedule:
            if segment.kind == "sequence":
                step = nodes[segment.steps[0]]
                y = gather(step, seqs, (steps * batch,))
                seqs[step.name] = apply(step, tensors[step.name], y, fire).reshape(
                    (steps, batch, *step.output_shape)
                )
            else:
                seqs.update(scan(segment, tensors, seqs, batch))
        return {name: seqs[name] for name in program.layers}

    def gather(
        step: Step,
        values: dict,
        lead: tuple,
        back: Collection[tuple[str, str]] = (),
        prev: Mapping[str, jax.Array] | None = None,
    ) -> jax.Array:
        total = None
        for pred in step.inputs:
            value = prev[pred] if prev is not None and (pred, step.name) in back else values[pred]
            value = value.reshape((*lead, *step.input_shape))
            total = value if total is None else _add(total, value)
        assert total is not None  # `Graph.check`: every node but an Input has an edge in
        return total

    def scan(segment: Segment, tensors: Any, seqs: Any, batch: int) -> Any:
        inside = set(segment.steps)
        external = list(
            dict.fromkeys(p for n in segment.steps for p in nodes[n].inputs if p not in inside)
        )
        carried = sorted({src for src, _ in segment.back_edges})

        def body(carry: Any, xs: Any) -> tuple[Any, dict[str, jax.Array]]:
            states, prev = carry
            now = dict(xs)
            new_states = {}
            for name in segment.steps:
                step = nodes[name]
                x = gather(step, now, (batch,), segment.back_edges, prev)
                if step.stateful:
                    new_states[name], now[name] = neuron(step, tensors[name], states[name], x, fire)
                else:
                    now[name] = apply(step, tensors[name], x, fire)
            return (new_states, {s: now[s] for s in carried}), {n: now[n] for n in segment.steps}

        states = {n: init(nodes[n], tensors[n], batch) for n in segment.steps if nodes[n].stateful}
        zeros = {s: jnp.zeros((batch, *nodes[s].output_shape), F32) for s in carried}
        _, ys = lax.scan(body, (states, zeros), {p: seqs[p] for p in external})
        return ys

    return forward


def apply(
    step: Step, t: dict[str, jax.Array], x: jax.Array, fire: Callable | None = None
) -> jax.Array:
    """A stateless step on ``x`` ``(N, *input shape)``."""
    a = step.attributes
    if step.op == "dense":
        y = lax.dot_general(
            x, t["weight"], (((x.ndim - 1,), (1,)), ((), ())), preferred_element_type=F32
        )
        return _round(y + t["bias"] if "bias" in t else y)
    if step.op == "conv":
        ndim = t["weight"].ndim - 2
        spatial = "HW" if ndim == 2 else "H"
        y = lax.conv_general_dilated(
            x,
            t["weight"],
            window_strides=a["stride"],
            padding=[tuple(p) for p in a["padding"]],
            rhs_dilation=a["dilation"],
            feature_group_count=a["groups"],
            dimension_numbers=(f"NC{spatial}", f"OI{spatial}", f"NC{spatial}"),
            preferred_element_type=F32,
        )
        return _round(y + t["bias"].reshape((-1,) + (1,) * ndim))
    if step.op == "pool":
        y = lax.reduce_window(
            x,
            jnp.zeros((), F32),
            lax.add,
            (1, 1, *a["kernel"]),
            (1, 1, *a["stride"]),
            [(0, 0), (0, 0), *((p, p) for p in a["padding"])],
        )
        return _round(_divide(y, a["divisor"]) if a["divisor"] != 1 else y)
    if step.op == "flatten":
        return x.reshape((x.shape[0], *step.output_shape))
    if step.op == "scale":
        return _mul(x, t["scale"])
    if step.op == "threshold":
        return _emit((fire or _fire)(x, t["threshold"], a["compare"]), a["amplitude"])
    raise SnnxError(f"unknown lynxi step op {step.op!r}", node=step.name)


def init(step: Step, t: dict[str, jax.Array], batch: int) -> dict[str, jax.Array]:
    """A neuron's state before the first step: ``v = v0``, ``i = 0``, ``last = 0``."""
    shape = (batch, *step.output_shape)
    state = {"v": jnp.broadcast_to(t["v0"], shape)}
    if step.attributes["kind"] == "cuba":
        state["i"] = jnp.zeros(shape, F32)
    if step.attributes.get("carries_last"):
        state["last"] = jnp.zeros(shape, F32)
    return state


def neuron(
    step: Step, t: dict, state: dict, x: jax.Array, fire: Callable | None = None
) -> tuple[dict, jax.Array]:
    """One time step of a neuron (the module docstring's steps 1-8): ``(new state, output)``."""
    a = step.attributes
    spiking = a["spiking"]
    v = state["v"]
    last: Any = state.get("last")  # None where the semantics carries no last output
    if spiking and a["reset_timing"] == "next-step" and a["reset"] == "zero":
        f = (last > 0).astype(F32)
        v = _add(_mul(1 - f, v), _mul(f, t["v_reset"]))
    values: dict[str, Any] = {"v": v, "x": x}
    new: dict[str, jax.Array] = {}
    if a["kind"] == "cuba":
        i_new = _add(_mul(t["As"], state["i"]), _mul(t["Bs"], x))
        values.update(i=state["i"], i_new=i_new)
        new["i"] = i_new
    w: Any = None  # the sum of at least one voltage term (`lower`)
    for coefficient, variable in a["voltage_terms"]:
        term = t[coefficient] if variable is None else _mul(t[coefficient], values[variable])
        w = term if w is None else _add(w, term)
    w = jnp.broadcast_to(w, x.shape)
    if not spiking:
        new["v"] = w
        return new, w
    threshold = t["v_threshold"]
    if a["reset_timing"] == "next-step" and a["reset"] == "subtract":
        w = _round(w - _mul(last, threshold))
    s = (fire or _fire)(w, threshold, a["compare"])
    count = s
    if a["max_spikes"] != 1:
        extra = _round(jnp.floor(_round(_divide(w, threshold))) - 1)
        extra = (
            jnp.maximum(extra, 0)
            if a["max_spikes"] == 0
            else jnp.clip(extra, 0, a["max_spikes"] - 1)
        )
        count = _mul(s, _round(1 + extra))
    v = w
    if a["reset_timing"] == "same-step" and a["reset"] == "subtract":
        v = _round(w - _mul(count, threshold))
    elif a["reset_timing"] == "same-step":
        v = _add(_mul(1 - s, w), _mul(s, t["v_reset"]))
    if a["v_min"] == "-threshold":
        v = jnp.maximum(v, -threshold)
    new["v"] = v
    if a["carries_last"]:
        new["last"] = count
    sent = last if a["spike_output"] == "next-step" else count
    return new, _emit(sent, a["amplitude"])


def _divide(a: jax.Array, b: Any) -> jax.Array:
    """``a / b``, correctly rounded as torch divides. XLA rewrites a division by a constant or
    a broadcast into a product with the rounded reciprocal (``3.6 / 0.6`` becomes ``5.996``, not
    ``6``, in float16); the barrier hides the divisor from that rewrite."""
    return a / lax.optimization_barrier(jnp.broadcast_to(jnp.asarray(b, a.dtype), a.shape))


def _round(a: jax.Array) -> jax.Array:
    """``a`` (float32) rounded to the nearest float16 value, kept as float32."""
    return a.astype(F16).astype(F32)


def _mul(a: Any, b: Any) -> jax.Array:
    """``a * b`` rounded to float16 (the float32 product of two float16 values is exact)."""
    return _round(a * b)


def _add(a: Any, b: Any) -> jax.Array:
    """``a + b`` rounded to float16 (rounding to float32 first is innocuous: 24 >= 2 * 11 + 2)."""
    return _round(a + b)


def _half(value: float) -> np.float32:
    """A constant rounded once to float16."""
    return np.float32(np.float16(value))


def _fire(w: jax.Array, threshold: jax.Array, compare: str) -> jax.Array:
    return (w >= threshold if compare == ">=" else w > threshold).astype(F32)


def _emit(spikes: jax.Array, amplitude: float | None) -> jax.Array:
    return spikes if amplitude is None else _mul(spikes, _half(amplitude))
