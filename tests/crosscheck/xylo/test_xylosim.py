"""snnx's Xylo target against Rockpool's XyloSim (xylosim 0.1.3, the simulator SynSense ships).

Every compiled specification is loaded exactly as a user would (``np.load`` of the artifact, then
``XyloSim.from_specification(**spec)``) and run on the same input events; hidden and output spikes,
and every neuron state, must equal snnx's JAX numerics step for step:

- random graphs (1-3 packed hidden populations, recurrence, LIF / CubaLIF / IF, Affine biases, LI
  synapses as the second synaptic state, assorted semantics) lowered for both chips;
- random integer programs at the chip's extremes (int8 weights shifted by 7, saturating states,
  31-event bursts, biases), which lowering rarely produces;
- the NIR paper's Braille graph on both chips;

and the artifact's fields are exactly the parameters of ``from_specification`` and of samna's
``config_from_specification`` (read from Rockpool's source: it needs samna to import).
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import warnings
from pathlib import Path

import numpy as np
import pytest
import rockpool_stub

import snnx
from snnx.ir import Graph, Node
from snnx.targets import get_target
from snnx.targets.xylo import artifact
from snnx.targets.xylo.numerics import simulate
from snnx.targets.xylo.program import XyloProgram
from snnx.targets.xylo.spec import AUDIO2, IMU

SIMS = rockpool_stub.xylo_sims()
CHIPS = {"xylo-audio2": AUDIO2, "xylo-imu": IMU}
F32 = np.float32
SEMANTICS = {
    "snntorch-nir": snnx.Semantics.profile("snntorch-nir"),
    "rockpool": snnx.Semantics.profile("rockpool", dt=1e-3),
    "norse": snnx.Semantics.profile("norse-nir"),
    "xylo-like": snnx.Semantics(dt=1e-3, reset="subtract", threshold=">=", max_spikes=31),
}


def xylosim(chip: str, spec: dict, raster: np.ndarray) -> dict[str, np.ndarray]:
    """Rockpool's XyloSim on one sample's event counts ``(T, Nin)``: spikes and states."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = SIMS[chip].from_specification(**spec)
        out, _, rec = sim(raster.astype(int), record=True)
    hidden = np.asarray(rec["Spikes"])
    result = {
        "out_spikes": np.asarray(out),
        "hidden_spikes": hidden,
        "vmem": np.asarray(rec["Vmem"]),
        "isyn": np.asarray(rec["Isyn"]),
        "vmem_out": np.asarray(rec["Vmem_out"]),
        "isyn_out": np.asarray(rec["Isyn_out"]),
    }
    if "Isyn2" in rec:
        result["isyn2"] = np.asarray(rec["Isyn2"])
    return {k: v.reshape(raster.shape[0], -1) for k, v in result.items()}


def assert_same(program: XyloProgram, spec: dict, raster: np.ndarray, label: str) -> int:
    """snnx's numerics and XyloSim agree on every sample; returns the hidden events seen."""
    mine = simulate(program, raster, states=True)
    events = 0
    for b in range(raster.shape[1]):
        theirs = xylosim(program.chip.rockpool, spec, raster[:, b])
        for key, value in theirs.items():
            np.testing.assert_array_equal(
                mine[key][:, b], value, err_msg=f"{label}: sample {b}: {key}"
            )
        events += int(theirs["hidden_spikes"].sum())
    return events


