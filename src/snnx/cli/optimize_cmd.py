"""Run compiler passes over a NIR graph: by level (``-O0`` checks, ``-O1`` cleans up, ``-O2``
also inlines subgraphs and folds) or by name (``--passes a,b``), logging what each changed. With
``--check-equivalence`` both graphs are simulated on random inputs after every pass and must agree
(an exact pass spike for spike; quantization reports its agreement)."""

from __future__ import annotations

import argparse

from snnx.cli.common import add_semantics_arguments, parse_options, semantics_from

ORDER = 45
HELP = "run compiler passes (fusion, clean-up, delays, quantization) over a .nir graph"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``snnx optimize``."""
    parser.add_argument("file", help="the .nir file")
    parser.add_argument("-o", "--output", required=True, help="the .nir file to write")
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--passes", help="comma-separated pass names (see --list)")
    for level in ("O0", "O1", "O2"):
        chosen.add_argument(
            f"-{level}",
            dest="level",
            action="store_const",
            const=level,
            help=f"the {level} pipeline",
        )
    add_semantics_arguments(
        parser, "semantics to check equivalence under and for passes that need it"
    )
    parser.add_argument(
        "--check-equivalence", action="store_true", help="simulate before and after each pass"
    )
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="pass option (bits=6, preset=loihi, ...)",
    )


def run(args: argparse.Namespace) -> int:
    """Read, run the passes, report, write."""
    from snnx.ir.nirfile import read, write
    from snnx.passes import optimize

    graph = read(args.file)
    semantics = semantics_from(graph, args)
    options = parse_options(args.option)
    passes = [p.strip() for p in args.passes.split(",") if p.strip()] if args.passes else None
    result, records = optimize(
        graph,
        passes,
        level=args.level or "O1",
        semantics=semantics,
        check_equivalence=args.check_equivalence,
        options=options,
    )
    for record in records:
        print(f"{record.name}: {record.nodes_before} -> {record.nodes_after} nodes")
        for change in record.changes:
            print(f"    {change}")
        for reason in record.skipped:
            print(f"    (left alone) {reason}")
        for output, compared in (record.equivalence or {}).items():
            if output != "exact":
                print(
                    f"    {output}: spike agreement {compared['spike_agreement']}, max difference {compared['max_difference']:.3g}"
                )
    if args.profile or args.dt is not None:
        result.semantics = semantics  # what the rewrites assumed travels with the graph
    write(result, args.output)
    print(f"wrote {args.output}")
    return 0
