"""Arguments several subcommands share: the semantics a graph runs under (``--profile``,
``--set KNOB=VALUE``, ``--dt``), resolved with each knob's source (`snnx.provenance`).

>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> add_semantics_arguments(parser, "semantics to run under")
>>> args = parser.parse_args(["--profile", "norse", "--dt", "1e-4", "--set", "reset=subtract"])
>>> args.dt, args.set
(0.0001, ['reset=subtract'])
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from snnx.ir.graph import Graph
    from snnx.provenance import Resolution
    from snnx.semantics import Semantics


def add_semantics_arguments(parser: argparse.ArgumentParser, purpose: str) -> None:
    """``--profile`` (with ``purpose`` as its help), ``--set`` and ``--dt``."""
    parser.add_argument(
        "--profile",
        help=f"{purpose}: its defaults fill in what the file does not fix (default: nir-reference)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="[TYPE.]KNOB=VALUE",
        help="set one semantics knob (repeatable), e.g. reset=subtract or "
        "CubaLIF.reset_timing=next-step; wins over the file (with a warning) and the profile",
    )
    parser.add_argument("--dt", type=float, help="time step in seconds (as --set dt=...)")


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


def resolution_from(graph: Graph, args: argparse.Namespace) -> Resolution:
    """The graph's semantics under ``--profile``, ``--set`` and ``--dt``, each knob with its
    source (`snnx.provenance.resolve`; its warnings printed once, on stderr)."""
    import sys

    from snnx.provenance import parse_sets, resolve

    sets = parse_sets(getattr(args, "set", []))
    if getattr(args, "dt", None) is not None:
        sets["dt"] = args.dt
    resolution = resolve(graph, args.profile, sets, warn=False)
    for note in resolution.warnings:
        print(f"warning: {note}", file=sys.stderr)
    return resolution


def semantics_from(graph: Graph, args: argparse.Namespace) -> Semantics:
    """The semantics of `resolution_from`."""
    return resolution_from(graph, args).semantics


def provenance_lines(resolution: Resolution) -> list[str]:
    """``semantics:`` and one indented line per knob with its source, for a terminal."""
    return ["semantics (knob = value  (source: why)):"] + [
        f"  {line}" for line in resolution.lines()
    ]
