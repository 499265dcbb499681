"""List the hardware targets snnx can compile to, with their limits."""

from __future__ import annotations

import argparse

ORDER = 50
HELP = "list compilation targets and their limits"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``snnx targets`` (none besides the common ones)."""
    parser.add_argument("--json", action="store_true", help="print as JSON")


def run(args: argparse.Namespace) -> int:
    """Print every target's description and limits."""
    import json

    from snnx.targets import get_target, target_names

    found = {name: get_target(name).spec for name in target_names()}
    if args.json:
        print(
            json.dumps(
                {n: {"description": s.description, **s.listing()} for n, s in found.items()},
                indent=2,
            )
        )
        return 0
    for name, spec in found.items():
        print(f"{name}: {spec.description}")
        for key, value in spec.listing().items():
            shown = ", ".join(value) if isinstance(value, list) else value
            print(f"    {key}: {shown}")
    if not found:
        print("no targets installed")
    return 0
