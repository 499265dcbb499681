"""Check a compiled model against the reference: run the reference simulator and the target's
exact numerics on the same inputs and compare them layer by layer (exact spike agreement,
spike-count correlation, output-class agreement, first divergence), and for analog chips how
robust the model is to mismatch (``--mismatch N``). Exits with 1 when the output classes agree on
fewer samples than ``--min-agreement``. A data set of many samples runs ``--batch-size`` at a
time (a progress bar; each batch split across all devices, and across processes with
``--coordinator``/``--processes``/``--process-id``, one command per process; process 0 reports).

Given a directory written by `snnx compile` instead of a .nir file, it verifies the artifact as
written there (an adapted one included: `snnx.targets.readback`) against ``lowered.nir``'s
reference; ``--no-artifact`` verifies a fresh lowering of ``lowered.nir`` instead."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from snnx.cli.common import add_semantics_arguments, provenance_lines, resolution_from
from snnx.cli.scale import add_scale_arguments, start_processes

if TYPE_CHECKING:
    from snnx.ir.graph import Graph

ORDER = 70
HELP = "verify a target's numerics against the reference simulator"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``snnx verify``."""
    parser.add_argument("file", help="the .nir file, or a directory `snnx compile` wrote")
    parser.add_argument("--target", required=True, help="target name (see `snnx targets`)")
    parser.add_argument(
        "--no-artifact",
        dest="artifact",
        action="store_false",
        help="with a compiled directory: verify a fresh lowering of its lowered.nir, not the "
        "artifact written there",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--input",
        "--inputs",
        metavar="X.npy",
        help="inputs (T, B, *shape), or a NIRData file (.h5) holding the graph's Input",
    )
    source.add_argument(
        "--random", type=int, metavar="N", default=16, help="N random input samples (default 16)"
    )
    parser.add_argument(
        "--steps",
        type=int,
        help="time steps of random inputs (default: the file's snnx_inputs metadata, else 100)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        help="spike probability of random inputs (default: the file's snnx_inputs, else 0.1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of random inputs")
    add_semantics_arguments(parser, "semantics the graph was trained under")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--report", metavar="DIR", help="also write an HTML report with pictures")
    parser.add_argument(
        "--mismatch",
        type=int,
        default=0,
        metavar="N",
        help="also run N chip instances of the target's analog mismatch model (bss2)",
    )
    parser.add_argument(
        "--spread", type=float, metavar="S", help="relative spread of the mismatch model"
    )
    parser.add_argument(
        "--min-agreement",
        type=float,
        metavar="A",
        help="fail below this class agreement (0-1); the last line then says whether it passed",
    )
    parser.add_argument(
        "--notes",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="list the target's notes on what it rounds (--no-notes: after `snnx compile`, "
        "which prints them)",
    )
    add_scale_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Lower, run both, compare, report."""
    import json

    import numpy as np

    from snnx import nirdata
    from snnx.adaptation.loop import chip_semantics
    from snnx.errors import SnnxError
    from snnx.ir.nirfile import read
    from snnx.ir.shapes import infer_shapes
    from snnx.reports.verification import terminal, verdict, write_report
    from snnx.sim.batches import is_main
    from snnx.targets import get_target
    from snnx.targets.base import input_name
    from snnx.targets.readback import from_directory
    from snnx.verification import verify

    start_processes(args)
    folder = Path(args.file) if Path(args.file).is_dir() else None
    graph = read(args.file if folder is None else folder / "lowered.nir")
    target = get_target(args.target)
    resolution = resolution_from(graph, args)
    semantics = resolution.semantics
    if args.input and nirdata.is_nirdata(args.input):
        found = nirdata.read_inputs(args.input, graph, semantics.dt)
        if len(found) != 1:
            raise SnnxError(f"verify runs graphs with one Input, the data holds {list(found)}")
        inputs = next(iter(found.values()))
    elif args.input:
        try:
            inputs = np.load(args.input, allow_pickle=False, mmap_mode="r")
        except (OSError, ValueError) as err:
            raise SnnxError(f"cannot read an array: {err}", file=args.input) from None
    else:
        shape = infer_shapes(graph.flatten())[input_name(graph.flatten())].output
        steps, rate = input_statistics(graph, args.steps, args.rate)
        rng = np.random.default_rng(args.seed)
        inputs = (rng.uniform(size=(steps, args.random, *shape)) < rate).astype(np.float32)
    if folder is None:
        lowered = target.lower(graph, semantics)
    elif args.artifact:
        lowered = from_directory(folder, target.name, semantics)
    else:
        lowered, _ = chip_semantics(graph, target, semantics)
    result = verify(
        graph,
        target,
        inputs,
        semantics,
        lowered=lowered,
        batch_size=args.batch_size,
        progress=args.batch_size is not None and args.batch_size < inputs.shape[1],
        precision=args.precision,
    )
    result.provenance = resolution.sources
    report = result.to_dict()
    text = "\n".join([terminal(result, args.notes), *provenance_lines(resolution)])
    if args.mismatch:
        if "robustness" not in target.spec.capabilities:
            raise SnnxError(f"target {target.name!r} has no mismatch model")
        reference = result.reference[lowered.output.name]  # the first batch's samples
        first = np.asarray(inputs[:, : reference.shape[1]])
        spread = target.robustness(lowered, first, args.mismatch, args.spread, reference=reference)
        report["mismatch"], text = spread.to_dict(), f"{text}\n{spread.summary()}"
    if not is_main():
        return 0 if result.passed(args.min_agreement or 0.0) else 1
    print(json.dumps(report, indent=2) if args.json else text)
    if args.report:
        written = write_report(result, args.report)
        if not args.json:
            print(f"wrote {written[-1]}")
    if args.min_agreement is not None and not args.json:
        print(verdict(result, args.min_agreement))
    return 0 if result.passed(args.min_agreement or 0.0) else 1


#: Graph metadata naming the input statistics a model expects: ``{"steps": T, "rate": r}``
#: (`snnx compile --adapt` stores those it was calibrated on in ``lowered.nir``).
INPUTS_KEY = "snnx_inputs"


def input_statistics(graph: Graph, steps: int | None, rate: float | None) -> tuple[int, float]:
    """Steps and spike rate of random inputs: the user's, else the graph's ``snnx_inputs``
    metadata, else 100 steps at rate 0.1.

    >>> from snnx.ir import Graph
    >>> g = Graph(metadata={"snnx_inputs": {"steps": 256, "rate": 0.05}})
    >>> input_statistics(g, None, None), input_statistics(g, 50, None)
    ((256, 0.05), (50, 0.05))
    """
    suggested = (graph.metadata or {}).get(INPUTS_KEY) or {}
    if not isinstance(suggested, dict):
        suggested = {}
    steps = steps if steps is not None else int(suggested.get("steps", 100))
    rate = rate if rate is not None else float(suggested.get("rate", 0.1))
    return steps, rate
