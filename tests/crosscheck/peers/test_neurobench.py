"""`snnx.metrics` against the ``neurobench`` package (2.3.0) itself: snnTorch models are measured
by NeuroBench's own `Benchmark` (forward hooks on the torch modules) and, converted with
`snnx.from_torch`, by `snnx.metrics.measure` on the same spikes; every metric must agree.

Footprint is the one metric compared on the connection layers alone: NeuroBench counts the
torch module's buffers, and snnTorch keeps a neuron's constants as scalars where a NIR graph holds
one value per neuron (`snnx.metrics` counts the graph as it is written).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from peerkit import quiet

from snnx import from_torch
from snnx.metrics import is_connection, measure, static_metrics

T, B = 30, 4


def feed_forward():
    import snntorch as snn

    torch.manual_seed(1)
    net = torch.nn.Sequential(
        torch.nn.Linear(12, 20),
        snn.Leaky(beta=0.8, init_hidden=True),
        torch.nn.Linear(20, 5),
        snn.Leaky(beta=0.9, threshold=0.5, init_hidden=True),
    )
    with torch.no_grad():  # some zero weights, so that connection sparsity is not trivial
        net[0].weight.mul_((torch.rand_like(net[0].weight) > 0.3) * 2.0)
        net[2].weight[:, :4] = 0
    return net, (12,)


def convolutional():
    import snntorch as snn

    torch.manual_seed(2)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1),
        snn.Leaky(beta=0.7, init_hidden=True),
        torch.nn.Conv2d(4, 4, 3, stride=2, groups=2),
        snn.Leaky(beta=0.8, init_hidden=True),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 3 * 3, 3),
        snn.Leaky(beta=0.9, threshold=0.8, init_hidden=True),
    )
    with torch.no_grad():
        net[0].weight.mul_(3.0)
        net[2].weight[0] = 0
    return net, (2, 8, 8)


MODELS = {"feed-forward": feed_forward, "convolutional": convolutional}


def neurobench_results(net, x: np.ndarray) -> dict:
    """NeuroBench's own measurement: its snnTorch wrapper, stepped over time, under `Benchmark`."""
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.static import ConnectionSparsity, Footprint
    from neurobench.metrics.workload import ActivationSparsity, MembraneUpdates, SynapticOperations
    from neurobench.models import SNNTorchModel
    from torch.utils.data import DataLoader, TensorDataset

    class Stepped(SNNTorchModel):
        def __call__(self, data):
            import snntorch.utils

            snntorch.utils.reset(self.net)
            return torch.stack([self.net(data[:, t]) for t in range(data.shape[1])], 1)

    data = torch.from_numpy(np.ascontiguousarray(x.swapaxes(0, 1)))  # NeuroBench: (B, T, ...)
    loader = DataLoader(TensorDataset(data, torch.zeros(len(data))), batch_size=len(data))
    static = [Footprint, ConnectionSparsity]
    workload = [ActivationSparsity, SynapticOperations, MembraneUpdates]
    with torch.no_grad():
        bench = Benchmark(Stepped(net), loader, [], [], [static, workload])
        return bench.run(quiet=True)


@pytest.fixture(scope="module", params=list(MODELS))
def measured(request):
    net, shape = MODELS[request.param]()
    x = (np.random.default_rng(3).random((T, B, *shape)) < 0.3).astype(np.float32)
    with quiet():
        graph = from_torch(net, shape=shape)
        theirs = neurobench_results(net, x)
    ours = measure(graph, x)
    return net, graph, theirs, ours


def test_the_models_are_active(measured):
    *_, ours = measured
    assert 0.3 < ours["activation_sparsity"] < 0.99, "a test without spikes proves nothing"
    assert ours["synaptic_operations"]["effective_acs"] > 0


def test_connection_sparsity(measured):
    _, _, theirs, ours = measured
    assert theirs["ConnectionSparsity"] > 0.05
    assert round(ours["connection_sparsity"], 4) == theirs["ConnectionSparsity"]


def test_activation_sparsity(measured):
    _, _, theirs, ours = measured
    assert ours["activation_sparsity"] == pytest.approx(theirs["ActivationSparsity"], abs=1e-12)


def test_synaptic_operations(measured):
    _, _, theirs, ours = measured
    ops = ours["synaptic_operations"]
    assert ops["effective_acs"] == theirs["SynapticOperations"]["Effective_ACs"]
    assert ops["effective_macs"] == theirs["SynapticOperations"]["Effective_MACs"]
    assert ops["dense"] == theirs["SynapticOperations"]["Dense"]


def test_membrane_updates(measured):
    _, _, theirs, ours = measured
    assert ours["membrane_updates"] == theirs["MembraneUpdates"]


def test_footprint_of_the_connection_layers(measured):
    """NeuroBench's footprint of the Linear and Conv layers alone (weights and biases, float32)
    equals snnx's footprint of the graph's connection layers."""
    from neurobench.metrics.static import Footprint

    net, graph, _, _ = measured
    layers = torch.nn.ModuleList(
        m for m in net.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))
    )
    wrapped = type("M", (), {"__net__": lambda self: layers})()
    by_node = static_metrics(graph)["footprint_bytes_by_node"]
    ours = sum(by_node[name] for name, node in graph.nodes.items() if is_connection(node))
    assert ours == Footprint()(wrapped)
