"""The lynxi target (Lynxi KA200, float16): limits as errors with numbers, float16 rounding and
neuron coefficients against analytic values and the reference simulator's formulas, the float16
numerics against the float32 reference (the NIR paper's LIF trace and its Braille and CNN graphs),
the JSON/BIN description read back, and the compile / verify commands."""

from __future__ import annotations

import json

import numpy as np
import pytest

import snnx
from snnx.errors import LoweringError, SnnxError
from snnx.ir import Graph, Node
from snnx.sim import Simulator
from snnx.targets import get_target
from snnx.targets.lynxi import artifact
from snnx.targets.lynxi.quantize import rounding, to_float16
from snnx.targets.lynxi.spec import MAX_STEPS
from snnx.verification import verify

LYNXI = get_target("lynxi")
BRAILLE = "braille_noDelay_bias_zero.nir"
CNN = "cnn_sinabs.nir"


def spikes(shape, rate=0.2, seed=0) -> np.ndarray:
    return (np.random.default_rng(seed).uniform(size=shape) < rate).astype(np.float32)


def dyadic(rng, shape, scale=2.0, bits=6) -> np.ndarray:
    """Weights that are multiples of 2^-bits in [-scale, scale]: sums of their products with
    small whole numbers are exact in float32, whatever the order of summation."""
    return np.round(rng.uniform(-scale, scale, size=shape) * 2**bits) / 2**bits


def zoo_2d(dt: float = 1e-4, seed: int = 0) -> Graph:
    """Time constants in steps of ``dt`` (so every profile's dt keeps values in float16's range).
    Every lowered op: a non-square conv with 'same' padding (one more zero after than
    before), padded average pooling, a grouped, strided, dilated conv, sum pooling, flatten,
    affine, a CubaLIF with a recurrent Linear, Scale, Threshold, two edges summed into a CubaLI,
    an integrator I at the output."""
    rng = np.random.default_rng(seed)
    n = {
        "in": Node("Input", shape=[2, 9, 8]),
        "c1": Node(
            "Conv2d",
            weight=dyadic(rng, (4, 2, 3, 2)),
            bias=dyadic(rng, (4,), 0.5),
            stride=1,
            padding="same",
            dilation=1,
            groups=1,
        ),
        "n1": Node("LIF", tau=7 * dt, r=2.0, v_leak=0.05, v_threshold=0.6, v_reset=-0.1),
        "p1": Node("AvgPool2d", kernel_size=[2, 2], stride=[2, 2], padding=[1, 1]),
        "c2": Node(
            "Conv2d",
            weight=dyadic(rng, (4, 2, 2, 2)),
            bias=0.0,
            stride=[2, 1],
            padding=[1, 1],
            dilation=[1, 2],
            groups=2,
        ),
        "n2": Node("IF", r=0.3 / dt, v_threshold=0.5),
        "p2": Node("SumPool2d", kernel_size=[2, 2], stride=[1, 1], padding=[0, 0]),
        "fl": Node("Flatten", start_dim=0, end_dim=-1),
        "d1": Node("Affine", weight=dyadic(rng, (10, 32)), bias=dyadic(rng, (10,), 0.5)),
        "n3": Node(
            "CubaLIF",
            tau_syn=np.full(10, 3 * dt),
            tau_mem=np.full(10, 5 * dt),
            r=np.full(10, 1.5),
            v_leak=np.zeros(10),
            v_threshold=np.full(10, 0.4),
            w_in=np.full(10, 1.2),
        ),
        "r1": Node("Linear", weight=dyadic(rng, (10, 10), 1.0)),
        "sc": Node("Scale", scale=dyadic(rng, (10,), 2.0, 4)),
        "d2": Node("Linear", weight=dyadic(rng, (6, 10))),
        "th": Node("Threshold", threshold=np.full(10, 0.25)),
        "d3": Node("Linear", weight=dyadic(rng, (6, 10))),
        "n4": Node(
            "CubaLI",
            tau_syn=np.full(6, 2 * dt),
            tau_mem=np.full(6, 4 * dt),
            r=np.ones(6),
            v_leak=np.full(6, 0.1),
        ),
        "i1": Node("I", r=np.full(6, 0.05 / dt)),
        "out": Node("Output", shape=[6]),
    }
    edges = [
        ("in", "c1"),
        ("c1", "n1"),
        ("n1", "p1"),
        ("p1", "c2"),
        ("c2", "n2"),
        ("n2", "p2"),
        ("p2", "fl"),
        ("fl", "d1"),
        ("d1", "n3"),
        ("n3", "r1"),
        ("r1", "n3"),
        ("n3", "sc"),
        ("sc", "d2"),
        ("d1", "th"),
        ("th", "d3"),
        ("d2", "n4"),
        ("d3", "n4"),
        ("n4", "i1"),
        ("i1", "out"),
    ]
    return Graph(n, edges)


