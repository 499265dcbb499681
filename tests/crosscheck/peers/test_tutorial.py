"""Tutorial 2 (examples/norse_equinox_round_trip.py) runs headless and shows what it claims: the
snnTorch network runs spike for spike in Norse (Norse's own importer) and in Equinox, and after
fine-tuning in JAX comes back as a .nir file that Norse and snnx run spike for spike."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "norse_equinox_round_trip.py"


def test_norse_equinox_round_trip_tutorial(tmp_path):
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--out", str(tmp_path), "--figures", str(tmp_path / "fig")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    for key in ("norse", "equinox", "back_in_norse", "back_in_snnx"):
        assert summary[key] == 0, key
    assert summary["changed_by_fine_tuning"] > 0 and summary["accuracy_after"] >= 0.9
    assert (tmp_path / "fig" / "t2_round_trip.png").stat().st_size > 0
