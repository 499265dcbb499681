"""The native conformance matrix for Rockpool's Torch modules (`native_matrix_rockpool_torch`):
``LIFTorch`` models run by Rockpool against `snnx simulate --profile rockpool` on the file
Rockpool's ``to_nir`` writes and on `snnx.from_rockpool`'s graph. No cell may differ silently."""

from __future__ import annotations

import pytest
from native_matrix_rockpool_torch import MODELS, rockpool_torch_rows

pytest.importorskip("rockpool")


def test_snnx_convert_is_exact():
    rows = rockpool_torch_rows()
    assert len(rows) == len(MODELS)
    for row in rows:
        assert row["active"] >= 0.01, row  # no cell vacuously exact
        assert row["snnx-convert"]["status"] == "exact", row


def test_what_rockpools_exporter_loses_is_said_at_import():
    """to_nir writes v_reset=0, gains Rockpool does not run, no bias and no recurrent weights:
    every exported model differs, and snnx names the reset, the gains and the lost dt."""
    for row in rockpool_torch_rows():
        entry = row["exporter"]
        assert entry["status"] == "lost" and entry["differ"] > 0, row
        assert "--set reset=subtract" in entry["reason"]
        assert "--set CubaLIF.r=tau_mem/dt" in entry["reason"]
        assert "no --set gives" in entry["reason"]
        assert ("--set dt=0.0001" in entry["reason"]) == (row["dt"] == 1e-4)
        assert entry["with_set"]["differ"] > 0  # the current's gain cannot be set back
