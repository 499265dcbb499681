"""The native conformance matrix (`native_matrix`): snnTorch models (Leaky, Synaptic, RLeaky,
RSynaptic x reset subtract / zero / none x reset_delay True / False, random weights) run natively
against `snnx simulate --profile snntorch` on the file snnTorch's own exporter writes and on the
one `snnx convert` writes. No cell may differ without snnx having said why at import."""

from __future__ import annotations

import numpy as np
import pytest
from native_matrix import snntorch_rows

import snnx
from snnx.provenance import resolve

pytest.importorskip("snntorch")


def test_no_cell_differs_silently():
    rows = snntorch_rows()
    assert len(rows) == 24
    for row in rows:
        for key in ("exporter", "snnx-convert"):
            entry = row[key]
            assert entry["status"] in ("exact", "refused", "lost", "n/a"), (row, key)
            if entry["status"] != "exact":
                assert entry["reason"], (row, key)


def test_snnx_convert_is_exact_wherever_it_converts():
    """The converter refuses what snnx semantics cannot say (a delayed zero reset of a layer with
    a current or recurrence); the one approximation it warns about is snnTorch's subtraction with
    reset_delay=False, which tests the next step against v - threshold."""
    for row in snntorch_rows():
        entry = row["snnx-convert"]
        if entry["status"] == "lost":
            assert row["reset"] == "subtract" and not row["reset_delay"]
            assert "reset_delay=False" in entry["reason"]
        if entry["status"] == "refused":
            assert row["reset"] == "zero" and row["reset_delay"] and row["layer"] != "Leaky"


def test_snntorch_defaults_round_trip_through_its_exporter():
    """snnTorch's defaults (subtract, reset_delay=True) and a same-step zero reset of a
    feed-forward model survive export_to_nir under --profile snntorch without any --set."""
    cells = {(r["layer"], r["reset"], r["reset_delay"]): r["exporter"] for r in snntorch_rows()}
    for key in [("Leaky", "subtract", True), ("Leaky", "zero", False), ("Synaptic", "zero", False)]:
        assert cells[key]["status"] == "exact", key


def test_what_the_exporter_loses_is_set_back_by_hand():
    """Feed-forward models whose reset the exporter lost run exactly once the knobs the warning
    names are set (--set reset=... --set reset_timing=...), except where snnx semantics cannot say
    the behaviour (a delayed zero reset with a current) or snnTorch's reset_delay=False
    subtraction tests against v - threshold."""
    for row in snntorch_rows():
        entry = row["exporter"]
        if entry["status"] != "lost" or row["layer"].startswith("R"):
            continue
        inexpressible = row["reset"] == "zero" and row["reset_delay"]
        quirk = row["reset"] == "subtract" and not row["reset_delay"]
        if not (inexpressible or quirk):
            assert entry["with_set"]["differ"] == 0, row


def test_braille_runs_natively_under_the_snntorch_profile(nir_paper):
    """The issue's headline: the paper's Braille graph (nir 0.2.0, no v_reset: subtractive reset
    implied) run natively in snnTorch (RSynaptic/Synaptic, subtract, reset_delay=True) against
    snnx under --profile snntorch on the file itself. With the recurrent bias zeroed in both,
    every spike is equal; with the file's bias, snnTorch adds it from the first step (V(0) =
    bias), which snnx warns about, and `snnx convert` of the native model is exact."""
    import warnings

    from native_matrix import braille_native, run_snntorch

    from snnx.errors import SnnxWarning
    from snnx.sim import simulate

    path = str(nir_paper / "braille_noDelay_bias_zero.nir")
    x = (np.random.default_rng(0).random((256, 64, 12)) < 0.2).astype(np.float32)
    graph = snnx.read(path)
    unbiased = snnx.read(path)
    unbiased["lif1.w_rec"].fields["bias"] = np.zeros(38, np.float32)
    want = run_snntorch(braille_native(path, recurrent_bias=False), x)
    r = resolve(unbiased, "snntorch", warn=False)
    assert r.semantics.reset == "subtract" and r.sources["reset"]["source"] == "file"
    got = np.asarray(simulate(unbiased, x, r.semantics).outputs["output"])
    assert want.sum() > 10_000 and np.array_equal(got, want)

    native = braille_native(path, recurrent_bias=True)
    want = run_snntorch(native, x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        converted = snnx.from_torch(native, shape=(12,))
    got = np.asarray(
        simulate(converted, x, resolve(converted, "snntorch").semantics).outputs["output"]
    )
    assert np.array_equal(got.reshape(want.shape), want)
    with pytest.warns(SnnxWarning, match="recurrent Affine lif1.w_rec has a bias"):
        resolve(graph, "snntorch")
