"""The adapted BrainScaleS-2 experiment (`snnx.adaptation.bss2`) against jaxsnn: the 6-bit
weights adaptation writes, (excitatory - inhibitory) / scale, fed to jaxsnn, spike as snnx's
exact numerics of the adapted program do (each spike within 1e-15 s of model time).

Lowered as jaxsnn reads a graph (``convention="jump"``, no refractory time: jaxsnn has none;
tau ratio 2, where jaxsnn's crossing formula is exact; see test_jaxsnn.py)."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
from jaxsnn_runner import run_jaxsnn
from test_jaxsnn import REFERENCE, TOLERANCE, deviation, inputs, snnx_trains, two_layer

import snnx
from snnx.adaptation import Settings, random_spikes
from snnx.adaptation.bss2 import Bss2Adapter
from snnx.errors import SnnxWarning
from snnx.targets.bss2.target import BrainScaleS2

jax.config.update("jax_enable_x64", True)


class JumpChip(BrainScaleS2):
    """BrainScaleS-2 lowered the way jaxsnn reads a graph."""

    def lower(self, graph, semantics, **options):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SnnxWarning)
            return super().lower(graph, semantics, convention="jump", refractory=0.0)


def as_jaxsnn(program, seed):
    chip = {p.target: p.applied for p in program.projections}
    return two_layer(10e-3, 5e-3, seed, weights=(chip["lif1"], chip["lif2"]))


def test_adapted_weights_spike_the_same_in_jaxsnn():
    seed = 5
    graph = snnx.Graph.from_nir(two_layer(10e-3, 5e-3, seed))
    adapter = Bss2Adapter(chips=2, check_chips=1, check_samples=8)
    calibration = random_spikes((3,), 60, 16, 0.1, 1)
    held_out = random_spikes((3,), 60, 8, 0.1, 2)
    settings = Settings(iterations=6, check=3, batch=8, learning_rate=0.05)
    done = adapter.run_adaptation(graph, JumpChip(), REFERENCE, calibration, held_out, settings)
    lowered = JumpChip().lower(graph, REFERENCE)
    # what adaptation wrote, and a program whose weights certainly moved (the written one may be
    # the lowered one, when no step beat it on the chips that judge candidates)
    params = adapter.init(lowered)
    moved = adapter.apply(
        lowered,
        {
            k: v + 0.05 * jnp.sign(jnp.sin(jnp.arange(v.size).reshape(v.shape)))
            for k, v in params.items()
        },
    )
    assert any(
        not np.array_equal(a.q, b.q)
        for a, b in zip(moved.program.projections, lowered.program.projections, strict=True)
    )
    events, t_end = inputs(10e-3, seed), 0.12
    for program in (done.lowered.program, moved.program):
        assert all(np.abs(p.q).max() <= 63 for p in program.projections)
        want = run_jaxsnn(as_jaxsnn(program, seed), events, t_end)
        worst, total = deviation(snnx_trains(program, events, t_end), want)
        assert total >= 5 and worst < TOLERANCE