def load_artifact(lowered, tmp_path: Path) -> dict:
    """Write the artifact and read the simulator's specification back as a user does."""
    get_target(lowered.target).write(lowered, tmp_path)
    with np.load(tmp_path / "xylo_spec.npz", allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


# -- random graphs ---------------------------------------------------------------------------------


def neuron(rng, kind: str, n: int, dt: float) -> Node:
    thr = rng.uniform(0.5, 2.0, n)
    if kind == "CubaLIF":
        return Node(
            "CubaLIF",
            tau_syn=dt * rng.uniform(1.5, 20, n),
            tau_mem=dt * rng.uniform(2, 40, n),
            r=rng.uniform(0.5, 2, n) * 10,
            w_in=rng.uniform(0.5, 2, n) * 4,
            v_leak=np.zeros(n),
            v_threshold=thr,
        )
    if kind == "LIF":
        return Node(
            "LIF",
            tau=dt * rng.uniform(2, 40, n),
            r=rng.uniform(5, 20, n),
            v_leak=rng.normal(0, 0.1, n),
            v_threshold=thr,
        )
    return Node("IF", r=np.full(n, 0.5 / dt), v_threshold=thr)


def random_graph(seed: int, chip) -> tuple[Graph, snnx.Semantics]:
    rng = np.random.default_rng(seed)
    dt = 1e-3
    n_in = int(rng.integers(2, 17))
    depth = int(rng.integers(1, 4))
    sizes = [int(rng.integers(3, 31)) for _ in range(depth)]  # fan-out <= 60
    n_out = int(rng.integers(1, chip.outputs + 1))
    kinds = rng.choice(["CubaLIF", "LIF", "IF"], depth, p=[0.6, 0.3, 0.1])
    scale = rng.choice([0.5, 2.0, 8.0])
    two_synapses = chip.synapses == 2 and kinds[0] == "LIF" and rng.uniform() < 0.7

    def dense(n_to, n_from, gain):
        w = rng.normal(0.2, 1.0, (n_to, n_from)) * gain * scale / np.sqrt(n_from)
        if rng.uniform() < 0.5:
            return Node("Linear", weight=w.astype(F32))
        return Node("Affine", weight=w.astype(F32), bias=rng.normal(0, 0.3, n_to).astype(F32))

    nodes = {"input": Node("Input", shape=[n_in])}
    edges = []
    prev, width = "input", n_in
    for i, (kind, n) in enumerate(zip(kinds, sizes, strict=True)):
        nodes[f"h{i}"] = neuron(rng, kind, n, dt)
        nodes[f"w{i}"] = dense(n, width, 1.0)
        if i == 0 and two_synapses:
            nodes["slow"] = Node(
                "LI", tau=dt * rng.uniform(4, 30, n), r=np.ones(n), v_leak=np.zeros(n)
            )
            nodes["fast"] = Node(
                "LI", tau=dt * rng.uniform(1, 3, n), r=np.ones(n), v_leak=np.zeros(n)
            )
            nodes["w_slow"] = dense(n, width, -0.5)
            edges += [(prev, "w0"), ("w0", "fast"), ("fast", "h0"), (prev, "w_slow")]
            edges += [("w_slow", "slow"), ("slow", "h0")]
        else:
            edges += [(prev, f"w{i}"), (f"w{i}", f"h{i}")]
        if rng.uniform() < 0.6:  # recurrence on this population
            nodes[f"r{i}"] = dense(n, n, 0.5)
            into = "fast" if i == 0 and two_synapses else f"h{i}"
            edges += [(f"h{i}", f"r{i}"), (f"r{i}", into)]
        prev, width = f"h{i}", n
    nodes["w_out"] = dense(n_out, width, 1.0)
    nodes["out"] = neuron(rng, "CubaLIF", n_out, dt)
    nodes["output"] = Node("Output", shape=[n_out])
    edges += [(prev, "w_out"), ("w_out", "out"), ("out", "output")]
    semantics = SEMANTICS[list(SEMANTICS)[seed % len(SEMANTICS)]]
    return Graph(nodes, edges), semantics


@pytest.mark.parametrize("target", list(CHIPS))
@pytest.mark.parametrize("seed", range(12))
def test_random_graphs_compile_to_what_xylosim_runs_identically(target, seed, tmp_path):
    graph, semantics = random_graph(seed, CHIPS[target])
    lowered = get_target(target).lower(graph, semantics)
    spec = load_artifact(lowered, tmp_path)
    rng = np.random.default_rng(100 + seed)
    raster = rng.poisson(rng.uniform(0.05, 1.5), (64, 3, lowered.program.n_in))
    raster[5, 0, 0] = 40  # more than 15 events: the chip clips
    assert assert_same(lowered.program, spec, raster, f"{target} graph {seed}") > 0


# -- random programs at the extremes ---------------------------------------------------------------


def random_program(seed: int, chip) -> XyloProgram:
    rng = np.random.default_rng(seed)
    n_in, n_hidden = int(rng.integers(1, 17)), int(rng.integers(2, 60))
    n_out = int(rng.integers(1, chip.outputs + 1))
    synapses = int(rng.integers(1, chip.synapses + 1))
    p = XyloProgram.empty(chip, n_in, n_hidden, n_out, synapses)
    density = rng.uniform(0.1, 0.8)
    for name in ("weights_in", "weights_rec", "weights_out"):
        w = getattr(p, name)
        w[...] = rng.integers(-128, 128, w.shape) * (rng.uniform(size=w.shape) < density)
    if chip.input_projection < chip.hidden:  # IMU: input to the first neurons, output from the last
        p.weights_in[:, min(n_hidden, 128) :] = 0
        p.weights_out[: max(0, n_hidden - 128)] = 0
    fan = min(chip.max_fan_out, n_hidden * synapses)
    for i in range(n_hidden):  # keep to the chip's fan-out
        nz = np.argwhere(p.weights_rec[i])
        for j, s in nz[fan:]:
            p.weights_rec[i, j, s] = 0
    for name in ("dash_mem", "dash_syn", "dash_syn_2", "dash_mem_out", "dash_syn_out"):
        getattr(p, name)[:] = rng.integers(0, 16, getattr(p, name).shape)
    p.threshold[:] = rng.integers(1, int(rng.choice([64, 2000, 32767])), n_hidden)
    p.threshold_out[:] = rng.integers(1, int(rng.choice([64, 2000, 32767])), n_out)
    if rng.uniform() < 0.6:
        p.bias[:] = rng.integers(-3000, 3000, n_hidden)
        p.bias_out[:] = rng.integers(-3000, 3000, n_out)
    p.weight_shift_in, p.weight_shift_rec, p.weight_shift_out = (
        int(k) for k in rng.integers(0, 8, 3)
    )
    p.check()
    return p


@pytest.mark.parametrize("target", list(CHIPS))
@pytest.mark.parametrize("seed", range(10))
def test_random_programs_at_the_extremes_run_identically(target, seed):
    program = random_program(seed, CHIPS[target])
    rng = np.random.default_rng(seed)
    raster = rng.poisson(rng.uniform(0.2, 8), (64, 3, program.n_in))
    assert_same(program, artifact.sim_spec(program), raster, f"{target} program {seed}")


def test_the_extremes_are_reached():
    """The random programs do saturate, burst 31 events and clip inputs (else the test above
    would prove less than it says)."""
    saturated = bursts = 0
    for seed in range(10):
        program = random_program(seed, AUDIO2)
        rng = np.random.default_rng(seed)
        raster = rng.poisson(rng.uniform(0.2, 8), (64, 3, program.n_in))
        r = simulate(program, raster, states=True)
        saturated += int(np.sum(np.abs(r["isyn"]) >= 32766) + np.sum(np.abs(r["vmem"]) >= 32767))
        bursts += int(np.sum(r["hidden_spikes"] == 31))
    assert saturated > 100 and bursts > 100


# -- the conformance Braille graph ---------------------------------------------------------------


@pytest.mark.parametrize("target", list(CHIPS))
def test_braille_compiles_to_what_xylosim_runs_identically(nir_paper, target, tmp_path):
    graph = snnx.read(nir_paper / "braille_noDelay_bias_zero.nir")
    lowered = get_target(target).lower(graph, snnx.Semantics.profile("snntorch-nir"))
    spec = load_artifact(lowered, tmp_path)
    rng = np.random.default_rng(7)
    raster = (rng.uniform(size=(256, 3, 12)) < 0.1).astype(int)
    assert assert_same(lowered.program, spec, raster, f"braille on {target}") > 100
    # the JSON copy of the specification runs the same
    from_json = artifact.load_spec(tmp_path / "xylo_spec.json")
    theirs = xylosim(lowered.program.chip.rockpool, from_json, raster[:, 0])
    assert np.array_equal(
        theirs["hidden_spikes"], simulate(lowered.program, raster[:, :1])["hidden_spikes"][:, 0]
    )


# -- the fields ------------------------------------------------------------------------------------


def config_parameters(chip: str) -> set[str]:
    """``config_from_specification``'s named parameters, read from Rockpool's source."""
    spec = importlib.util.find_spec("rockpool")
    source = Path(spec.origin).parent / "devices" / "xylo" / chip / "xylo_samna.py"
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.FunctionDef) and node.name == "config_from_specification":
            return {a.arg for a in node.args.args}
    raise AssertionError(f"no config_from_specification in {source}")


@pytest.mark.parametrize("target", list(CHIPS))
def test_the_artifact_holds_exactly_rockpools_parameters(nir_paper, target, tmp_path):
    graph = snnx.read(nir_paper / "braille_noDelay_bias_zero.nir")
    lowered = get_target(target).lower(graph, snnx.Semantics.profile("snntorch-nir"))
    get_target(target).write(lowered, tmp_path)
    chip = lowered.program.chip.rockpool
    sim_params = set(inspect.signature(SIMS[chip].from_specification).parameters)
    run_time = {"verify_config", "output_mode", "args", "kwargs"}
    with np.load(tmp_path / "xylo_spec.npz") as sim, np.load(tmp_path / "xylo_config.npz") as cfg:
        assert set(sim.files) == sim_params - run_time - {"aliases"}
        assert set(cfg.files) == config_parameters(chip) - {"aliases"}
        assert "bias_hidden" in cfg.files and "bias" in sim.files
        assert np.array_equal(cfg["bias_hidden"], sim["bias"])
