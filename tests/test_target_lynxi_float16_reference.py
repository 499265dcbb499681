"""Both float16 paths of the lynxi target (the JAX numerics and the TorchScript module) against an
independent numpy reference of the documented arithmetic: every operation computed in float64
and rounded to float16 with numpy's software rounding (the same on every CPU), synapse sums in
float32. Inputs are spikes and weights are multiples of 2^-6, so every synapse sum is exact in
float32 and its order cannot matter; the neurons' coefficients are any float16 values, so every
product and sum really rounds. The reference would catch a path that skips a rounding: the
inputs are checked to reach values where a fused multiply-add (``a * b + c`` rounded once, which
XLA emitted on CPUs with AVX512-FP16) gives another result."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_target_lynxi import LYNXI, dyadic, spikes

import snnx
from snnx.ir import Graph, Node
from snnx.targets.lynxi.module import build
from snnx.targets.lynxi.numerics import run
from snnx.targets.lynxi.program import Program

pytestmark = pytest.mark.usefixtures("one_thread")


def half(value) -> np.ndarray:
    """``value`` rounded to the nearest float16, as float64."""
    return np.asarray(value, np.float64).astype(np.float16).astype(np.float64)


def small_network(seed: int, dt: float) -> Graph:
    """``input -> Affine -> CubaLIF -> Linear -> LIF -> Affine -> LI``, time constants of any
    value between 2 and 12 steps of ``dt``."""
    rng = np.random.default_rng(seed)
    nodes = {
        "input": Node("Input", shape=[5]),
        "fc0": Node("Affine", weight=dyadic(rng, (8, 5), 1.0), bias=dyadic(rng, (8,), 0.25)),
        "cuba": Node(
            "CubaLIF",
            tau_syn=rng.uniform(2, 6, 8) * dt,
            tau_mem=rng.uniform(3, 12, 8) * dt,
            r=rng.uniform(1, 3, 8),
            w_in=rng.uniform(0.5, 2, 8),
            v_leak=np.zeros(8),
            v_threshold=rng.uniform(0.3, 0.9, 8),
            v_reset=np.zeros(8),
        ),
        "fc1": Node("Linear", weight=dyadic(rng, (6, 8), 1.0)),
        "lif": Node(
            "LIF",
            tau=rng.uniform(3, 12, 6) * dt,
            r=rng.uniform(1, 3, 6),
            v_leak=rng.uniform(-0.1, 0.1, 6),
            v_threshold=rng.uniform(0.3, 0.9, 6),
            v_reset=np.zeros(6),
        ),
        "fc2": Node("Affine", weight=dyadic(rng, (3, 6), 1.0), bias=dyadic(rng, (3,), 0.25)),
        "li": Node("LI", tau=rng.uniform(3, 12, 3) * dt, r=np.ones(3), v_leak=np.zeros(3)),
        "output": Node("Output", shape=[3]),
    }
    return Graph.sequential(nodes)


def reference(program: Program, x: np.ndarray, fused: bool = False) -> dict[str, np.ndarray]:
    """The program's layers on ``x`` ``(T, B, n)`` by the arithmetic of numerics.py's docstring
    (feed-forward dense layers, neurons with same-step reset and output). ``fused``:
    every product added to a sum is not rounded on its own (a fused multiply-add)."""
    steps, batch = x.shape[:2]
    values = {program.input: half(x)}
    for name, step in program.nodes.items():
        t = {k: np.asarray(v, np.float64) for k, v in step.tensors.items()}
        (source,) = step.inputs
        inputs = values[source]
        if step.op == "dense":
            total = inputs @ t["weight"].T + t.get("bias", 0.0)  # exact: spikes, dyadic weights
            values[name] = half(total.astype(np.float32))
            continue
        a = step.attributes
        assert step.op == "neuron", step.op
        if a["spiking"]:
            assert (a["reset_timing"], a["spike_output"]) == ("same-step", "same-step"), a
            assert (a["v_min"], a["amplitude"]) == ("none", None), a

        def add(total, coefficient, value):
            product = coefficient * value
            return half(total + (product if fused else half(product)))

        v, i = np.broadcast_to(t["v0"], (batch, *step.output_shape)), 0.0
        out = []
        for k in range(steps):
            x_k = inputs[k]
            known = {"v": v, "x": x_k}
            if a["kind"] == "cuba":
                known["i"], i = i, add(half(t["As"] * i), t["Bs"], x_k)
                known["i_new"] = i
            w = None
            for coefficient, variable in a["voltage_terms"]:
                value = 1.0 if variable is None else known[variable]
                w = half(t[coefficient] * value) if w is None else add(w, t[coefficient], value)
            if not a["spiking"]:
                v = w
                out.append(w)
                continue
            threshold = t["v_threshold"]
            s = (w >= threshold if a["compare"] == ">=" else w > threshold).astype(np.float64)
            count = s
            if a["max_spikes"] != 1:  # a true float16 division, then whole numbers
                extra = np.maximum(half(np.floor(half(w / threshold)) - 1), 0)
                if a["max_spikes"] > 1:
                    extra = np.minimum(extra, a["max_spikes"] - 1)
                count = half(s * half(1 + extra))
            if a["reset"] == "subtract":
                v = half(w - half(count * threshold))
            else:
                v = add(half((1 - s) * w), s, t["v_reset"])
            out.append(count)
        values[name] = np.stack(out)
    return {n: values[n].reshape(steps, batch, -1) for n in program.layers}


def torch_layers(program: Program, x: np.ndarray) -> dict[str, np.ndarray]:
    steps, batch = x.shape[:2]
    with torch.no_grad():
        outs = build(program, probe=True)(torch.from_numpy(x.reshape(steps * batch, -1)).half())
    return {
        n: o.double().numpy().reshape(steps, batch, -1)
        for n, o in zip(program.layers, outs, strict=True)
    }


@pytest.mark.parametrize("profile", ["snntorch-nir", "sinabs-nir"])
@pytest.mark.parametrize("seed", [0, 1])
def test_jax_and_torch_paths_compute_the_documented_float16_arithmetic(profile, seed):
    """Every layer of both paths equals the numpy reference bit for bit (spikes, and the
    leaky integrator's float16 voltages), on any CPU: each side rounds every operation itself."""
    steps, batch = 40, 4
    semantics = snnx.Semantics.profile(profile)
    lowered = LYNXI.lower(small_network(seed, semantics.dt), semantics, steps=steps, batch=batch)
    program = lowered.program
    x = spikes((steps, batch, 5), 0.4, seed=seed)
    expected = reference(program, x)
    fused = reference(program, x, fused=True)
    assert any((fused[n] != expected[n]).any() for n in program.layers)  # rounding matters
    assert all(expected[n].any() for n in program.layers)
    for side, layers in (("jax", run(program, x)), ("torch", torch_layers(program, x))):
        for name in program.layers:
            differ = np.count_nonzero(layers[name] != expected[name])
            assert differ == 0, f"{side} layer {name}: {differ} values differ from the reference"
