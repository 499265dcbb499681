"""`snnx semantics fit`: the NIR paper's recorded traces fitted back to the semantics of the
framework that recorded each, and a trace of a hand-written float64 LIF fitted back to its knobs.

The references are the recordings themselves (each platform's ``lif_*.csv``, made by that
framework's own import of the paper's neuron) and the analytic neuron below; the expected knob
values are the frameworks' documented behaviour (see `snnx.semantics.PROFILES`), written out here.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from snnx.cli import main
from snnx.errors import SnnxError
from snnx.fitting import Fitter
from snnx.ir import Graph, Node, read, write
from snnx.semantics import PROFILES
from snnx.traces import read_trace

SAME = "same-step"
NEXT = "next-step"
#: platform -> graph, the knobs its recording must determine, the profile that reproduces it
#: (framework importers' profiles are being renamed ``<framework>-nir``).
PAPER = {
    "norse": ("lif_norse", dict(integrator="euler", reset="zero", reset_timing=SAME), "norse-nir"),
    "snntorch": (
        "lif_norse",
        dict(integrator="euler", reset="zero", reset_timing=SAME, spike_output=SAME),
        "snntorch",
    ),
    # Spyx 0.1, which recorded the trace, applied the gain r dt / tau itself: r is the file's
    # (1, which the override r = 1 also reads).
    "spyx": (
        "lif_norse",
        {
            "integrator": "euler",
            "reset": "subtract",
            "reset_timing": NEXT,
            "spike_output": NEXT,
            "LIF.r": {"file", 1.0},
        },
        "spyx",
    ),
    # Sinabs ignores r and dt (gain 1): the recorded input carries r dt / tau = 0.04 itself.
    "sinabs": (
        "lif_norse",
        {
            "integrator": "exp-decay",
            "reset": "subtract",
            "reset_timing": SAME,
            "spike_output": SAME,
            "LIF.r": "tau/dt",
        },
        "sinabs-nir",
    ),
    "rockpool": (
        "lif_rockpool",
        {
            "integrator": "exp-decay",
            "reset": "subtract",
            "reset_timing": SAME,
            "spike_output": SAME,
            "LIF.r": "tau/dt",
        },
        "rockpool",
    ),
    # The exact solution of the file's equations; lif_norse.nir (nir 0.1.1) implies subtraction.
    "exact": (
        "lif_norse",
        dict(integrator="exact", reset="subtract", reset_timing=SAME, spike_output=SAME),
        None,
    ),
}


def importer_profile(framework: str) -> str:
    """The profile of the framework's NIR importer (``<framework>-nir`` once renamed)."""
    return f"{framework}-nir" if f"{framework}-nir" in PROFILES else framework


@pytest.mark.parametrize("platform", sorted(PAPER))
def test_paper_trace_fits_back_to_its_framework(nir_paper, tmp_path, capsys, platform):
    graph, expected, profile = PAPER[platform]
    csv = nir_paper / f"lif_{platform}.csv"
    out = tmp_path / "fitted.nir"
    argv = ["semantics", "fit", str(nir_paper / f"{graph}.nir"), "--trace", str(csv)]
    assert main([*argv, "-o", str(out), "--json"]) == 0
    fit = json.loads(capsys.readouterr().out)
    assert fit["residual"]["spike_mismatches"] == 0
    determined = fit["determined"]
    assert determined["dt"] == pytest.approx(1e-4)
    for knob, value in expected.items():
        if isinstance(value, set):
            assert set(fit["undetermined"][knob]) == value, knob
        else:
            assert determined[knob] == value, knob
    if profile is not None:
        name = importer_profile(profile)
        fitter = Fitter(read(nir_paper / f"{graph}.nir"), read_trace(csv))
        reference = fitter.setting(fitter.project(PROFILES[name], 1e-4))
        differs = {
            k: (v, reference[k])
            for k, v in determined.items()
            if k != "LIF.r" and reference[k] != v
        }
        assert differs == {}, f"{platform} fits {determined}, profile {name} says {reference}"
        if platform != "spyx":  # the Spyx 1.0 profile ignores r; Spyx 0.1 did not
            assert name in fit["profiles"]
    if platform == "snntorch":  # snnTorch records v / (r dt / tau) = 25 v
        assert fit["residual"]["v_scale"] == pytest.approx(25.0, rel=1e-4)
    else:
        assert fit["residual"]["v_scale"] == pytest.approx(1.0, rel=2e-3)

    data = np.loadtxt(csv, delimiter=",")
    np.save(tmp_path / "x.npy", data[:, 0].reshape(-1, 1, 1))
    assert (
        main(
            [
                "simulate",
                str(out),
                "--input",
                str(tmp_path / "x.npy"),
                "-o",
                str(tmp_path / "y.npz"),
            ]
        )
        == 0
    )
    spikes = np.load(tmp_path / "y.npz")["output"].reshape(-1)
    np.testing.assert_array_equal(spikes.astype(np.float64), data[:, 2])


def test_text_report_names_undetermined_knobs(nir_paper, capsys):
    argv = ["semantics", "fit", str(nir_paper / "lif_rockpool.nir")]
    assert main([*argv, "--trace", str(nir_paper / "lif_rockpool.csv")]) == 0
    text = capsys.readouterr().out
    assert "0 spike mismatch(es) of 4 trace spikes" in text
    assert "profiles that match equally well: rockpool" in text or "rockpool-nir" in text
    # No threshold tie and never two spikes in a step: the trace cannot tell > from >=.
    assert "not determined by the trace" in text and "threshold: >=, >" in text


