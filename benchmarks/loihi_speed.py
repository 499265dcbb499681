"""snnx's Loihi numerics against Lava's own CPU simulation, per sample-step, on the same network.

    make .venvs/lava/.installed     # or: bash ci/tiers/lava/install.sh .venvs/lava
    .venvs/lava/bin/python benchmarks/loihi_speed.py [--steps 256] [--batch 64] [--repeat 5]

Two networks, each compiled to ``model.net`` by snnx: a 12-40-7 CubaLIF feed-forward network
(DESIGN.md's reference point for Lava's speed) and the NIR paper's Braille network (12-38-7,
recurrent, with its bias line). Lava runs ``netx.hdf5.Network`` under
``Loihi2SimCfg(select_tag="fixed_pt")`` one sample at a time (it has no batch): its time per
step is taken from the fastest of several further ``run`` calls of ``T`` steps, after a first one
paid for compiling and starting the workers. snnx runs the same file's program on ``B`` samples
at once, jit-compiled (the fastest of ``--repeat`` calls after one that compiles, inputs in and
numpy spikes out). The machine is shared: fastest-of-N is the figure least disturbed by others. Both in this one process; the spikes of the
first sample are checked identical before timing. Printed: milliseconds per sample-step and
the ratio.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "crosscheck" / "lava"))

import lavarun  # noqa: E402

lavarun.import_lava()

import snnx  # noqa: E402
from snnx.ir import Graph, Node  # noqa: E402
from snnx.targets import get_target  # noqa: E402
from snnx.targets.loihi import artifact, numerics  # noqa: E402


def feedforward(rng) -> Graph:
    """12-40-7 CubaLIF, snnTorch-style gains (weights in threshold units)."""

    def cuba(n):
        return Node(
            "CubaLIF",
            tau_syn=np.full(n, 4e-4),
            tau_mem=np.full(n, 1e-3),
            r=np.full(n, 10.0),
            w_in=np.full(n, 4.0),
            v_leak=np.zeros(n),
            v_threshold=np.ones(n),
            v_reset=np.zeros(n),
        )

    return Graph.sequential(
        {
            "input": Node("Input", shape=[12]),
            "fc1": Node("Linear", weight=rng.normal(0.2, 0.6, (40, 12))),
            "lif1": cuba(40),
            "fc2": Node("Linear", weight=rng.normal(0.1, 0.4, (7, 40))),
            "lif2": cuba(7),
            "output": Node("Output", shape=[7]),
        }
    )


def lava_ms_per_step(path: str, spikes: np.ndarray, repeat: int, warm: int = 16) -> float:
    """Lava's steady-state milliseconds per step (one sample): the fastest of ``repeat`` runs of
    ``T`` steps after a first run of ``warm`` steps."""
    from lava.lib.dl import netx
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source

    steps = spikes.shape[0]
    net = netx.hdf5.Network(net_config=path)
    source = Source(data=spikes.T.astype(np.int32))
    source.s_out.connect(net.inp)
    sink = Sink(shape=net.out.shape, buffer=steps)
    net.out.connect(sink.a_in)
    config = Loihi2SimCfg(select_tag="fixed_pt")
    times = []
    try:
        net.run(condition=RunSteps(num_steps=warm), run_cfg=config)
        for _ in range(repeat):
            start = time.perf_counter()
            net.run(condition=RunSteps(num_steps=steps), run_cfg=config)
            times.append(time.perf_counter() - start)
    finally:
        net.stop()
    return min(times) * 1e3 / steps


def snnx_ms_per_sample_step(program, data: np.ndarray, repeat: int) -> float:
    """The fastest of ``repeat`` calls of `numerics.run` (inputs to numpy spikes out), per
    sample-step, after one call that compiles."""
    numerics.run(program, data)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        numerics.run(program, data)
        times.append(time.perf_counter() - start)
    return min(times) * 1e3 / (data.shape[0] * data.shape[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=256)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=20, help="snnx calls (Lava: a quarter)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    braille = snnx.read(snnx.example_path("braille"))
    networks = {"12-40-7 CubaLIF": feedforward(rng), "Braille 12-38-7 recurrent": braille}
    semantics = snnx.Semantics.profile("snntorch")
    print(f"T={args.steps}, snnx batch {args.batch}; Lava runs one sample at a time")
    print(f"{'network':<28} {'Lava ms/step':>13} {'snnx ms/sample-step':>20} {'ratio':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, graph in networks.items():
            lowered = get_target("loihi").lower(graph, semantics)
            path = str(Path(tmp) / "model.net")
            artifact.write(lowered.program, path)
            program = artifact.read(path)
            data = (rng.uniform(size=(args.steps, args.batch, 12)) < 0.2).astype(np.float32)
            model_input = numerics.feed(program, data)[:, 0]
            check = lavarun.run(path, model_input)
            ours = numerics.run(program, data[:, :1], full=True)
            for layer in program.layers:
                assert np.array_equal(check[layer.index]["s"], ours[layer.name]["s"][:, 0])
            lava = lava_ms_per_step(path, model_input, max(args.repeat // 4, 1))
            mine = snnx_ms_per_sample_step(program, data, args.repeat)
            print(f"{name:<28} {lava:>13.3f} {mine:>20.6f} {lava / mine:>8.0f}x")


if __name__ == "__main__":
    main()
