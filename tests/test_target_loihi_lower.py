"""Lowering to Loihi, checked against the reference simulator.

Networks whose every parameter Loihi holds exactly (IF neurons, weights and biases on the
1/16 grid the quantizer picks, dt = 2^-10 s) must agree with the reference spike for spike on
every layer once aligned by each layer's latency: that checks the structure of the lowering --
bias line, recurrence, pooling folded into convolutions, delays, latencies -- against an
independent implementation. Braille and the conformance LIF check the CUBA mapping; what Loihi
cannot represent must be refused naming the node and the knob.
"""

from __future__ import annotations

import numpy as np
import pytest

import snnx
from snnx.errors import LoweringError
from snnx.ir import Graph, Node
from snnx.semantics import Semantics
from snnx.targets import get_target
from snnx.verification import verify

DT = 2.0**-10
EXACT = Semantics(dt=DT, integrator="euler", profile_name="exact-grid")
LOIHI = get_target("loihi")


def grid(rng, *shape, top=254 / 16):
    """Weights on the 1/16 grid whose largest magnitude is ``top`` (so vThMant = 16)."""
    w = rng.integers(-120, 121, shape) / 16
    w.flat[0] = top
    return w


def if_node(shape, threshold=1.0):
    return Node(
        "IF",
        r=np.full(shape, 1 / DT),
        v_threshold=np.full(shape, threshold),
        v_reset=np.zeros(shape),
    )


def spikes(rng, steps, batch, *shape, rate=0.3):
    return (rng.uniform(size=(steps, batch, *shape)) < rate).astype(np.float32)


def assert_exact(graph, inputs, semantics=EXACT, latencies=None):
    lowered = LOIHI.lower(graph, semantics)
    if latencies is not None:
        assert [m.latency for m in lowered.layers] == latencies
    result = verify(graph, LOIHI, inputs, semantics, lowered=lowered)
    for agreement in result.layers:
        assert agreement.reference_spikes > 0, f"layer {agreement.layer} never fired"
        assert agreement.exact == 1.0, result.summary()
    return lowered


def test_dense_layers_with_biases_agree_exactly():
    rng = np.random.default_rng(1)
    graph = Graph.sequential(
        {
            "input": Node("Input", shape=[6]),
            "fc1": Node("Affine", weight=grid(rng, 10, 6), bias=rng.integers(-8, 8, 10) / 16),
            "n1": if_node(10),
            "fc2": Node("Affine", weight=grid(rng, 4, 10), bias=rng.integers(-8, 8, 4) / 16),
            "n2": if_node(4),
            "output": Node("Output", shape=[4]),
        }
    )
    lowered = assert_exact(graph, spikes(rng, 60, 8, 6), latencies=[1, 2])
    program = lowered.program
    assert program.bias_channel and program.input_shape == (7,)
    assert [layer.threshold for layer in program.layers] == [16, 16]
    assert [layer.relay for layer in program.layers] == [10, None]


def test_recurrence_and_its_bias_one_step_late_agree_exactly():
    rng = np.random.default_rng(2)
    graph = Graph.sequential(
        {
            "input": Node("Input", shape=[5]),
            "fc1": Node("Linear", weight=grid(rng, 8, 5)),
            "n1": if_node(8),
            "fc2": Node("Linear", weight=grid(rng, 3, 8)),
            "n2": if_node(3),
            "output": Node("Output", shape=[3]),
        }
    )
    graph.add_node("rec", Node("Affine", weight=grid(rng, 8, 8), bias=np.full(8, 3 / 16)))
    graph.add_edge("n1", "rec")
    graph.add_edge("rec", "n1")  # the back edge: the reference adds the bias from step 1 on
    lowered = assert_exact(graph, spikes(rng, 60, 8, 5))
    first = lowered.program.layers[0]
    assert first.kind == "dense_rec" and first.weight_rec[:8, 8].tolist() == [3] * 8


def test_convolutions_with_pooling_folded_in_agree_exactly():
    rng = np.random.default_rng(3)
    conv = dict(stride=1, dilation=1, groups=1)
    graph = Graph.sequential(
        {
            "input": Node("Input", shape=[2, 6, 6]),
            "c1": Node(
                "Conv2d", weight=grid(rng, 3, 2, 3, 3), padding=1, bias=np.full(3, 1 / 16), **conv
            ),
            "n1": if_node((3, 6, 6)),
            "pool": Node("SumPool2d", kernel_size=2, stride=2, padding=0),
            "c2": Node(
                "Conv2d", weight=grid(rng, 2, 3, 2, 2), padding=0, bias=np.full(2, -1 / 16), **conv
            ),
            "n2": if_node((2, 2, 2)),
            "flat": Node("Flatten", start_dim=0, end_dim=-1),
            "fc": Node("Linear", weight=grid(rng, 3, 8)),
            "n3": if_node(3),
            "output": Node("Output", shape=[3]),
        }
    )
    lowered = assert_exact(graph, spikes(rng, 40, 4, 2, 6, 6, rate=0.4), latencies=[1, 2, 3])
    kinds = [(layer.kind, layer.flatten_before) for layer in lowered.program.layers]
    assert kinds == [("conv", False), ("conv", False), ("dense", True)]
    second = lowered.program.layers[1]
    assert second.stride == (2, 2) and second.weight.shape[2:] == (4, 4)  # pool folded in
    assert second.shape == (2, 2, 2)  # no relay: the last conv feeds a bias-free layer


