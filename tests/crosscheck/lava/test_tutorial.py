"""Tutorial 1 (examples/snntorch_to_loihi.py) runs headless and shows what it claims: a network
trained in snnTorch, converted and simulated by snnx spike for spike as snnTorch runs it,
compiled for Loihi 2, verified, and run by real Lava spike for spike as snnx's Loihi numerics."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "snntorch_to_loihi.py"


def test_snntorch_to_loihi_tutorial(tmp_path):
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--out", str(tmp_path), "--figures", str(tmp_path / "fig")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["snntorch_accuracy"] >= 0.9
    assert summary["snnx_vs_snntorch_differing"] == 0
    assert summary["loihi_class_agreement"] >= 0.9
    assert summary["lava_vs_numerics_differing"] == 0 and summary["lava_accuracy"] >= 0.85
    figures = {p.name for p in (tmp_path / "fig").iterdir()}
    assert figures == {"t1_loss.png", "t1_graph.png", "t1_rasters.png", "t1_agreement.png",
                       "t1_lava.png"}  # fmt: skip
