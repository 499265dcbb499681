"""snnx's BrainScaleS-2 numerics against jaxsnn 0.3.0 (NIR import + event-based CUBA LIF).

Both read the same NIR graphs (Input -> Linear -> CubaLIF -> Linear -> CubaLIF -> Output) and the
same input spike times; every neuron must have as many spikes in both, each within 1e-15 s
(model time; measured: at most 1.04e-16 s over 14 graphs, seeds 1-7 at ratios 1 and 2; the
README quotes this tolerance).

What the comparison has to respect (measured, /work/staging/jaxsnn/FACTS.md):

- jaxsnn's ``from_nir`` reads tau in milliseconds (x1e-3) and ignores ``r``, ``w_in``,
  ``v_leak``, and passes ``Linear.weight`` untransposed; ``jaxsnn_runner`` (API calls only) fixes
  units and orientation and folds the ignored fields in exactly. Passing the graph *raw* to
  jaxsnn simulates it 1000x accelerated: BrainScaleS-2 hardware time, compared here too.
- A spike adds ``w`` to the synaptic current (jaxsnn's and hxtorch's reading): snnx lowers with
  ``convention="jump"``, ``quantize=False`` (or feeds jaxsnn the dequantized 6-bit weights) and
  ``refractory=0`` (jaxsnn has no refractory time).
- jaxsnn's threshold crossing is a closed form that is exact only for tau_mem/tau_syn = 1
  (Lambert W) and 2 (a quadratic); it rounds any other ratio to one of those and errs by up to
  0.7 tau_syn. So the equality tests use ratios 1 and 2; the last test shows the error at 1.5,
  where snnx agrees with the mpmath reference of the main suite instead.
- Exactly simultaneous threshold crossings can lose a spike in jaxsnn: inputs are random real
  times, weights random reals.
"""

from __future__ import annotations

import warnings

import jax
import nir
import numpy as np
import pytest
from jaxsnn_runner import run_jaxsnn

import snnx
from snnx.errors import SnnxWarning
from snnx.targets import get_target
from snnx.targets.bss2.network import Network
from snnx.targets.bss2.numerics import spike_times_events

jax.config.update("jax_enable_x64", True)  # jaxsnn in float64 (its error is ~1e-14 tau then)

TOLERANCE = 1e-15  # seconds of model time, the required agreement
# jaxsnn's neurons start at rest (v_leak); the chip does too when the semantics say so
REFERENCE = snnx.Semantics.profile("nir-reference", v_init="v_leak")


def two_layer(tau_mem, tau_syn, seed, *, v_leak=0.0, r=1.0, w_in=1.0, weights=None):
    """3 -> 4 -> 2 CubaLIF graph with mixed-sign weights (NIR orientation: (out, in))."""
    rng = np.random.default_rng(seed)
    w1, w2 = weights or (rng.uniform(-1, 4, (4, 3)), rng.uniform(-1, 4, (2, 4)))

    def lif(n):
        one = np.ones(n)
        return nir.CubaLIF(
            tau_mem=tau_mem * one,
            tau_syn=tau_syn * one,
            r=r * one,
            v_leak=v_leak * one,
            v_threshold=(v_leak + 1.0) * one,
            v_reset=v_leak * one,
            w_in=w_in * one,
        )

    return nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([3])),
            "fc1": nir.Linear(weight=w1),
            "lif1": lif(4),
            "fc2": nir.Linear(weight=w2),
            "lif2": lif(2),
            "output": nir.Output(output_type=np.array([2])),
        },
        edges=[
            ("input", "fc1"),
            ("fc1", "lif1"),
            ("lif1", "fc2"),
            ("fc2", "lif2"),
            ("lif2", "output"),
        ],
    )


def inputs(tau_mem, seed):
    rng = np.random.default_rng(1000 + seed)
    return [sorted(rng.uniform(0, 3 * tau_mem, rng.integers(1, 4)).tolist()) for _ in range(3)]


def lowered_network(graph: nir.NIRGraph, **options) -> Network:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SnnxWarning)
        lowered = get_target("bss2").lower(
            snnx.Graph.from_nir(graph),
            REFERENCE,
            convention="jump",
            refractory=0.0,
            **{"quantize": False, **options},
        )
    return lowered.program


def snnx_trains(program, events, t_end):
    """``{population: [spike times per neuron]}`` from snnx's event-based numerics."""
    trains = spike_times_events(program.network, [events], t_end)[0]
    return {p.name: trains[p.start : p.start + p.size] for p in program.populations}


def deviation(got, want):
    """Largest spike-time difference; every neuron must have as many spikes in both."""
    worst, total = 0.0, 0
    for layer, trains in want.items():
        for k, (a, b) in enumerate(zip(got[layer], trains, strict=True)):
            assert len(a) == len(b), f"{layer}[{k}]: snnx {list(a)} jaxsnn {list(b)}"
            if len(a):
                worst = max(worst, float(np.max(np.abs(np.asarray(a) - np.asarray(b)))))
            total += len(a)
    return worst, total