def zoo_1d(dt: float = 1e-4, seed: int = 1) -> Graph:
    """Conv1d with an even kernel and 'same' padding (one more zero after than before), a LIF
    with a self-loop, an Affine readout into IF."""
    rng = np.random.default_rng(seed)
    return Graph(
        {
            "in": Node("Input", shape=[3, 16]),
            "c": Node(
                "Conv1d",
                weight=dyadic(rng, (4, 3, 4)),
                bias=dyadic(rng, (4,), 0.5),
                stride=1,
                padding="same",
                dilation=1,
                groups=1,
            ),
            "lif": Node(
                "LIF",
                tau=np.full((4, 16), 10 * dt),
                r=np.full((4, 16), 1.0),
                v_leak=np.zeros((4, 16)),
                v_threshold=np.full((4, 16), 0.3),
            ),
            "self": Node("Scale", scale=np.full((4, 16), -0.25)),
            "fl": Node("Flatten", start_dim=0, end_dim=-1),
            "fc": Node("Affine", weight=dyadic(rng, (5, 64), 1.0), bias=np.zeros(5)),
            "if": Node("IF", r=np.full(5, 0.5 / dt), v_threshold=np.full(5, 1.0)),
            "out": Node("Output", shape=[5]),
        },
        [
            ("in", "c"),
            ("c", "lif"),
            ("lif", "self"),
            ("self", "lif"),
            ("lif", "fl"),
            ("fl", "fc"),
            ("fc", "if"),
            ("if", "out"),
        ],
    )


#: Semantics beyond the profiles: exact coupled integration with the previous current, zero
#: reset in the next step, unit-area spikes, v starting at v_reset, ``>=``, up to 3 spikes.
CUSTOM = snnx.Semantics(
    dt=1e-2,
    integrator="exact",
    current="previous",
    reset_timing="next-step",
    spike_amplitude="1/dt",
    threshold=">=",
    max_spikes=3,
    v_init="v_reset",
)
SEMANTICS = [snnx.Semantics.profile(p) for p in snnx.PROFILES] + [CUSTOM]


# -- limits ---------------------------------------------------------------------------------------


def single(node: Node, shape) -> Graph:
    return Graph.sequential(
        {
            "in": Node("Input", shape=list(shape)),
            "x": node,
            "out": Node("Output", shape=list(shape)),
        }
    )


def test_limits_are_errors_that_name_the_node_and_the_numbers(nir_paper):
    braille = snnx.read(nir_paper / BRAILLE)
    with pytest.raises(LoweringError, match=f"1025 time steps exceed the {MAX_STEPS}"):
        LYNXI.lower(braille, snnx.Semantics(), steps=MAX_STEPS + 1)
    with pytest.raises(LoweringError, match="positive whole number"):
        LYNXI.lower(braille, snnx.Semantics(), batch=0)
    with pytest.raises(LoweringError, match="unknown lynxi options"):
        LYNXI.lower(braille, snnx.Semantics(), cores=4)
    deep = single(
        Node("IF", r=np.ones((1, 2, 3, 4)), v_threshold=np.ones((1, 2, 3, 4))), (1, 2, 3, 4)
    )
    with pytest.raises(LoweringError) as err:
        LYNXI.lower(deep, snnx.Semantics())
    assert err.value.node == "in" and "(T*B, 1, 2, 3, 4) has rank 5" in str(err.value)
    assert "at most 4" in str(err.value)
    delayed = single(Node("Delay", delay=np.full(3, 2e-4)), (3,))
    with pytest.raises(LoweringError, match="lynxi does not run Delay nodes") as err:
        LYNXI.lower(delayed, snnx.Semantics())
    assert err.value.node == "x"
    huge = single(Node("Affine", weight=np.eye(2) * 7e4, bias=np.zeros(2)), (2,))
    with pytest.raises(LoweringError, match="value 70000 does not fit float16") as err:
        LYNXI.lower(huge, snnx.Semantics())
    assert (err.value.node, err.value.field) == ("x", "weight")
    big = single(Node("IF", r=1.0, v_threshold=1.0), (2_000_001,))
    with pytest.raises(LoweringError, match="needs 2,000,001 neurons; lynxi has 2,000,000"):
        LYNXI.lower(big, snnx.Semantics())
    two = Graph(
        {
            "in": Node("Input", shape=[2]),
            "a": Node("IF", r=np.ones(2), v_threshold=np.ones(2)),
            "o1": Node("Output", shape=[2]),
            "o2": Node("Output", shape=[2]),
        },
        [("in", "a"), ("a", "o1"), ("a", "o2")],
    )
    with pytest.raises(LoweringError, match="one Output"):
        LYNXI.lower(two, snnx.Semantics())


