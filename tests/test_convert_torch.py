"""PyTorch side of the converters with plain torch only: `from_torch` on torch.nn models (layers,
BatchNorm folding, additions, flatten, refusals), `to_torch` and TorchScript against the reference
simulator under every profile."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_roundtrip_property import every_type_graph

import snnx
from snnx import from_torch, to_torch
from snnx.errors import ConversionError
from snnx.exporters.torch import to_torchscript
from snnx.ir import Graph, Node
from snnx.sim import simulate

PROFILES = ["nir-reference", "snntorch-nir", "norse", "spyx", "sinabs", "rockpool"]


def spikes(seed: int, shape, p: float = 0.3) -> np.ndarray:
    return (np.random.default_rng(seed).random(shape) < p).astype(np.float32)


def run_torch(net, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return np.stack([net(torch.from_numpy(x[t])).numpy() for t in range(len(x))])


def _random_bn(bn: torch.nn.Module, seed: int) -> torch.nn.Module:
    g = torch.Generator().manual_seed(seed)
    n = bn.num_features
    bn.running_mean = torch.randn(n, generator=g)
    bn.running_var = torch.rand(n, generator=g) + 0.5
    bn.weight.data = torch.randn(n, generator=g)
    bn.bias.data = torch.randn(n, generator=g)
    return bn.eval()


def test_plain_layers_and_batchnorm_fold_match_torch():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, (3, 2), stride=(1, 2), padding=1),
        _random_bn(torch.nn.BatchNorm2d(4), 1),
        torch.nn.AvgPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 4 * 1, 5, bias=False),
        _random_bn(torch.nn.BatchNorm1d(5), 2),
        torch.nn.Dropout(0.5),
    ).eval()
    graph = from_torch(net, torch.zeros(1, 2, 8, 4))
    assert [graph[n].type for n in graph] == [
        "Input", "Conv2d", "AvgPool2d", "Flatten", "Affine", "Output",
    ]  # fmt: skip
    x = np.random.default_rng(0).normal(size=(3, 2, 2, 8, 4)).astype(np.float32)
    ours = simulate(graph, x).outputs["output"]
    np.testing.assert_allclose(ours, run_torch(net, x), rtol=1e-4, atol=1e-4)


def test_custom_forward_with_addition_and_flatten():
    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv1d(2, 3, 3, padding=1)
            self.a = torch.nn.Linear(15, 4)
            self.b = torch.nn.Linear(15, 4, bias=False)

        def forward(self, x):
            h = torch.flatten(self.conv(x), 1)
            return self.a(h) + self.b(h)

    net = Net()
    graph = from_torch(net, shape=(2, 5))
    assert sorted(graph.predecessors("output")) == ["a", "b"]
    x = np.random.default_rng(1).normal(size=(2, 3, 2, 5)).astype(np.float32)
    np.testing.assert_allclose(simulate(graph, x).outputs["output"], run_torch(net, x), atol=1e-5)


def test_unsupported_layer_names_layer_type_and_the_supported_ones():
    net = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.ReLU())
    with pytest.raises(ConversionError) as err:
        from_torch(net, shape=(3,))
    message = str(err.value)
    assert "node '1'" in message and "torch.ReLU" in message
    assert "snntorch.Leaky" in message and "norse.LIFCell" in message


def test_refusals_name_the_layer():
    with pytest.raises(ConversionError, match=r"node '1'.*BatchNorm"):
        from_torch(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.BatchNorm1d(4)), shape=(4,))
    with pytest.raises(ConversionError, match="batch dimension"):
        from_torch(torch.nn.Sequential(torch.nn.Flatten(0)), shape=(4,))
    with pytest.raises(ConversionError, match="input shape"):
        from_torch(torch.nn.Linear(2, 2))


@pytest.mark.parametrize("profile", PROFILES)
def test_to_torch_matches_the_simulator(profile):
    """Consistency check of two snnx paths: the exported torch module against the reference
    simulator (the peers tier compares with the frameworks themselves)."""
    graph = snnx.read(snnx.example_path("braille"))
    x = spikes(0, (20, 3, 12))
    semantics = snnx.Semantics.profile(profile, dt=1e-4)  # the graph's own time step
    ref = simulate(graph, x, semantics, record=["lif1.lif"])
    net = to_torch(graph, semantics)
    with torch.no_grad():
        out, state = net(torch.from_numpy(x))
    assert np.array_equal(out.numpy(), ref.outputs["output"])
    np.testing.assert_allclose(
        state["lif1.lif.v"], ref.records["lif1.lif.v"][-1], rtol=1e-4, atol=1e-4
    )


@pytest.mark.parametrize("profile", ["nir-reference", "sinabs"])
def test_to_torch_runs_every_node_type_like_the_simulator(profile):
    """Consistency check of two snnx paths: the exported torch module against the reference
    simulator, every node type."""
    graph = every_type_graph()
    shape = graph["input"].shape
    x = spikes(3, (8, 2, *shape))
    semantics = snnx.Semantics.profile(profile, dt=1e-4)
    ref = simulate(graph, x, semantics).outputs
    with torch.no_grad():
        out, _ = to_torch(graph, semantics)(torch.from_numpy(x))
    for name, values in ref.items():
        got = out[name].numpy() if isinstance(out, dict) else out.numpy()
        np.testing.assert_allclose(got, values, rtol=1e-4, atol=1e-4)


def test_to_torch_steps_chunks_and_trains():
    graph = snnx.read(snnx.example_path("braille"))
    net = to_torch(graph, "snntorch-nir")
    x = torch.from_numpy(spikes(1, (20, 2, 12)))
    whole, _ = net(x)
    first, state = net(x[:7])
    rest, _ = net(x[7:], state)
    assert torch.equal(torch.cat([first, rest]), whole)
    net(x)[0].sum().backward()
    assert net.layer("fc1").values["weight"].grad.abs().sum() > 0


def test_torchscript_runs_any_batch_and_survives_save(tmp_path):
    """Consistency check of two snnx paths: the saved TorchScript module against the reference
    simulator."""
    graph = snnx.read(snnx.example_path("braille"))
    module = to_torchscript(graph, "norse")
    path = tmp_path / "m.pt"
    torch.jit.save(module, str(path))
    back = torch.jit.load(str(path))
    x = spikes(2, (25, 5, 12))
    ys, state = back(torch.from_numpy(x))
    assert np.array_equal(ys.numpy(), simulate(graph, x, "norse").outputs["output"])
    assert len(state) == len(back.init_state(5))


def test_imported_graph_round_trips_through_a_file(tmp_path):
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3), torch.nn.AvgPool2d(2), torch.nn.Flatten(), torch.nn.Linear(8, 3)
    )
    graph = from_torch(net, shape=(1, 6, 6))
    snnx.write(graph, tmp_path / "m.nir")
    back = snnx.read(tmp_path / "m.nir")
    assert back.edges == graph.edges and back.semantics == graph.semantics
    assert all(back[name] == graph[name] for name in graph)


def test_recurrent_graph_runs_in_torch():
    n = 3
    graph = Graph(
        {
            "input": Node("Input", shape=[2]),
            "fc": Node("Linear", weight=np.ones((n, 2), np.float32)),
            "lif": Node(
                "LIF",
                tau=np.full(n, 1e-3),
                r=np.full(n, 10.0),
                v_leak=np.zeros(n),
                v_threshold=np.full(n, 0.5),
            ),
            "rec": Node("Affine", weight=-np.eye(n, dtype=np.float32), bias=np.ones(n, np.float32)),
            "output": Node("Output", shape=[n]),
        },
        [("input", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "output")],
    )
    x = spikes(4, (30, 2, 2), 0.5)
    with torch.no_grad():
        out, _ = to_torch(graph, "snntorch-nir")(torch.from_numpy(x))
    assert np.array_equal(out.numpy(), simulate(graph, x, "snntorch-nir").outputs["output"])
