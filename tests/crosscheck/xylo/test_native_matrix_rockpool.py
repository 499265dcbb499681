"""The native conformance matrix for Rockpool (`native_matrix_rockpool`): Rockpool models
(``LIFJax`` and numpy ``LIF`` between random linear layers, feed-forward and ``has_rec``, several
dt and spike limits) run by Rockpool itself against `snnx simulate --profile rockpool` on the graph
`snnx.from_rockpool` converts. No cell may differ without snnx having said why."""

from __future__ import annotations

import numpy as np
import pytest
from native_matrix_rockpool import (
    MODELS,
    N_IN,
    B,
    T,
    rockpool_model,
    rockpool_rows,
    run_rockpool,
    run_snnx,
)

import snnx
from snnx.cli import main

pytest.importorskip("rockpool")


def test_no_cell_differs_silently():
    rows = rockpool_rows()
    assert len(rows) == len(MODELS) == 9
    for row in rows:
        assert row["active"] >= 0.01, row  # no cell vacuously exact
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


def test_snnx_convert_writes_a_file_that_runs_as_rockpool(tmp_path, monkeypatch):
    """`snnx convert --rockpool MODULE:FACTORY -o model.nir`, read back and run under --profile
    rockpool: the recurrent LIFJax model's spikes, as Rockpool counts them (semantics stored in
    the file)."""
    (tmp_path / "rockpool_factory.py").write_text(
        "from native_matrix_rockpool import MODELS, rockpool_model\n\n\n"
        "def make():\n    return rockpool_model(*MODELS[1], seed=54)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "model.nir"
    assert main(["convert", "--rockpool", "rockpool_factory:make", "-o", str(path)]) == 0
    x = (np.random.default_rng(5).random((T, B, N_IN)) < 0.4).astype(np.float64)
    want = run_rockpool(rockpool_model(*MODELS[1], seed=54), x)
    got, notes = run_snnx(snnx.read(path), x)
    assert want.sum() > 50 and notes == []
    assert np.array_equal(got.reshape(want.shape), want)
