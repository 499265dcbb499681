"""The lowered network: what the float16 numerics, the TorchScript module and the JSON/BIN files
all describe, so the three cannot drift apart.

A `Program` is a list of `Step`s (one per graph node, in flow order) and a schedule of
`Segment`s. Sequences are *folded*: ``(T * B, *shape)``, time-major (rows ``t*B .. t*B+B-1`` are
step ``t``). A ``sequence`` segment runs one stateless step over the whole folded sequence at
once; a ``scan`` segment advances its steps one time step at a time, each on ``(B, *shape)``,
where a ``back_edge`` carries what its source produced on the previous time step (zeros before
the first). The edges into a step are summed in edge order, each reshaped to the step's input
shape.

Every tensor is float16. Step ``op`` kinds and their ``attributes``/``tensors``:

- ``dense``: ``weight`` (out, in), optional ``bias``;
- ``conv``: ``weight`` (out, in/groups, *kernel), optional ``bias``; ``stride``, ``padding``
  (``[low, high]`` per spatial dimension), ``dilation``, ``groups``;
- ``pool``: ``kernel``, ``stride``, ``padding``, ``divisor`` (1 for SumPool2d, the window size
  for AvgPool2d);
- ``flatten``: none (a reshape to the output shape);
- ``scale``: ``scale``;
- ``threshold``: ``threshold``; ``compare`` (``>`` or ``>=``), ``amplitude``;
- ``neuron``: see `NEURON_ATTRIBUTES`.

>>> Segment("scan", ("lif1.lif", "lif1.w_rec"), (("lif1.lif", "lif1.w_rec"),)).back_edges
(('lif1.lif', 'lif1.w_rec'),)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

#: Attributes of a ``neuron`` step: ``kind`` (integrator / leaky / cuba), ``spiking``, and for
#: spiking neurons ``compare``, ``reset``, ``reset_timing``, ``spike_output``, ``max_spikes``,
#: ``v_min``, ``amplitude`` (the float16 spike amplitude, ``null`` for 1), ``carries_last``;
#: ``current_terms`` and ``voltage_terms``: the sums that update ``i`` and ``v``, as
#: ``[coefficient, variable]`` pairs added left to right (variable ``null`` for a constant).
NEURON_ATTRIBUTES = (
    "kind",
    "spiking",
    "compare",
    "reset",
    "reset_timing",
    "spike_output",
    "max_spikes",
    "v_min",
    "amplitude",
    "carries_last",
    "current_terms",
    "voltage_terms",
)


@dataclasses.dataclass(frozen=True)
class Step:
    """One graph node as the chip runs it."""

    name: str
    type: str
    op: str
    inputs: tuple[str, ...]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    attributes: Mapping[str, Any]
    tensors: Mapping[str, np.ndarray]

    @property
    def stateful(self) -> bool:
        """Whether the step keeps state over time (a neuron)."""
        return self.op == "neuron"


@dataclasses.dataclass(frozen=True)
class Segment:
    """``sequence``: one stateless step over the folded sequence; ``scan``: steps advanced one
    time step at a time, in order, with ``back_edges`` carrying last step's values."""

    kind: str
    steps: tuple[str, ...]
    back_edges: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass(frozen=True)
class Program:
    """A network lowered for the KA200 (see the module docstring).

    ``input``/``input_shape``: the Input node; ``input_amplitude``: float16 factor applied to the
    input spikes (``None`` for 1); ``output``: the Output node, fed by ``output_source`` and
    shaped ``output_shape``; ``layers``: the steps whose outputs are reported, the last one the
    output's source; ``steps``/``batch``: the fixed shape the compiled module takes.
    """

    input: str
    input_shape: tuple[int, ...]
    input_amplitude: float | None
    output: str
    output_source: str
    output_shape: tuple[int, ...]
    nodes: Mapping[str, Step]
    schedule: tuple[Segment, ...]
    layers: tuple[str, ...]
    steps: int
    batch: int

    def structure(self) -> dict[str, Any]:
        """Everything but the tensor values, JSON-ready (tensors by shape)."""
        return {
            "input": self.input,
            "input_shape": list(self.input_shape),
            "input_amplitude": self.input_amplitude,
            "output": self.output,
            "output_source": self.output_source,
            "output_shape": list(self.output_shape),
            "nodes": [
                {
                    "name": s.name,
                    "type": s.type,
                    "op": s.op,
                    "inputs": list(s.inputs),
                    "input_shape": list(s.input_shape),
                    "output_shape": list(s.output_shape),
                    "attributes": _plain(s.attributes),
                    "tensors": {k: list(v.shape) for k, v in s.tensors.items()},
                }
                for s in self.nodes.values()
            ],
            "schedule": [
                {
                    "kind": g.kind,
                    "steps": list(g.steps),
                    "back_edges": [list(e) for e in g.back_edges],
                }
                for g in self.schedule
            ],
            "layers": list(self.layers),
        }

    def fingerprint(self) -> str:
        """A key equal for programs of equal structure, whatever their tensor values and steps."""
        return hashlib.sha256(json.dumps(self.structure(), sort_keys=True).encode()).hexdigest()

    def tensors(self) -> dict[str, dict[str, np.ndarray]]:
        """Step name -> tensor name -> float16 array."""
        return {name: dict(step.tensors) for name, step in self.nodes.items()}

    def replace(self, **changes: Any) -> Program:
        """A copy with some fields changed (``steps``, ``batch``...)."""
        return dataclasses.replace(self, **changes)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
