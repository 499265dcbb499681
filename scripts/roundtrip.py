"""Read a .nir file, write it back, and show that every dataset came back identical.

Usage: python scripts/roundtrip.py MODEL.nir
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import snnx
from snnx.ir.nirfile import datasets


def main(path: str) -> int:
    source = Path(path)
    graph = snnx.read(source)
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / source.name
        snnx.write(graph, copy)
        before, after = datasets(source), datasets(copy)
    same = before == after
    print(
        f"round trip {source.name}: read, written and compared: "
        + (
            f"all {len(before)} datasets identical"
            if same
            else f"DIFFERENT ({sum(before.get(k) != after.get(k) for k in set(before) | set(after))} datasets)"
        )
    )
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            print(f"  {name}: {before.get(name)} != {after.get(name)}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
