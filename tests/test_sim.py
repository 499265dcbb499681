"""The reference simulator against analytic solutions, PyTorch's layers, and itself across
schedules: every node type, recurrence, delays, records, errors."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import graphs
from test_roundtrip_property import every_type_graph

import snnx
from snnx.errors import GraphError, SnnxError
from snnx.ir import Graph, Node
from snnx.sim import Simulator, simulate
from snnx.sim.executor import Program
from snnx.sim.plan import Plan

EXACT = snnx.Semantics(dt=1e-4, integrator="exact")
EULER = snnx.Semantics(dt=1e-4)


def chain(*nodes: tuple[str, Node], shape) -> Graph:
    return Graph.sequential(
        {"in": Node("Input", shape=list(shape)), **dict(nodes), "out": Node("Output", shape=[1])}
    )


def single(node: Node, n: int = 1) -> Graph:
    shape = [n]
    return Graph.sequential(
        {"in": Node("Input", shape=shape), "x": node, "out": Node("Output", shape=shape)}
    )


def test_li_exact_matches_the_analytic_step_response():
    tau, r, x = 3e-3, 2.0, 0.7
    graph = single(Node("LI", tau=[tau], r=[r], v_leak=[0.0]))
    v = simulate(graph, np.full((200, 1, 1), x), EXACT).outputs["out"].reshape(-1)
    t = np.arange(1, 201) * 1e-4
    np.testing.assert_allclose(v, r * x * (1 - np.exp(-t / tau)), rtol=1e-5)


@pytest.mark.parametrize(("tau_syn", "tau_mem"), [(1e-3, 4e-3), (5e-3, 2e-3), (2e-3, 2e-3)])
def test_cuba_li_exact_matches_the_analytic_step_response(tau_syn, tau_mem):
    w_in, r, x = 1.5, 2.0, 0.8
    graph = single(
        Node("CubaLI", tau_syn=[tau_syn], tau_mem=[tau_mem], r=[r], v_leak=[0.0], w_in=[w_in])
    )
    v = simulate(graph, np.full((300, 1, 1), x), EXACT).outputs["out"].reshape(-1)
    t = np.arange(1, 301) * 1e-4
    if tau_syn == tau_mem:
        shape = 1 - np.exp(-t / tau_mem) * (1 + t / tau_mem)
    else:
        shape = 1 - (tau_mem * np.exp(-t / tau_mem) - tau_syn * np.exp(-t / tau_syn)) / (
            tau_mem - tau_syn
        )
    np.testing.assert_allclose(v, r * w_in * x * shape, rtol=2e-5, atol=1e-7)


@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_if_counts_charge(reset):
    """IF integrates dt r x: with subtraction, the spike count is the charge over the threshold."""
    x, r, threshold, steps = 0.3, 1e4, 1.0, 100  # 0.3 of a threshold per step
    graph = single(Node("IF", r=[r], v_threshold=[threshold]))
    spikes = (
        simulate(graph, np.full((steps, 1, 1), x), EULER.replace(reset=reset))
        .outputs["out"]
        .reshape(-1)
    )
    if reset == "subtract":
        assert spikes.sum() == np.floor(steps * x / threshold + 1e-9)
    else:  # to zero: fires every 4th step (1.2 > 1), the excess is lost
        assert np.nonzero(spikes)[0].tolist() == list(range(3, steps, 4))


def test_multi_spike_counts_and_cap():
    graph = single(Node("IF", r=[1e4], v_threshold=[1.0]))
    x = np.array([3.5, 0.0, 0.2, 0.0]).reshape(-1, 1, 1)
    free = EULER.replace(reset="subtract", threshold=">=", max_spikes=0)
    assert simulate(graph, x, free).outputs["out"].reshape(-1).tolist() == [3, 0, 0, 0]
    capped = free.replace(max_spikes=2)
    assert simulate(graph, x, capped).outputs["out"].reshape(-1).tolist() == [
        2,
        1,
        0,
        0,
    ]  # 1.5 left over


def test_threshold_equality_respects_the_comparison():
    graph = single(Node("IF", r=[1e4], v_threshold=[1.0]))
    x = np.array([1.0]).reshape(1, 1, 1)
    assert simulate(graph, x, EULER).outputs["out"].item() == 0
    assert simulate(graph, x, EULER.replace(threshold=">=")).outputs["out"].item() == 1


def test_next_step_output_and_reset_timing():
    graph = single(Node("IF", r=[1e4], v_threshold=[1.0]))
    x = np.array([1.5, 0, 0, 0]).reshape(-1, 1, 1)
    late = EULER.replace(spike_output="next-step", reset="subtract")
    result = simulate(graph, x, late, record=["x"])
    assert result.outputs["out"].reshape(-1).tolist() == [0, 1, 0, 0]
    np.testing.assert_allclose(result.records["x.v"].reshape(-1), [0.5] * 4)
    deferred = EULER.replace(reset_timing="next-step", reset="subtract")
    v = simulate(graph, x, deferred, record=["x"]).records["x.v"].reshape(-1)
    np.testing.assert_allclose(v, [1.5, 0.5, 0.5, 0.5])  # the subtraction lands one step later


def test_amplitude_one_over_dt_scales_spikes_and_inputs():
    graph = chain(
        ("w", Node("Linear", weight=[[2.0]])),
        ("x", Node("IF", r=[1.0], v_threshold=[1.0])),
        shape=[1],
    )
    x = np.array([1.0, 0.0]).reshape(-1, 1, 1)
    out = simulate(graph, x, EULER.replace(spike_amplitude="1/dt")).outputs["out"].reshape(-1)
    assert out.tolist() == [pytest.approx(1e4), 0.0]  # v += dt * 1 * 2/dt = 2 > 1


def test_field_overrides_replace_file_values():
    """A profile that ignores r adds its input with gain 1: r := tau / dt under Euler."""
    graph = single(Node("LIF", tau=[1e-3], r=[1.0], v_leak=[0.0], v_threshold=[5.0]))
    x = np.array([0.5]).reshape(1, 1, 1)
    v = simulate(graph, x, EULER, record=["x"]).records["x.v"].item()
    gain_one = EULER.replace(overrides={"LIF": {"r": "tau/dt"}})
    assert v == pytest.approx(0.05) and simulate(graph, x, gain_one, record=["x"]).records[
        "x.v"
    ].item() == pytest.approx(0.5)


def test_v_init_and_v_min():
    graph = single(
        Node("LIF", tau=[1e-3], r=[1.0], v_leak=[0.3], v_threshold=[5.0], v_reset=[-0.2])
    )
    x = np.zeros((1, 1, 1))
    for start, expected in [("zero", 0.03), ("v_leak", 0.3), ("v_reset", -0.2 + 0.05)]:
        v = simulate(graph, x, EULER.replace(v_init=start), record=["x"]).records["x.v"].item()
        assert v == pytest.approx(expected)
    clamp = single(Node("IF", r=[1e4], v_threshold=[1.0]))
    v = simulate(
        clamp, np.full((3, 1, 1), -0.7), EULER.replace(v_min="-threshold"), record=["x"]
    ).records["x.v"]
    np.testing.assert_allclose(v.reshape(-1), [-0.7, -1.0, -1.0])


def test_delay_shifts_each_element():
    graph = single(Node("Delay", delay=np.array([0.0, 1e-4, 3e-4])), n=3)
    x = np.random.default_rng(0).normal(size=(8, 2, 3))
    y = simulate(graph, x, EULER).outputs["out"]
    for i, d in enumerate([0, 1, 3]):
        np.testing.assert_allclose(y[d:, :, i], x[: 8 - d, :, i], rtol=1e-6)
        assert not y[:d, :, i].any()


def test_delay_off_the_time_grid_is_an_error():
    graph = single(Node("Delay", delay=np.array([1.5e-4])))
    with pytest.raises(
        GraphError, match=r"node 'x': field 'delay': delay 0.00015 s is 1.5 steps at dt=0.0001 s"
    ):
        simulate(graph, np.zeros((2, 1, 1)), EULER)


def test_synapses_match_torch():
    rng = np.random.default_rng(1)
    conv_w, conv_b = (
        rng.normal(size=(4, 1, 3, 2)).astype(np.float32),
        rng.normal(size=4).astype(np.float32),
    )
    dense_w, dense_b = (
        rng.normal(size=(5, 4 * 3 * 2)).astype(np.float32),
        rng.normal(size=5).astype(np.float32),
    )
    nodes = {
        "in": Node("Input", shape=[2, 9, 8]),
        "conv": Node(
            "Conv2d",
            weight=conv_w,
            stride=[1, 2],
            padding=[1, 0],
            dilation=[2, 1],
            groups=2,
            bias=conv_b,
        ),
        "pool": Node("AvgPool2d", kernel_size=[2, 2], stride=[2, 1], padding=[0, 0]),
        "sum": Node("SumPool2d", kernel_size=[1, 2], stride=[1, 1], padding=[0, 0]),
        "flat": Node("Flatten", start_dim=0, end_dim=-1),
        "dense": Node("Affine", weight=dense_w, bias=dense_b),
        "scale": Node("Scale", scale=np.linspace(-1, 1, 5)),
        "out": Node("Output", shape=[5]),
    }
    graph = Graph.sequential(nodes)
    x = rng.normal(size=(3, 2, 2, 9, 8)).astype(np.float32)
    ours = simulate(graph, x, EULER).outputs["out"]
    t = torch.from_numpy(x.reshape(6, 2, 9, 8))
    t = torch.nn.functional.conv2d(
        t,
        torch.from_numpy(conv_w),
        torch.from_numpy(conv_b),
        stride=(1, 2),
        padding=(1, 0),
        dilation=(2, 1),
        groups=2,
    )
    t = torch.nn.functional.avg_pool2d(t, (2, 2), (2, 1))
    t = torch.nn.functional.avg_pool2d(t, (1, 2), (1, 1)) * 2
    t = torch.nn.functional.linear(
        t.flatten(1), torch.from_numpy(dense_w), torch.from_numpy(dense_b)
    )
    expected = (t * torch.linspace(-1, 1, 5)).numpy().reshape(3, 2, 5)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.filterwarnings("ignore:Using padding=.same.")
def test_conv1d_and_string_padding_match_torch():
    rng = np.random.default_rng(2)
    w = rng.normal(size=(3, 2, 4)).astype(np.float32)
    graph = Graph.sequential(
        {
            "in": Node("Input", shape=[2, 11]),
            "c": Node(
                "Conv1d",
                weight=w,
                stride=1,
                padding="same",
                dilation=1,
                groups=1,
                bias=np.zeros(3, np.float32),
            ),
            "out": Node("Output", shape=[3, 11]),
        }
    )
    x = rng.normal(size=(2, 1, 2, 11)).astype(np.float32)
    expected = torch.nn.functional.conv1d(
        torch.from_numpy(x.reshape(2, 2, 11)), torch.from_numpy(w), padding="same"
    )
    np.testing.assert_allclose(
        simulate(graph, x, EULER).outputs["out"].reshape(2, 3, 11), expected.numpy(), atol=1e-5
    )


def test_back_edge_carries_last_steps_value():
    """lif <-> w_rec: the neuron hears W s(t-1) + b from t = 1 on and nothing at t = 0 (as nirtorch,
    Norse and SpikingJelly run back edges)."""
    nodes = {
        "in": Node("Input", shape=[1]),
        "lif": Node("IF", r=[1e4], v_threshold=[0.5]),
        "rec": Node("Affine", weight=[[1.0]], bias=[0.25]),
        "out": Node("Output", shape=[1]),
    }
    graph = Graph(nodes, [("in", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "out")])
    x = np.array([0.6, 0.0, 0.0, 0.0, 0.0]).reshape(-1, 1, 1)
    v_expected, v, last = [], 0.0, 0.0
    spikes_expected = []
    for t, xt in enumerate(x.reshape(-1)):
        v += xt + (last + 0.25 if t > 0 else 0.0)
        s = float(v > 0.5)
        v = 0.0 if s else v
        spikes_expected.append(s)
        v_expected.append(v)
        last = s
    result = simulate(graph, x, EULER, record=["lif"])
    assert result.outputs["out"].reshape(-1).tolist() == spikes_expected
    np.testing.assert_allclose(result.records["lif.v"].reshape(-1), v_expected, atol=1e-6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_schedules_agree(graph):
    """Consistency check of two snnx paths: hoisting layers over the whole sequence changes
    nothing; the layer, step and auto schedules agree."""
    x = np.random.default_rng(0).uniform(
        0, 1, size=(6, 2, *Plan.build(graph).shapes["input"].output)
    )
    results = [
        simulate(graph, x, EULER, schedule=s).outputs["output"] for s in ("step", "layer", "auto")
    ]
    for other in results[1:]:
        np.testing.assert_allclose(other, results[0], rtol=1e-4, atol=1e-4)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs(), st.sampled_from([0, math.inf]))
def test_channels_last_feature_maps_change_nothing(graph, hoist_from):
    """Consistency check of two snnx paths: holding (C, H, W) maps as (H, W, C) inside gives
    the same outputs and records, in NIR's layout, as running everything in NIR's layout."""
    plan = Plan.build(graph, hoist_from=hoist_from)
    record = [n for n in plan.graph if plan.graph[n].type not in ("Input", "Output")]
    x = np.random.default_rng(1).uniform(0, 1, size=(6, 2, *plan.shapes["input"].output))
    results = []
    for channels_last in (False, True):
        program = Program.build(plan, EULER, record=record, channels_last=channels_last)
        outputs, records, _ = jax.jit(program.run)(program.params(), {"input": x})
        results.append({**outputs, **records})
    assert sorted(results[0]) == sorted(results[1])
    for key, value in results[0].items():
        assert value.shape == results[1][key].shape, key
        np.testing.assert_allclose(results[1][key], value, rtol=1e-4, atol=1e-4, err_msg=key)


def test_forward_and_gradient_plans_differ_and_agree(nir_paper):
    """Consistency check of two snnx paths: on the N-MNIST CNN, `run` hoists the convolutions
    (their gradients pay for it) while a forward call steps them; both compute the same
    spikes."""
    cnn = snnx.read(nir_paper / "cnn_sinabs.nir")
    sim = Simulator(cnn, "sinabs-nir")
    hoisted = lambda program: {  # noqa: E731
        program.plan.graph[n].type
        for s in program.plan.segments
        if s.kind == "sequence"
        for n in s.nodes
    }
    assert "Conv2d" in hoisted(sim.program)
    assert hoisted(sim.forward_program) == set()
    x = (np.random.default_rng(2).uniform(size=(10, 2, 2, 34, 34)) < 0.2).astype(np.float32)
    forward = sim(x).outputs["output"]
    assert forward.sum() > 0
    np.testing.assert_array_equal(forward, np.asarray(sim.run(x)[0]["output"]))


def test_every_node_type_runs_and_is_batched():
    graph = every_type_graph()
    x = np.random.default_rng(3).uniform(0, 2, size=(5, 3, 2, 6, 5))
    together = simulate(graph, x, EULER).outputs["output"]
    alone = [simulate(graph, x[:, b : b + 1], EULER).outputs["output"] for b in range(3)]
    np.testing.assert_allclose(together, np.concatenate(alone, axis=1), rtol=1e-5, atol=1e-6)


def test_records_states_of_named_nodes(nir_paper):
    braille = snnx.read(nir_paper / "braille_noDelay_bias_zero.nir")
    result = simulate(braille, np.zeros((4, 2, 12)), "snntorch-nir", record=["lif1.lif", "fc1"])
    assert sorted(result.records) == ["fc1.out", "lif1.lif.i", "lif1.lif.out", "lif1.lif.v"]
    assert result.records["lif1.lif.v"].shape == (4, 2, 38)
    np.testing.assert_allclose(
        result.records["fc1.out"][0], np.broadcast_to(braille["fc1"].bias, (2, 38)), rtol=1e-6
    )


def test_nested_graph_runs_like_its_flat_twin():
    """Consistency check of two snnx paths: a nested graph and its flattened copy give the
    same outputs."""
    inner = Graph.sequential(
        {
            "a": Node("Input", shape=[2]),
            "lif": Node(
                "LIF", tau=[1e-3] * 2, r=[1.0] * 2, v_leak=[0.0] * 2, v_threshold=[0.05] * 2
            ),
            "b": Node("Output", shape=[2]),
        }
    )
    nested = Graph.sequential(
        {"in": Node("Input", shape=[2]), "sub": inner, "out": Node("Output", shape=[2])}
    )
    x = np.random.default_rng(4).uniform(size=(20, 1, 2))
    np.testing.assert_array_equal(
        simulate(nested, x, EULER).outputs["out"],
        simulate(nested.flatten(), x, EULER).outputs["out"],
    )


def test_input_errors():
    graph = single(Node("LI", tau=[1e-3], r=[1.0], v_leak=[0.0]), n=1)
    with pytest.raises(
        SnnxError, match=r"input for 'in' has shape \(3, 2, 5\); expected \(T, B, 1\)"
    ):
        simulate(graph, np.zeros((3, 2, 5)), EULER)
    with pytest.raises(SnnxError, match="no input given for Input node 'in'"):
        Simulator(graph, EULER)({"other": np.zeros((3, 2, 1))})
    with pytest.raises(GraphError, match="cannot record this node"):
        simulate(graph, np.zeros((3, 2, 1)), EULER, record=["nope"])


def test_default_semantics_follow_the_file(nir_paper):
    lif = snnx.read(nir_paper / "lif_norse.nir")
    assert Simulator(lif).semantics.reset == "subtract"  # a 0.1.1 file without v_reset
    lif.semantics = snnx.Semantics.profile("norse")
    assert Simulator(lif).semantics.profile_name == "norse"
    assert Simulator(lif, "sinabs").semantics.profile_name == "sinabs"


def test_half_precision_computes_in_half(nir_paper):
    """float16 (as Lynxi-class hardware computes): the state really is half precision, and on
    Braille the spikes still mostly agree with float32."""
    braille = snnx.read(nir_paper / "braille_noDelay_bias_zero.nir")
    x = (np.random.default_rng(5).uniform(size=(100, 8, 12)) < 0.2).astype(np.float32)
    half = simulate(braille, x, "snntorch-nir", dtype="float16", record=["lif1.lif"])
    full = simulate(braille, x, "snntorch-nir", record=["lif1.lif"])
    assert (
        half.records["lif1.lif.v"].dtype == np.float16
        and full.records["lif1.lif.v"].dtype == np.float32
    )
    assert 0.9 < (half.outputs["output"] == full.outputs["output"]).mean() < 1.0


def test_a_loop_takes_the_steps_of_its_own_delays():
    """A loop through a one-step Delay is a running sum, y(t) = x(t) + y(t - 1): the delay is the
    loop's only step (no back-edge step on top of it)."""
    graph = Graph(
        {
            "in": Node("Input", shape=[2]),
            "acc": Node("Scale", scale=[1.0, 1.0]),
            "d": Node("Delay", delay=[1e-4, 1e-4]),
            "out": Node("Output", shape=[2]),
        },
        [("in", "acc"), ("acc", "d"), ("d", "acc"), ("acc", "out")],
    )
    x = np.random.default_rng(6).normal(size=(9, 3, 2))
    np.testing.assert_allclose(
        simulate(graph, x, EULER).outputs["out"], np.cumsum(x, axis=0), rtol=1e-5, atol=1e-5
    )


