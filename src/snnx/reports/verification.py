"""How a verification reads: `terminal` for ``snnx verify`` (the per-layer table, what its
columns mean, and a verdict line), and `write_report` for ``--report DIR`` (the verification as
JSON, a per-layer agreement chart, the reference and target rasters side by side, one HTML page).

>>> import numpy as np
>>> escape_row(["a<b", 1])
'<tr><td>a&lt;b</td><td>1</td></tr>'
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

import numpy as np

from snnx.atomic import atomic_path
from snnx.verification import Verification

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


def write_report(result: Verification, directory: str | os.PathLike, sample: int = 0) -> list[Path]:
    """Write ``report.json``, ``agreement.png``, one ``raster_<i>.png`` per layer and
    ``index.html`` into ``directory``; return the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written = []

    def save(fig, name: str) -> None:
        with atomic_path(folder / name) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
        plt.close(fig)
        written.append(folder / name)

    names = [a.layer for a in result.layers]
    fig, ax = plt.subplots(figsize=(max(4, 1.2 * len(names) + 2), 3))
    x = np.arange(len(names))
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
    ax.set_title(
        f"{result.target}: output class agreement {result.class_agreement:.1%}", fontsize=10
    )
    fig.tight_layout()
    save(fig, "agreement.png")

    for i, agreement in enumerate(result.layers):
        ref = result.reference[agreement.layer][:, sample]
        chip = result.target_traces[agreement.layer][:, sample]
        fig, axes = plt.subplots(1, 2, figsize=(11, 2.8), sharey=True)
        for ax, trace, title in ((axes[0], ref, "reference"), (axes[1], chip, result.target)):
            steps, neurons = np.nonzero(trace)
            ax.scatter(steps, neurons, s=6, marker="|", color="black")
            differ = np.nonzero(ref != chip)
            ax.scatter(differ[0], differ[1], s=14, marker="x", color="#d62728", linewidths=0.8)
            ax.set_title(f"{title}: layer {agreement.layer} ({agreement.node})", fontsize=9)
            ax.set_xlabel("time step")
            ax.set_xlim(-1, trace.shape[0])
        axes[0].set_ylabel("neuron")
        fig.tight_layout()
        save(fig, f"raster_{i}.png")

    with atomic_path(folder / "report.json") as tmp:
        tmp.write_text(json.dumps(result.to_dict(), indent=2))
    written.append(folder / "report.json")
    with atomic_path(folder / "index.html") as tmp:
        tmp.write_text(_page(result))
    written.append(folder / "index.html")
    return written


def escape_row(cells: list) -> str:
    """One HTML table row, every cell escaped."""
    return "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>"


def _page(result: Verification) -> str:
    diverge = result.first_divergence
    rows = "\n".join(
        escape_row(
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
        )
        for a in result.layers
    )
    rasters = "\n".join(
        f'<h3>Layer {html.escape(a.layer)}</h3><img src="raster_{i}.png">'
        for i, a in enumerate(result.layers)
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
    status = (
        "bit-exact on every layer"
        if diverge is None
        else f"first divergence: layer {diverge[0]}, step {diverge[1]}"
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>snnx verify: {html.escape(result.target)}</title>
<style>body{{font-family:sans-serif;max-width:70em;margin:2em auto}}td,th{{padding:.2em .6em;text-align:right}}
table{{border-collapse:collapse}}tr:nth-child(even){{background:#f3f3f3}}</style></head><body>
<h1>snnx verify: {html.escape(result.target)}</h1>
<p>{result.batch} samples &times; {result.steps} steps; reference semantics:
{html.escape(result.semantics.describe())}</p>
<p><b>Output class agreement: {result.class_agreement:.2%}</b>; {html.escape(status)}.</p>
<table><tr><th>layer</th><th>node</th><th>size</th><th>latency</th><th>exact</th><th>correlation</th>
<th>reference spikes</th><th>target spikes</th><th>first divergence</th></tr>
{rows}</table>
<ul>{notes}</ul>
<img src="agreement.png">
<h2>Rasters (sample 0; red crosses where the two differ)</h2>
{rasters}
</body></html>
"""
