"""Show what a NIR file holds: nodes with their types, shapes and parameter counts, edges,
recurrent groups, stored or implied semantics, and the nir version that wrote it."""

from __future__ import annotations

import argparse
import json

ORDER = 10
HELP = "summarize a .nir file"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``snnx inspect``."""
    parser.add_argument("file", help="the .nir file")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    """Read, check and summarize the file."""
    from snnx.inspection import render_text, summarize
    from snnx.ir.nirfile import read

    graph = read(args.file)
    report = summarize(graph, file=args.file)
    print(json.dumps(report, indent=2) if args.json else render_text(report))
    return 0