def test_spec_separates_documented_facts_from_snnx_choices():
    facts = LYNXI.spec.facts
    assert "[documented]" in facts["tensor_rank"] and "[documented]" in facts["in_place_ops"]
    assert "[snnx" in facts["steps"] and "Delay" not in LYNXI.spec.supported


def test_run_refuses_more_steps_than_the_limit(nir_paper):
    lowered = LYNXI.lower(snnx.read(nir_paper / BRAILLE), snnx.Semantics.profile("snntorch-nir"))
    with pytest.raises(SnnxError, match=f"{MAX_STEPS + 1} time steps exceed"):
        LYNXI.run(lowered, np.zeros((MAX_STEPS + 1, 1, 12), np.float32))


# -- float16 rounding and coefficients ------------------------------------------------------------


def test_float16_rounding_is_ieee_nearest_even():
    eps = 2.0**-10
    values = [1 + eps / 2, 1 + 3 * eps / 2, 65504.0, 65519.0, 2.0**-24, 2.0**-26, -0.1]
    # ties go to the even neighbour; 65519 still rounds to 65504; 2^-26 flushes to zero
    assert to_float16(values).tolist() == [
        1.0,
        1 + 2 * eps,
        65504.0,
        65504.0,
        2.0**-24,
        0.0,
        -0.0999755859375,
    ]
    with pytest.raises(LoweringError, match="65520"):
        to_float16([65520.0], node="n", field="w")
    with pytest.raises(LoweringError, match="NaN"):
        to_float16([np.nan])
    r = rounding([0.1, 1e-9, 2.0**-20], to_float16([0.1, 1e-9, 2.0**-20]))
    assert r.flushed == 1 and r.subnormal == 1 and r.max_rel_error == pytest.approx(1.0)


# -- float16 numerics against the float32 reference ---------------------------------------------


@pytest.mark.parametrize(
    ("graph", "profile", "scale", "csv", "steps"),
    [
        ("lif_norse", "norse-nir", 1.0, "norse", [460, 510, 710, 760]),
        ("lif_norse", "snntorch-nir", 1.0, "snntorch", [460, 510, 710, 760]),
        ("lif_norse", "nir-reference", 1.0, "exact", [460, 510, 710, 760]),
        ("lif_norse", "spyx", 1e-4 / 2.5e-3, "spyx", [461, 511, 711, 761]),
        ("lif_rockpool", "rockpool", 1.0, "rockpool", [450, 500, 710, 760]),
    ],
)
def test_float16_keeps_the_paper_lif_spike_times(nir_paper, graph, profile, scale, csv, steps):
    """The NIR paper's recorded traces (dt = 1e-4, 1000 steps): float16 spikes at the same
    steps as each platform did in float32."""
    x = np.loadtxt(nir_paper / "lif_norse.csv", delimiter=",")[:, 0] * scale
    recorded = np.loadtxt(nir_paper / f"lif_{csv}.csv", delimiter=",")[:, 2]
    lowered = LYNXI.lower(
        snnx.read(nir_paper / f"{graph}.nir"), snnx.Semantics.profile(profile, dt=1e-4)
    )
    out = LYNXI.run(lowered, x.reshape(-1, 1, 1).astype(np.float32))[lowered.output.name]
    assert np.nonzero(out.ravel())[0].tolist() == np.nonzero(recorded)[0].tolist() == steps


