"""Tutorial 2 (examples/norse_equinox_round_trip.py) runs headless and shows what it claims: the
snnTorch network runs spike for spike in Norse (Norse's own importer) and in Equinox, and after
fine-tuning in JAX comes back as a .nir file that Norse and snnx run spike for spike."""

from __future__ import annotations

from tutorials import run_tutorial


def test_norse_equinox_round_trip_tutorial(tmp_path):
    summary, figures = run_tutorial("norse_equinox_round_trip", tmp_path)
    for key in ("norse", "equinox", "back_in_norse", "back_in_snnx"):
        assert summary[key] == 0, key
    assert summary["changed_by_fine_tuning"] > 0 and summary["accuracy_after"] >= 0.9
    assert figures == {"t2_round_trip.png"}