def test_a_loop_through_a_neuron_that_sends_late():
    """With spikes leaving one step late (Spyx, Lava), the neuron's spike of step t, decided on
    v(t-1), reaches it again through the loop within step t: v(t) = v(t-1) + x(t) + w s(t)."""
    graph = Graph(
        {
            "in": Node("Input", shape=[1]),
            "n": Node("IF", r=[1e4], v_threshold=[0.5]),
            "w": Node("Linear", weight=[[0.25]]),
            "out": Node("Output", shape=[1]),
        },
        [("in", "n"), ("n", "w"), ("w", "n"), ("n", "out")],
    )
    x = np.array([0.6, 0.0, 0.0, 0.3, 0.0, 0.0])
    semantics = EULER.replace(spike_output="next-step", reset="subtract")
    v, sent, expected = 0.0, 0.0, []
    for xt in x:  # a hand-run of the rule
        v += xt + 0.25 * sent
        fired = float(v > 0.5)
        v -= 0.5 * fired
        expected.append(sent)
        sent = fired
    out = simulate(graph, x.reshape(-1, 1, 1), semantics).outputs["out"].reshape(-1)
    assert out.tolist() == expected and sum(expected) >= 2


def test_no_reset_keeps_firing_while_above_threshold():
    graph = single(Node("IF", r=[1e4], v_threshold=[1.0]))
    x = np.array([1.5, 0.0, -0.6, 0.0]).reshape(-1, 1, 1)
    result = simulate(graph, x, EULER.replace(reset="none"), record=["x"])
    assert result.outputs["out"].reshape(-1).tolist() == [1, 1, 0, 0]
    np.testing.assert_allclose(result.records["x.v"].reshape(-1), [1.5, 1.5, 0.9, 0.9])


def test_chunked_runs_carry_state_and_give_the_whole_run(nir_paper):
    """Consistency check of two snnx paths: a run in chunks of 7 steps, the state carried,
    gives what one whole run gives."""
    braille = snnx.read(nir_paper / "braille_noDelay_bias_zero.nir")
    sim = Simulator(braille, "snntorch-nir", record=["lif1.lif"])
    x = (np.random.default_rng(4).uniform(size=(50, 3, 12)) < 0.3).astype(np.float32)
    whole, done = sim(x), []
    pieces = sim(x, chunk=7, progress=done.append)
    assert done == [7, 14, 21, 28, 35, 42, 49, 50]
    assert whole.outputs["output"].sum() > 0
    for key, value in whole.arrays().items():
        np.testing.assert_allclose(pieces.arrays()[key], value, rtol=1e-6, atol=1e-6, err_msg=key)
