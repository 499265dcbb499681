"""Arguments several subcommands share: the semantics a graph runs under (``--profile``, ``--dt``).

>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> add_semantics_arguments(parser, "semantics to run under")
>>> parser.parse_args(["--profile", "norse", "--dt", "1e-4"]).dt
0.0001
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from snnx.ir.graph import Graph
    from snnx.semantics import Semantics


def add_semantics_arguments(parser: argparse.ArgumentParser, purpose: str) -> None:
    """``--profile`` (with ``purpose`` as its help) and ``--dt``."""
    parser.add_argument("--profile", help=f"{purpose} (default: the file's, else nir-reference)")
    parser.add_argument("--dt", type=float, help="time step in seconds (overrides the profile's)")


def parse_options(items: list[str]) -> dict:
    """``KEY=VALUE`` strings as a dict; values read as int, float or bool where they are one.

    >>> parse_options(["bits=6", "preset=loihi", "scale=0.5", "flag=true"])
    {'bits': 6, 'preset': 'loihi', 'scale': 0.5, 'flag': True}
    """
    from snnx.errors import SnnxError

    options = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise SnnxError(f"--option {item!r}: expected KEY=VALUE")
        options[key] = _value(text)
    return options


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def semantics_from(graph: Graph, args: argparse.Namespace) -> Semantics:
    """The semantics ``--profile`` and ``--dt`` ask for, else the graph's own (see
    `snnx.sim.resolve_semantics`)."""
    from snnx.sim import resolve_semantics

    semantics = resolve_semantics(graph, args.profile)
    return semantics.replace(dt=args.dt) if args.dt is not None else semantics
