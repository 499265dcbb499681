"""Show what a NIR file holds: nodes with their types, shapes and parameter counts, edges,
recurrent groups, stored or implied semantics, the nir version that wrote it, and each semantics
knob a run would use (under ``--profile``/``--set``) with where it comes from."""

from __future__ import annotations

import argparse
import json

from snnx.cli.common import add_semantics_arguments, resolution_from

ORDER = 10
HELP = "summarize a .nir file"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``snnx inspect``."""
    parser.add_argument("file", help="the .nir file")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_semantics_arguments(parser, "profile whose semantics to show the knobs of")


def run(args: argparse.Namespace) -> int:
    """Read, check and summarize the file."""
    from snnx.inspection import render_text, summarize
    from snnx.ir.nirfile import read

    graph = read(args.file)
    report = summarize(graph, file=args.file, resolution=resolution_from(graph, args))
    print(json.dumps(report, indent=2) if args.json else render_text(report))
    return 0
