"""Verification: a target's exact numerics against the reference simulator, layer by layer.

Both run on the same inputs; the target a few steps longer (zeros after the input) so that every
reference step has its counterpart. For each target layer, the reference node it stands for is
recorded, its output compared with the target's shifted by the layer's latency:

- *exact agreement*: the fraction of (step, sample, neuron) entries with equal spike counts;
- *spike-count correlation*: Pearson's r between the per-(sample, neuron) spike totals;
- *first divergence*: the first reference step at which any entry differs.

Over the output layer, *class agreement* is the fraction of samples whose most active output
neuron is the same. The report names the first layer and step at which the two part ways.

>>> import numpy as np
>>> correlation(np.array([1, 2, 3]), np.array([2, 4, 6]))
1.0
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from snnx.ir.graph import Graph
from snnx.rasters import is_spike_train
from snnx.semantics import Semantics
from snnx.sim import Simulator, resolve_semantics
from snnx.targets.base import Lowered, Target


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


@dataclasses.dataclass
class Verification:
    """The outcome of `verify`: per-layer agreement, class agreement, first divergence, and the
    traces compared (``reference``/``target``: layer name -> ``(T, B, N)``, aligned)."""

    target: str
    semantics: Semantics
    steps: int
    batch: int
    layers: list[LayerAgreement]
    class_agreement: float
    notes: list[str]
    reference: dict[str, np.ndarray] = dataclasses.field(repr=False)
    target_traces: dict[str, np.ndarray] = dataclasses.field(repr=False)

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
            "first_divergence": None
            if diverge is None
            else {"layer": diverge[0], "step": diverge[1]},
            "layers": [dataclasses.asdict(a) for a in self.layers],
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
        lines.append(
            "bit-exact on every layer"
            if diverge is None
            else f"first divergence: layer {diverge[0]}, step {diverge[1]}"
        )
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def verify(
    graph: Graph,
    target: Target,
    inputs: np.ndarray,
    semantics: Semantics | str | None = None,
    *,
    lowered: Lowered | None = None,
    **options: Any,
) -> Verification:
    """Lower ``graph`` (unless ``lowered`` is given), run the reference and the target on
    ``inputs`` ``(T, B, *shape)``, and compare them layer by layer."""
    semantics = resolve_semantics(graph, semantics)
    lowered = lowered or target.lower(graph, semantics, **options)
    steps, batch = inputs.shape[:2]
    horizon = steps + max(layer.latency for layer in lowered.layers)
    padded = np.concatenate([inputs, np.zeros((horizon - steps, *inputs.shape[1:]), inputs.dtype)])
    chip = target.run(lowered, padded)
    nodes = list(dict.fromkeys(layer.node for layer in lowered.layers))
    ref = Simulator(lowered.graph, lowered.semantics, record=nodes)(inputs).records
    reference, traced, layers = {}, {}, []
    for layer in lowered.layers:
        expected = ref[f"{layer.node}.out"].reshape(steps, batch, -1)
        got = np.asarray(chip[layer.name])[layer.latency : layer.latency + steps].reshape(
            steps, batch, -1
        )
        reference[layer.name], traced[layer.name] = expected, got
        layers.append(_agreement(layer, expected, got))
    out = lowered.output.name
    ref_class = reference[out].sum(axis=0).argmax(axis=-1)
    chip_class = traced[out].sum(axis=0).argmax(axis=-1)
    return Verification(
        target=lowered.target,
        semantics=lowered.semantics,
        steps=steps,
        batch=batch,
        layers=layers,
        class_agreement=float(np.mean(ref_class == chip_class)),
        notes=list(lowered.notes),
        reference=reference,
        target_traces=traced,
    )


def _agreement(layer, expected: np.ndarray, got: np.ndarray) -> LayerAgreement:
    if is_spike_train(expected) and is_spike_train(got):
        same = expected == got
    else:  # a non-spiking readout: values agree within float tolerance
        same = np.isclose(expected, got, rtol=1e-3, atol=1e-6)
    differs = np.nonzero(~same.reshape(same.shape[0], -1).all(axis=1))[0]
    return LayerAgreement(
        layer=layer.name,
        node=layer.node,
        size=layer.size,
        latency=layer.latency,
        exact=float(same.mean()),
        count_correlation=correlation(expected.sum(axis=0).ravel(), got.sum(axis=0).ravel()),
        reference_spikes=float(expected.sum()),
        target_spikes=float(got.sum()),
        first_divergence=int(differs[0]) if differs.size else None,
    )


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson's r; 1.0 for two equal constant vectors, 0.0 when only one is constant."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.std() == 0 or b.std() == 0:
        return 1.0 if np.array_equal(a, b) else 0.0
    return float(np.corrcoef(a, b)[0, 1])
