"""The ``snnx`` command. One module per subcommand, ``<name>_cmd.py`` in this package, found by
name, with ``HELP``, ``ORDER`` (its place in ``--help``), ``configure(parser)`` and
``run(args) -> int``; heavy libraries are imported inside ``run`` so that ``snnx --help`` answers
at once.

Exit codes: 0 success, 1 an error (one clear message; the traceback with ``--debug``), 2 a usage
error. What a command prints goes through `Printable`: names from a file cannot reach the terminal
as control characters.

>>> from snnx import example_path
>>> main(["inspect", "--json", str(example_path("braille"))])  # doctest: +ELLIPSIS
{
  "file": ...
0
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import pkgutil
import sys
from typing import Any, TextIO


def commands() -> list[str]:
    """Subcommand names, from the ``*_cmd.py`` modules beside this file, in their ``ORDER``."""
    found = [
        m.name[: -len("_cmd")] for m in pkgutil.iter_modules(__path__) if m.name.endswith("_cmd")
    ]
    modules = {name: importlib.import_module(f"snnx.cli.{name}_cmd") for name in found}
    return sorted(found, key=lambda name: (modules[name].ORDER, name))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    from snnx import __version__

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    parser = argparse.ArgumentParser(
        prog="snnx",
        description="Move spiking neural networks between frameworks and onto neuromorphic "
        "hardware, via NIR.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"snnx {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in commands():
        module = importlib.import_module(f"snnx.cli.{name}_cmd")
        sub = subparsers.add_parser(
            name, help=module.HELP, description=module.__doc__, parents=[common]
        )
        module.configure(sub)
        sub.set_defaults(run=module.run)
    return parser


class Printable:
    r"""A text stream that writes every character a terminal would act on (escape sequences,
    bells, form feeds) as its Python escape, except the line breaks in ``keep``.

    >>> import io
    >>> out = io.StringIO()
    >>> print("node x\x1b[2J", file=Printable(out))
    >>> print(out.getvalue(), end="")
    node x\x1b[2J
    """

    def __init__(self, stream: TextIO, keep: str = "\n") -> None:
        self._stream = stream
        self._keep = keep

    def write(self, text: str) -> int:
        """Write ``text`` escaped; return the length of what was asked."""
        from snnx.errors import printable

        pieces, start = [], 0
        for i, char in enumerate(text):
            if char in self._keep:
                pieces += [printable(text[start:i]), char]
                start = i + 1
        self._stream.write("".join([*pieces, printable(text[start:])]))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> int:
    """Run the ``snnx`` command line; return its exit code."""
    args = build_parser().parse_args(argv)
    from snnx.errors import SnnxError, printable

    try:
        with (
            contextlib.redirect_stdout(Printable(sys.stdout)),
            contextlib.redirect_stderr(Printable(sys.stderr, keep="\n\r")),
        ):
            return args.run(args) or 0
    except (SnnxError, OSError) as err:
        if args.debug:
            raise
        print(f"snnx: error: {printable(str(err))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("snnx: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a bug: say so in one line, traceback on request
        if args.debug:
            raise
        print(
            f"snnx: internal error: {type(err).__name__}: {printable(str(err))} (rerun with "
            "--debug for the traceback, and please report it)",
            file=sys.stderr,
        )
        return 1