CASES = [  # (tau_mem, tau_syn): ratio 2 and 1 at biological (ms) scale
    pytest.param(10e-3, 5e-3, id="ratio2"),
    pytest.param(5e-3, 5e-3, id="ratio1"),
]


@pytest.mark.parametrize("seed", [1, 4])  # 4: the largest deviation measured (1.04e-16 s, ratio 1)
@pytest.mark.parametrize(("tau_mem", "tau_syn"), CASES)
def test_spike_times_equal_jaxsnn(tau_mem, tau_syn, seed):
    graph = two_layer(tau_mem, tau_syn, seed)
    events, t_end = inputs(tau_mem, seed), 12 * tau_mem
    want = run_jaxsnn(graph, events, t_end)
    got = snnx_trains(lowered_network(graph), events, t_end)
    worst, total = deviation(got, want)
    print(f"tau {tau_mem}/{tau_syn} seed {seed}: {total} spikes, max |dt| = {worst:.2e} s")
    assert total >= 5
    assert worst < TOLERANCE


def test_leak_gain_and_input_weight_are_folded_like_jaxsnn():
    """v_leak, r and w_in (which jaxsnn ignores; the runner folds them into threshold and weights)
    read the same in snnx's lowering."""
    graph = two_layer(10e-3, 5e-3, 3, v_leak=0.3, r=2.0, w_in=0.5)
    events, t_end = inputs(10e-3, 3), 0.12
    worst, total = deviation(
        snnx_trains(lowered_network(graph), events, t_end), run_jaxsnn(graph, events, t_end)
    )
    assert total >= 5 and worst < TOLERANCE


def test_hardware_time_is_jaxsnn_reading_the_graph_in_milliseconds():
    """jaxsnn's own reading of a graph (tau in ms) is BrainScaleS-2's 1000x acceleration: its
    spike times (hardware seconds) are snnx's model-time spikes / speedup. Tolerance 1e-15 s of
    model time, i.e. 1e-18 s on the chip (measured: 1.6e-19 s)."""
    graph = two_layer(10e-3, 5e-3, 4)
    events, t_end = inputs(10e-3, 4), 0.12
    program = lowered_network(graph)
    hardware_events = [[t / program.speedup for t in train] for train in events]
    want = run_jaxsnn(graph, hardware_events, t_end / program.speedup, nir_time_unit="ms")
    model = snnx_trains(program, events, t_end)
    got = {k: [np.asarray(t) / program.speedup for t in v] for k, v in model.items()}
    worst, total = deviation(got, want)
    assert total >= 5 and worst < TOLERANCE / program.speedup


def test_the_six_bit_artifact_weights_run_the_same_in_jaxsnn():
    """The quantized program (6-bit weights split by sign, one scale per population): jaxsnn fed
    the weights the experiment describes, (excitatory - inhibitory) / scale, spikes as snnx's
    simulation of the program does."""
    graph = two_layer(10e-3, 5e-3, 5)
    program = lowered_network(graph, quantize=True)
    chip = {p.target: p.applied for p in program.projections}
    assert all(
        np.allclose(p.q, np.rint(p.q)) and np.abs(p.q).max() == 63 for p in program.projections
    )
    as_chip = two_layer(10e-3, 5e-3, 5, weights=(chip["lif1"], chip["lif2"]))
    events, t_end = inputs(10e-3, 5), 0.12
    worst, total = deviation(
        snnx_trains(program, events, t_end), run_jaxsnn(as_chip, events, t_end)
    )
    assert total >= 5 and worst < TOLERANCE


def test_other_ratios_are_where_jaxsnn_is_wrong():
    """At tau_mem/tau_syn = 1.5 jaxsnn still uses a ratio-1 or ratio-2 formula: on this graph
    (measured) two neurons of the output layer get a different number of spikes (16 vs 15, 4 vs
    2), and where the counts agree the times leave snnx's (which match the mpmath reference in
    the main suite) by up to 8e-4 s. This is why the equality tests keep to ratios 1 and 2."""
    graph = two_layer(7.5e-3, 5e-3, 6)
    events, t_end = inputs(7.5e-3, 6), 0.09
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        want = run_jaxsnn(graph, events, t_end, allow_unsupported_tau_ratio=True)
    got = snnx_trains(lowered_network(graph), events, t_end)
    pairs = [
        (np.asarray(a), np.asarray(b))
        for layer, trains in want.items()
        for a, b in zip(got[layer], trains, strict=True)
    ]
    miscounted = sum(len(a) != len(b) for a, b in pairs)
    worst = max(float(np.max(np.abs(a - b))) for a, b in pairs if len(a) == len(b) and len(a))
    assert miscounted >= 1 and worst > 1e-5
