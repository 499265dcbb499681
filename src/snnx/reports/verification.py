"""How a verification reads: `terminal` for ``snnx verify`` (the per-layer table, what its
columns mean, and a verdict line), and `write_report` for ``snnx verify --report DIR`` (one HTML
page with its figures and the JSON beside it).

Sections, in order (each a function of the `snnx.verification.Verification` returning HTML, empty
when its data is absent):

1. `summary_section`: samples, steps, class agreement, the first divergence;
2. `provenance_section`: where each semantics knob came from (``result.provenance``: knob ->
   ``{"value": ..., "source": ...}``, filled in by whoever resolves the semantics), else the
   semantics in one line;
3. `layers_section`: per-layer agreement table and bar chart;
4. `over_time_section`: per-layer agreement at every step, where it starts to diverge;
5. `metrics_section`: NeuroBench's metrics and the vendor's published figures, with sources;
6. `adaptation_section`: the adaptation before and after (``result.adaptation``: ``{"before":
   {name: value}, "after": {name: value}, "notes": [...]}``), when there was one;
7. `rasters_section`: reference and target rasters of several samples, differences marked.

>>> escape_row(["a<b", 1])
'<tr><td>a&lt;b</td><td>1</td></tr>'
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from snnx.atomic import atomic_path
from snnx.verification import Verification

#: How many samples the raster section draws.
RASTER_SAMPLES = 3
_MISSING, _EXTRA = "#1f77b4", "#d62728"  # in the reference only; in the target only


LEGEND = [
    "  lat: steps the target's layer runs behind the reference (shifted back before comparing)",
    "  exact: share of (step, sample, neuron) entries that are equal; corr: correlation of the",
    "  spike counts per sample and neuron; first divergence: the first step with any difference;",
    "  output class: the most active output neuron of a sample",
]


def terminal(result: Verification, notes: bool = True) -> str:
    """`Verification.summary` for a reader: its table, then what the columns mean and a reading
    of layers that rarely match step for step but fire as often (spikes moved in time, not
    lost), then the rest of the summary, the notes listed or (``notes=False``) only counted.

    >>> from snnx.semantics import Semantics
    >>> from snnx.verification import LayerAgreement, Verification
    >>> layer = LayerAgreement("1", "lif", 4, 1, 0.6, 0.99, 100.0, 103.0, 2)
    >>> result = Verification("chip", Semantics(dt=1e-4), 50, 8, [layer], 1.0, ["rounded"], {}, {})
    >>> print(terminal(result, notes=False))  # doctest: +NORMALIZE_WHITESPACE
    verify chip: 8 samples x 50 steps, reference custom semantics (dt=0.0001 s)
    layer      node               size  lat    exact    corr  ref spikes    target  first divergence
    1          lif                   4    1   60.00%   0.990         100       103  step 2
      lat: steps the target's layer runs behind the reference (shifted back before comparing)
      exact: share of (step, sample, neuron) entries that are equal; corr: correlation of the
      spike counts per sample and neuron; first divergence: the first step with any difference;
      output class: the most active output neuron of a sample
    lif: only 60.00% of entries equal step for step, but its neurons fire about as often (counts correlate at 0.990; 100 vs 103 spikes): the differences are mostly spikes at other steps, not spikes lost or added
    output class agreement: 100.00%
    first divergence: layer 1, step 2
    1 notes on what the target rounds: `snnx compile` prints them
    """
    lines = result.summary().splitlines()
    table = 2 + len(result.layers)  # the header, the column names, a row per layer
    rest = lines[table : len(lines) - len(result.notes)]
    readings = [
        f"{a.node}: only {a.exact:.2%} of entries equal step for step, but its neurons fire "
        f"about as often (counts correlate at {a.count_correlation:.3f}; "
        f"{a.reference_spikes:g} vs {a.target_spikes:g} spikes): the differences are mostly "
        "spikes at other steps, not spikes lost or added"
        for a in result.layers
        if a.exact < 0.9 and a.count_correlation >= 0.95
    ]
    if notes:
        rest += [f"note: {n}" for n in result.notes]
    elif result.notes:
        rest.append(
            f"{len(result.notes)} notes on what the target rounds: `snnx compile` prints them"
        )
    return "\n".join([*lines[:table], *LEGEND, *readings, *rest])


def verdict(result: Verification, min_agreement: float) -> str:
    """One line: whether the output classes agree on at least ``min_agreement`` of the samples,
    with the figure and the threshold.

    >>> from snnx.semantics import Semantics
    >>> from snnx.verification import Verification
    >>> print(verdict(Verification("chip", Semantics(dt=1e-4), 50, 8, [], 0.875, [], {}, {}), 0.95))
    FAILED: the chip numerics chose the reference's output class in 87.50% of 8 samples (at least 95.00% required)
    """
    word = "passed" if result.passed(min_agreement) else "FAILED"
    return (
        f"{word}: the {result.target} numerics chose the reference's output class in "
        f"{result.class_agreement:.2%} of {result.batch} samples "
        f"(at least {min_agreement:.2%} required)"
    )


def write_report(
    result: Verification, directory: str | os.PathLike, samples: int = RASTER_SAMPLES
) -> list[Path]:
    """Write ``report.json``, the figures (``agreement.png``, ``over_time.png``, one
    ``raster_<layer>.png`` per layer) and ``index.html`` into ``directory``; return the paths."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    figures = _Figures(folder)
    shown = min(samples, next(iter(result.reference.values())).shape[1])
    body = "\n".join(
        section(result, figures)
        for section in (
            summary_section,
            provenance_section,
            layers_section,
            over_time_section,
            metrics_section,
            adaptation_section,
            lambda r, f: rasters_section(r, f, shown),
        )
    )
    with atomic_path(folder / "report.json") as tmp:
        tmp.write_text(json.dumps(result.to_dict(), indent=2, default=_plain))
    with atomic_path(folder / "index.html") as tmp:
        tmp.write_text(_PAGE.format(title=html.escape(f"snnx verify: {result.target}"), body=body))
    return [*figures.written, folder / "report.json", folder / "index.html"]


