"""Tutorial 4 (examples/fit_a_trace.py) runs headless and shows what it claims: each NIR paper
recording (made by that framework's own import of the paper's neuron, an independent reference)
is reproduced spike for spike by the graph `snnx semantics fit` writes, the framework's importer
profile is among the settings that match, and snnTorch's recorded voltage is 25 times NIR's."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "crosscheck"))

from tutorials import run_tutorial


def test_fit_a_trace_tutorial(tmp_path, nir_paper):
    summary, figures = run_tutorial("fit_a_trace", tmp_path)
    assert set(summary) == {"norse", "snntorch", "sinabs"}
    for framework, result in summary.items():
        assert result["mismatches"] == 0 and result["trace_spikes"] > 0, framework
        assert f"{framework}-nir" in result["profiles"], framework
    assert summary["sinabs"]["determined"]["integrator"] == "exp-decay"
    assert summary["norse"]["determined"]["reset"] == "zero"
    assert abs(summary["snntorch"]["v_scale"] - 25) < 1e-3
    assert figures == {"t4_fit_a_trace.png"}
