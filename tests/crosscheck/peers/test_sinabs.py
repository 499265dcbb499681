"""snnx under the ``sinabs-nir`` profile against Sinabs 3.1.3's own NIR import (``sinabs.from_nir``).

Sinabs has no time step: it reads tau in steps, so the graphs here are dt = 1 graphs. It maps
Affine (not Linear), LIF (``v_leak`` must be 0; ``r`` and ``v_reset`` ignored, drawn at random
here), IF (``r`` ignored, v clamped at -threshold) and LI (``r = 1``, ``v_leak = 0``), with
several spikes per step (``floor(v / threshold)``) and subtractive reset.

Sinabs' own way to run is the whole sequence in one call (batch and time folded, batch-major),
each layer looping over time inside. That is how the feed-forward graphs run. With a back edge
that call cannot be right (the edge sees the previous *call*), so recurrent graphs run one step
per call with the state threaded through, which Sinabs gets right; the whole-sequence result is
pinned down in `test_whole_sequence_drops_back_edges`.
"""

from __future__ import annotations

import nir
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
    step_by_step,
    tie_graph,
    with_edges,
)

from snnx.ir import Graph, Node


def fields(kind: str, n: int, rng: np.random.Generator) -> dict:
    tau = rng.uniform(2.0, 20.0, n)  # in steps
    if kind == "LI":
        return dict(tau=tau, r=np.ones(n), v_leak=np.zeros(n))
    common = dict(v_threshold=rng.uniform(1.0, 2.0, n), v_reset=rng.uniform(-0.5, 0.5, n))
    if kind == "IF":
        return dict(r=rng.uniform(0.5, 3.0, n), **common)
    return dict(tau=tau, r=rng.uniform(0.5, 3.0, n), v_leak=np.zeros(n), **common)


def sinabs(graph: Graph | nir.NIRGraph, x: np.ndarray, *, per_step: bool) -> np.ndarray:
    """Sinabs' import run on ``x`` (T, B, ...): the whole sequence in one call, or one step per
    call; the Output node's value is read from the executor's cache."""
    import sinabs as sinabs_lib
    import torch

    steps, batch = x.shape[:2]
    with quiet():
        net = sinabs_lib.from_nir(
            graph.to_nir() if isinstance(graph, Graph) else graph, batch_size=batch
        )
        if per_step:
            return step_by_step(net, x, pick=lambda out, state: state.cache["output"])
        folded = np.ascontiguousarray(x.swapaxes(0, 1)).reshape(batch * steps, *x.shape[2:])
        with torch.no_grad():
            _, state = net(torch.from_numpy(folded))
        out = state.cache["output"].numpy()
        return out.reshape(batch, steps, *out.shape[1:]).swapaxes(0, 1)


def graph(seed: int, topology: str, readout: str | None = None) -> Graph:
    return random_graph(
        seed,
        fields,
        kinds=("LIF", "IF"),
        topology=topology,
        dense_kinds=("Affine",),
        scale=0.7,
        rec_scale=0.3,
        readout=readout,
    )


CASES = [(seed, ("ff", "rec", "self", "long")[seed % 4]) for seed in range(20)]


@pytest.mark.parametrize(("seed", "topology"), CASES)
def test_random_graphs_match(seed, topology):
    g = graph(seed, topology)
    x = spikes(seed, 40, 2, g["input"].shape)
    ours = run_snnx(g, x, "sinabs-nir")
    assert activity(ours) > 0 and ours.max() < 50  # a few spikes per step, not a runaway
    assert compare(ours, sinabs(g, x, per_step=topology != "ff")) == ""


@pytest.mark.parametrize("seed", range(4))
def test_leaky_readout_matches(seed):
    """A last layer of LI (``v = exp(-1/tau) v + x``): voltages, not spikes, so float tolerance."""
    g = graph(100 + seed, "ff", readout="LI")
    x = spikes(seed, 40, 2, g["input"].shape)
    ours = run_snnx(g, x, "sinabs-nir")
    assert np.abs(ours).max() > 0.1
    np.testing.assert_allclose(sinabs(g, x, per_step=False), ours, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("seed", "topology"), [(0, "rec"), (1, "self"), (2, "long")])
def test_whole_sequence_drops_back_edges(seed, topology):
    """Run as one call, a back edge reads the previous call's cache (nothing on the first call):
    exactly snnx on the graph without that edge."""
    g = graph(seed, topology)
    x = spikes(seed, 40, 2, g["input"].shape)
    theirs = sinabs(g, x, per_step=False)
    assert (
        compare(run_snnx(with_edges(g, drop=[BACK_EDGE[topology]]), x, "sinabs-nir"), theirs) == ""
    )
    assert compare(run_snnx(g, x, "sinabs-nir"), theirs) != ""


def test_threshold_tie_fires_and_counts():
    """IF fires ``floor(v / threshold)`` spikes once ``v >= threshold``: 0.25 per step on a 0.5
    threshold is a spike every second step; 0.75 per step gives 1, 2, 1, 2, ... spikes."""
    x = np.ones((8, 1, 1), np.float32)
    for weight, expected in ((0.25, [0, 1] * 4), (0.75, [1, 2] * 4)):
        g = tie_graph(Node("IF", r=[1.0], v_threshold=[0.5]), weight, "Affine")
        ours = run_snnx(g, x, "sinabs-nir")
        assert ours.reshape(-1).tolist() == expected
        assert compare(ours, sinabs(g, x, per_step=False)) == ""


def test_cnn_sinabs(nir_paper):
    g = paper_graph(nir_paper, "cnn_sinabs.nir")
    x = spikes(1, 40, 2, [2, 34, 34], p=0.3)
    ours = run_snnx(g, x, "sinabs-nir")
    assert ours.sum() > 10
    assert compare(ours, sinabs(g, x, per_step=False)) == ""


def test_cuba_lif_is_dropped_silently():
    """Sinabs has no CubaLIF: one is dropped without a word, execution ends at the Affine before
    it (not even the Output node runs) and the network returns the Affine's output."""
    rng = np.random.default_rng(0)
    weight, bias = rng.normal(size=(2, 3)).astype(np.float32), np.full(2, 0.1, np.float32)
    g = Graph.sequential(
        {
            "input": Node("Input", shape=[3]),
            "fc": Node("Affine", weight=weight, bias=bias),
            "cuba": Node(
                "CubaLIF",
                tau_syn=[2.0, 2.0],
                tau_mem=[4.0, 4.0],
                r=[1.0, 1.0],
                v_leak=[0.0, 0.0],
                v_threshold=[1.0, 1.0],
            ),
            "output": Node("Output", shape=[2]),
        }
    )
    x = spikes(0, 10, 1, [3])[:, 0]
    import sinabs as sinabs_lib
    import torch

    with quiet():
        net = sinabs_lib.from_nir(g.to_nir(), batch_size=1)
        out, state = net(torch.from_numpy(x))
    assert "cuba" not in dict(net.named_children())
    assert sorted(state.cache) == ["fc", "input"]  # the nodes that ran
    np.testing.assert_allclose(out.detach().numpy(), x @ weight.T + bias, rtol=1e-6)


def test_braille_fails_to_import(nir_paper):
    """Two unmapped CubaLIF nodes collide in nirtorch's module table."""
    import sinabs as sinabs_lib

    with quiet(), pytest.raises(KeyError, match="lif1_lif"):
        sinabs_lib.from_nir(nir.read(nir_paper / "braille_noDelay_bias_zero.nir"), batch_size=1)
