"""Tutorial 3 (examples/cnn_xylo_bss2.py) runs headless and shows what it claims: a CNN trained
in snnx, its convolution unrolled with the same spikes, Xylo's numerics checked against Rockpool's
XyloSim loaded from the compiled file (spike for spike), BrainScaleS-2 verified and its mismatch
analysed over 20 chip instances."""

from __future__ import annotations

from tutorials import run_tutorial


def test_cnn_xylo_bss2_tutorial(tmp_path):
    summary, figures = run_tutorial("cnn_xylo_bss2", tmp_path)
    assert summary["accuracy"] >= 0.85 and summary["unrolled_differing"] == 0
    assert summary["xylosim_differing"] == 0 and summary["xylo_class_agreement"] >= 0.8
    assert summary["bss2_class_agreement"] >= 0.8
    assert 0.7 <= summary["mismatch_class_agreement_mean"] <= 1.0
    assert figures == {"t3_graph.png", "t3_task.png", "t3_mismatch.png"}
