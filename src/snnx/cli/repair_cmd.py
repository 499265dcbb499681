"""Write a repaired copy of a NIR file: an edge endpoint that names no node but is near exactly
one node name (``lif`` where the node is ``lif1``, as in the NIR paper's two ``*_subgraph.nir``
files) is wired to that node. The fix goes to a new file (``-o``), never over the original; each
change is printed. A file with nothing to repair is not copied."""

from __future__ import annotations

import argparse
import os

ORDER = 15
HELP = "write a repaired copy of a .nir file (near-miss edge endpoints)"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``snnx repair``."""
    parser.add_argument("file", help="the .nir file")
    parser.add_argument("-o", "--output", required=True, help="the repaired file to write")


def run(args: argparse.Namespace) -> int:
    """Read with fixes, check, write the new file."""
    from snnx.errors import SnnxError
    from snnx.ir.nirfile import read, write

    if os.path.exists(args.output) and os.path.samefile(args.file, args.output):
        raise SnnxError(f"-o {args.output} is the file itself: repair writes a new file")
    fixes: list[str] = []
    graph = read(args.file, fixes=fixes)
    if not fixes:
        print(f"{args.file}: nothing to repair; nothing written")
        return 0
    write(graph, args.output)
    for fix in fixes:
        print(f"  {fix}")
    print(f"wrote {args.output} ({len(fixes)} fix{'es' if len(fixes) > 1 else ''})")
    return 0
