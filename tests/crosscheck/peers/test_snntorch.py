"""snnx under the ``snntorch-nir`` profile against snnTorch 1.0.0's own NIR import
(``snntorch.import_nir.import_from_nir``), step by step, on the same graphs and spikes.

snnTorch's importer hard-codes dt = 1e-4 and accepts LIF with v_leak = 0, one threshold for the
whole layer and one input gain ``r dt / tau`` (folded into its threshold); CubaLIF also needs
``r = tau_mem / dt`` and one gain ``w_in dt / tau_syn``. Thresholds, time constants and gains are
drawn within those rules; ``v_reset`` is random (snnTorch resets to zero whatever it says).
What it gets wrong is pinned down below: the neuron <-> dense 2-cycle (NIR's RNN pattern) is wired
through the recurrent weights, IF imports as a leaky neuron whose output is a tuple, and the paper's
Braille and CNN graphs fail.
"""

from __future__ import annotations

import nir
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
    with_edges,
)

from snnx.ir import Graph, Node

DT = 1e-4  # snnTorch's importer's own, not settable


def fields(kind: str, n: int, rng: np.random.Generator) -> dict:
    v_reset = rng.uniform(-0.5, 0.5, n)
    threshold = np.full(n, rng.uniform(0.5, 1.5))
    gain = rng.uniform(0.3, 1.0)  # r dt / tau (LIF) or w_in dt / tau_syn (CubaLIF), per layer
    tau = rng.uniform(2e-4, 2e-3, n)
    if kind == "LIF":
        return dict(
            tau=tau, r=gain * tau / DT, v_leak=np.zeros(n), v_threshold=threshold, v_reset=v_reset
        )
    tau_syn = np.full(n, rng.uniform(2e-4, 1e-3))  # one per layer: w_in dt / tau_syn exactly equal
    return dict(
        tau_syn=tau_syn,
        tau_mem=tau,
        r=tau / DT,
        w_in=np.full(n, gain * tau_syn[0] / DT),
        v_leak=np.zeros(n),
        v_threshold=threshold,
        v_reset=v_reset,
    )


def snntorch(graph: Graph | nir.NIRGraph, x: np.ndarray) -> np.ndarray:
    from snntorch.import_nir import import_from_nir

    with quiet():
        net = import_from_nir(graph.to_nir() if isinstance(graph, Graph) else graph)
        return step_by_step(net, x)


def graph(seed: int, topology: str) -> Graph:
    return random_graph(
        seed, fields, kinds=("LIF", "CubaLIF"), topology=topology, rec_kinds=("Affine",)
    )


SUPPORTED = [(seed, ("ff", "self", "long")[seed % 3]) for seed in range(21)]


@pytest.mark.parametrize(("seed", "topology"), SUPPORTED)
def test_random_graphs_match(seed, topology):
    """Feed-forward chains, self-loops and a long back edge (last layer -> Affine -> first)."""
    g = graph(seed, topology)
    x = spikes(seed, 40, 2, g["input"].shape)
    ours = run_snnx(g, x, "snntorch-nir")
    assert activity(ours) > 0.02
    assert compare(ours, snntorch(g, x)) == ""


@pytest.mark.parametrize("seed", range(4))
def test_two_cycle_is_wired_through_the_recurrent_weights(seed):
    """snnTorch moves ``lif <-> rec`` into a subgraph whose feed-forward input enters through
    ``rec``: the neuron gets ``W_rec (ff_t + s_{t-1}) + b_rec`` instead of ``ff_t + W_rec s_{t-1}
    + b_rec``. snnx reproduces it exactly on the graph wired that way (fc1 -> rec1 -> lif1)."""
    g = graph(seed, "rec")
    x = spikes(seed, 40, 2, g["input"].shape)
    theirs = snntorch(g, x)
    miswired = with_edges(g, drop=[("fc1", "lif1")], add=[("fc1", "rec1")])
    assert compare(run_snnx(miswired, x, "snntorch-nir"), theirs) == ""
    assert compare(run_snnx(g, x, "snntorch-nir"), theirs) != ""


def _if_graph(then_dense: bool) -> Graph:
    rng = np.random.default_rng(0)
    nodes = {
        "input": Node("Input", shape=[3]),
        "fc1": Node("Affine", weight=rng.normal(size=(4, 3)), bias=np.zeros(4)),
        "if1": Node("IF", r=np.ones(4), v_threshold=np.full(4, 0.8), v_reset=np.zeros(4)),
    }
    if then_dense:
        nodes["fc2"] = Node("Linear", weight=rng.normal(size=(2, 4)))
    nodes["output"] = Node("Output", shape=[2 if then_dense else 4])
    return Graph.sequential(nodes)


def test_if_imports_as_a_leaky_neuron_returning_a_tuple():
    """An IF becomes ``snn.Leaky(beta=0.9)`` with subtractive reset and ``init_hidden=False``: a
    leak NIR's IF does not have, and a ``(spk, mem)`` tuple that breaks any node after it."""
    import torch
    from snntorch.import_nir import import_from_nir

    with quiet():
        net = import_from_nir(_if_graph(then_dense=False).to_nir())
        neuron = dict(net.named_modules())["if1"]
        out, _ = net(torch.zeros(2, 3), None)
    assert type(neuron).__name__ == "Leaky"
    assert float(neuron.beta) == pytest.approx(0.9) and neuron.reset_mechanism == "subtract"
    assert isinstance(out, tuple) and len(out) == 2
    with quiet(), pytest.raises(TypeError, match="must be Tensor, not tuple"):
        net = import_from_nir(_if_graph(then_dense=True).to_nir())
        net(torch.zeros(2, 3), None)


def test_braille_fails_to_import(nir_paper):
    """The paper's Braille graph (CubaLIF <-> Affine 2-cycle) breaks snnTorch's subgraph
    rewiring inside nirtorch."""
    from snntorch.import_nir import import_from_nir

    with quiet(), pytest.raises(AttributeError, match="'GraphModule' object has no attribute"):
        import_from_nir(nir.read(nir_paper / "braille_noDelay_bias_zero.nir"))


def test_cnn_sinabs_fails_at_its_first_if(nir_paper):
    import torch
    from snntorch.import_nir import import_from_nir

    g = paper_graph(nir_paper, "cnn_sinabs.nir")
    with quiet():
        net = import_from_nir(g.to_nir())
        with pytest.raises(TypeError, match="conv2d"):
            net(torch.zeros(1, 2, 34, 34), None)
