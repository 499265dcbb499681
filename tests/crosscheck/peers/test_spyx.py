"""snnx under the ``spyx`` profile against Spyx 1.0.0's own NIR import (``spyx.nir.from_nir``,
which builds the model and runs it on the input in one call).

Spyx adds every input with gain 1 (``r``, ``w_in``, ``v_leak``, ``v_reset`` ignored: drawn at
random here), decays by ``1 - dt/tau`` with the importer's dt (default 1; half the graphs use it,
half dt = 1e-4), tests the previous step's voltage so spikes leave one step late, and subtracts
the threshold. It follows one chain from the node named ``input`` to the one named ``output``.

Recurrence: Spyx's 2-cycle feeds back the spike the neuron emits in the same step (decided on the
previous voltage), as snnx runs a loop through a neuron whose spikes leave a step late: no
back-edge step on top. Spyx's importer drops the recurrent Affine's bias (snnx honours it, so
the comparisons zero it); other back edges (self-loops, longer cycles) are not on Spyx's chain
and vanish.
"""

from __future__ import annotations

import numpy as np
import pytest
from peerkit import (
    BACK_EDGE,
    activity,
    compare,
    paper_graph,
    quiet,
    random_graph,
    run_snnx,
    spikes,
    tie_graph,
    with_edges,
)

from snnx.ir import Graph, Node


def fields_at(dt: float):
    def fields(kind: str, n: int, rng: np.random.Generator) -> dict:
        def ignored():
            return rng.uniform(-0.5, 3.0, n)

        threshold = rng.uniform(0.5, 1.5, n)
        if kind == "Threshold":
            return dict(threshold=threshold)
        if kind == "LI":
            return dict(tau=rng.uniform(2, 20, n) * dt, r=ignored(), v_leak=ignored())
        if kind == "IF":
            return dict(r=ignored(), v_threshold=threshold, v_reset=ignored())
        if kind == "LIF":
            return dict(
                tau=rng.uniform(2, 20, n) * dt,
                r=ignored(),
                v_leak=ignored(),
                v_threshold=threshold,
                v_reset=ignored(),
            )
        return dict(
            tau_syn=rng.uniform(2, 10, n) * dt,
            tau_mem=rng.uniform(2, 20, n) * dt,
            r=ignored(),
            w_in=ignored(),
            v_leak=ignored(),
            v_threshold=threshold,
            v_reset=ignored(),
        )

    return fields


def spyx(graph: Graph, x: np.ndarray, dt: float | None = None) -> np.ndarray:
    """Spyx's import of ``graph`` run on ``x``; ``dt=None`` keeps its default (1)."""
    import jax.numpy as jnp
    import spyx.nir

    with quiet():
        _, out = spyx.nir.from_nir(
            graph.to_nir(), jnp.asarray(x), **({} if dt is None else {"dt": dt})
        )
    return np.asarray(out)


def graph(seed: int, topology: str, dt: float, kinds=("LIF", "CubaLIF")) -> Graph:
    return random_graph(
        seed, fields_at(dt), kinds=kinds, topology=topology, scale=0.7, rec_kinds=("Affine",)
    )


def without_recurrent_bias(g: Graph) -> Graph:
    """The graph as Spyx's importer reads it: the Affine on each 2-cycle without its bias."""
    two_cycles = {(a, b) for a, b in g.edges if (b, a) in g.edges and a != b}
    nodes = dict(g.nodes)
    for _, dst in two_cycles:
        if g[dst].type == "Affine":
            nodes[dst] = g[dst].replace(bias=np.zeros_like(np.asarray(g[dst].bias)))
    return Graph(nodes, g.edges)


FF = [(seed, (1.0, 1e-4)[seed % 2]) for seed in range(20)]
KINDS = ("LIF", "CubaLIF", "IF", "LI+Threshold")


@pytest.mark.parametrize(("seed", "dt"), FF)
def test_random_graphs_match(seed, dt):
    """Feed-forward chains of LIF, CubaLIF, IF and LI -> Threshold (Spyx's PSU_LIF)."""
    g = graph(seed, "ff", dt, kinds=KINDS)
    x = spikes(seed, 40, 2, g["input"].shape)
    ours = run_snnx(g, x, "spyx", dt=dt)
    assert activity(ours) > 0
    assert compare(ours, spyx(g, x, None if dt == 1.0 else dt)) == ""


REC = [(seed, (1.0, 1e-4)[seed % 2]) for seed in range(6)]


@pytest.mark.parametrize(("seed", "dt"), REC)
def test_two_cycle_feeds_back_the_spike_emitted_now(seed, dt):
    """Spyx's RLIF / RCuBaLIF: ``v[t] = ... + W_rec s[t]`` with ``s[t] = [v[t-1] > threshold]``,
    no recurrent bias: the spyx profile as it is, on the graph without that bias."""
    g = graph(seed, "rec", dt)
    x = spikes(seed, 40, 2, g["input"].shape)
    theirs = spyx(g, x, dt)
    assert activity(theirs) > 0
    assert compare(run_snnx(without_recurrent_bias(g), x, "spyx", dt=dt), theirs) == ""


def test_spyx_drops_the_recurrent_bias():
    """With the bias the file holds, snnx (which honours it) and Spyx part."""
    g = graph(0, "rec", 1.0)
    x = spikes(0, 40, 2, g["input"].shape)
    assert compare(run_snnx(g, x, "spyx", dt=1.0), spyx(g, x, 1.0)) != ""


@pytest.mark.parametrize(("seed", "topology"), [(0, "self"), (1, "self"), (2, "long"), (3, "long")])
def test_other_back_edges_vanish(seed, topology):
    """Self-loops and longer cycles are off Spyx's chain: it runs the graph without them."""
    dt = (1.0, 1e-4)[seed % 2]
    g = graph(seed, topology, dt)
    x = spikes(seed, 40, 2, g["input"].shape)
    theirs = spyx(g, x, dt)
    ours = run_snnx(with_edges(g, drop=[BACK_EDGE[topology]]), x, "spyx", dt=dt)
    assert compare(ours, theirs) == ""
    assert compare(run_snnx(g, x, "spyx", dt=dt), theirs) != ""


def test_threshold_tie_does_not_fire():
    """IF tests ``v > threshold`` on the previous step's voltage: landing exactly on 0.5 is no
    spike; 0.75 fires one step after the crossing, and the subtraction lands with it."""
    g = tie_graph(Node("IF", r=[1.0], v_threshold=[0.5]))
    x = np.ones((8, 1, 1), np.float32)
    ours = run_snnx(g, x, "spyx")
    assert ours.reshape(-1).tolist() == [0, 0, 0, 1, 0, 1, 0, 1]
    assert compare(ours, spyx(g, x)) == ""


def test_braille(nir_paper):
    """The paper's Braille graph at dt = 1e-4 (r = tau_mem/dt and w_in = tau_syn/dt, so gain 1 is
    NIR's Euler gain), its recurrent bias dropped as Spyx's importer does."""
    g = paper_graph(nir_paper, "braille_noDelay_bias_zero.nir")
    x = spikes(0, 256, 3, [12], p=0.1)
    theirs = spyx(g, x, 1e-4)
    assert activity(theirs) > 0.05
    assert compare(run_snnx(without_recurrent_bias(g), x, "spyx", dt=1e-4), theirs) == ""