def test_braille_float16_through_verify(nir_paper):
    """The framework's verification: every layer compared step by step with the float32
    reference, class agreement over the output."""
    braille = snnx.read(nir_paper / BRAILLE)
    result = verify(braille, LYNXI, spikes((120, 16, 12), 0.2, seed=4), "snntorch-nir")
    first, out = result.layers
    assert (first.node, out.node, first.latency) == ("lif1.lif", "lif2", 0)
    assert first.exact > 0.999 and out.exact > 0.95 and out.count_correlation > 0.99
    assert result.class_agreement >= 0.9
    assert result.first_divergence is not None  # float16 does flip some spikes
    assert any("float16 throughout" in n for n in result.notes)


def test_cnn_float16_against_float32(nir_paper):
    """The paper's N-MNIST CNN under Sinabs semantics (IF, >=, several spikes per step,
    subtractive reset, v floor): float16 flips a few spikes in the first layer, more deeper."""
    cnn = snnx.read(nir_paper / CNN)
    semantics = snnx.Semantics.profile("sinabs-nir")
    lowered = LYNXI.lower(cnn, semantics)
    x = spikes((30, 4, 2, 34, 34), 0.1, seed=2)
    chip = LYNXI.run(lowered, x)
    nodes = [m.node for m in lowered.layers]
    ref = Simulator(lowered.graph, semantics, record=nodes)(x).records
    agreement = [
        float(np.mean(ref[f"{m.node}.out"].reshape(chip[m.name].shape) == chip[m.name]))
        for m in lowered.layers
    ]
    assert [m.name for m in lowered.layers] == ["1", "3", "6", "10", "12"]
    assert agreement[0] > 0.999 and min(agreement) > 0.8
    totals = [chip[m.name].sum() for m in lowered.layers]
    assert all(np.isfinite(totals)) and min(totals) > 0


# -- the JSON / BIN description -------------------------------------------------------------------


def test_description_reads_back_and_weights_lie_where_it_says(nir_paper, tmp_path):
    cnn = snnx.read(nir_paper / CNN)
    lowered = LYNXI.lower(cnn, snnx.Semantics.profile("sinabs-nir"), steps=7, batch=3)
    artifact.write(lowered.program, tmp_path, module=False)
    doc = json.loads((tmp_path / "network.json").read_text())
    blob = (tmp_path / "weights.bin").read_bytes()
    assert doc["input"]["folded_shape"] == [21, 2, 34, 34] and doc["dtype"] == "float16"
    conv = next(n for n in doc["nodes"] if n["name"] == "0")
    place = conv["tensors"]["weight"]
    assert place["offset"] % 64 == 0 and place["shape"] == [16, 2, 5, 5]
    stored = np.frombuffer(blob, "<f2", count=16 * 2 * 5 * 5, offset=place["offset"])
    np.testing.assert_array_equal(stored.reshape(16, 2, 5, 5), cnn["0"].weight.astype(np.float16))
    assert conv["attributes"] == {
        "stride": [2, 2],
        "dilation": [1, 1],
        "padding": [[1, 1], [1, 1]],
        "groups": 1,
    }
    back = artifact.read(tmp_path)
    assert back.structure() == lowered.program.structure()
    x = spikes((7, 3, 2, 34, 34), 0.1)
    from snnx.targets.lynxi.numerics import run

    a, b = run(back, x), run(lowered.program, x)
    assert all(np.array_equal(a[k], b[k]) for k in b)


def test_description_errors_name_the_file(tmp_path, nir_paper):
    lowered = LYNXI.lower(
        snnx.read(nir_paper / BRAILLE), snnx.Semantics.profile("snntorch-nir"), steps=3
    )
    artifact.write(lowered.program, tmp_path, module=False)
    with open(tmp_path / "weights.bin", "ab") as f:
        f.write(b"\0")
    with pytest.raises(SnnxError, match="checksum does not match") as err:
        artifact.read(tmp_path)
    assert err.value.file.endswith("weights.bin")
    (tmp_path / "network.json").write_text('{"format": "something else"}')
    with pytest.raises(SnnxError, match="not a snnx-lynxi version 1"):
        artifact.read(tmp_path)
