"""The native conformance matrix (`native_matrix`): models written natively in snnTorch (Leaky,
Synaptic, RLeaky, RSynaptic x reset subtract / zero / none x reset_delay True / False), Norse,
Sinabs and SpikingJelly (``native_matrix_<framework>.py``), random weights, run by the framework
against `snnx simulate --profile <framework>` on the file the framework's own exporter writes and
on the one `snnx convert` writes. No cell may differ without snnx having said why at import, and
every native run's output fires (no vacuous cell)."""

from __future__ import annotations

import numpy as np
import pytest
from native_matrix import MIN_ACTIVE, rows_of
from native_matrix_snntorch import rows as snntorch_rows

import snnx
from snnx.provenance import resolve

for _package in ("snntorch", "norse", "sinabs", "spikingjelly"):
    pytest.importorskip(_package)

SIZES = {"snntorch": 24, "norse": 6, "sinabs": 11, "spikingjelly": 11}


def cells(framework: str, key: str) -> dict:
    """``(layer, knobs) -> cell`` of one column."""
    return {(r["layer"], r["knobs"]): r[key] for r in rows_of(framework)}


@pytest.mark.parametrize("framework", SIZES)
def test_no_cell_differs_silently_and_every_output_fires(framework):
    """Every cell is exact, lost (with snnx's warning), refused (with the reason) or n/a."""
    rows = rows_of(framework)
    assert len(rows) == SIZES[framework]
    for row in rows:
        for key in ("exporter", "snnx-convert"):
            entry = row[key]
            assert entry["status"] in ("exact", "refused", "lost", "n/a"), (row, key)
            if entry["status"] != "exact":
                assert entry["reason"], (row, key)
        if row["exporter"]["status"] != "n/a":
            assert row["active"] >= MIN_ACTIVE, row


@pytest.mark.parametrize("framework", ["norse", "sinabs", "spikingjelly"])
def test_snnx_convert_is_exact_for_every_mapped_layer(framework):
    """Every Norse, Sinabs and SpikingJelly layer snnx maps converts spike for spike, recurrent
    ones included (Sinabs' LIFRecurrent as a back edge); SpikingJelly's CUBALIFNode has no map."""
    for (layer, knobs), entry in cells(framework, "snnx-convert").items():
        if layer == "CUBALIFNode":
            assert entry["status"] == "refused" and "CUBALIFNode" in entry["reason"]
        else:
            assert entry["status"] == "exact", (layer, knobs, entry)


def test_norse_exporter_time_constants_are_set_back_by_dt():
    """Norse's to_nir writes tau = dt / tau_inv (1000x too small at its dt = 1e-3) and w_in = 1;
    snnx warns, and with the suggested --dt 1e-6 --set CubaLIF.w_in=tau_syn/dt a LIFCell model
    with v_leak = v_reset = 0 runs spike for spike (a subtracting LIFBoxCell with --set
    LIF.reset=subtract too). Its recurrent cell it cannot export."""
    exported = cells("norse", "exporter")
    default = exported[("LIFCell", "v_leak=0, v_reset=0")]
    assert default["status"] == "lost" and "--dt 1e-06" in default["reason"]
    assert default["with_set"]["differ"] == 0
    assert exported[("LIFBoxCell", "reset_method=reset_subtract")]["with_set"]["differ"] == 0
    assert exported[("LIFRecurrentCell", "")]["status"] == "refused"


def test_sinabs_exporter_losses_are_named_and_set_back():
    """Sinabs' to_nir drops spike_fn, reset_fn, min_v_mem, norm_input and tau_syn; snnx names
    each, and the --set the warning suggests makes every model exact but the one with a synaptic
    current (dropped from the file). It cannot export LIFRecurrent."""
    for (layer, knobs), entry in cells("sinabs", "exporter").items():
        if layer == "LIFRecurrent":
            assert entry["status"] == "refused", (layer, knobs)
            continue
        assert entry["status"] == "lost", (layer, knobs, entry)
        for word in ("reset_fn", "spike_fn", "min_v_mem", "norm_input"):
            assert word in entry["reason"], (layer, knobs, word)
        if knobs != "tau_syn":
            assert entry["with_set"]["differ"] == 0, (layer, knobs, entry)


def test_spikingjelly_hard_resets_round_trip_through_its_exporter():
    """SpikingJelly's export_to_nir records hard resets exactly and refuses soft ones."""
    for (layer, knobs), entry in cells("spikingjelly", "exporter").items():
        if "v_reset=None" in knobs:
            assert entry["status"] == "refused" and "soft reset" in entry["reason"]
        else:
            assert entry["status"] == "exact", (layer, knobs, entry)


def test_the_generated_tables_list_every_row():
    """docs/guide/native-matrix-<framework>.json hold the rows the tables are built from."""
    from native_matrix import load_groups, markdown

    groups = load_groups()
    for framework, size in SIZES.items():
        assert len(groups[framework]) == size
        assert markdown(groups[framework]).count(f"| {framework} |") == size


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
    """A same-step zero reset of a feed-forward model survives export_to_nir under --profile
    snntorch without any --set; snnTorch's defaults (subtract, reset_delay=True) do once the
    warning's --set reset=subtract puts back what the exporter's v_reset=0 overwrote."""
    cells = {(r["layer"], r["reset"], r["reset_delay"]): r["exporter"] for r in snntorch_rows()}
    for key in [("Leaky", "zero", False), ("Synaptic", "zero", False)]:
        assert cells[key]["status"] == "exact", key
    default = cells[("Leaky", "subtract", True)]
    assert default["status"] == "lost" and default["with_set"]["differ"] == 0


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

    from native_matrix_snntorch import braille_native, run_snntorch

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
