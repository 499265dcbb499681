"""Options of the commands that run the reference simulator over data sets (``simulate``,
``verify``): its precision, batches of samples, and processes joined by `jax.distributed`.

>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> add_scale_arguments(parser)
>>> args = parser.parse_args(["--batch-size", "64", "--precision", "fast"])
>>> args.batch_size, args.precision, args.coordinator
(64, 'fast', None)
"""

from __future__ import annotations

import argparse


def add_scale_arguments(parser: argparse.ArgumentParser) -> None:
    """``--precision``, ``--batch-size`` and the three options of a distributed run."""
    parser.add_argument(
        "--precision",
        choices=("highest", "fast"),
        default="highest",
        help="matrix products in full float32, the same spikes on every device (highest, the "
        "default), or as the device rounds them by default (fast: TF32 on NVIDIA GPUs)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help="run N samples at a time, each batch split across all devices (default: all at once)",
    )
    group = parser.add_argument_group("distributed run (jax.distributed; run one process each)")
    group.add_argument("--coordinator", metavar="HOST:PORT", help="process 0's address")
    group.add_argument("--processes", type=int, metavar="N", help="number of processes")
    group.add_argument("--process-id", type=int, metavar="I", help="this process's index")


def start_processes(args: argparse.Namespace) -> None:
    """Join the distributed run the options name, if any (before any other JAX call)."""
    given = (args.coordinator, args.processes, args.process_id)
    if any(v is not None for v in given):
        from snnx.sim.batches import start

        start(*given)
