"""Lower a NIR graph to a hardware target and write what the chip needs: the target's artifact,
the lowered graph (``lowered.nir``), a resource report (``resources.json``) and NeuroBench's
static metrics with the vendor's published cost figures (``metrics.json``).

With ``--adapt``, the lowered network's parameters are then re-fitted under the target's exact
numerics to reproduce the reference (`snnx.adaptation`) on calibration inputs (``--calibration``,
its last quarter held out for the report; else random spike trains at ``--rate`` over
``--steps``), and the artifact holds the adapted parameters; ``adaptation.json`` (and with
``--report`` an HTML report) gives class and per-layer agreement before and after on held-out
inputs, and the time taken."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from snnx.cli.common import (
    add_semantics_arguments,
    parse_options,
    provenance_lines,
    resolution_from,
    semantics_from,
)
from snnx.errors import SnnxError

if TYPE_CHECKING:
    from snnx.adaptation import Adapted
    from snnx.ir.graph import Graph

ORDER = 60
HELP = "compile a .nir graph for a hardware target"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``snnx compile``."""
    parser.add_argument("file", help="the .nir file")
    parser.add_argument("--target", required=True, help="target name (see `snnx targets`)")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to write into")
    add_semantics_arguments(parser, "semantics the graph was trained under")
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="target option, repeatable (see the target's documentation)",
    )
    group = parser.add_argument_group("adaptation")
    group.add_argument(
        "--adapt",
        action="store_true",
        help="re-fit the lowered parameters under the target's numerics to match the reference",
    )
    group.add_argument(
        "--calibration",
        metavar="X.npy",
        help="calibration inputs (T, B, *shape); the last quarter is held out for the report",
    )
    group.add_argument(
        "--adapt-steps", type=int, default=400, metavar="N", help="optimizer steps (default 400)"
    )
    group.add_argument(
        "--samples",
        type=int,
        default=256,
        metavar="N",
        help="random calibration samples, and as many held out (default 256)",
    )
    group.add_argument(
        "--steps", type=int, default=256, help="time steps of random inputs (default 256)"
    )
    group.add_argument(
        "--rate", type=float, default=0.1, help="spike probability of random inputs (default 0.1)"
    )
    group.add_argument("--seed", type=int, default=0, help="seed of adaptation and random inputs")
    group.add_argument(
        "--report", action="store_true", help="also write an HTML report (DIR/report/index.html)"
    )


def run(args: argparse.Namespace) -> int:
    """Lower, write the artifact, the lowered graph and the resource report."""
    from snnx.compiler import compile
    from snnx.ir.nirfile import read

    graph = read(args.file)
    resolution = resolution_from(graph, args)
    options = parse_options(args.option)
    adapted = None
    if args.adapt:
        if options:
            raise SnnxError("--adapt takes the target's default options; drop --option")
        adapted = adapt_from(graph, args)
    elif args.calibration or args.report:
        raise SnnxError("--calibration and --report go with --adapt")
    done = compile(
        graph,
        args.target,
        resolution.semantics,
        output=args.output,
        lowered=None if adapted is None else adapted.lowered,
        **options,
    )
    print(f"compiled {args.file} for {done.target.name} ({done.lowered.semantics.describe()})")
    print("\n".join(f"  {line}" for line in provenance_lines(resolution)))
    for key, value in done.resources.items():
        text = readable(value)
        print(f"  {key}:" + (text if text.startswith("\n") else f" {text}"))
    from snnx.estimates import summary
    from snnx.verification import metric_lines

    for line in [*metric_lines(done.metrics["neurobench"]), *summary(done.metrics["estimates"])]:
        print(f"  {line}")
    for note in done.lowered.notes:
        print(f"  note: {note}")
    if adapted is not None:
        done.files += write_adaptation(adapted, Path(args.output), args.report)
        print(adaptation_text(adapted))
    for path in done.files:
        print(f"wrote {path}")
    return 0


def adapt_from(graph: Graph, args: argparse.Namespace) -> Adapted:
    """Adapt ``graph`` for ``args.target`` on the calibration inputs the arguments name."""
    import numpy as np

    from snnx.adaptation import Settings, adapt, random_spikes
    from snnx.cli.verify_cmd import INPUTS_KEY
    from snnx.ir.shapes import infer_shapes
    from snnx.targets.base import input_name

    flat = graph.flatten()
    shape = tuple(infer_shapes(flat)[input_name(flat)].output)
    if args.calibration:
        try:
            data = np.load(args.calibration, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise SnnxError(f"cannot read an array: {err}", file=args.calibration) from None
        if data.ndim < 2 or data.shape[1] < 2:
            raise SnnxError(
                f"calibration inputs must be (T, B, *shape) with B >= 2, got {data.shape}",
                file=args.calibration,
            )
        cut = data.shape[1] - max(1, data.shape[1] // 4)
        calibration, held_out = data[:, :cut], data[:, cut:]
    else:
        calibration = random_spikes(shape, args.steps, args.samples, args.rate, args.seed)
        held_out = random_spikes(shape, args.steps, args.samples, args.rate, args.seed + 1)
    done = adapt(
        graph,
        args.target,
        semantics_from(graph, args),
        calibration=calibration,
        held_out=held_out,
        settings=Settings(iterations=args.adapt_steps, seed=args.seed),
    )
    # what `snnx verify` of lowered.nir draws random inputs like (`verify_cmd.input_statistics`)
    rate = float(np.mean(np.asarray(calibration) != 0))
    metadata = dict(done.lowered.graph.metadata or {})
    metadata[INPUTS_KEY] = {"steps": int(calibration.shape[0]), "rate": round(rate, 6)}
    done.lowered.graph.metadata = metadata
    return done


def write_adaptation(adapted: Adapted, folder: Path, report: bool) -> list[Path]:
    """``adaptation.json`` (before/after, history), and with ``report`` the HTML report of the
    adapted network's verification with its adaptation section."""
    import json

    from snnx.atomic import atomic_path

    summary = adapted.summary()
    path = folder / "adaptation.json"
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps({**summary, "history": adapted.history}, indent=2))
    written = [path]
    if report:
        from snnx.reports.verification import write_report

        adapted.after.adaptation = summary
        written += write_report(adapted.after, folder / "report")[-1:]
    return written


def adaptation_text(adapted: Adapted) -> str:
    """Before/after lines for the terminal."""
    summary = adapted.summary()
    before, after = summary["before"], summary["after"]
    width = max(len(k) for k in before)
    lines = [f"adaptation on held-out inputs ({adapted.after.batch} samples):"]
    lines += [f"  {k:<{width}}  {before[k]!s:>14} -> {after.get(k)!s}" for k in before]
    lines += [f"  {note}" for note in summary["notes"]]
    return "\n".join(lines)


def readable(value: object) -> str:
    """A resource value as text: a dict as ``key=value`` pairs, a list of dicts one per line.

    >>> readable([{"layer": "1", "neurons": 39}, {"layer": "2", "neurons": 7}])
    '\\n    layer=1, neurons=39\\n    layer=2, neurons=7'
    """
    if isinstance(value, dict):
        return ", ".join(f"{k}={readable(v)}" for k, v in value.items())
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return "".join(f"\n    {readable(v)}" for v in value)
    if isinstance(value, list):
        return ", ".join(readable(v) for v in value)
    return str(value)
