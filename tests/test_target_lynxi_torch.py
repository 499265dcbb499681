"""The lynxi target's TorchScript artifact against its float16 numerics: torch's float16
arithmetic (an independent implementation of IEEE binary16) and snnx's JAX numerics must agree
bit for bit, layer by layer, under every semantics; the saved module loads with
``torch.jit.load`` and has the form Lynxi's compiler takes (float16, no in-place op, at most 4
dimensions)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from test_target_lynxi import BRAILLE, CNN, LYNXI, SEMANTICS, spikes, zoo_1d, zoo_2d

import snnx
from snnx.cli import main
from snnx.targets.lynxi.module import HALF, build, trace
from snnx.targets.lynxi.numerics import run

pytestmark = [
    pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning"),
    pytest.mark.usefixtures("one_thread"),
]


def folded(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(x.reshape(-1, *x.shape[2:])).to(torch.float16)


def torch_layers(module, program, x) -> dict[str, np.ndarray]:
    with torch.no_grad():
        outs = module(folded(x))
    steps, batch = x.shape[:2]
    return {
        name: out.float().numpy().reshape(steps, batch, -1)
        for name, out in zip(program.layers, outs, strict=True)
    }


def assert_bit_identical(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        same = (a[name] == b[name]) | (np.isnan(a[name]) & np.isnan(b[name]))
        assert same.all(), f"layer {name}: {np.count_nonzero(~same)} values differ"


CASES = [(zoo_2d, (2, 9, 8), 0.3), (zoo_1d, (3, 16), 0.3)]


@pytest.mark.parametrize("semantics", SEMANTICS, ids=lambda s: s.profile_name or "custom")
@pytest.mark.parametrize(("make", "shape", "rate"), CASES, ids=["zoo_2d", "zoo_1d"])
def test_torch_and_jax_float16_agree_bit_for_bit(make, shape, rate, semantics):
    """Consistency check of two snnx paths (the module and the numerics come from one lowered
    program; the independent references are tests/crosscheck/peers/test_lynxi_reference.py).
    Every op and neuron type, every profile's knobs (reset timing, spike output timing, several
    spikes per step, v floor, v_init, field overrides) and a custom exact / previous-current /
    unit-area semantics: every layer's output identical, spikes and voltages."""
    steps, batch = 16, 3
    lowered = LYNXI.lower(make(semantics.dt), semantics, steps=steps, batch=batch)
    x = spikes((steps, batch, *shape), rate, seed=11)
    ours = run(lowered.program, x)
    assert all(np.isfinite(v).all() for v in ours.values())  # no float16 overflow
    spiking = [
        n
        for n in lowered.program.layers
        if lowered.program.nodes[n].type in ("LIF", "IF", "CubaLIF")
    ]
    assert all(ours[n].any() for n in spiking)
    assert_bit_identical(ours, torch_layers(build(lowered.program, probe=True), lowered.program, x))


@pytest.mark.parametrize(
    ("name", "profile", "steps", "batch", "rate"),
    [
        (BRAILLE, "snntorch-nir", 64, 4, 0.3),
        (CNN, "sinabs-nir", 12, 2, 0.15),
        (CNN, "norse-nir", 12, 2, 0.3),
    ],
)
def test_saved_artifact_loads_and_gives_the_float16_numerics(
    nir_paper, tmp_path, name, profile, steps, batch, rate
):
    """Consistency check of two snnx paths: ``model.pt`` as `snnx compile` writes it, loaded
    with ``torch.jit.load``: its output is
    the numerics' output layer, bit for bit, and the traced probe gives every layer."""
    graph = snnx.read(nir_paper / name)
    lowered = LYNXI.lower(graph, snnx.Semantics.profile(profile), steps=steps, batch=batch)
    written = LYNXI.write(lowered, tmp_path)
    assert [p.name for p in written] == ["weights.bin", "network.json", "model.pt"]
    loaded = torch.jit.load(str(tmp_path / "model.pt"))
    x = spikes((steps, batch, *lowered.program.input_shape), rate, seed=5)
    ours = run(lowered.program, x)
    with torch.no_grad():
        out = loaded(folded(x))
    assert out.dtype == torch.float16 and tuple(out.shape) == (
        steps * batch,
        *lowered.program.output_shape,
    )
    reference = ours[lowered.output.name]
    assert reference.sum() > 0
    np.testing.assert_array_equal(out.float().numpy().reshape(reference.shape), reference)
    probe = trace(lowered.program, probe=True)
    assert_bit_identical(ours, torch_layers(probe, lowered.program, x))