def test_a_pooling_only_layer_becomes_a_depthwise_convolution():
    rng = np.random.default_rng(4)
    graph = Graph.sequential(
        {
            "input": Node("Input", shape=[2, 4, 4]),
            "pool": Node("AvgPool2d", kernel_size=2, stride=2, padding=0),
            "n1": if_node((2, 2, 2), threshold=0.5),
            "output": Node("Output", shape=[2, 2, 2]),
        }
    )
    lowered = assert_exact(graph, spikes(rng, 30, 4, 2, 4, 4, rate=0.5))
    layer = lowered.program.layers[0]
    assert layer.kind == "conv" and layer.groups == 2 and layer.weight.shape == (2, 1, 2, 2)


def test_delays_before_and_after_the_synapses_agree_exactly():
    rng = np.random.default_rng(5)
    graph = Graph.sequential(
        {
            "input": Node("Input", shape=[4]),
            "d_in": Node("Delay", delay=np.array([0, 1, 2, 3]) * DT),
            "fc1": Node("Linear", weight=grid(rng, 6, 4)),
            "n1": if_node(6),
            "fc2": Node("Affine", weight=grid(rng, 2, 6), bias=np.full(2, 2 / 16)),
            "d_out": Node("Delay", delay=np.array([4, 0]) * DT),
            "n2": if_node(2),
            "output": Node("Output", shape=[2]),
        }
    )
    lowered = assert_exact(graph, spikes(rng, 50, 6, 4))
    first, second = lowered.program.layers
    assert first.delay.shape == (7, 5)  # per synapse (the input's), relay row included
    assert second.delay.tolist() == [4, 0]  # per neuron


def test_lava_s_own_profile_aligns_without_latency():
    rng = np.random.default_rng(6)
    graph = Graph.sequential(
        {
            "input": Node("Input", shape=[5]),
            "fc1": Node("Linear", weight=grid(rng, 7, 5)),
            "n1": if_node(7),
            "fc2": Node("Linear", weight=grid(rng, 3, 7)),
            "n2": if_node(3),
            "output": Node("Output", shape=[3]),
        }
    )
    assert_exact(graph, spikes(rng, 40, 4, 5), EXACT.replace(spike_output="next-step"), [0, 0])


def test_unit_area_spikes_scale_the_weights():
    rng = np.random.default_rng(7)
    graph = Graph.sequential(
        {
            "input": Node("Input", shape=[5]),
            "fc1": Node("Linear", weight=grid(rng, 6, 5) * DT),
            "n1": if_node(6),
            "output": Node("Output", shape=[6]),
        }
    )
    assert_exact(graph, spikes(rng, 40, 4, 5), EXACT.replace(spike_amplitude="1/dt"))


def test_braille_maps_to_cuba_with_its_rounded_decays():
    lowered = LOIHI.lower(
        snnx.read(snnx.example_path("braille")), Semantics.profile("snntorch-nir")
    )
    first, second = lowered.program.layers
    # lif1: Euler current keeps 1 - dt/tau_syn = 0.55, voltage 1 - dt/tau_mem = 0.9
    assert (first.kind, first.i_decay, first.v_decay) == ("dense_rec", 1843, 410)
    # lif2: 0.5 and 0.55
    assert (second.kind, second.i_decay, second.v_decay) == ("dense", 2048, 1843)
    assert first.weight.shape == (39, 13) and first.weight_rec.shape == (39, 39)
    assert any("1843 keeps 0.550049" in note for note in lowered.notes)


def test_braille_keeps_its_classes_when_inputs_are_busy():
    graph = snnx.read(snnx.example_path("braille"))
    rng = np.random.default_rng(0)
    result = verify(graph, LOIHI, spikes(rng, 256, 64, 12, rate=0.2), "snntorch-nir")
    assert result.class_agreement >= 0.95
    assert result.layers[0].count_correlation > 0.95


def test_the_conformance_lif_fires_when_the_paper_says(nir_paper):
    graph = snnx.read(nir_paper / "lif_norse.nir")
    lowered = LOIHI.lower(graph, Semantics.profile("snntorch-nir"))
    column = np.loadtxt(nir_paper / "lif_norse.csv", delimiter=",")[:, 0]
    out = LOIHI.run(lowered, column.reshape(-1, 1, 1))
    layer = lowered.layers[0]
    assert (np.flatnonzero(out[layer.name][:, 0, 0]) - layer.latency).tolist() == [
        460,
        510,
        710,
        760,
    ]