def escape_row(cells: list, header: bool = False) -> str:
    """One HTML table row, every cell escaped."""
    tag = "th" if header else "td"
    return "<tr>" + "".join(f"<{tag}>{html.escape(str(c))}</{tag}>" for c in cells) + "</tr>"


def table(header: list[str], rows: list[list]) -> str:
    """An HTML table, every cell escaped.

    >>> table(["a"], [[1]])
    '<table><tr><th>a</th></tr>\\n<tr><td>1</td></tr></table>'
    """
    lines = [escape_row(header, header=True), *(escape_row(r) for r in rows)]
    return "<table>" + "\n".join(lines) + "</table>"


def summary_section(result: Verification, figures: _Figures) -> str:
    """Samples, steps, class agreement and where the target first departs."""
    diverge = result.first_divergence
    status = (
        "bit-exact on every layer"
        if diverge is None
        else f"first divergence: layer {diverge[0]}, step {diverge[1]}"
    )
    return (
        f"<p>{result.batch} samples &times; {result.steps} steps.</p>"
        f'<p class="headline">Output class agreement: {result.class_agreement:.2%}; '
        f"{html.escape(status)}.</p>"
    )


def provenance_section(result: Verification, figures: _Figures) -> str:
    """Where each semantics knob came from (``result.provenance``), else the semantics."""
    text = f"<p>{html.escape(result.semantics.describe())}</p>"
    if not result.provenance:
        return f"<h2>Semantics</h2>{text}"
    rows = []
    for knob, entry in result.provenance.items():
        entry = entry if isinstance(entry, dict) else {"value": entry}
        rows.append([knob, entry.get("value", ""), entry.get("source", ""), entry.get("why", "")])
    return f"<h2>Semantics</h2>{text}{table(['knob', 'value', 'from', 'why'], rows)}"


