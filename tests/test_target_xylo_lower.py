"""Lowering graphs to Xylo, checked against the reference simulator (snnx.verification), the conformance
graphs, and the chip's published limits; the artifact's fields against Rockpool 3.1.0's
``XyloSim.from_specification`` / ``config_from_specification`` parameter lists."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

import snnx
from snnx.cli import main
from snnx.errors import LoweringError
from snnx.ir import Graph, Node
from snnx.targets import get_target
from snnx.targets.xylo.artifact import load_spec
from snnx.targets.xylo.spec import AUDIO2, IMU
from snnx.verification import verify

DT = 1e-3
F32 = np.float32
#: semantics Xylo follows up to integer rounding: Euler steps (decay 1 - dt/tau), subtraction,
#: v >= threshold, up to 31 events per step for CubaLIF (hidden) and 1 for LIF (output)
XYLO_LIKE = snnx.Semantics(
    dt=DT,
    reset="subtract",
    threshold=">=",
    max_spikes=31,
    overrides={"LIF": {"max_spikes": 1}},
)
#: Rockpool 3.1.0's parameter names (read from its sources, see the module docstring)
FROM_SPECIFICATION = {
    "weights_in",
    "weights_out",
    "weights_rec",
    "dash_mem",
    "dash_mem_out",
    "dash_syn",
    "dash_syn_2",
    "dash_syn_out",
    "threshold",
    "threshold_out",
    "bias",
    "bias_out",
    "weight_shift_in",
    "weight_shift_rec",
    "weight_shift_out",
    "aliases",
    "dt",
    "verify_config",
    "output_mode",
}
CONFIG_FROM_SPECIFICATION = (
    FROM_SPECIFICATION - {"bias", "dt", "verify_config", "output_mode"}
) | {"bias_hidden"}


def cuba(rng, n, w_scale=1.0) -> Node:
    """A CubaLIF whose time constants are dt * 2^k (Xylo's decays exactly) and gains 1."""
    ds, dm = rng.integers(1, 4, n), rng.integers(2, 6, n)
    return Node(
        "CubaLIF",
        tau_syn=DT * 2.0**ds,
        tau_mem=DT * 2.0**dm,
        r=2.0**dm,
        w_in=2.0**ds,
        v_leak=np.zeros(n),
        v_threshold=np.full(n, w_scale),
    )


def xylo_like_graph(seed=0, n_in=8, hidden=(16, 12), n_out=3, recurrent=True) -> Graph:
    """Input -> CubaLIF stack (the first recurrent) -> LI -> LIF -> Output."""
    rng = np.random.default_rng(seed)
    nodes, edges = {"input": Node("Input", shape=[n_in])}, []
    prev, width = "input", n_in
    for i, n in enumerate(hidden):
        w = rng.normal(0.3, 1.0, (n, width)) * 0.3 / np.sqrt(width)
        nodes[f"w{i}"], nodes[f"h{i}"] = Node("Linear", weight=w.astype(F32)), cuba(rng, n)
        edges += [(prev, f"w{i}"), (f"w{i}", f"h{i}")]
        if recurrent and i == 0:
            nodes["w_rec"] = Node(
                "Linear", weight=(rng.normal(0, 0.3, (n, n)) / np.sqrt(n)).astype(F32)
            )
            edges += [("h0", "w_rec"), ("w_rec", "h0")]
        prev, width = f"h{i}", n
    ds, dm = rng.integers(1, 4, n_out), rng.integers(2, 5, n_out)
    nodes["w_out"] = Node(
        "Linear", weight=(rng.normal(0.3, 1, (n_out, width)) * 0.5 / np.sqrt(width)).astype(F32)
    )
    nodes["syn"] = Node("LI", tau=DT * 2.0**ds, r=np.ones(n_out), v_leak=np.zeros(n_out))
    nodes["out"] = Node(
        "LIF",
        tau=DT * 2.0**dm,
        r=2.0 ** (dm + ds),
        v_leak=np.zeros(n_out),
        v_threshold=np.ones(n_out),
    )
    nodes["output"] = Node("Output", shape=[n_out])
    edges += [(prev, "w_out"), ("w_out", "syn"), ("syn", "out"), ("out", "output")]
    return Graph(nodes, edges)


def chain(sizes, rng=None) -> Graph:
    """Input -> (Linear -> LIF) per size; the last LIF feeds the Output."""
    rng = rng or np.random.default_rng(0)
    nodes, edges = {"input": Node("Input", shape=[sizes[0]])}, []
    prev = "input"
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        nodes[f"w{i}"] = Node("Linear", weight=rng.normal(0, 1, (b, a)).astype(F32))
        nodes[f"n{i}"] = Node(
            "LIF",
            tau=np.full(b, 4 * DT),
            r=np.ones(b),
            v_leak=np.zeros(b),
            v_threshold=np.ones(b),
        )
        edges += [(prev, f"w{i}"), (f"w{i}", f"n{i}")]
        prev = f"n{i}"
    nodes["output"] = Node("Output", shape=[sizes[-1]])
    edges.append((prev, "output"))
    return Graph(nodes, edges)


def spikes(steps, batch, n, rate, seed=0):
    return (np.random.default_rng(seed).uniform(size=(steps, batch, n)) < rate).astype(F32)


@pytest.fixture(scope="module")
def braille(nir_paper) -> Graph:
    return snnx.read(nir_paper / "braille_noDelay_bias_zero.nir")


# -- graphs Xylo can follow -------------------------------------------------------------------------


def test_a_feed_forward_stack_is_packed_with_one_step_per_layer():
    graph = xylo_like_graph()
    lowered = get_target("xylo").lower(graph, XYLO_LIKE)
    layers = [(m.name, m.node, m.size, m.latency) for m in lowered.layers]
    assert layers == [("h0", "h0", 16, 0), ("h1", "h1", 12, 1), ("out", "out", 3, 2)]
    p = lowered.program
    assert (p.n_in, p.n_hidden, p.n_out, p.synapses) == (8, 28, 3, 1)
    # h0 -> h1 weights sit in the recurrent matrix, below h0's own recurrence
    assert np.any(p.weights_rec[:16, 16:]) and not np.any(p.weights_rec[16:, :16])
    assert not np.any(p.weights_in[:, 16:]) and not np.any(p.weights_out[:16])
    # decays: tau = dt 2^k is exactly Xylo's dash k
    node = graph["h0"]
    assert p.dash_syn[:16].tolist() == np.log2(node.tau_syn / DT).round().astype(int).tolist()
    assert p.dash_mem[:16].tolist() == np.log2(node.tau_mem / DT).round().astype(int).tolist()


@pytest.mark.parametrize("target", ["xylo-audio2", "xylo-imu"])
def test_where_xylo_can_follow_the_reference_the_spikes_agree(target):
    """Consistency check of two snnx paths: the Xylo integer numerics against the reference
    simulator, within the bounds integer rounding leaves (XyloSim itself: the xylo tier)."""
    result = verify(xylo_like_graph(), get_target(target), spikes(150, 8, 8, 0.15), XYLO_LIKE)
    for layer in result.layers:
        # integer rounding only: most spikes identical, spike counts almost perfectly correlated
        assert layer.reference_spikes > 100
        assert layer.exact > 0.75, layer
        assert layer.count_correlation > 0.97, layer
    assert result.class_agreement >= 0.75
    assert any("tau +0.0 %" in note for note in result.notes)


def test_li_filters_become_the_second_synaptic_state():
    rng = np.random.default_rng(1)
    n_in, n, n_out = 6, 10, 3
    nodes = {
        "input": Node("Input", shape=[n_in]),
        "w_fast": Node("Linear", weight=rng.uniform(0, 0.4, (n, n_in)).astype(F32)),
        "w_slow": Node("Linear", weight=-rng.uniform(0.05, 0.2, (n, n_in)).astype(F32)),
        "fast": Node("LI", tau=np.full(n, 2 * DT), r=np.ones(n), v_leak=np.zeros(n)),
        "slow": Node("LI", tau=np.full(n, 16 * DT), r=np.ones(n), v_leak=np.zeros(n)),
        "hid": Node(
            "LIF",
            tau=np.full(n, 8 * DT),
            r=np.full(n, 16.0),
            v_leak=np.zeros(n),
            v_threshold=np.ones(n),
        ),
        "w_out": Node("Linear", weight=rng.uniform(0, 0.5, (n_out, n)).astype(F32)),
        "out": cuba(rng, n_out),
        "output": Node("Output", shape=[n_out]),
    }
    edges = [
        ("input", "w_fast"), ("w_fast", "fast"), ("input", "w_slow"), ("w_slow", "slow"),
        ("fast", "hid"), ("slow", "hid"), ("hid", "w_out"), ("w_out", "out"), ("out", "output"),
    ]  # fmt: skip
    graph = Graph(nodes, edges)
    semantics = XYLO_LIKE.replace(overrides={"CubaLIF": {"max_spikes": 1}})
    lowered = get_target("xylo").lower(graph, semantics)
    p = lowered.program
    assert p.synapses == 2
    assert p.dash_syn[:n].tolist() == [1] * n and p.dash_syn_2[:n].tolist() == [4] * n
    assert np.all(p.weights_in[:, :, 0] >= 0) and np.all(p.weights_in[:, :, 1] <= 0)
    result = verify(graph, get_target("xylo"), spikes(100, 8, n_in, 0.2), semantics)
    assert all(a.count_correlation > 0.95 for a in result.layers)
    with pytest.raises(LoweringError, match=r"needs 2 synaptic states.*Xylo IMU has 1"):
        get_target("xylo-imu").lower(graph, semantics)


# -- the conformance Braille graph ----------------------------------------------------------------


@pytest.mark.parametrize("target", ["xylo", "xylo-imu"])
def test_braille_lowers_onto_both_chips(braille, target):
    lowered = get_target(target).lower(braille, snnx.Semantics.profile("snntorch-nir"))
    assert [(m.node, m.size, m.latency) for m in lowered.layers] == [
        ("lif1.lif", 38, 0),
        ("lif2", 7, 1),
    ]
    p = lowered.program
    assert (p.n_in, p.n_hidden, p.n_out) == (12, 38, 7)
    # tau_mem = 10 dt -> dash round(log2 10) = 3; tau_syn = 2.22 dt -> 1 (Rockpool's rule)
    assert set(p.dash_mem.tolist()) == {3} and set(p.dash_syn.tolist()) == {1}
    notes = "\n".join(lowered.notes)
    assert "lif1.lif: v decays 0.9/step (9.49 steps) -> dash 3, 0.875/step" in notes
    assert "resets to v_reset; Xylo subtracts" in notes
    resources = get_target(target).resources(lowered)
    chip = AUDIO2 if target == "xylo" else IMU
    assert resources["hidden_neurons"] == f"38 / {chip.hidden}"
    assert resources["input_projection"] == f"38 / {chip.input_projection}"


def test_braille_verifies_through_the_command(braille, nir_paper, capsys):
    path = str(nir_paper / "braille_noDelay_bias_zero.nir")
    argv = ["verify", path, "--target", "xylo", "--profile", "snntorch-nir", "--random", "8"]
    assert main([*argv, "--steps", "60", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [layer["node"] for layer in report["layers"]] == ["lif1.lif", "lif2"]
    hidden = report["layers"][0]
    # reset by subtraction and up to 31 spikes per step change the behaviour, but the hidden
    # layer's activity still follows the reference's
    assert hidden["exact"] > 0.9 and hidden["count_correlation"] > 0.5
    assert any("dash 3" in note for note in report["notes"])


# -- what does not fit ---------------------------------------------------------------------------


def test_unsupported_nodes_are_named(nir_paper):
    cnn = snnx.read(nir_paper / "cnn_sinabs.nir")
    with pytest.raises(LoweringError) as error:
        get_target("xylo").lower(cnn, snnx.Semantics.profile("sinabs-nir"))
    kinds = sorted(
        {n.type for _, n in cnn.flatten().nodes.items()}
        - {"Input", "Output", "Affine", "Linear", "LIF", "IF"}
    )
    assert f"does not run {', '.join(kinds)} nodes" in str(error.value)
    first_conv = next(name for name, n in cnn.flatten().nodes.items() if n.type == "Conv2d")
    assert f"{first_conv} (Conv2d)" in str(error.value)


@pytest.mark.parametrize(
    ("target", "sizes", "message"),
    [
        ("xylo", [17, 4, 2], r"17 input channels > 16"),
        ("xylo", [4, 1001, 2], r"1001 hidden neurons \(limit 1000: n0 1001\)"),
        ("xylo-imu", [4, 300, 200, 2], r"500 hidden neurons \(limit 496: n0 300, n1 200\)"),
        ("xylo", [4, 10, 9], r"9 output neurons \(limit 8, n1\)"),
        ("xylo-imu", [4, 200, 8, 2], r"input projection \(IEN\): 200 > 128"),
        ("xylo", [4, 3], r"listen only to hidden neurons"),
    ],
)
def test_graphs_that_do_not_fit_get_the_numbers(target, sizes, message):
    with pytest.raises(LoweringError, match=message):
        get_target(target).lower(chain(sizes), XYLO_LIKE)


def test_fan_out_over_the_limit():
    rng = np.random.default_rng(0)
    graph = chain([4, 70, 2])
    graph.add_node("w_rec", Node("Linear", weight=rng.normal(0, 1, (70, 70)).astype(F32)))
    graph.add_edge("n0", "w_rec")
    graph.add_edge("w_rec", "n0")
    with pytest.raises(
        LoweringError, match=r"fan-out: hidden neuron \d+ has 70 recurrent targets > 64"
    ):
        get_target("xylo-audio2").lower(graph, XYLO_LIKE)
    lowered = get_target("xylo-imu").lower(graph, XYLO_LIKE)  # Xylo IMU allows 512
    assert get_target("xylo-imu").resources(lowered)["max_fan_out"] == "70 / 512"


def test_skip_connections_need_delays_xylo_cannot_give():
    graph = chain([4, 6, 5, 2])
    graph.add_node("skip", Node("Linear", weight=np.ones((2, 6), F32)))
    graph.add_edge("n0", "skip")
    graph.add_edge("skip", "n2")
    with pytest.raises(LoweringError, match=r"node 'n2'.*n1 \+2, n0 \+1"):
        get_target("xylo").lower(graph, XYLO_LIKE)


def test_semantics_and_parameters_xylo_cannot_take():
    with pytest.raises(LoweringError, match="one step after they occur"):
        get_target("xylo").lower(chain([4, 6, 2]), snnx.Semantics.profile("lava"))
    graph = chain([4, 6, 2])
    graph.replace_node("n1", graph["n1"].replace(v_threshold=np.array([1.0, -1.0])))
    with pytest.raises(LoweringError, match=r"node 'n1': field 'v_threshold'.*positive"):
        get_target("xylo").lower(graph, XYLO_LIKE)


# -- the artifact ----------------------------------------------------------------------------------


def test_compile_writes_rockpools_specification(braille, nir_paper, tmp_path, capsys):
    path = str(nir_paper / "braille_noDelay_bias_zero.nir")
    out = tmp_path / "imu"
    assert (
        main(["compile", path, "--target", "xylo-imu", "--profile", "snntorch-nir", "-o", str(out)])
        == 0
    )
    files = {p.name for p in out.iterdir()}
    assert files == {
        "xylo_spec.npz",
        "xylo_spec.json",
        "xylo_config.npz",
        "xylo_layout.json",
        "lowered.nir",
        "resources.json",
        "metrics.json",
    }
    with np.load(out / "xylo_spec.npz", allow_pickle=False) as sim:
        fields = set(sim.files)
        assert fields == FROM_SPECIFICATION - {"aliases", "verify_config", "output_mode"}
        assert sim["weights_in"].dtype == np.int8 and sim["threshold"].dtype == np.int16
        # Xylo IMU: input weights (Nin, IEN, 1), readout (OEN, Nout)
        assert sim["weights_in"].shape == (12, 38, 1) and sim["weights_out"].shape == (38, 7)
        as_json = load_spec(out / "xylo_spec.json")
        assert set(as_json) == fields | {"aliases"}
        for key in fields:
            assert np.array_equal(np.asarray(as_json[key]), sim[key]), key
    with np.load(out / "xylo_config.npz", allow_pickle=False) as config:
        # the configuration calls the hidden biases bias_hidden; Xylo IMU's has no dash_syn_2
        assert set(config.files) == CONFIG_FROM_SPECIFICATION - {"aliases", "dash_syn_2"}
    layout = json.loads((out / "xylo_layout.json").read_text())
    assert layout["populations"]["h0"]["node"] == "lif1.lif"
    assert layout["populations"]["out"]["latency"] == 1
    resources = json.loads((out / "resources.json").read_text())
    assert resources["output_neurons"] == "7 / 16"
    audio = tmp_path / "audio2"
    assert (
        main(["compile", path, "--target", "xylo", "--profile", "snntorch-nir", "-o", str(audio)])
        == 0
    )
    with np.load(audio / "xylo_config.npz") as config:
        assert "dash_syn_2" in config.files and "bias" not in config.files


def test_targets_are_listed(capsys):
    assert main(["targets"]) == 0
    text = capsys.readouterr().out
    assert "xylo-audio2: SynSense Xylo Audio 2 (syns61201)" in text
    assert "xylo-imu: SynSense Xylo IMU (syns63300)" in text
    assert "xylo: SynSense Xylo Audio 2 (syns61201)" in text and "same as xylo-audio2" in text
    assert get_target("xylo").chip is get_target("xylo-audio2").chip
