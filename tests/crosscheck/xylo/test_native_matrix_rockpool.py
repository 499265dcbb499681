"""The native conformance matrix for Rockpool (`native_matrix_rockpool`): Rockpool models
(``LIFJax`` and numpy ``LIF`` between random linear layers, feed-forward and ``has_rec``, several
dt and spike limits) run by Rockpool itself against `snnx simulate --profile rockpool` on the graph
`snnx.from_rockpool` converts. No cell may differ without snnx having said why."""

from __future__ import annotations

import pytest
from native_matrix_rockpool import MODELS, rockpool_rows

pytest.importorskip("rockpool")


def test_no_cell_differs_silently():
    rows = rockpool_rows()
    assert len(rows) == len(MODELS) == 9
    for row in rows:
        assert row["active"] > 0, row
        for key in ("exporter", "snnx-convert"):
            entry = row[key]
            assert entry["status"] in ("exact", "refused", "lost"), (row, key)
            if entry["status"] != "exact":
                assert entry["reason"], (row, key)


def test_snnx_convert_is_exact_wherever_it_converts():
    """Every spike count equal, multi-spike steps, recurrence, biases and spike limits included;
    refused only for what a CubaLIF cannot say (membrane noise, several synapses per neuron)."""
    rows = rockpool_rows()
    for row in rows:
        entry = row["snnx-convert"]
        if "noise_std" in row or "synapses" in row:
            assert entry["status"] == "refused", row
            assert ("noise" in entry["reason"]) == ("noise_std" in row)
        else:
            assert entry["status"] == "exact", row
    converted = [r for r in rows if r["snnx-convert"]["status"] == "exact"]
    assert sum(r["multi_spike_steps"] for r in converted) > 100
    assert any(r["layer"].endswith("has_rec") for r in converted)
    assert {r["layer"].split()[0] for r in converted} == {"LIF", "LIFJax"}


def test_rockpool_has_no_exporter_for_these_modules():
    for row in rockpool_rows():
        assert row["exporter"]["status"] == "refused"
        assert "Torch modules" in row["exporter"]["reason"]
