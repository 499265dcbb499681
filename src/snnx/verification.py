"""Verification: a target's exact numerics against the reference simulator, layer by layer.

Both run on the same inputs; the target a few steps longer (zeros after the input) so that every
reference step has its counterpart. For each target layer, the reference node it stands for is
recorded, its output compared with the target's shifted by the layer's latency:

- *exact agreement*: the fraction of (step, sample, neuron) entries with equal spike counts;
- *spike-count correlation*: Pearson's r between the per-(sample, neuron) spike totals;
- *first divergence*: the first reference step at which any entry differs.

Over the output layer, *class agreement* is the fraction of samples whose most active output
neuron is the same. A sample whose reference output has no single most active neuron (two tied,
or none firing) is *undecided*: agreeing on it means nothing, so the report counts these, warns
when they are many (random inputs too sparse or too short for the model), and gives the
agreement over the decided samples too. Per layer and step, *agreement over time* is the fraction of (sample,
neuron) entries that agree at that step: where the curve leaves 1 is where the target starts to
part ways. The reference run also gives NeuroBench's metrics of the network the chip runs
(`snnx.metrics`: footprint, connection and activation sparsity, synaptic operations, membrane
updates), with the vendor's published cost figures (`snnx.estimates`). The report names the first layer and step at which the two part ways, and
counts the reference's *float ties*: decisions within `TIE_ULPS` float spacings of a threshold,
which another device's rounding may turn over (`snnx.sim.executor` records these margins).

A data set larger than one batch runs ``batch_size`` samples at a time, each batch split across
all devices (of every process under `jax.distributed`: `snnx.sim.batches`); every process runs
the target on the samples its devices hold, and the counts behind each figure are summed over
batches and processes, exactly (integers, for spike trains), so any split gives the same report.
The traces kept for pictures are those of the first batch (this process's part of it).

>>> import numpy as np
>>> correlation(np.array([1, 2, 3]), np.array([2, 4, 6]))
1.0
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from snnx import estimates
from snnx.ir.graph import Graph
from snnx.metrics import WorkloadCounts, count_workload, recorded_nodes, static_metrics
from snnx.reports.rasters import is_spike_train
from snnx.semantics import Semantics
from snnx.sim import Simulator, batches, resolve_semantics
from snnx.targets.base import LayerMap, Lowered, Target

#: A reference decision within this many float spacings (ulps) of its threshold is a float tie.
TIE_ULPS = 8
#: Above this share of undecided samples, the summary warns that the inputs do not fit the model.
UNDECIDED_WARNING = 0.1


@dataclasses.dataclass(frozen=True)
class LayerAgreement:
    """How one target layer agrees with the reference node it reproduces."""

    layer: str
    node: str
    size: int
    latency: int
    exact: float
    count_correlation: float
    reference_spikes: float
    target_spikes: float
    first_divergence: int | None
    reference_ties: int = 0


@dataclasses.dataclass
class Verification:
    """The outcome of `verify`: per-layer agreement, class agreement, first divergence, and the
    traces compared (``reference``/``target``: layer name -> ``(T, B, N)``, aligned).

    ``agreement_over_time``: layer -> the fraction of entries that agree at each step;
    ``metrics``: NeuroBench's metrics of the lowered network on these inputs (`snnx.metrics`);
    ``estimates``: the target's published cost figures applied to them (`snnx.estimates`).
    Sections the report shows when present (others fill them in): ``provenance`` (knob -> where
    its value came from, `snnx.reports.verification.provenance_section`) and ``adaptation``
    (the adaptation before and after, `snnx.reports.verification.adaptation_section`)."""

    target: str
    semantics: Semantics
    steps: int
    batch: int
    layers: list[LayerAgreement]
    class_agreement: float
    notes: list[str]
    reference: dict[str, np.ndarray] = dataclasses.field(repr=False)
    target_traces: dict[str, np.ndarray] = dataclasses.field(repr=False)
    agreement_over_time: dict[str, list[float]] = dataclasses.field(
        default_factory=dict, repr=False
    )
    metrics: dict[str, Any] = dataclasses.field(default_factory=dict)
    estimates: dict[str, Any] = dataclasses.field(default_factory=dict)
    provenance: dict[str, Any] | None = None
    adaptation: dict[str, Any] | None = None
    undecided: int = 0
    decided_agreement: float = 0.0

    @property
    def first_divergence(self) -> tuple[str, int] | None:
        """The layer and reference step where the target first departs from the reference."""
        found = [
            (a.first_divergence, i, a.layer)
            for i, a in enumerate(self.layers)
            if a.first_divergence is not None
        ]
        if not found:
            return None
        step, _, layer = min(found)
        return layer, step

    def passed(self, min_agreement: float) -> bool:
        """Whether the output classes agree on at least ``min_agreement`` of the samples."""
        return self.class_agreement >= min_agreement

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no traces)."""
        diverge = self.first_divergence
        return {
            "target": self.target,
            "semantics": self.semantics.to_metadata(),
            "steps": self.steps,
            "batch": self.batch,
            "class_agreement": self.class_agreement,
            "undecided": self.undecided,
            "decided_agreement": self.decided_agreement,
            "first_divergence": None
            if diverge is None
            else {"layer": diverge[0], "step": diverge[1]},
            "layers": [dataclasses.asdict(a) for a in self.layers],
            "agreement_over_time": self.agreement_over_time,
            "metrics": self.metrics,
            "estimates": self.estimates,
            **({"provenance": self.provenance} if self.provenance is not None else {}),
            **({"adaptation": self.adaptation} if self.adaptation is not None else {}),
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """A few aligned lines for the terminal."""
        lines = [
            f"verify {self.target}: {self.batch} samples x {self.steps} steps, reference "
            f"{self.semantics.profile_name or 'custom'} semantics (dt={self.semantics.dt:g} s)",
            f"{'layer':<10} {'node':<16} {'size':>6} {'lat':>4} {'exact':>8} {'corr':>7} "
            f"{'ref spikes':>11} {'target':>9}  first divergence",
        ]
        for a in self.layers:
            where = "-" if a.first_divergence is None else f"step {a.first_divergence}"
            lines.append(
                f"{a.layer:<10} {a.node:<16} {a.size:>6} {a.latency:>4} {a.exact:>8.2%} "
                f"{a.count_correlation:>7.3f} {a.reference_spikes:>11g} {a.target_spikes:>9g}  {where}"
            )
        diverge = self.first_divergence
        lines.append(f"output class agreement: {self.class_agreement:.2%}")
        if self.undecided:
            lines.append(
                f"undecided: {self.undecided} of {self.batch} samples leave the reference's output "
                f"tied (two top neurons, or none firing); over the decided ones the classes agree "
                f"on {self.decided_agreement:.2%}"
            )
            if self.undecided > UNDECIDED_WARNING * self.batch:
                lines.append(
                    "warning: many undecided outputs -- the inputs are too sparse or too short for "
                    "this model (give --steps/--rate that fit it, or real data with --input)"
                )
        ties = sum(a.reference_ties for a in self.layers)
        if ties:
            lines.append(
                f"float ties: {ties} reference decisions within {TIE_ULPS} ulps of a threshold "
                "(another device's rounding may turn them over)"
            )
        lines.append(
            "bit-exact on every layer"
            if diverge is None
            else f"first divergence: layer {diverge[0]}, step {diverge[1]}"
        )
        if self.metrics:
            lines += metric_lines(self.metrics)
        if self.estimates:
            lines += estimates.summary(self.estimates)
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def metric_lines(metrics: dict[str, Any]) -> list[str]:
    """NeuroBench's metrics (`snnx.metrics`) as terminal lines.

    >>> metric_lines({"footprint_bytes": 800, "parameters": 200, "connection_sparsity": 0.5})
    ['NeuroBench: footprint 800 B (200 parameters), connection sparsity 50.00%']
    """
    lines = [
        f"NeuroBench: footprint {metrics['footprint_bytes']} B ({metrics['parameters']} "
        f"parameters), connection sparsity {metrics['connection_sparsity']:.2%}"
    ]
    if "synaptic_operations" in metrics:
        ops = metrics["synaptic_operations"]
        lines.append(
            f"  per sample: activation sparsity {metrics['activation_sparsity']:.2%}, synaptic "
            f"operations {ops['effective_acs']:.6g} ACs + {ops['effective_macs']:.6g} MACs "
            f"(dense {ops['dense']:.6g}), membrane updates {metrics['membrane_updates']:.6g}"
        )
    return lines


def verify(
    graph: Graph,
    target: Target,
    inputs: np.ndarray,
    semantics: Semantics | str | None = None,
    *,
    lowered: Lowered | None = None,
    batch_size: int | None = None,
    progress: bool = False,
    precision: str = "highest",
    **options: Any,
) -> Verification:
    """Lower ``graph`` (unless ``lowered`` is given), run the reference (at ``precision``,
    `snnx.sim.Simulator`) and the target on ``inputs`` ``(T, B, *shape)`` (``batch_size``
    samples at a time; a tqdm bar with ``progress``), and compare them layer by layer."""
    semantics = resolve_semantics(graph, semantics)
    lowered = lowered or target.lower(graph, semantics, **options)
    steps, total = inputs.shape[:2]
    nodes = list(dict.fromkeys(layer.node for layer in lowered.layers))
    counted = recorded_nodes(lowered.graph)
    sim = Simulator(
        lowered.graph,
        lowered.semantics,
        record=list(dict.fromkeys([*nodes, *counted])),
        margins=True,
        shard=True,
        precision=precision,
    )
    tallies = {
        layer.name: _Tally(steps, np.zeros((2, steps), np.int64)) for layer in lowered.layers
    }
    classes = np.zeros(4, np.int64)  # samples agreeing, samples, decided agreeing, decided
    workload = WorkloadCounts()
    reference: dict[str, np.ndarray] = {}  # the first batch's traces
    traced: dict[str, np.ndarray] = {}
    with batches.progress(total, f"verify {lowered.target}", enabled=progress) as bar:
        for lo, hi in batches.ranges(total, batch_size):
            x = inputs[:, lo:hi]
            _, records = sim.forward(batches.pad(x, batches.padded_size(hi - lo)))
            blocks = {key: batches.local_blocks(value) for key, value in records.items()}
            for i, (start, stop, _) in enumerate(next(iter(blocks.values()))):
                stop = min(stop, hi - lo)  # padding samples are dropped
                if start >= stop:
                    continue
                ref = {key: found[i][2][:, : stop - start] for key, found in blocks.items()}
                expected, got = _compare(lowered, target, x[:, start:stop], ref, tallies)
                named = {sim.inputs[0]: np.asarray(x[:, start:stop])}
                workload = workload + count_workload(lowered.graph, named, ref)
                out = lowered.output.name
                agree = expected[out].sum(0).argmax(-1) == got[out].sum(0).argmax(-1)
                sure = is_decided(expected[out].sum(0).reshape(agree.size, -1))
                classes += (int(agree.sum()), agree.size, int(agree[sure].sum()), int(sure.sum()))
                if not reference:
                    reference, traced = expected, got
            bar.update(hi - lo)
    totals = _summed(list(tallies.values()), classes)
    measured = {
        **static_metrics(lowered.graph),
        **WorkloadCounts(*batches.all_processes(workload.as_array()).sum(0).tolist()).metrics(),
    }
    return Verification(
        target=lowered.target,
        semantics=lowered.semantics,
        steps=steps,
        batch=total,
        layers=[t.agreement(layer) for layer, t in zip(lowered.layers, totals[0], strict=True)],
        class_agreement=float(totals[1][0] / max(totals[1][1], 1)),
        undecided=int(totals[1][1] - totals[1][3]),
        decided_agreement=float(totals[1][2] / max(totals[1][3], 1)),
        notes=list(lowered.notes),
        reference=reference,
        target_traces=traced,
        agreement_over_time={
            layer.name: t.over_time() for layer, t in zip(lowered.layers, totals[0], strict=True)
        },
        metrics=measured,
        estimates=estimates.estimate(
            lowered.target, target.resources(lowered), measured, dt=lowered.semantics.dt
        ),
    )


def _compare(
    lowered: Lowered, target: Target, x: np.ndarray, ref: dict, tallies: dict
) -> tuple[dict, dict]:
    """Run the target on ``x`` (padded in time by the layers' latencies), tally each layer
    against the reference records ``ref``; the aligned traces."""
    steps, batch = x.shape[:2]
    horizon = steps + max(layer.latency for layer in lowered.layers)
    padded = np.concatenate([x, np.zeros((horizon - steps, *x.shape[1:]), x.dtype)])
    chip = target.run(lowered, padded)
    expected, got = {}, {}
    for layer in lowered.layers:
        expected[layer.name] = ref[f"{layer.node}.out"].reshape(steps, batch, -1)
        got[layer.name] = np.asarray(chip[layer.name])[
            layer.latency : layer.latency + steps
        ].reshape(steps, batch, -1)
        margin = ref.get(f"{layer.node}.margin")
        tallies[layer.name].add(expected[layer.name], got[layer.name], margin)
    return expected, got


@dataclasses.dataclass
class _Tally:
    """The counts behind one layer's `LayerAgreement`, summed over batches: integers where both
    traces are spike trains (exact in any order), floats otherwise. ``ints``: entries, equal
    entries, reference ties, (sample, neuron) pairs, then the sums for Pearson's r (a, b, a^2,
    b^2, ab) and the spike totals; ``floats``: the same sums for non-spiking readouts."""

    steps: int
    per_step: np.ndarray  # equal entries at each step, then entries at each step: (2, steps)
    ints: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(11, np.int64))
    floats: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(7))
    first: int = -1  # the first divergent step; -1: none yet

    def add(self, expected: np.ndarray, got: np.ndarray, margin: np.ndarray | None) -> None:
        spikes = is_spike_train(expected) and is_spike_train(got)
        # a non-spiking readout: values agree within float tolerance
        same = expected == got if spikes else np.isclose(expected, got, rtol=1e-3, atol=1e-6)
        by_step = same.reshape(same.shape[0], -1)
        self.per_step += (by_step.sum(axis=1), np.full(len(by_step), by_step.shape[1]))
        differs = np.nonzero(~by_step.all(axis=1))[0]
        if differs.size:
            self.first = int(differs[0]) if self.first < 0 else min(self.first, int(differs[0]))
        ties = 0 if margin is None else int(np.count_nonzero(np.abs(margin) <= TIE_ULPS))
        a, b = expected.sum(axis=0).ravel(), got.sum(axis=0).ravel()
        self.ints[:4] += (same.size, int(same.sum()), ties, a.size)
        kind, total = (np.int64, self.ints[4:]) if spikes else (np.float64, self.floats)
        a, b = a.astype(kind), b.astype(kind)
        total += (a.sum(), b.sum(), a @ a, b @ b, a @ b, a.sum(), b.sum())

    def over_time(self) -> list[float]:
        """The fraction of entries that agree at each step."""
        equal, entries = self.per_step
        return (equal / np.maximum(entries, 1)).tolist()

    def agreement(self, layer: LayerMap) -> LayerAgreement:
        entries, equal, ties, pairs = (int(v) for v in self.ints[:4])
        if self.floats.any():
            sa, sb, saa, sbb, sab, ref, tgt = (float(v) for v in self.floats)
        else:  # Python integers: the sums of squares below stay exact
            sa, sb, saa, sbb, sab, ref, tgt = (int(v) for v in self.ints[4:])
        return LayerAgreement(
            layer=layer.name,
            node=layer.node,
            size=layer.size,
            latency=layer.latency,
            exact=equal / max(entries, 1),
            count_correlation=_pearson(pairs, sa, sb, saa, sbb, sab),
            reference_spikes=float(ref),
            target_spikes=float(tgt),
            first_divergence=None if self.first < 0 else self.first,
            reference_ties=ties,
        )


