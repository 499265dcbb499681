"""The command-line reference as Markdown, written from the argument parsers themselves (the
documentation site's CLI page, ``docs/gen_pages.py``), so it cannot drift from ``snnx --help``.

One section per subcommand in ``--help`` order: its description (the module docstring), its
usage line, and a table of its arguments (flags, value, default, help); a subcommand with
subcommands of its own (``snnx semantics fit``) has a section for each, one level down.

>>> text = markdown()
>>> "## snnx simulate" in text and "`--random-input RATE`" in text
True
>>> "### snnx semantics fit" in text
True
"""

from __future__ import annotations

import argparse
import textwrap

from snnx.cli import build_parser


def markdown() -> str:
    """The reference of every subcommand, as one Markdown document."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    parts = [
        "# Command-line reference",
        "",
        "Generated from `snnx`'s own argument parsers (`snnx.cli.reference`); "
        "`snnx COMMAND --help` prints the same.",
        "",
        _usage(parser),
        "",
        _table(parser),
    ]
    parts += _sections(sub, "snnx", "##")
    return "\n".join(parts).rstrip() + "\n"


def _sections(sub: argparse._SubParsersAction, prefix: str, level: str) -> list[str]:
    """A section per subcommand of ``sub``, and one level deeper for each of their own
    subcommands (``snnx semantics fit``)."""
    parts: list[str] = []
    helps = {choice.dest: choice.help for choice in sub._choices_actions}
    for name, command in sub.choices.items():
        parts += ["", f"{level} {prefix} {name}", "", helps.get(name) or "", ""]
        parts += [_description(command), "", _usage(command), "", _table(command)]
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                parts += _sections(action, f"{prefix} {name}", level + "#")
    return parts


def _usage(parser: argparse.ArgumentParser) -> str:
    usage = parser.format_usage().removeprefix("usage: ").strip()
    return f"```text\n{usage}\n```"


def _description(parser: argparse.ArgumentParser) -> str:
    """The subcommand's docstring, reST literals turned into Markdown code."""
    text = textwrap.dedent(parser.description or "").strip()
    return text.replace("``", "`")


def _table(parser: argparse.ArgumentParser) -> str:
    rows = ["| argument | default | what it does |", "|---|---|---|"]
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        rows.append(f"| {_flags(action)} | {_default(action)} | {_help(action)} |")
    return "\n".join(rows)


def _flags(action: argparse.Action) -> str:
    value = _value(action)
    if not action.option_strings:
        return f"`{value}`"
    names = [f"`{flag}{' ' + value if value else ''}`" for flag in action.option_strings]
    return ", ".join(names) + (" (required)" if action.required else "")


def _value(action: argparse.Action) -> str:
    if action.nargs == 0:
        return ""
    if action.choices is not None and action.metavar is None:
        return "{" + ",".join(map(str, action.choices)) + "}"
    name = action.metavar or (action.dest if not action.option_strings else action.dest.upper())
    return f"{name} ..." if action.nargs in ("+", "*") else str(name)


def _default(action: argparse.Action) -> str:
    if action.nargs == 0 or action.default in (None, argparse.SUPPRESS, [], False):
        return ""
    return f"`{action.default}`"


def _help(action: argparse.Action) -> str:
    text = (action.help or "").replace("|", "\\|")
    if "%(" in text:
        text = text % {"default": action.default, "prog": "snnx"}
    repeat = " Repeatable." if isinstance(action, argparse._AppendAction) else ""
    return text + repeat