def test_traced_module_has_the_lyngor_form(nir_paper):
    """Torch ops only, float16 tensors (float32 only inside synapses and pooling, whose sums
    accumulate in float32 between a cast up and the rounding back), no in-place op, no tensor
    above 4 dimensions (the CNN's (C, H, W) maps run as (T*B, C, H, W)); the time loop unrolled
    (fixed T)."""
    for graph, profile in ((snnx.read(nir_paper / CNN), "sinabs-nir"), (zoo_2d(), "spyx")):
        lowered = LYNXI.lower(graph, snnx.Semantics.profile(profile), steps=4, batch=2)
        scripted = trace(lowered.program)
        kinds, ranks, dtypes, wide = set(), set(), set(), set()
        for node in scripted.inlined_graph.nodes():
            kinds.add(node.kind())
            for value in node.outputs():
                kind = value.type()
                if not isinstance(kind, torch._C.TensorType) or node.kind() == "prim::GetAttr":
                    continue  # buffers: checked below
                ranks.add(len(kind.sizes()))
                if node.kind() != "prim::Constant" or kind.sizes():  # not a python scalar
                    dtypes.add(kind.scalarType())
                if kind.scalarType() == "Float":
                    wide.add(node.kind())
        assert all(k.split("::")[0] in ("aten", "prim") for k in kinds)
        assert not [k for k in kinds if k.endswith("_") and not k.endswith("__")], kinds
        assert max(ranks) == 4
        assert dtypes <= {"Half", "Float", "Bool"}, dtypes
        assert wide <= {"aten::to", "aten::linear", "aten::_convolution", "aten::avg_pool2d"}, wide
        assert scripted(torch.zeros(8, *lowered.program.input_shape, dtype=HALF)).dtype == HALF
        assert "prim::Loop" not in kinds and "prim::If" not in kinds
        params = list(scripted.buffers())
        assert params and all(p.dtype == torch.float16 for p in params)


def test_compile_and_verify_commands(nir_paper, tmp_path, capsys):
    """`snnx compile --target lynxi` writes the module, the description, the weights, the
    lowered graph and the resources; the module it wrote gives the numerics' output; `snnx
    verify --target lynxi` reports every layer against the float32 reference."""
    path = str(nir_paper / BRAILLE)
    argv = ["compile", path, "--target", "lynxi", "--profile", "snntorch-nir", "-o", str(tmp_path)]
    assert main(argv) == 0
    assert {p.name for p in tmp_path.iterdir()} == {
        "model.pt",
        "network.json",
        "weights.bin",
        "lowered.nir",
        "resources.json",
        "metrics.json",
    }
    resources = json.loads((tmp_path / "resources.json").read_text())
    assert resources["neurons"] == 45 and resources["synapses"] == 12 * 38 + 38 * 38 + 38 * 7
    loaded = torch.jit.load(str(tmp_path / "model.pt"))
    lowered = LYNXI.lower(snnx.read(path), snnx.Semantics.profile("snntorch-nir"))
    x = spikes((lowered.program.steps, 1, 12), 0.3, seed=9)
    with torch.no_grad():
        out = loaded(folded(x)).float().numpy()
    np.testing.assert_array_equal(out.reshape(-1, 1, 7), run(lowered.program, x)["lif2"])
    capsys.readouterr()
    argv = ["verify", path, "--target", "lynxi", "--profile", "snntorch-nir", "--random", "8"]
    assert main([*argv, "--steps", "60", "--rate", "0.3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [a["layer"] for a in report["layers"]] == ["lif1.lif", "lif2"]
    assert report["class_agreement"] >= 0.75


@pytest.mark.parametrize("op", ["dense", "conv"])
def test_synapses_with_inexact_float32_sums_agree_to_one_unit_in_the_last_place(op):
    """Where a synapse's float32 sum is not exact (random normal weights and inputs, 512 terms),
    the summation orders of torch's BLAS and XLA may part the results, by no more than the
    float32 summation bound plus one float16 unit; where the sum is exact (spikes times dyadic
    weights) they are identical, whatever the order."""
    from snnx.targets.lynxi.module import _apply as torch_apply
    from snnx.targets.lynxi.numerics import apply as jax_apply
    from snnx.targets.lynxi.program import Step

    rng = np.random.default_rng(3)
    if op == "dense":
        weight, x = rng.standard_normal((64, 512)), rng.standard_normal((32, 512))
        attributes = {}
    else:
        weight, x = rng.standard_normal((8, 32, 4, 4)), rng.standard_normal((4, 32, 10, 10))
        attributes = {
            "stride": [1, 1],
            "padding": [[0, 0], [0, 0]],
            "dilation": [1, 1],
            "groups": 1,
        }
    tensors = {"weight": weight.astype(np.float16), "bias": rng.standard_normal(len(weight))}
    tensors["bias"] = tensors["bias"].astype(np.float16)
    step = Step("s", "Affine", op, ("in",), x.shape[1:], (), attributes, tensors)

    def both(x16: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ours = np.asarray(jax_apply(step, tensors, x16), np.float64)
        theirs = torch_apply(
            step, {k: torch.from_numpy(v) for k, v in tensors.items()}, torch.from_numpy(x16)
        )
        return ours, theirs.double().numpy()

    x16 = x.astype(np.float16)
    ours, theirs = both(x16)
    # Each side's float32 sum of n terms is within (n - 1) 2^-24 sum|terms| of the exact sum
    # (the classic summation bound); the rounding to float16 then adds at most one unit.
    n = weight[0].size
    magnitude = torch_apply(
        step,
        {"weight": torch.from_numpy(np.abs(tensors["weight"])), "bias": torch.zeros(len(weight))},
        torch.from_numpy(np.abs(x16)),
    ).double().numpy() + np.abs(tensors["bias"]).reshape((-1,) + (1,) * (x.ndim - 2))
    ulp = np.spacing(np.maximum(np.abs(ours), np.abs(theirs)).astype(np.float16))
    bound = ulp.astype(np.float64) + 2 * (n - 1) * 2.0**-24 * magnitude
    assert np.all(np.abs(ours - theirs) <= bound)  # a float16 accumulation would break it
    spikes_in = (rng.uniform(size=x.shape) < 0.3).astype(np.float16)
    tensors["weight"] = (np.round(weight * 64) / 64).astype(np.float16)
    ours, theirs = both(spikes_in)
    np.testing.assert_array_equal(ours, theirs)
