"""Lower a NIR graph to a hardware target and write what the chip needs: the target's artifact,
the lowered graph (``lowered.nir``), a resource report (``resources.json``) and NeuroBench's
static metrics with the vendor's published cost figures (``metrics.json``)."""

from __future__ import annotations

import argparse

from snnx.cli.common import (
    add_semantics_arguments,
    parse_options,
    provenance_lines,
    resolution_from,
)

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


def run(args: argparse.Namespace) -> int:
    """Lower, write the artifact, the lowered graph and the resource report."""
    from snnx.compiler import compile
    from snnx.ir.nirfile import read

    graph = read(args.file)
    resolution = resolution_from(graph, args)
    done = compile(
        graph,
        args.target,
        resolution.semantics,
        output=args.output,
        **parse_options(args.option),
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
    for path in done.files:
        print(f"wrote {path}")
    return 0


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
