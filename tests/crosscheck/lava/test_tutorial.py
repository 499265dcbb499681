"""Tutorial 1 (examples/snntorch_to_loihi.py) runs headless and shows what it claims: a network
trained in snnTorch, converted and simulated by snnx spike for spike as snnTorch runs it,
compiled for Loihi 2, verified, and run by real Lava spike for spike as snnx's Loihi numerics."""

from __future__ import annotations

from tutorials import run_tutorial


def test_snntorch_to_loihi_tutorial(tmp_path):
    summary, figures = run_tutorial("snntorch_to_loihi", tmp_path)
    assert summary["snntorch_accuracy"] >= 0.9
    assert summary["snnx_vs_snntorch_differing"] == 0
    assert summary["loihi_class_agreement"] >= 0.9
    assert summary["lava_vs_numerics_differing"] == 0 and summary["lava_accuracy"] >= 0.85
    assert figures == {"t1_loss.png", "t1_graph.png", "t1_rasters.png", "t1_agreement.png",
                       "t1_lava.png"}  # fmt: skip