def analytic_lif(x, weight, tau, r, v_leak, v_threshold, dt):
    """A LIF by hand in float64: exact decay with Euler gain (``exp-decay``), v >= threshold,
    one spike per step subtracting the threshold now, spikes leaving one step late, v starting
    at v_leak. Returns (spikes, v) of shape (T, n)."""
    decay = np.exp(-dt / tau)
    v = np.array(v_leak, np.float64)
    last = np.zeros_like(v)
    spikes, vs = [], []
    for row in x:
        w = v_leak + (v - v_leak) * decay + dt / tau * r * (weight @ row)
        fired = (w >= v_threshold).astype(np.float64)
        v = w - fired * v_threshold
        spikes.append(last)
        vs.append(v)
        last = fired
    return np.array(spikes), np.array(vs)


def test_analytic_trace_fits_back_to_its_knobs(tmp_path):
    rng = np.random.default_rng(7)
    weight = rng.uniform(0.5, 2.5, (2, 3))
    tau = np.array([5e-3, 8e-3])
    r = np.array([2.0, 1.5])
    v_leak = np.array([0.05, -0.1])
    v_threshold = np.array([0.3, 0.4])
    v_reset = np.array([-0.2, 0.2])  # never used (reset by subtraction); v_init tells it apart
    dt = 5e-4
    x = (rng.random((1500, 3)) < 0.15).astype(np.float64)
    spikes, v = analytic_lif(x, weight, tau, r, v_leak, v_threshold, dt)
    assert 50 < spikes.sum() < 1000
    graph = Graph.sequential(
        {
            "in": Node("Input", shape=[3]),
            "w": Node("Linear", weight=weight),
            "lif": Node(
                "LIF", tau=tau, r=r, v_leak=v_leak, v_threshold=v_threshold, v_reset=v_reset
            ),
            "out": Node("Output", shape=[2]),
        }
    )
    write(graph, tmp_path / "g.nir")
    header = ["time", "input_0", "input_1", "input_2", "v_0", "v_1", "spike_0", "spike_1"]
    table = np.column_stack([np.arange(len(x)) * dt, x, v, spikes])
    np.savetxt(tmp_path / "t.csv", table, delimiter=",", header=",".join(header), comments="")

    fit = Fitter(read(tmp_path / "g.nir"), read_trace(tmp_path / "t.csv")).fit()
    assert fit.residual.spikes == 0
    assert fit.residual.v_rms < 1e-5 and fit.residual.v_scale == pytest.approx(1.0, rel=1e-5)
    known = {
        "dt": dt,
        "integrator": "exp-decay",
        "reset": "subtract",
        "reset_timing": SAME,
        "spike_output": NEXT,
        "threshold": ">=",
        "max_spikes": 1,
        "spike_amplitude": "1",
        "v_init": "v_leak",
        "v_min": "none",
        "LIF.r": "file",
        "LIF.v_leak": "file",
    }
    for name in ("dt", "integrator", "reset", "spike_output", "v_init", "LIF.r", "LIF.v_leak"):
        assert name in fit.determined, f"{name} left open: {fit.undetermined.get(name)}"
    for name, value in known.items():
        if name in fit.determined:
            assert fit.determined[name] == pytest.approx(value) if name == "dt" else value, name
        else:
            assert value in fit.undetermined[name], name


def lif_graph() -> Graph:
    return Graph.sequential(
        {
            "in": Node("Input", shape=[1]),
            "lif": Node("LIF", tau=[2e-3], r=[1.0], v_leak=[0.0], v_threshold=[1.0], v_reset=[0.0]),
            "out": Node("Output", shape=[1]),
        }
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("input,spike\n1,0\n0,nan\n", "column 'spike': nan at row 1 is not a finite number"),
        ("input,volts,spike\n1,0,0\n", "column 'volts': unknown"),
        ("v,spike\n1,0\n", "no 'input' column"),
        ("input,spike\n1,0\n1,x\n", "column 'spike': 'x' at row 1 is not a number"),
        (
            "input_0,input_1,spike\n1,0,0\n",
            "column 'input': 2 value(s) per row, but Input 'in' has 1",
        ),
        ("1,2,3,4\n", "4 columns and no header"),
        ("input,spike\n1,0.5\n", "column 'spike': spike counts must be whole numbers"),
        ("time,input,spike\n0,1,0\n0,1,0\n", "column 'time': must increase"),
    ],
)
def test_bad_traces_name_the_file_and_column(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(SnnxError, match=r"bad\.csv") as err:
        Fitter(lif_graph(), read_trace(path))
    assert message in str(err.value)


def test_bad_npz_traces(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, input=np.ones(5), spikes=np.zeros(4))
    with pytest.raises(SnnxError, match=r"bad\.npz: columns differ in length"):
        read_trace(path)
    np.savez(path, input=np.ones(3), spikes=np.zeros(3), v=np.array([0.0, np.inf, 0.0]))
    with pytest.raises(SnnxError, match="column 'v': inf at row 1"):
        read_trace(path)
    np.savez(path, input=np.ones(3), spikes=np.zeros(3), v=np.zeros((3, 2)))
    with pytest.raises(SnnxError, match="column 'v': 2 value"):
        Fitter(lif_graph(), read_trace(path))


def test_command_reports_a_bad_trace(tmp_path, capsys):
    write(lif_graph(), tmp_path / "g.nir")
    (tmp_path / "t.csv").write_text("input,spike\n1,0\n1,nan\n")
    assert (
        main(["semantics", "fit", str(tmp_path / "g.nir"), "--trace", str(tmp_path / "t.csv")]) == 1
    )
    assert "t.csv: column 'spike': nan at row 1" in capsys.readouterr().err
