"""Lower a NIR graph to a hardware target and write what the chip needs: the target's artifact,
the lowered graph (``lowered.nir``) and a resource report (``resources.json``)."""

from __future__ import annotations

import argparse

from snnx.cli.common import add_semantics_arguments, parse_options, semantics_from

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
    import json

    from snnx.atomic import atomic_path
    from snnx.ir.nirfile import read, write
    from snnx.targets import get_target
    from snnx.targets.base import as_path

    graph = read(args.file)
    target = get_target(args.target)
    lowered = target.lower(graph, semantics_from(graph, args), **parse_options(args.option))
    folder = as_path(args.output)
    files = target.write(lowered, folder)
    lowered.graph.semantics = lowered.semantics
    write(lowered.graph, folder / "lowered.nir")
    resources = target.resources(lowered)
    with atomic_path(folder / "resources.json") as tmp:
        tmp.write_text(json.dumps(resources, indent=2, default=str))
    print(f"compiled {args.file} for {target.name} ({lowered.semantics.describe()})")
    for key, value in resources.items():
        print(f"  {key}: {value}")
    for note in lowered.notes:
        print(f"  note: {note}")
    for path in [*files, folder / "lowered.nir", folder / "resources.json"]:
        print(f"wrote {path}")
    return 0
