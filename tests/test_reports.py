"""What people read: the verification page (its sections and the hooks other parts fill in) and
the graph drawing's edge labels."""

from __future__ import annotations

import json

import numpy as np
import pytest

import snnx
from snnx import example_path
from snnx.reports.drawing import draw
from snnx.reports.verification import write_report
from snnx.targets import get_target
from snnx.verification import verify


@pytest.fixture(scope="module")
def result():
    graph = snnx.read(example_path("braille"))
    x = (np.random.default_rng(0).random((40, 5, 12)) < 0.2).astype(np.float32)
    return verify(graph, get_target("loihi"), x, "snntorch-nir")


def test_page_sections_and_figures(result, tmp_path):
    written = {p.name for p in write_report(result, tmp_path, samples=3)}
    assert {"index.html", "report.json", "agreement.png", "over_time.png"} <= written
    assert {f"raster_{i}.png" for i in range(len(result.layers))} <= written
    page = (tmp_path / "index.html").read_text()
    for heading in ("Semantics", "Layers", "Agreement over time", "NeuroBench metrics", "Rasters"):
        assert f"<h2>{heading}" in page
    assert "Samples 0-2" in page and "Adaptation" not in page
    assert "M. Davies et al." in page  # the published figure's source
    report = json.loads((tmp_path / "report.json").read_text())
    curve = report["agreement_over_time"][result.layers[0].layer]
    assert len(curve) == 40 and all(0 <= v <= 1 for v in curve)


def test_agreement_over_time_counts_the_traces(result):
    """Each step's fraction is that of the entries of the traces the report compares (the first
    batch holds every sample here)."""
    for layer in result.layers:
        ref, got = result.reference[layer.layer], result.target_traces[layer.layer]
        want = (ref == got).reshape(len(ref), -1).mean(axis=1)
        np.testing.assert_allclose(result.agreement_over_time[layer.layer], want)
        first = np.nonzero(want < 1)[0]
        assert layer.first_divergence == (int(first[0]) if first.size else None)


def test_provenance_and_adaptation_hooks_render_when_present(result, tmp_path):
    import dataclasses

    filled = dataclasses.replace(
        result,
        provenance={"dt": {"value": 1e-4, "source": "profile snntorch"}, "reset": "zero"},
        adaptation={"before": {"class agreement": "71%"}, "after": {"class agreement": "98%"}},
    )
    write_report(filled, tmp_path, samples=1)
    page = (tmp_path / "index.html").read_text()
    assert "<td>profile snntorch</td>" in page and "<td>reset</td><td>zero</td>" in page
    assert "<h2>Adaptation</h2>" in page and "<td>71%</td><td>98%</td>" in page
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["adaptation"]["after"] == {"class agreement": "98%"}


def test_drawing_labels_what_edges_carry(tmp_path):
    """Shapes on every edge, the recurrent edge one step late, a Delay's delay."""
    graph = snnx.read(example_path("braille"))
    draw(graph, tmp_path / "b.svg")
    text = (tmp_path / "b.svg").read_text()
    assert "38, +1 step" in text and "<!-- 12 -->" in text  # matplotlib notes each text
    from snnx.ir import Graph, Node

    delayed = Graph.sequential(
        {
            "in": Node("Input", shape=[3]),
            "d": Node("Delay", delay=np.full(3, 2e-3)),
            "out": Node("Output", shape=[3]),
        }
    )
    draw(delayed, tmp_path / "d.svg")
    assert "3, delay 0.002 s" in (tmp_path / "d.svg").read_text()
