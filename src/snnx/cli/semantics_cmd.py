"""Work with the semantics a graph runs under: ``snnx semantics fit`` finds them from a recorded
trace."""

from __future__ import annotations

import argparse
import json

ORDER = 35
FIT = """Find the knobs (and dt) under which snnx's simulator reproduces a trace recorded by another
simulator or a chip: a ``.csv`` or ``.npz`` with the input fed to the graph, the spikes it gave
and, optionally, the membrane voltage of the neuron driving the Output (`snnx.traces`; the NIR
paper's ``lif_*.csv`` are such traces). Prints the best match, its residual (spike mismatches;
voltage RMS, up to a fitted scale, where v is recorded), the knobs the trace determines and
those it leaves open, and the profiles that match equally well (`snnx.fitting`). ``-o OUT.nir``
writes the graph with the fitted semantics stored (``snnx_semantics``), so that ``snnx simulate
OUT.nir`` on the trace's input reproduces its spikes; the fit is simulated once more that way
first, and the file is not written if it does not reproduce them."""
HELP = "fit semantics to a recorded trace (snnx semantics fit)"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``snnx semantics``: one subcommand, ``fit``."""
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    fit = actions.add_parser(
        "fit",
        help="find the knobs and dt under which snnx reproduces a recorded trace",
        description=FIT,
    )
    fit.add_argument("file", help="the .nir file the trace was recorded from")
    fit.add_argument(
        "--trace",
        required=True,
        metavar="TRACE",
        help="the recording: .csv (columns time, input, v, spike) or .npz",
    )
    fit.add_argument(
        "--dt",
        type=float,
        action="append",
        metavar="DT",
        help="a time step to try, in seconds (replaces the default candidates: the trace's "
        "time column, 1e-4, 1e-3 and each profile's dt).",
    )
    fit.add_argument(
        "-o", "--output", metavar="OUT.nir", help="write the graph with the fit stored"
    )
    fit.add_argument("--json", action="store_true", help="print the fit as JSON")


def run(args: argparse.Namespace) -> int:
    """Read the graph and trace, fit, report, and write ``-o``."""
    import sys

    from snnx.errors import SnnxError
    from snnx.fitting import Fitter, describe
    from snnx.ir.nirfile import read, write
    from snnx.traces import read_trace

    graph = read(args.file)
    trace = read_trace(args.trace)
    try:
        fitter = Fitter(graph, trace, tuple(args.dt) if args.dt else None)
    except SnnxError as err:
        raise err.located(file=err.file or args.file) from None
    progress = None if args.json else lambda text: print(f"  {text}", file=sys.stderr)
    found = fitter.fit(progress)
    report = {"file": args.file, "trace": args.trace, **found.to_json()}
    if args.output:
        check = fitter.verify(found.semantics)
        if check.spikes != found.residual.spikes:
            raise SnnxError(
                f"the fitted semantics give {check.spikes:g} spike mismatches when simulated "
                f"alone, {found.residual.spikes:g} in the search; not written",
                file=args.output,
            )
        graph.semantics = found.semantics
        write(graph, args.output)
        report["written"] = args.output
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(describe(found))
        if args.output:
            print(f"wrote {args.output} (semantics stored under snnx_semantics)")
    return 0
