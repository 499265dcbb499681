"""The fuzz tier at scale: ``--files`` mutated `.nir` files (tests/crosscheck/fuzz/fuzzing.py)
through ``snnx inspect``, and the first ``--deep`` that it accepts through ``simulate`` and
``compile`` for every target, each run in its own process with a deadline and a memory limit.

    PYTHONPATH=src .venv/bin/python benchmarks/fuzz.py --files 10000 --deep 300 --seed 2026

Prints the verdicts per command (ok, hang, internal, wrong), each non-ok run, per-mutation counts
of accepted and refused files, and the time taken; ``--json`` writes them. The counts of the
recorded run are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "crosscheck" / "fuzz"))

import fuzzing


def report(done: int, outcomes: list[fuzzing.Outcome], seen: list[int] = [0]) -> None:  # noqa: B006
    """Each non-ok run as it comes, and every 500 files the counts so far."""
    for outcome in outcomes[seen[0] :]:
        if outcome.verdict != "ok":
            print(f"  {outcome.verdict}: {outcome.command} {outcome.case.path.name}: {outcome.why}")
    seen[0] = len(outcomes)
    if done % 500 == 0:
        print(f"{done} files: {fuzzing.counts(outcomes)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--deep", type=int, default=300, help="accepted files run further")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", help="write the counts and every non-ok run here")
    args = parser.parse_args()
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="snnx-fuzz-") as folder:
        outcomes = fuzzing.campaign(
            args.files, args.seed, folder, deep_runs=args.deep, progress=report
        )
    seconds = time.monotonic() - start
    table = fuzzing.counts(outcomes)
    bad = [
        f"{o.verdict}: {o.command} {o.case.path.name} ({o.case.detail}): {o.why}"
        for o in outcomes
        if o.verdict != "ok"
    ]
    kinds: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for o in outcomes:
        if o.command == "inspect":
            kinds[o.case.mutation]["accepted" if o.why == "exit 0" else "refused"] += 1
    slowest = max(outcomes, key=lambda o: o.seconds)
    print(f"{args.files} files, seed {args.seed}, {seconds / 60:.1f} minutes")
    for command, row in table.items():
        print(f"  {command:9s} " + ", ".join(f"{k} {v}" for k, v in row.items()))
    for kind, row in sorted(kinds.items()):
        print(f"  {kind:13s} accepted {row['accepted']:5d}, refused {row['refused']:5d}")
    print(f"  slowest run: {slowest.command} {slowest.case.path.name} {slowest.seconds:.1f} s")
    print("\n".join(bad) if bad else "no hang, no internal error, no wrong answer")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"counts": table, "mutations": kinds, "bad": bad, "seconds": seconds})
        )


if __name__ == "__main__":
    main()