def lif_chain(**lif_fields):
    fields = dict(tau=np.full(3, 1e-3), r=np.ones(3), v_leak=np.zeros(3), v_threshold=np.ones(3))
    fields.update(lif_fields)
    return Graph.sequential(
        {
            "input": Node("Input", shape=[3]),
            "fc": Node("Linear", weight=np.eye(3)),
            "lif": Node("LIF", **fields),
            "output": Node("Output", shape=[3]),
        }
    )


@pytest.mark.parametrize(
    ("semantics", "field"),
    [
        (Semantics(reset="subtract"), "reset"),
        (Semantics(max_spikes=0), "max_spikes"),
        (Semantics(v_min="-threshold"), "v_min"),
        (Semantics(dt=2e-3), "tau"),
    ],
)
def test_semantics_loihi_cannot_follow_are_refused_by_knob(semantics, field):
    with pytest.raises(LoweringError) as err:
        LOIHI.lower(lif_chain(), semantics)
    assert err.value.node == "lif" and err.value.field == field


def test_the_legacy_braille_file_is_refused_for_its_subtractive_reset():
    graph = snnx.read(snnx.example_path("braille"))
    with pytest.raises(LoweringError, match="--profile snntorch") as err:
        LOIHI.lower(graph, snnx.sim.resolve_semantics(graph, None))
    assert err.value.field == "reset"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"v_reset": np.full(3, 0.2)}, "v_reset"),
        ({"v_threshold": np.zeros(3)}, "v_threshold"),
        ({"tau": np.array([1e-3, 1e-3, 5e-4])}, "tau"),
    ],
)
def test_parameters_loihi_cannot_hold_are_refused_by_field(fields, field):
    with pytest.raises(LoweringError) as err:
        LOIHI.lower(lif_chain(**fields), Semantics())
    assert (err.value.node, err.value.field) == ("lif", field)


def cuba(**extra):
    n = 3
    fields = dict(
        tau_syn=np.full(n, 5e-4),
        tau_mem=np.full(n, 1e-3),
        r=np.ones(n),
        v_leak=np.zeros(n),
        v_threshold=np.ones(n),
    )
    fields.update(extra)
    return Node("CubaLIF", **fields)


def test_the_exact_cuba_step_and_a_cuba_leak_are_refused():
    graph = lif_chain()
    graph.replace_node("lif", cuba())
    with pytest.raises(LoweringError) as err:
        LOIHI.lower(graph, Semantics(integrator="exact"))
    assert err.value.field == "integrator"
    graph.replace_node("lif", cuba(v_leak=np.full(3, 0.1)))
    with pytest.raises(LoweringError) as err:
        LOIHI.lower(graph, Semantics())
    assert err.value.field == "v_leak"


def test_a_late_reference_cannot_close_a_recurrent_loop():
    graph = lif_chain()
    graph.add_node("rec", Node("Linear", weight=np.eye(3)))
    graph.add_edge("lif", "rec")
    graph.add_edge("rec", "lif")
    with pytest.raises(LoweringError, match="two steps") as err:
        LOIHI.lower(graph, Semantics(spike_output="next-step"))
    assert err.value.node == "lif"


def test_structures_netx_cannot_build_name_their_node():
    skip = Graph.sequential(
        {
            "input": Node("Input", shape=[3]),
            "fc1": Node("Linear", weight=np.eye(3)),
            "a": if_node(3),
            "fc2": Node("Linear", weight=np.eye(3)),
            "b": if_node(3),
            "output": Node("Output", shape=[3]),
        }
    )
    skip.add_node("jump", Node("Linear", weight=np.eye(3)))
    skip.add_edge("input", "jump")
    skip.add_edge("jump", "b")
    with pytest.raises(LoweringError, match="receives spikes from") as err:
        LOIHI.lower(skip, EXACT)
    assert err.value.node == "b"

    readout = Graph.sequential(
        {
            "input": Node("Input", shape=[3]),
            "fc": Node("Linear", weight=np.eye(3)),
            "li": Node("LI", tau=np.ones(3), r=np.ones(3), v_leak=np.zeros(3)),
            "output": Node("Output", shape=[3]),
        }
    )
    with pytest.raises(LoweringError, match=r"loihi does not run LI nodes: li \(LI\)") as err:
        LOIHI.lower(readout, EXACT)
    assert err.value.node == "li"

    late = Graph.sequential(
        {
            "input": Node("Input", shape=[3]),
            "d": Node("Delay", delay=np.full(3, 70 * DT)),
            "fc": Node("Linear", weight=np.eye(3)),
            "n": if_node(3),
            "output": Node("Output", shape=[3]),
        }
    )
    with pytest.raises(LoweringError, match="62") as err:
        LOIHI.lower(late, EXACT)
    assert (err.value.node, err.value.field) == ("d", "delay")