def _summed(tallies: list[_Tally], classes: np.ndarray) -> tuple[list[_Tally], np.ndarray]:
    """The tallies and class counts summed over every process of a distributed run."""
    ints = batches.all_processes(np.stack([t.ints for t in tallies] + [np.pad(classes, (0, 7))]))
    floats = batches.all_processes(np.stack([t.floats for t in tallies]))
    firsts = batches.all_processes(np.array([t.first for t in tallies]))
    per_step = batches.all_processes(np.stack([t.per_step for t in tallies]))
    out = []
    for i, tally in enumerate(tallies):
        found = [int(f) for f in firsts[:, i] if f >= 0]
        out.append(
            _Tally(
                tally.steps,
                per_step[:, i].sum(0),
                ints[:, i].sum(0),
                floats[:, i].sum(0),
                min(found, default=-1),
            )
        )
    return out, ints[:, -1, :4].sum(0)


def is_decided(counts: np.ndarray) -> np.ndarray:
    """Per sample, whether one output neuron is strictly the most active (``(B, N)`` totals).

    >>> is_decided(np.array([[3, 1], [2, 2], [0, 0]])).tolist()
    [True, False, False]
    """
    counts = np.asarray(counts)
    if counts.shape[-1] < 2:
        return counts[:, 0] != 0
    top = np.sort(counts, axis=-1)
    return top[:, -1] > top[:, -2]


def _pearson(
    n: int,
    sa: float | np.ndarray,
    sb: float | np.ndarray,
    saa: float | np.ndarray,
    sbb: float | np.ndarray,
    sab: float | np.ndarray,
) -> float:
    """Pearson's r from sums (as `correlation`): 1.0 for two equal constant vectors, 0.0 when
    only one is constant."""
    va, vb = n * saa - sa * sa, n * sbb - sb * sb
    if va <= 0 or vb <= 0:
        return 1.0 if va <= 0 and vb <= 0 and sa == sb else 0.0
    return float((n * sab - sa * sb) / math.sqrt(va * vb))


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson's r; 1.0 for two equal constant vectors, 0.0 when only one is constant."""
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return _pearson(a.size, a.sum(), b.sum(), a @ a, b @ b, a @ b)
