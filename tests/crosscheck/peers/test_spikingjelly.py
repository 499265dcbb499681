"""snnx under the ``spikingjelly`` profile against SpikingJelly 2.0.0's own NIR import
(``spikingjelly.activation_based.nir_exchange.import_from_nir``), step by step.

SpikingJelly's importer (dt = 1e-4 by default, settable) wants one value per parameter for the
whole layer, LIF with ``r`` in {1, tau/dt} and ``v_leak == v_reset``, IF with ``r = 1/dt``, CubaLIF
with ``r = tau_mem/dt``, ``w_in = tau_syn/dt`` and ``v_leak = 0``; it honours ``v_reset``, tests
``v >= threshold`` and starts v at ``v_reset``. Graphs are drawn within those rules, half at the
default dt (importer called without ``dt``) and half at dt = 1.
"""

from __future__ import annotations

import numpy as np
import pytest
from peerkit import (
    activity,
    compare,
    paper_graph,
    quiet,
    random_graph,
    run_snnx,
    spikes,
    step_by_step,
    tie_graph,
)

from snnx.ir import Graph, Node


def fields_at(dt: float):
    def fields(kind: str, n: int, rng: np.random.Generator) -> dict:
        def full(value):
            return np.full(n, value)

        threshold, v_reset = full(rng.uniform(0.5, 1.5)), full(rng.uniform(-0.3, 0.3))
        if kind == "LIF":
            tau = rng.uniform(2, 20) * dt
            r = 1.0 if rng.random() < 0.5 else tau / dt
            return dict(
                tau=full(tau), r=full(r), v_leak=v_reset, v_threshold=threshold, v_reset=v_reset
            )
        if kind == "IF":
            return dict(r=full(1 / dt), v_threshold=threshold, v_reset=v_reset)
        tau_syn, tau_mem = rng.uniform(2, 10) * dt, rng.uniform(2, 20) * dt
        return dict(
            tau_syn=full(tau_syn),
            tau_mem=full(tau_mem),
            r=full(tau_mem / dt),
            w_in=full(tau_syn / dt),
            v_leak=full(0.0),
            v_threshold=threshold,
            v_reset=v_reset,
        )

    return fields


def spikingjelly(graph: Graph, x: np.ndarray, dt: float | None = None) -> np.ndarray:
    """SpikingJelly's import of ``graph`` run on ``x``; ``dt=None`` keeps its default."""
    from spikingjelly.activation_based.nir_exchange import import_from_nir

    with quiet():
        net = import_from_nir(graph.to_nir(), **({} if dt is None else {"dt": dt}))
        return step_by_step(net, x)


CASES = [
    (seed, ("ff", "rec", "self", "long")[seed % 4], (1e-4, 1.0)[seed // 4 % 2])
    for seed in range(20)
]


@pytest.mark.parametrize(("seed", "topology", "dt"), CASES)
def test_random_graphs_match(seed, topology, dt):
    g = random_graph(
        seed, fields_at(dt), kinds=("LIF", "CubaLIF", "IF"), topology=topology, scale=2.0
    )
    x = spikes(seed, 40, 2, g["input"].shape)
    ours = run_snnx(g, x, "spikingjelly", dt=dt)
    assert activity(ours) > 0
    assert compare(ours, spikingjelly(g, x, None if dt == 1e-4 else dt)) == ""


def test_braille(nir_paper):
    g = paper_graph(nir_paper, "braille_noDelay_bias_zero.nir")
    x = spikes(0, 256, 3, [12], p=0.1)
    ours = run_snnx(g, x, "spikingjelly", dt=1e-4)
    assert activity(ours) > 0.05
    assert compare(ours, spikingjelly(g, x)) == ""


def test_cnn_sinabs_at_dt_1(nir_paper):
    """The CNN's IF neurons have r = 1, which SpikingJelly accepts only as r = 1/dt: dt = 1."""
    g = paper_graph(nir_paper, "cnn_sinabs.nir")
    x = spikes(1, 40, 2, [2, 34, 34], p=0.3)
    ours = run_snnx(g, x, "spikingjelly", dt=1.0)
    assert ours.sum() > 10
    assert compare(ours, spikingjelly(g, x, 1.0)) == ""


def test_threshold_tie_fires():
    """IF fires on ``v >= threshold``: landing exactly on it is a spike (reset to v_reset = 0)."""
    g = tie_graph(Node("IF", r=[1e4], v_threshold=[0.5], v_reset=[0.0]))
    x = np.ones((8, 1, 1), np.float32)
    ours = run_snnx(g, x, "spikingjelly")
    assert ours.reshape(-1).tolist() == [0, 1, 0, 1, 0, 1, 0, 1]
    assert compare(ours, spikingjelly(g, x)) == ""


@pytest.mark.parametrize(
    ("node", "message"),
    [
        (Node("LIF", tau=[1e-3], r=[2.0], v_leak=[0.0], v_threshold=[1.0]), "r must equal 1"),
        (
            Node("LIF", tau=[1e-3], r=[1.0], v_leak=[0.1], v_threshold=[1.0], v_reset=[0.0]),
            "v_leak",
        ),
        (Node("IF", r=[1.0], v_threshold=[1.0]), "r must equal 1 / dt"),
        (
            Node("CubaLIF", tau_syn=[1e-3], tau_mem=[1e-3], r=[1.0], v_leak=[0.0], v_threshold=[1]),
            "r",
        ),
    ],
)
def test_importer_refuses_other_conventions(node, message):
    """What the importer refuses (so the random graphs above stay inside its conventions)."""
    from spikingjelly.activation_based.nir_exchange import import_from_nir

    g = Graph.sequential(
        {
            "input": Node("Input", shape=[1]),
            "fc": Node("Linear", weight=np.ones((1, 1))),
            "neuron": node,
            "output": Node("Output", shape=[1]),
        }
    )
    with quiet(), pytest.raises(ValueError, match=message):
        import_from_nir(g.to_nir())
