"""Run a NIR graph in the reference simulator.

Inputs are time-major arrays ``(T, B, *shape)`` in ``.npy`` files (``--input x.npy`` for a graph with
one Input, ``--input NAME=x.npy`` per Input otherwise), a NIRData file naming the Inputs
(``--input data.h5``: `snnx.nirdata`; its time grid must be the semantics' dt), or Bernoulli
spike trains (``--random-input RATE`` with ``--steps`` and ``--batch``). The output ``.npz``
holds one array per Output node, named as the node, plus ``NODE.STATE`` (``NODE.v``, ``NODE.i``,
``NODE.out``) for each recorded node; ``-o out.h5`` writes the same as NIRData, with the inputs
(so the file runs again with ``--input out.h5``).

Spike trains are saved compactly (``bool``, or ``uint8`` counts). A data set of many samples
runs ``--batch-size`` at a time with a progress bar, each batch split across all devices (and
across processes with ``--coordinator``/``--processes``/``--process-id``, one command per
process; process 0 writes the file)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from snnx.cli.common import add_semantics_arguments, provenance_lines, resolution_from
from snnx.cli.scale import add_scale_arguments, start_processes

if TYPE_CHECKING:
    from snnx.ir.graph import Graph


ORDER = 30
HELP = "simulate a .nir graph on given or random inputs"
CHUNK = 1000  # steps per jitted call on long runs, so a progress bar can follow


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``snnx simulate``."""
    parser.add_argument("file", help="the .nir file")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--input",
        action="append",
        metavar="[NAME=]X.npy",
        help="input array (T, B, *shape), or a NIRData file (.h5) holding every Input",
    )
    source.add_argument(
        "--random-input",
        type=float,
        metavar="RATE",
        help="Bernoulli spikes with this probability per step",
    )
    parser.add_argument(
        "--steps",
        type=int,
        help="time steps (required with --random-input; else a prefix of the input)",
    )
    parser.add_argument(
        "--batch", type=int, default=1, help="batch size of random inputs (default 1)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of random inputs (default 0)")
    add_semantics_arguments(parser, "semantics profile")
    parser.add_argument(
        "--record", nargs="+", default=[], metavar="NODE", help="nodes whose states to save"
    )
    parser.add_argument(
        "--schedule", default="auto", choices=("auto", "layer", "step"), help="execution schedule"
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        help="the file to write: .npz, or NIRData (.h5, .hdf5, .nird)",
    )
    parser.add_argument("--plot", metavar="RASTER.png", help="also draw input and output rasters")
    add_scale_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Read, simulate, save."""
    import numpy as np

    from snnx import nirdata
    from snnx.atomic import atomic_path
    from snnx.errors import SnnxError
    from snnx.ir.nirfile import read
    from snnx.sim import Simulator, batches

    start_processes(args)
    suffix = os.path.splitext(args.output)[1].lower()
    if suffix != ".npz" and suffix not in nirdata.SUFFIXES:
        raise SnnxError(f"-o {args.output}: write .npz or NIRData ({', '.join(nirdata.SUFFIXES)})")
    graph = read(args.file)
    resolution = resolution_from(graph, args)
    semantics = resolution.semantics
    sim = Simulator(
        graph,
        semantics,
        record=args.record,
        schedule=args.schedule,
        precision=args.precision,
        shard=True,
    )
    inputs = _inputs(args, sim, graph, semantics.dt)
    steps, samples = np.shape(next(iter(inputs.values())))[:2]
    if args.batch_size is not None or batches.padded_size(samples) != samples:
        show = args.batch_size is not None and args.batch_size < samples
        result = batches.simulate(sim, inputs, args.batch_size, show=show)
    else:
        with _progress(steps) as advance:
            result = sim(inputs, chunk=CHUNK if steps > CHUNK else None, progress=advance)
    arrays = result.arrays()
    if not batches.is_main():
        return 0
    if suffix == ".npz":
        with atomic_path(args.output) as tmp, open(tmp, "wb") as handle:
            # numpy's stub types **kwds as if an array could be named like savez's own keyword
            np.savez(handle, **arrays)  # type: ignore[arg-type]
    else:
        nirdata.write_results(args.output, {**inputs, **arrays}, graph, semantics.dt)
    print(
        f"simulated {steps} steps x {np.shape(next(iter(inputs.values())))[1]} samples "
        f"({semantics.describe()})"
    )
    print("\n".join(provenance_lines(resolution)))
    for name, values in result.outputs.items():
        print(f"  {name}: shape {values.shape}, total {values.sum():g}")
    print(f"wrote {args.output} ({', '.join(arrays)})")
    if args.plot:
        from snnx.reports.rasters import plot_rasters

        plot_rasters({**{f"input {k}": v for k, v in inputs.items()}, **result.outputs}, args.plot)
        print(f"wrote {args.plot}")
    return 0


def _inputs(args: argparse.Namespace, sim: Any, graph: Graph, dt: float) -> dict:
    import numpy as np

    from snnx import nirdata
    from snnx.errors import SnnxError

    shapes = sim.program.plan.shapes
    if args.random_input is not None:
        if args.steps is None:
            raise SnnxError("--random-input needs --steps")
        if not 0 <= args.random_input <= 1:
            raise SnnxError(f"--random-input is a probability, got {args.random_input}")
        rng = np.random.default_rng(args.seed)
        return {
            name: (
                rng.uniform(size=(args.steps, args.batch, *shapes[name].output)) < args.random_input
            ).astype(np.float32)
            for name in sim.inputs
        }
    given = {}
    for item in args.input:
        if "=" not in item and nirdata.is_nirdata(item):
            given.update(nirdata.read_inputs(item, graph, dt))
            continue
        name, _, path = item.rpartition("=") if "=" in item else ("", "", item)
        name = name or (sim.inputs[0] if len(sim.inputs) == 1 else "")
        if name not in sim.inputs:
            raise SnnxError(f"--input {item}: name one of the Inputs {sim.inputs} as NAME=x.npy")
        try:
            given[name] = np.load(path, allow_pickle=False, mmap_mode="r")
        except (OSError, ValueError) as err:
            raise SnnxError(f"cannot read an array: {err}", file=path) from None
    missing = [n for n in sim.inputs if n not in given]
    if missing:
        raise SnnxError(f"no --input for Inputs {missing}")
    for name, array in given.items():
        if array.ndim < 2:
            raise SnnxError(f"input '{name}' must be (T, B, *shape), got shape {array.shape}")
        if args.steps is not None:
            if args.steps > array.shape[0]:
                raise SnnxError(
                    f"--steps {args.steps} exceeds the {array.shape[0]} steps of input '{name}'"
                )
            given[name] = array[: args.steps]
    return given


class _progress:
    """A tqdm bar over time steps on long runs (a no-op on short ones)."""

    def __init__(self, steps: int) -> None:
        self.steps = steps
        self.bar: Any = None  # a tqdm bar, for long runs

    def __enter__(self) -> Callable[[int], None]:
        if self.steps > CHUNK:
            from tqdm import tqdm

            self.bar = tqdm(total=self.steps, unit="step", desc="simulating")
        return self.advance

    def advance(self, done: int) -> None:
        if self.bar is not None:
            self.bar.update(done - self.bar.n)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
