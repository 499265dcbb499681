"""How far the reference's spikes on one device are from the CPU's, at each precision.

    JAX_PLATFORMS=cpu python benchmarks/gpu/precision.py compute --out DIR --modes highest
    python benchmarks/gpu/precision.py compute --out DIR --modes highest fast
    python benchmarks/gpu/precision.py compare --cpu DIR --device DIR --json out.json

``compute`` runs each benchmark workload's graph (`workloads`) forward in
`snnx.sim.Simulator` under its profile at each precision mode on JAX's default device, recording
every spiking node's spikes and margins (`snnx.sim.executor`: each decision's distance from its
threshold in float spacings), and saves them per workload and mode. ``compare`` counts, for each
device mode against the CPU: the output spikes that differ (the figure of issue 18), the samples
in which any spiking node differs, and for each such sample its *first* divergence (the earliest
step, and in it the first node in flow order that differs): the largest CPU margin there, in
ulps. A first divergence within `snnx.verification.TIE_ULPS` is a float tie; later differences in
the same sample follow from it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))
try:
    import snnx  # noqa: F401
except ImportError:
    sys.path.insert(0, str(HERE.parent / "src"))

from workloads import KEYS, build  # noqa: E402

SPIKING = ("IF", "LIF", "CubaLIF")


def spiking_nodes(graph) -> list[str]:
    """The graph's spiking nodes in flow order (nested names as the simulator records them)."""
    flat = graph.flatten()
    return [n for n in flat.flow_order() if flat[n].type in SPIKING]


def compute(args) -> None:
    import jax

    from snnx.sim import Simulator

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    platform = jax.default_backend()
    for key in args.workloads:
        wl = build(key, args.quick, args.linear_n)
        nodes = spiking_nodes(wl.graph)
        for mode in args.modes:
            start = time.perf_counter()
            sim = Simulator(wl.graph, wl.profile, record=nodes, margins=True, precision=mode)
            outputs, records = sim.forward(wl.x)
            keep = {"output": np.asarray(next(iter(outputs.values())))}
            for node in nodes:  # only these are copied from the device
                keep[f"{node}.out"] = np.asarray(records[f"{node}.out"])
                keep[f"{node}.margin"] = np.asarray(records[f"{node}.margin"])
            np.savez(out / f"{key}-{mode}.npz", **keep)
            took = time.perf_counter() - start
            print(f"precision: workload {key} {mode} on {platform}: {took:.1f} s", flush=True)
    (out / "meta.json").write_text(
        json.dumps({"platform": platform, "devices": str(jax.devices())})
    )


def first_divergences(cpu, device, nodes: list[str]) -> tuple[int, list[float]]:
    """Samples in which any spiking node differs, and for each the largest CPU margin (ulps)
    among the entries that differ at its first divergence."""
    steps, batch = cpu[f"{nodes[0]}.out"].shape[:2]
    differ = {n: (cpu[f"{n}.out"] != device[f"{n}.out"]).reshape(steps, batch, -1) for n in nodes}
    margins = []
    diverged = 0
    for b in range(batch):
        rows = {n: d[:, b].any(axis=1) for n, d in differ.items()}
        if not any(r.any() for r in rows.values()):
            continue
        diverged += 1
        step = min(int(np.argmax(r)) for r in rows.values() if r.any())
        node = next(n for n in nodes if rows[n][step])
        where = differ[node][step, b]
        margin = cpu[f"{node}.margin"].reshape(steps, batch, -1)[step, b][where]
        margins.append(float(np.max(np.abs(margin))))
    return diverged, margins


def compare(args) -> dict:
    from snnx.verification import TIE_ULPS

    cpu_dir, dev_dir = Path(args.cpu), Path(args.device)
    meta = json.loads((dev_dir / "meta.json").read_text())
    report = {"device": meta, "tie_ulps": TIE_ULPS, "workloads": {}}
    for path in sorted(dev_dir.glob("*.npz")):
        key, mode = path.stem.split("-", 1)
        reference = cpu_dir / f"{key}-highest.npz"
        if not reference.exists():
            continue
        wl = build(key, args.quick, args.linear_n)
        nodes = spiking_nodes(wl.graph)
        with np.load(reference) as cpu, np.load(path) as dev:
            cpu, dev = dict(cpu), dict(dev)
        differ = int(np.count_nonzero(cpu["output"] != dev["output"]))
        diverged, margins = first_divergences(cpu, dev, nodes)
        ties = sum(m <= TIE_ULPS for m in margins)
        row = {
            "title": wl.title,
            "output_entries": int(cpu["output"].size),
            "output_entries_differing": differ,
            "samples": int(cpu["output"].shape[1]),
            "samples_diverging": diverged,
            "first_divergences_at_ties": ties,
            "largest_first_divergence_margin_ulps": max(margins, default=None),
        }
        report["workloads"].setdefault(key, {})[mode] = row
        print(
            f"precision: workload {key} {mode}: {differ}/{row['output_entries']} output entries "
            f"differ from the CPU; {diverged}/{row['samples']} samples diverge, {ties} of them "
            f"first at a float tie (<= {TIE_ULPS} ulps; largest first margin "
            f"{row['largest_first_divergence_margin_ulps']})",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("compute", "compare"):
        p = sub.add_parser(name)
        p.add_argument("--workloads", nargs="+", default=["1", "2", "3", "4", "6"], choices=KEYS)
        p.add_argument("--quick", action="store_true", help="T / 5 (a smoke test)")
        p.add_argument("--linear-n", type=int, default=16384, help="workload 6's width")
    sub.choices["compute"].add_argument("--out", required=True)
    sub.choices["compute"].add_argument("--modes", nargs="+", default=["highest", "fast"])
    sub.choices["compare"].add_argument("--cpu", required=True)
    sub.choices["compare"].add_argument("--device", required=True)
    sub.choices["compare"].add_argument("--json")
    args = parser.parse_args(argv)
    if args.command == "compute":
        compute(args)
    else:
        compare(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
