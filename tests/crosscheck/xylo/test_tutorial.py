"""Tutorial 3 (examples/cnn_xylo_bss2.py) runs headless and shows what it claims: a CNN trained
in snnx, its convolution unrolled with the same spikes, Xylo's numerics checked against Rockpool's
XyloSim loaded from the compiled file (spike for spike), BrainScaleS-2 verified and its mismatch
analysed over 20 chip instances."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "cnn_xylo_bss2.py"


def test_cnn_xylo_bss2_tutorial(tmp_path):
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--out", str(tmp_path), "--figures", str(tmp_path / "fig")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["accuracy"] >= 0.85 and summary["unrolled_differing"] == 0
    assert summary["xylosim_differing"] == 0 and summary["xylo_class_agreement"] >= 0.8
    assert summary["bss2_class_agreement"] >= 0.8
    assert 0.7 <= summary["mismatch_class_agreement_mean"] <= 1.0
    figures = {p.name for p in (tmp_path / "fig").iterdir()}
    assert figures == {"t3_graph.png", "t3_task.png", "t3_mismatch.png"}
