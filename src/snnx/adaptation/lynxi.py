"""Adapting a Lynxi program (`snnx.targets.lynxi`): the float16 weights and biases of its dense
and convolution steps, trained through the KA200's own float16 numerics
(`snnx.targets.lynxi.numerics`, the same interpreter ``run`` uses) with the spike comparison
given a fast-sigmoid surrogate gradient. The parameters are float32; the forward pass rounds
them to float16 (straight through: the cast passes the gradient unchanged), so it is the chip's
arithmetic exactly, and `apply` writes them rounded the same way (`to_float16`: an overflow is an
error). Float16 seldom changes a network's behaviour much: there is usually little to recover.

>>> import numpy as np, snnx
>>> from snnx.targets import get_target
>>> lowered = get_target("lynxi").lower(
...     snnx.read(snnx.example_path("braille")), snnx.Semantics.profile("snntorch-nir"))
>>> adapter = LynxiAdapter()
>>> again = adapter.apply(lowered, adapter.init(lowered))
>>> w = lambda low: low.program.nodes["fc1"].tensors["weight"]
>>> bool(np.array_equal(w(again), w(lowered)))
True
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from snnx.adaptation.base import Params
from snnx.adaptation.surrogate import SLOPE
from snnx.targets.base import Lowered
from snnx.targets.lynxi import numerics
from snnx.targets.lynxi.program import Program
from snnx.targets.lynxi.quantize import to_float16

#: The step ops whose tensors adaptation trains, and those tensors.
TRAINED = {"dense": ("weight", "bias"), "conv": ("weight", "bias")}


class LynxiAdapter:
    """The Lynxi adapter (`snnx.adaptation.base.Adapter`)."""

    batch = 64
    learning_rate = 0.0005

    def init(self, lowered: Lowered) -> Params:
        """Step name -> ``weight``/``bias`` as float32, over their largest magnitude (so that a
        step of Adam moves every layer by the same share)."""
        program: Program = lowered.program
        return {
            name: {
                k: jnp.asarray(v, jnp.float32) / _unit(v)
                for k, v in step.tensors.items()
                if k in TRAINED.get(step.op, ())
            }
            for name, step in program.nodes.items()
            if step.op in TRAINED
        }

    def feed(self, lowered: Lowered, inputs: np.ndarray) -> np.ndarray:
        """The inputs as given (the chip takes them as float16)."""
        return np.asarray(inputs, np.float32)

    def forward(self, lowered: Lowered, params: Params, x: jax.Array) -> dict[str, jax.Array]:
        """Each layer's spike counts ``(T, B, size)`` (amplitude divided out), differentiably."""
        program: Program = lowered.program
        tensors = {
            name: {k: jnp.asarray(v) for k, v in step.tensors.items()}
            for name, step in program.nodes.items()
        }
        for name, trained in params.items():
            for k, v in trained.items():
                unit = _unit(program.nodes[name].tensors[k])
                tensors[name][k] = (v * unit).astype(numerics.F16)
        out = numerics._interpreter(program, _surrogate_fire)(tensors, jnp.asarray(x, numerics.F16))
        steps, batch = x.shape[:2]
        result = {}
        for layer in lowered.layers:
            amplitude = program.nodes[layer.name].attributes.get("amplitude") or 1.0
            values = out[layer.name].astype(jnp.float32).reshape(steps, batch, -1)
            result[layer.name] = values / amplitude
        return result

    def apply(self, lowered: Lowered, params: Params) -> Lowered:
        """The program with the trained tensors rounded to float16."""
        program: Program = lowered.program
        nodes = dict(program.nodes)
        for name, trained in params.items():
            step = nodes[name]
            tensors = dict(step.tensors)
            for k, v in trained.items():
                exact = np.asarray(v, np.float64) * float(_unit(step.tensors[k]))
                tensors[k] = to_float16(exact, node=name, field=k)
            nodes[name] = dataclasses.replace(step, tensors=tensors)
        return dataclasses.replace(lowered, program=program.replace(nodes=nodes))


def _unit(values: np.ndarray) -> np.float32:
    """The largest magnitude of ``values`` (1 when all are zero)."""
    peak = float(np.max(np.abs(np.asarray(values, np.float32)), initial=0.0))
    return np.float32(peak if peak > 0 else 1.0)


@jax.custom_vjp
def _spike(w: jax.Array, threshold: jax.Array, ge: jax.Array) -> jax.Array:
    return jnp.where(ge > 0, w >= threshold, w > threshold).astype(w.dtype)


def _spike_fwd(w: jax.Array, threshold: jax.Array, ge: jax.Array) -> tuple[jax.Array, Any]:
    return _spike(w, threshold, ge), (w, threshold, ge)


def _spike_bwd(saved: Any, g: jax.Array) -> tuple[Any, ...]:
    w, threshold, ge = saved
    theta = jnp.asarray(threshold, jnp.float32)
    scale = jnp.maximum(jnp.abs(theta), 1e-3)
    z = (w.astype(jnp.float32) - theta) / scale
    d = g.astype(jnp.float32) / (scale * (1.0 + SLOPE * jnp.abs(z)) ** 2)
    dt = -d
    lead = dt.ndim - jnp.ndim(threshold)
    dt = jnp.sum(dt, axis=tuple(range(lead))) if lead else dt
    dt = jnp.sum(
        dt,
        axis=tuple(i for i, n in enumerate(jnp.shape(threshold)) if n == 1 and dt.shape[i] != 1),
        keepdims=True,
    ).reshape(jnp.shape(threshold))
    return (
        d.astype(w.dtype),
        dt.astype(jnp.result_type(threshold)),
        jnp.zeros_like(ge),
    )


_spike.defvjp(_spike_fwd, _spike_bwd)


def _surrogate_fire(w: jax.Array, threshold: jax.Array, compare: str) -> jax.Array:
    """`numerics._fire` forward (``>`` or ``>=``, as float16 0/1), fast-sigmoid backward."""
    return _spike(w, threshold, jnp.asarray(compare == ">=", jnp.float16))
