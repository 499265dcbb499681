"""Running a tutorial of ``examples/`` from a tier's test, as CI does (every tier's tests import
this; ``tests/crosscheck/conftest.py`` puts it on the path)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def run_tutorial(name: str, folder: Path) -> tuple[dict, set[str]]:
    """Run ``examples/<name>.py --out folder --figures folder/fig`` headless, in this tier's
    Python; its ``summary.json`` and the names of the figures it drew."""
    script = Path(__file__).resolve().parents[2] / "examples" / f"{name}.py"
    figures = folder / "fig"
    done = subprocess.run(
        [sys.executable, str(script), "--out", str(folder), "--figures", str(figures)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((folder / "summary.json").read_text())
    return summary, {p.name for p in figures.iterdir()}
