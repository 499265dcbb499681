"""The native conformance matrix for Spyx (`native_matrix_spyx`): Spyx models (LIF, CuBaLIF, IF,
PSU_LIF, RLIF, RCuBaLIF, RIF between random Linear layers) run by Spyx itself against `snnx
simulate --profile spyx` on the file ``spyx.nir.to_nir`` writes and on `snnx.from_spyx`'s graph.
No cell may differ without snnx having said why at import."""

from __future__ import annotations

import pytest
from native_matrix_spyx import MODELS, spyx_rows

pytest.importorskip("spyx")


def test_no_cell_differs_silently():
    rows = spyx_rows()
    assert len(rows) == len(MODELS) == 9
    for row in rows:
        assert row["active"] >= 0.01, row["layer"]  # no cell vacuously exact
        for key in ("exporter", "snnx-convert"):
            entry = row[key]
            assert entry["status"] in ("exact", "refused", "lost"), (row, key)
            if entry["status"] != "exact":
                assert entry["reason"], (row, key)


def test_snnx_convert_is_exact():
    """`snnx.from_spyx` reproduces every Spyx model spike for spike, recurrent ones included."""
    for row in spyx_rows():
        assert row["snnx-convert"]["status"] == "exact", row


def test_the_exporter_loses_the_reset_and_snnx_says_so():
    """Spyx's to_nir leaves v_reset at nir's default, so the file says 'reset to zero' while Spyx
    subtracts: every exported model differs, and snnx names the knob at import."""
    for row in spyx_rows():
        entry = row["exporter"]
        assert entry["status"] == "lost" and entry["differ"] > 0, row
        assert "--set reset=subtract" in entry["reason"]
        assert ("--set dt=0.001" in entry["reason"]) == (row["dt"] == 1e-3)


def test_what_the_exporter_loses_is_set_back_by_hand_for_feed_forward_models():
    """Feed-forward exports run exactly once the suggested --set is given (reset, and dt where the
    export used another); a recurrent layer's wiring (its input through the recurrent weights)
    cannot be set back, and snnx says that too."""
    for row in spyx_rows():
        entry = row["exporter"]
        recurrent = row["layer"].startswith("R")
        assert (entry["with_set"]["differ"] == 0) == (not recurrent), row
        assert ("wired input -> w_rec" in entry["reason"]) == recurrent
