"""Tutorial 1: from snnTorch to Loihi 2 -- train, convert, simulate, compile, verify, deploy.

A small recurrent network (`task.py`) is trained in snnTorch on a generated task, converted
with `snnx convert`, simulated with `snnx simulate` on test data in nir's own NIRData format,
compiled with `snnx compile --target loihi`, checked with `snnx verify`, and finally run in real
Lava (lava-nc 0.10, lava-dl's netx loader) from the compiled `model.net`.

    python examples/snntorch_to_loihi.py --out build/tutorial1 [--figures docs/tutorials/figures]

Runs in the `lava` tier's environment (Lava, snnTorch and snnx side by side; CI:
tests/crosscheck/lava/test_tutorial.py). Each step asserts what it shows:

- the trained snnTorch network classifies held-out samples (>= 90 %);
- snnx simulates the converted graph spike for spike as snnTorch runs it;
- Loihi's integer numerics agree with the reference on >= 90 % of the output classes;
- Lava runs `model.net` spike for spike as snnx's Loihi numerics do, and classifies as well.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import task  # noqa: E402

DT = 1e-4  # snnTorch's time step, as its models are imported
GAP = 20  # silent steps between samples in the Lava stream, so that states settle


def snnx_cli(*args: str) -> str:
    """Run one `snnx` command (as a user would type it); its output."""
    env = {**os.environ, "PYTHONPATH": f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run(
        [sys.executable, "-m", "snnx", *args], capture_output=True, text=True, env=env
    )
    if done.returncode not in (0, 1) or (done.returncode and "verify" not in args):
        raise RuntimeError(f"snnx {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def write_nirdata(path: Path, name: str, spikes: np.ndarray) -> None:
    """Time-major spikes ``(T, B, N)`` as NIRData for the Input ``name``."""
    import nir

    grid = nir.TimeGriddedData(np.ascontiguousarray(spikes.swapaxes(0, 1) > 0), DT)
    nir.write_data(str(path), nir.NIRGraphData({name: nir.NIRNodeData({"spikes": grid})}))


def read_nirdata(path: Path, name: str, observable: str = "spikes") -> np.ndarray:
    import nir

    return nir.read_data(str(path)).nodes[name].observables[observable].data.swapaxes(0, 1)


def train(out: Path, figures: Path | None) -> tuple:
    import torch

    torch.set_num_threads(1)
    net = task.build()
    losses = task.train(net)
    torch.save(net.state_dict(), out / "state.pt")
    x, labels = task.make_task(128, seed=7)
    with torch.no_grad():
        spikes = task.run(net, x).numpy()
    accuracy = task.accuracy(spikes, labels)
    print(f"1. trained in snnTorch: test accuracy {accuracy:.1%}")
    assert accuracy >= 0.9, accuracy
    if figures:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 2.6))
        ax.plot(losses)
        ax.set_xlabel("iteration")
        ax.set_ylabel("cross-entropy")
        ax.set_title("training in snnTorch")
        fig.tight_layout()
        fig.savefig(figures / "t1_loss.png", dpi=100)
        plt.close(fig)
    return x, labels, spikes, accuracy


def deploy_in_lava(net_file: Path, x: np.ndarray, labels: np.ndarray, figures: Path | None):
    """Run ``model.net`` in Lava on the samples one after another (with silent gaps), and the
    same stream through snnx's Loihi numerics; both must spike alike."""
    from lava.lib.dl import netx
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source

    from snnx.targets.loihi import artifact, numerics

    program = artifact.read(net_file)
    samples = x.shape[1]
    period = task.STEPS + GAP
    stream = np.zeros((samples * period, 1, task.INPUTS), np.float32)
    for i in range(samples):
        stream[i * period : i * period + task.STEPS, 0] = x[:, i]
    expected = numerics.run(program, stream)[program.layers[-1].name][:, 0]

    net = netx.hdf5.Network(net_config=str(net_file))
    feed = numerics.feed(program, stream)[:, 0].T.astype(np.int32)  # (inputs + bias line, T)
    source = Source(data=feed)
    sink = Sink(shape=net.out.shape, buffer=len(stream))
    source.s_out.connect(net.inp)
    net.out.connect(sink.a_in)
    net.run(condition=RunSteps(num_steps=len(stream)), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
    lava = sink.data.get().T.astype(np.int64)  # (T, outputs)
    net.stop()

    assert lava.shape == expected.shape, (lava.shape, expected.shape)
    differ = int(np.count_nonzero(lava != expected))
    latency = program.layers[-1].latency
    counts = np.stack(
        [
            lava[i * period + latency : i * period + latency + task.STEPS].sum(0)
            for i in range(samples)
        ]
    )
    accuracy = float(np.mean(counts.argmax(-1) == labels))
    print(
        f"6. real Lava ran model.net on {samples} samples ({len(stream)} steps): "
        f"{differ} spikes differ from snnx's Loihi numerics; accuracy {accuracy:.1%}"
    )
    assert differ == 0
    if figures:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(9, 2.4))
        steps, neurons = np.nonzero(lava[: 6 * period])
        ax.scatter(steps, neurons, marker="|", color="black", s=20)
        for i in range(6):
            ax.axvspan(i * period, i * period + task.STEPS, color="#eee", zorder=0)
            ax.text(i * period + 2, 2.6, f"class {labels[i]}", fontsize=8)
        ax.set_yticks(range(task.CLASSES))
        ax.set_xlabel("Lava time step")
        ax.set_ylabel("output neuron")
        ax.set_title("model.net in Lava (Loihi2SimCfg, fixed_pt): six test samples")
        fig.tight_layout()
        fig.savefig(figures / "t1_lava.png", dpi=100)
        plt.close(fig)
    return accuracy, differ


