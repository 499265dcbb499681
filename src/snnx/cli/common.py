"""Arguments several subcommands share: the semantics a graph runs under (``--profile``, ``--dt``).

>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> add_semantics_arguments(parser, "semantics to run under")
>>> parser.parse_args(["--profile", "norse", "--dt", "1e-4"]).dt
0.0001
"""

from __future__ import annotations

import argparse


def add_semantics_arguments(parser: argparse.ArgumentParser, purpose: str) -> None:
    """``--profile`` (with ``purpose`` as its help) and ``--dt``."""
    parser.add_argument("--profile", help=f"{purpose} (default: the file's, else nir-reference)")
    parser.add_argument("--dt", type=float, help="time step in seconds (overrides the profile's)")


def semantics_from(graph, args: argparse.Namespace):
    """The semantics ``--profile`` and ``--dt`` ask for, else the graph's own (see
    `snnx.sim.resolve_semantics`)."""
    from snnx.sim import resolve_semantics

    semantics = resolve_semantics(graph, args.profile)
    return semantics.replace(dt=args.dt) if args.dt is not None else semantics
