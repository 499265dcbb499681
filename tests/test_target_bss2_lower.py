"""BrainScaleS-2 lowering: the chip's limits (errors with the numbers), the 6-bit signed weight
format, placement, hardware units, and `snnx compile --target bss2` with its JSON description."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import snnx
from snnx.cli import main
from snnx.errors import LoweringError, SnnxWarning
from snnx.ir import Graph, Node
from snnx.targets import get_target
from snnx.targets.bss2 import artifact
from snnx.targets.bss2.lower import lower
from snnx.targets.bss2.numerics import run_grid
from snnx.targets.bss2.quantize import quantize

REFERENCE = snnx.Semantics.profile("nir-reference")


def cuba(n, tau_mem=1e-2, tau_syn=5e-3, **fields):
    one = np.ones(n)
    values = dict(
        tau_mem=tau_mem * one,
        tau_syn=tau_syn * one,
        r=one,
        v_leak=0 * one,
        v_threshold=one,
        v_reset=0 * one,
        w_in=one,
    )
    values.update({k: np.broadcast_to(v, (n,)).astype(float) for k, v in fields.items()})
    return Node("CubaLIF", **values)


def chain(n_in, *layers, seed=0, low=-1.0, high=1.0):
    """Input -> (Linear -> CubaLIF)* -> Output; ``layers``: sizes or (size, fields) pairs."""
    rng = np.random.default_rng(seed)
    nodes = {"input": Node("Input", shape=np.array([n_in]))}
    width = n_in
    for k, layer in enumerate(layers):
        size, fields = layer if isinstance(layer, tuple) else (layer, {})
        nodes[f"fc{k}"] = Node("Linear", weight=rng.uniform(low, high, (size, width)))
        nodes[f"lif{k}"] = cuba(size, **fields)
        width = size
    nodes["output"] = Node("Output", shape=np.array([width]))
    return Graph.sequential(nodes)


def quiet_lower(graph, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SnnxWarning)
        return lower(graph, REFERENCE, **options)


# -- limits ---------------------------------------------------------------------------------------


def test_more_than_512_neurons_is_an_error_with_the_numbers():
    with pytest.raises(LoweringError) as err:
        quiet_lower(chain(4, 300, 300))
    assert "needs 600 neurons (lif0: 300, lif1: 300)" in str(err.value)
    assert "has 512" in str(err.value)
    assert quiet_lower(chain(4, 100, 412)).program.network.size == 512


def test_more_than_256_rows_per_neuron_is_an_error_with_the_numbers():
    """Signed weights take one excitatory and one inhibitory row per source: 130 sources of mixed
    sign need 260 rows; the same sources with one sign need 130."""
    with pytest.raises(LoweringError) as err:
        quiet_lower(chain(130, 10))
    message = str(err.value)
    assert "node 'lif0'" in message and "need 260 synapse rows" in message
    assert "fc0: 130 sources x 2 signs" in message and "has 256" in message
    positive = quiet_lower(chain(130, 10, low=0.1, high=1.0))
    assert positive.program.rows_used("lif0") == 130
    assert positive.program.projections[0].rows == {"excitatory": (0, 130)}


def test_time_constants_outside_the_hard_range_are_refused():
    with pytest.raises(LoweringError) as err:
        quiet_lower(chain(2, (3, {"tau_mem": 2.0})))
    message = str(err.value)
    assert "node 'lif0'" in message and "field 'tau_mem'" in message
    assert "2000 us on the chip (speedup 1000)" in message and "0.1-1000 us" in message
    with pytest.raises(LoweringError, match=r"tau_syn.*0\.05 us on the chip.*0\.1-100 us"):
        quiet_lower(chain(2, (3, {"tau_syn": 5e-5})))


def test_time_constants_outside_the_calibrated_range_warn():
    graph = chain(2, (3, {"tau_mem": 0.1}))  # 100 us on the chip: calibrated up to 60 us
    with pytest.warns(SnnxWarning, match=r"tau_mem 100-100 us .* calibrated range 0\.5-60 us"):
        lowered = lower(graph, REFERENCE)
    assert any("calibrated range" in n for n in lowered.notes)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SnnxWarning)
        lowered = lower(graph, REFERENCE, speedup=10_000)  # 10 us: calibrated
    assert lowered.program.populations[0].hardware["tau_mem_us"].tolist() == [10.0] * 3


def test_refractory_time_outside_the_chip_range_is_refused():
    with pytest.raises(LoweringError, match=r"50 us on the chip .* 0\.04-32 us"):
        quiet_lower(chain(2, 3), refractory=0.05)
    assert quiet_lower(chain(2, 3), refractory=0.0).program.network.refractory.tolist() == [0] * 3
    default = quiet_lower(chain(2, 3)).program  # the chip's minimum, 40 ns on the chip
    assert default.network.refractory == pytest.approx([4e-5] * 3)


def test_unsupported_structures_name_the_node():
    graph = Graph.sequential(
        {
            "input": Node("Input", shape=np.array([2])),
            "fc": Node("Linear", weight=np.ones((2, 2))),
            "lif": Node(
                "LIF", tau=np.ones(2), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2)
            ),
            "output": Node("Output", shape=np.array([2])),
        }
    )
    with pytest.raises(
        LoweringError,
        match=r"node 'lif': bss2 does not run LIF nodes: lif \(LIF\); it runs Input, Output",
    ):
        quiet_lower(graph)
    readout = chain(2, 3)
    readout.add_node("head", Node("Linear", weight=np.ones((2, 3))))
    readout.remove_edge("lif0", "output")
    readout.add_edge("lif0", "head")
    readout.add_edge("head", "output")
    readout.replace_node("output", Node("Output", shape=np.array([2])))
    with pytest.raises(LoweringError, match=r"only CubaLIF spikes can leave the chip"):
        quiet_lower(readout)
    with pytest.raises(LoweringError, match=r"v_reset 1 is not below v_threshold 1"):
        quiet_lower(chain(2, (3, {"v_reset": 1.0})))


def test_direct_edges_are_one_to_one_projections():
    graph = Graph.sequential(
        {
            "input": Node("Input", shape=np.array([3])),
            "lif": cuba(3),
            "output": Node("Output", shape=np.array([3])),
        }
    )
    program = quiet_lower(graph).program
    (proj,) = program.projections
    assert proj.name == "input->lif" and proj.q.tolist() == (np.eye(3) * 63).astype(int).tolist()


# -- weights --------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 6), st.integers(1, 6)),
        elements=st.floats(-10, 10).filter(lambda x: x == 0 or abs(x) > 1e-300),
    ),
    st.one_of(st.none(), st.floats(0.5, 200.0)),
)
def test_quantized_weights_are_six_bit_split_by_sign(w, scale):
    """clamp(rint(scale w), -63, 63), split into magnitudes on excitatory and inhibitory rows;
    with the automatic scale nothing saturates and the error is at most half an LSB."""
    qw = quantize(w, scale)
    expected = np.clip(np.rint(w * qw.scale), -63, 63)
    np.testing.assert_array_equal(qw.q, expected)
    assert qw.excitatory.dtype == np.uint8 and qw.inhibitory.max(initial=0) <= 63
    assert not np.any((qw.excitatory > 0) & (qw.inhibitory > 0))
    np.testing.assert_array_equal(qw.excitatory.astype(int) - qw.inhibitory, qw.q)
    assert qw.clipped == int(np.sum(np.abs(np.rint(w * qw.scale)) > 63))
    if scale is None:
        assert qw.clipped == 0
        assert np.all(np.abs(qw.dequantized - w) <= 0.5 / qw.scale + 1e-12)
        if np.abs(w).max() > 0:
            assert np.abs(qw.q).max() == 63


def test_scale_is_shared_per_population_or_chosen_per_projection(nir_paper):
    braille = snnx.read(nir_paper / "braille_noDelay_bias_zero.nir")
    shared = quiet_lower(braille).program
    into_lif1 = [p for p in shared.projections if p.target == "lif1.lif"]
    assert len({p.scale for p in into_lif1}) == 1
    assert max(np.abs(p.q).max() for p in into_lif1) == 63
    own = quiet_lower(braille, scale_per="projection").program
    assert all(np.abs(p.q).max() == 63 for p in own.projections)
    fixed = quiet_lower(braille, weight_scale=64.0).program
    assert {p.scale for p in fixed.projections} == {64.0}


# -- placement and hardware units ------------------------------------------------------------------


def test_braille_placement_and_rows(nir_paper):
    """38 + 7 neurons on circuits 0-44; lif1 gets 12 input and 38 recurrent sources, lif2 38,
    each with both signs: 2 x (12 + 38) = 100 and 2 x 38 = 76 rows."""
    program = quiet_lower(snnx.read(nir_paper / "braille_noDelay_bias_zero.nir")).program
    assert [(p.name, p.neurons) for p in program.populations] == [
        ("lif1.lif", (0, 38)),
        ("lif2", (38, 45)),
    ]
    assert program.rows_used("lif1.lif") == 100 and program.rows_used("lif2") == 76
    hw = program.population("lif2").hardware
    # tau 0.2222 ms and 0.2 ms in model time: 0.2222 us and 0.2 us on the chip
    assert hw["tau_mem_us"] == pytest.approx([0.2222222281] * 7)
    assert hw["tau_syn_us"] == pytest.approx([0.2] * 7)
    assert hw["leak_cadc"].tolist() == [70] * 7 and hw["threshold_cadc"].tolist() == [150] * 7


def test_potentials_are_whole_cadc_steps():
    """Leak 0.3, reset -0.5, threshold 1.2: reset -> 70 LSB, threshold -> 150, leak -> 70 +
    80 * 0.8 / 1.7 = 107.6 -> 108; the simulated leak is the rounded one."""
    program = quiet_lower(
        chain(2, (1, {"v_leak": 0.3, "v_reset": -0.5, "v_threshold": 1.2}))
    ).program
    hw = program.populations[0].hardware
    assert (hw["reset_cadc"][0], hw["leak_cadc"][0], hw["threshold_cadc"][0]) == (70, 108, 150)
    assert program.network.v_leak[0] == pytest.approx(-0.5 + 38 * 1.7 / 80)
    exact = quiet_lower(chain(2, (1, {"v_leak": 0.3, "v_reset": -0.5})), quantize=False)
    assert exact.program.network.v_leak[0] == 0.3


def test_subtractive_reset_resets_to_zero():
    lowered = lower(chain(2, (2, {"v_reset": -0.4})), REFERENCE.replace(reset="subtract"))
    assert lowered.program.network.v_reset.tolist() == [0.0, 0.0]
    assert any("reset by subtraction" in n for n in lowered.notes)


# -- snnx compile ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compiled(tmp_path_factory, nir_paper):
    out = tmp_path_factory.mktemp("bss2")
    path = str(nir_paper / "braille_noDelay_bias_zero.nir")
    argv = ["compile", path, "--target", "bss2", "--profile", "nir-reference", "-o", str(out)]
    assert main(argv) == 0
    return out


def test_compile_writes_the_experiment_and_resources(compiled):
    assert {p.name for p in compiled.iterdir()} == {
        "experiment.json",
        "lowered.nir",
        "resources.json",
        "metrics.json",
    }
    doc = json.loads((compiled / "experiment.json").read_text())
    assert (doc["format"], doc["version"]) == ("snnx-bss2-experiment", 1)
    assert doc["time"]["speedup"] == 1000.0 and doc["time"]["dt_us"] == pytest.approx(0.1)
    lif1, lif2 = doc["populations"]
    assert (lif1["neurons"], lif2["neurons"], lif2["output"]) == ([0, 38], [38, 45], True)
    fc1 = next(p for p in doc["projections"] if p["name"] == "fc1")
    exc, inh = np.array(fc1["excitatory"]), np.array(fc1["inhibitory"])
    assert exc.shape == inh.shape == (38, 12)
    assert exc.min() >= 0 and max(exc.max(), inh.max()) <= 63 and not np.any((exc > 0) & (inh > 0))
    assert fc1["rows"] == {"excitatory": [76, 88], "inhibitory": [88, 100]}
    assert 0 < fc1["input_offset_us"] < doc["time"]["dt_us"]
    resources = json.loads((compiled / "resources.json").read_text())
    assert resources["neurons"] == 45 and resources["rows_per_neuron"] == {
        "lif1.lif": 100,
        "lif2": 76,
    }


def test_every_key_of_the_experiment_is_documented(compiled):
    schema = (Path(artifact.__file__).parent / "SCHEMA.md").read_text()
    documented = set(re.findall(r"`([a-z_]+)`", schema))
    doc = json.loads((compiled / "experiment.json").read_text())
    keys = set(doc) | set(doc["chip"]) | set(doc["time"]) | set(doc["input"])
    for item in doc["populations"] + doc["projections"]:
        keys |= set(item)
    keys |= set(doc["projections"][0]["rows"])
    assert keys - documented == set()


def test_the_file_alone_reproduces_the_simulation(compiled, nir_paper):
    """Consistency check of two snnx paths: `artifact.read` rebuilds the network from
    experiment.json; it spikes like the lowered
    program, at the same times."""
    from_file = artifact.read(compiled / "experiment.json")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SnnxWarning)
        lowered = get_target("bss2").lower(
            snnx.read(nir_paper / "braille_noDelay_bias_zero.nir"), REFERENCE
        )
    x = (np.random.default_rng(3).uniform(size=(40, 2, 12)) < 0.2).astype(np.float64)
    a = run_grid(from_file, x, capacity=4096)
    b = run_grid(lowered.program.network, x, capacity=4096)
    np.testing.assert_array_equal(a["counts"], b["counts"])
    assert a["counts"].sum() > 0
    finite = np.isfinite(b["times"])
    np.testing.assert_allclose(a["times"][finite], b["times"][finite], rtol=1e-12)


def test_a_broken_experiment_file_is_named(tmp_path):
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps({"format": "snnx-bss2-experiment", "version": 1}))
    with pytest.raises(snnx.SnnxError, match=r"experiment.json: field 'time': missing"):
        artifact.read(path)
