"""One markdown page from what `run.sh` measured: the benchmark table per precision (medians,
ratios to the best hand-written JAX and the forward call's ratio to its program), the
precision disagreement with the CPU, and the test step's last line.

    python benchmarks/gpu/summarize.py OUT_DIR > OUT_DIR/summary.md
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def ms(row: dict | None) -> str:
    if not row or "median_s" not in row:
        return "-"
    value = row["median_s"] * 1e3
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def bench_table(data: dict) -> list[str]:
    lines = [
        f"Device: {data.get('device')}; precision `{data.get('precision')}`; "
        f"{data.get('repeats')} rounds; versions: "
        + ", ".join(f"{k} {v}" for k, v in data.get("versions", {}).items()),
        "",
        "| workload | snnx fwd / fwd+bwd ms | best hand-written JAX fwd / fwd+bwd ms | snnx / hand "
        "fwd, fwd+bwd | forward call / program | snnTorch fwd / fwd+bwd ms |",
        "|---|---|---|---|---|---|",
    ]
    for key, w in data.get("workloads", {}).items():
        if "check_failed" in w:
            lines.append(f"| {key}: {w['title']} | CHECK FAILED: {w['check_failed']} |||||")
            continue
        impls, best = w["impls"], w["best_hand"]
        snnx = impls.get("snnx", {})
        hand_f, hand_b = impls[best["fwd"]].get("fwd"), impls[best["bwd"]].get("bwd")
        ratio = "/".join(
            f"x{snnx[m]['ratio_to_best_hand']:.2f}" if snnx.get(m) else "-" for m in ("fwd", "bwd")
        )
        call = w.get("call_vs_program")
        peer = impls.get("snntorch", {})
        lines.append(
            f"| {key}: {w['title']} | {ms(snnx.get('fwd'))} / {ms(snnx.get('bwd'))} | "
            f"{ms(hand_f)} ({best['fwd']}) / {ms(hand_b)} ({best['bwd']}) | {ratio} | "
            f"{'-' if call is None or call != call else f'x{call:.2f}'} | "
            f"{ms(peer.get('fwd'))} / {ms(peer.get('bwd'))} |"
        )
    return lines


def precision_table(data: dict) -> list[str]:
    lines = [
        f"Reference spikes on {data['device']['devices']} against the CPU's (a float tie: the "
        f"first divergence of a sample within {data['tie_ulps']} ulps of a threshold):",
        "",
        "| workload | mode | output entries differing | samples diverging | first at a tie | "
        "largest first margin (ulps) |",
        "|---|---|---|---|---|---|",
    ]
    for key, modes in data["workloads"].items():
        for mode, r in modes.items():
            lines.append(
                f"| {key}: {r['title']} | {mode} | {r['output_entries_differing']:,} of "
                f"{r['output_entries']:,} | {r['samples_diverging']} of {r['samples']} | "
                f"{r['first_divergences_at_ties']} | {r['largest_first_divergence_margin_ulps']} |"
            )
    return lines


def main(out: Path) -> str:
    lines = ["# snnx on the GPU (benchmarks/gpu/run.sh)", ""]
    precision = out / "precision.json"
    if precision.exists():
        lines += ["## Precision", "", *precision_table(json.loads(precision.read_text())), ""]
    for mode in ("highest", "fast"):
        path = out / f"bench_{mode}.json"
        if path.exists():
            lines += [f"## Benchmark, precision {mode}", ""]
            lines += [*bench_table(json.loads(path.read_text())), ""]
    tests = out / "pytest.log"
    if tests.exists():
        last = [x for x in tests.read_text().splitlines() if x.strip()][-1:]
        lines += ["## Tests (JAX_PLATFORMS=cpu)", "", *last, ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main(Path(sys.argv[1])))
