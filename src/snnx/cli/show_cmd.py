"""Draw a NIR graph: nodes in layers from inputs to outputs, subgraphs in labelled boxes,
recurrent edges as red arcs, every edge labelled with what it carries (shape, ``+1 step`` on a
back edge, a Delay's delay). The format follows the output's extension (svg, png or pdf)."""

from __future__ import annotations

import argparse

ORDER = 20
HELP = "draw a .nir graph to an svg, png or pdf file"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``snnx show``."""
    parser.add_argument("file", help="the .nir file")
    parser.add_argument(
        "-o", "--output", required=True, help="the picture to write (.svg, .png, .pdf)"
    )


def run(args: argparse.Namespace) -> int:
    """Read, check and draw the graph."""
    from snnx.ir.nirfile import read
    from snnx.reports.drawing import draw

    draw(read(args.file), args.output)
    print(f"wrote {args.output}")
    return 0