def main(out: Path, figures: Path | None) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    if figures:
        figures.mkdir(parents=True, exist_ok=True)
    x, labels, torch_spikes, torch_accuracy = train(out, figures)

    # 2. convert: the model's factory and trained weights -> a .nir file
    snnx_cli("convert", "--torch", "task:build", "--weights", str(out / "state.pt"),
             "--shape", str(task.INPUTS), "-o", str(out / "model.nir"))  # fmt: skip
    import snnx

    graph = snnx.read(out / "model.nir")
    (input_name,) = graph.inputs
    print(f"2. converted: {len(graph.nodes)} nodes, semantics {graph.semantics.describe()}")

    # 3. simulate the test set, given and returned as NIRData
    write_nirdata(out / "test.h5", input_name, x)
    flat = graph.flatten()  # the hidden LIF sits in snnTorch's RLeaky subgraph: "1.lif"
    neurons = [n for n in flat.nodes if flat[n].type == "LIF"]
    snnx_cli("simulate", str(out / "model.nir"), "--input", str(out / "test.h5"),
             "--record", *neurons, "-o", str(out / "simulated.h5"))  # fmt: skip
    (output_name,) = graph.outputs
    simulated = read_nirdata(out / "simulated.h5", output_name)
    differ = int(np.count_nonzero(simulated != torch_spikes))
    print(f"3. snnx simulate: {differ} of {simulated.size} output entries differ from snnTorch")
    assert differ == 0

    # 4. compile for Loihi 2
    print(
        snnx_cli("compile", str(out / "model.nir"), "--target", "loihi", "-o", str(out / "loihi"))
    )
    print("4. compiled: " + ", ".join(sorted(p.name for p in (out / "loihi").iterdir())))

    # 5. verify: the reference against Loihi's integer numerics, on the same test data
    report = json.loads(
        snnx_cli(
            "verify",
            str(out / "model.nir"),
            "--target",
            "loihi",
            "--input",
            str(out / "test.h5"),
            "--report",
            str(out / "report"),
            "--json",
        )
    )
    agreement = report["class_agreement"]
    print(f"5. snnx verify: output class agreement {agreement:.1%}")
    assert agreement >= 0.9, agreement

    lava_accuracy, lava_differ = deploy_in_lava(
        out / "loihi" / "model.net", x[:, :32], labels[:32], figures
    )
    assert lava_accuracy >= 0.85, lava_accuracy

    if figures:
        from snnx.reports.rasters import plot_rasters

        snnx_cli("show", str(out / "model.nir"), "-o", str(figures / "t1_graph.png"))
        hidden = neurons[0]
        states = read_nirdata(out / "simulated.h5", hidden)
        plot_rasters(
            {"input": x, f"hidden ({hidden})": states, "output": simulated},
            figures / "t1_rasters.png",
        )
        shutil.copy(out / "report" / "over_time.png", figures / "t1_agreement.png")
    summary = {
        "snntorch_accuracy": torch_accuracy,
        "snnx_vs_snntorch_differing": differ,
        "loihi_class_agreement": agreement,
        "lava_vs_numerics_differing": lava_differ,
        "lava_accuracy": lava_accuracy,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for every file made")
    parser.add_argument("--figures", type=Path, help="also draw the tutorial's figures here")
    args = parser.parse_args()
    print(json.dumps(main(args.out, args.figures), indent=2))