def layers_section(result: Verification, figures: _Figures) -> str:
    """The per-layer agreement table and bar chart."""
    rows = [
        [
            a.layer,
            a.node,
            a.size,
            a.latency,
            f"{a.exact:.2%}",
            f"{a.count_correlation:.3f}",
            f"{a.reference_spikes:g}",
            f"{a.target_spikes:g}",
            "-" if a.first_divergence is None else a.first_divergence,
        ]
        for a in result.layers
    ]
    header = ["layer", "node", "size", "latency", "exact", "correlation"]
    header += ["reference spikes", "target spikes", "first divergence"]
    fig, ax = figures.new(figsize=(max(4, 1.2 * len(rows) + 2), 3))
    x = np.arange(len(result.layers))
    ax.bar(x - 0.2, [a.exact for a in result.layers], 0.4, label="exact spike agreement")
    ax.bar(
        x + 0.2,
        [max(a.count_correlation, 0) for a in result.layers],
        0.4,
        label="spike-count correlation",
    )
    ax.set_xticks(x, [f"{a.layer}\n{a.node}" for a in result.layers], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title(f"{result.target}: output class agreement {result.class_agreement:.1%}")
    image = figures.save(fig, "agreement.png")
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
    return (
        f"<h2>Layers</h2>{table(header, rows)}<ul>{notes}</ul>"
        f'<img src="{image}" alt="agreement per layer">'
    )


def over_time_section(result: Verification, figures: _Figures) -> str:
    """The fraction of entries each layer gets right at every step."""
    if not result.agreement_over_time:
        return ""
    fig, ax = figures.new(figsize=(10, 3))
    for a in result.layers:
        curve = result.agreement_over_time[a.layer]
        ax.plot(curve, lw=1, label=f"{a.layer} ({a.node})")
        if a.first_divergence is not None:
            ax.axvline(a.first_divergence, ls=":", lw=0.8, color=ax.lines[-1].get_color())
    ax.set_xlabel("time step")
    ax.set_ylabel("entries that agree")
    ax.set_ylim(min(0.5, ax.get_ylim()[0]), 1.01)
    ax.legend(fontsize=8, loc="lower left")
    image = figures.save(fig, "over_time.png")
    return (
        "<h2>Agreement over time</h2><p>Per layer, the fraction of (sample, neuron) entries equal "
        "to the reference's at each step; dotted lines mark each layer's first divergence.</p>"
        f'<img src="{image}" alt="agreement over time">'
    )


def metrics_section(result: Verification, figures: _Figures) -> str:
    """NeuroBench's metrics and the vendor's published figures, each with its source."""
    m = result.metrics
    if not m:
        return ""
    rows = [
        ["footprint", f"{m['footprint_bytes']} bytes ({m['parameters']} parameters)"],
        ["connection sparsity", f"{m['connection_sparsity']:.2%}"],
    ]
    if "synaptic_operations" in m:
        ops = m["synaptic_operations"]
        rows += [
            ["activation sparsity", f"{m['activation_sparsity']:.2%}"],
            ["synaptic operations per sample: effective ACs", f"{ops['effective_acs']:.6g}"],
            ["synaptic operations per sample: effective MACs", f"{ops['effective_macs']:.6g}"],
            ["synaptic operations per sample: dense", f"{ops['dense']:.6g}"],
            ["membrane updates per sample", f"{m['membrane_updates']:.6g}"],
        ]
    est = result.estimates
    if est:
        for key, label, scale, unit in (
            ("energy_per_synop_j", "energy per synaptic operation (published)", 1e12, "pJ"),
            ("energy_per_neuron_update_j", "energy per neuron update (published)", 1e12, "pJ"),
            ("energy_per_sample_j", "estimated energy per sample", 1e9, "nJ"),
            ("cores", "cores", 1, ""),
            ("time_per_step_s", "time per step on the chip", 1e6, "us"),
        ):
            value = est.get(key)
            shown = "not published" if value is None else f"{value * scale:.4g} {unit}".strip()
            rows.append([label, shown])
    sources = "".join(f"<li>{html.escape(s)}</li>" for s in (est or {}).get("sources", ()))
    remark = f"<p>{html.escape(est['remarks'])}</p>" if est.get("remarks") else ""
    return (
        "<h2>NeuroBench metrics and cost estimates</h2>"
        "<p>Metrics as NeuroBench defines them, of the network the target runs, on these "
        "inputs (snnx.metrics); estimates from the vendor's published figures.</p>"
        f"{table(['metric', 'value'], rows)}{remark}<ul>{sources}</ul>"
    )


def adaptation_section(result: Verification, figures: _Figures) -> str:
    """The adaptation before and after (``result.adaptation``), when there was one."""
    done = result.adaptation
    if not done:
        return ""
    before, after = done.get("before", {}), done.get("after", {})
    rows = [[k, before.get(k, ""), after.get(k, "")] for k in dict.fromkeys([*before, *after])]
    notes = "".join(f"<li>{html.escape(str(n))}</li>" for n in done.get("notes", ()))
    return f"<h2>Adaptation</h2>{table(['', 'before', 'after'], rows)}<ul>{notes}</ul>"


def rasters_section(result: Verification, figures: _Figures, samples: int) -> str:
    """For each layer, reference and target rasters of ``samples`` samples; where they differ,
    blue marks spikes only the reference has and red spikes only the target has."""
    parts = [
        f"<h2>Rasters</h2><p>Samples 0-{samples - 1}. Black: spikes both agree on; "
        f'<span style="color:{_MISSING}">blue circles</span>: only the reference spikes; '
        f'<span style="color:{_EXTRA}">red crosses</span>: only the target spikes.</p>'
    ]
    for i, a in enumerate(result.layers):
        ref, chip = result.reference[a.layer], result.target_traces[a.layer]
        fig, axes = figures.new(
            nrows=samples, ncols=2, figsize=(11, 1.9 * samples + 0.6), squeeze=False, sharey=True
        )
        for row in range(samples):
            for col, (trace, title) in enumerate(((ref, "reference"), (chip, result.target))):
                ax = axes[row, col]
                _raster(
                    ax, np.asarray(ref[:, row]), np.asarray(chip[:, row]), np.asarray(trace[:, row])
                )
                ax.set_title(f"{title}, sample {row}", fontsize=8)
            axes[row, 0].set_ylabel("neuron")
        for ax in axes[-1]:
            ax.set_xlabel("time step")
        fig.suptitle(f"layer {a.layer} ({a.node})", fontsize=9)
        image = figures.save(fig, f"raster_{i}.png")
        parts.append(f'<h3>Layer {html.escape(a.layer)}</h3><img src="{image}" alt="rasters">')
    return "\n".join(parts)


def _raster(ax: Any, ref: np.ndarray, chip: np.ndarray, trace: np.ndarray) -> None:
    steps, neurons = np.nonzero(trace)
    ax.scatter(steps, neurons, s=6, marker="|", color="black")
    only_ref = np.nonzero((ref != 0) & (ref != chip))
    only_chip = np.nonzero((chip != 0) & (ref != chip))
    ax.scatter(*only_ref, s=16, marker="o", facecolors="none", edgecolors=_MISSING, linewidths=0.8)
    ax.scatter(*only_chip, s=16, marker="x", color=_EXTRA, linewidths=0.8)
    ax.set_xlim(-1, trace.shape[0])


class _Figures:
    """Figures drawn with matplotlib (Agg) and saved as PNG into one folder, atomically."""

    def __init__(self, folder: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        self.folder, self.plt = folder, plt
        self.written: list[Path] = []

    def new(self, **kwargs: Any) -> Any:
        return self.plt.subplots(**kwargs)

    def save(self, fig: Any, name: str) -> str:
        fig.tight_layout()
        with atomic_path(self.folder / name) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
        self.plt.close(fig)
        self.written.append(self.folder / name)
        return name


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as JSON numbers and lists."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:72em;margin:2em auto;padding:0 1em;color:#222}}
h1{{font-size:1.6em}} h2{{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}}
td,th{{padding:.2em .6em;text-align:right}} th{{background:#eee}}
td:first-child,th:first-child{{text-align:left}}
table{{border-collapse:collapse;margin:.6em 0}} tr:nth-child(even){{background:#f6f6f6}}
.headline{{font-size:1.15em;font-weight:bold}} img{{max-width:100%}}
</style></head><body>
<h1>{title}</h1>
{body}
</body></html>
"""
