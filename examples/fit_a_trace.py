"""Tutorial 4: a trace recorded by another simulator, and the semantics that reproduce it.

The NIR paper ran one LIF neuron (`lif_norse.nir`) in each framework and recorded its input,
voltage and spikes (`lif_<framework>.csv`). The file does not say how to discretise the neuron;
each framework chose. `snnx semantics fit` recovers the choice from the recording alone: the
knobs and dt under which snnx's simulator reproduces the trace, which knobs the trace leaves
open, and the framework profile closest to the fit. The fitted graph is written with its
semantics stored, so `snnx simulate` on the trace's input gives the recorded spikes.

    python examples/fit_a_trace.py --out build/tutorial4 [--figures docs/tutorials/figures]

Needs only snnx (CI: tests/test_tutorial_fit.py, in the unit suite).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from pathlib import Path

import numpy as np

from snnx.cli import main as snnx
from snnx.traces import read_trace

PAPER = Path(
    os.environ.get("SNNX_CONFORMANCE", Path(__file__).resolve().parents[2] / "shared/conformance")
)
#: The recordings to fit: framework -> the graph it ran.
TRACES = {"norse": "lif_norse", "snntorch": "lif_norse", "sinabs": "lif_norse"}


def fit_one(framework: str, graph: str, out: Path) -> dict:
    """Fit ``lif_<framework>.csv``, write the fitted graph, simulate it on the trace's input
    and count the spikes that differ from the recording."""
    folder = PAPER / "nir-paper"
    trace = read_trace(folder / f"lif_{framework}.csv")
    fitted, report = out / f"{framework}.nir", out / f"{framework}.json"
    args = ["semantics", "fit", str(folder / f"{graph}.nir"), "--trace"]
    args += [str(folder / f"lif_{framework}.csv"), "--json", "-o", str(fitted)]
    with open(report, "w") as handle, contextlib.redirect_stdout(handle):
        assert snnx(args) == 0
    found = json.loads(report.read_text())
    np.save(out / f"{framework}_input.npy", trace.input[:, None, :].astype(np.float32))
    spikes_file = out / f"{framework}_run.npz"
    run_args = ["simulate", str(fitted), "--input", str(out / f"{framework}_input.npy")]
    assert snnx([*run_args, "--record", "1", "-o", str(spikes_file)]) == 0
    run = np.load(spikes_file)
    spikes = run["output"][:, 0, :]
    return {
        "mismatches": int(np.abs(spikes - trace.spikes).sum()),
        "trace_spikes": int(trace.spikes.sum()),
        "determined": found["determined"],
        "undetermined": sorted(found["undetermined"]),
        "closest_profile": found["closest_profile"]["name"],
        "profiles": found["profiles"],
        "v": run["1.v"][:, 0, 0].tolist(),
        "v_trace": None if trace.v is None else trace.v[:, 0].tolist(),
        "v_scale": found["residual"]["v_scale"],
    }


def figure(results: dict, path: Path) -> None:
    """Recorded and fitted voltage of each trace (the recording divided by its fitted scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(results), 1, figsize=(8, 2.2 * len(results)), sharex=True)
    for ax, (name, r) in zip(np.atleast_1d(axes), results.items(), strict=True):
        if r["v_trace"] is not None:
            ax.plot(np.asarray(r["v_trace"]) / r["v_scale"], lw=2.5, alpha=0.5, label="recorded")
        ax.plot(r["v"], lw=1, color="k", label="snnx, fitted semantics")
        ax.set_ylabel(f"{name}\nv")
        ax.set_title(
            f"{name}: closest profile {r['closest_profile']}, "
            f"{r['mismatches']} of {r['trace_spikes']} spikes differ",
            fontsize=9,
        )
    np.atleast_1d(axes)[0].legend(fontsize=8)
    np.atleast_1d(axes)[-1].set_xlabel("step")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    """Fit each recording, then write ``summary.json`` and the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/tutorial4"))
    parser.add_argument("--figures", type=Path, default=None)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results = {name: fit_one(name, graph, args.out) for name, graph in TRACES.items()}
    for name, r in results.items():
        print(
            f"{name}: {r['mismatches']} of {r['trace_spikes']} spikes differ; closest profile "
            f"{r['closest_profile']}; determined {r['determined']}"
        )
    if args.figures is not None:
        args.figures.mkdir(parents=True, exist_ok=True)
        figure(results, args.figures / "t4_fit_a_trace.png")
    summary = {
        name: {k: v for k, v in r.items() if k not in ("v", "v_trace")}
        for name, r in results.items()
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
