"""What a lowered network uses of Loihi 2: neurons, synapses, weight memory, estimated cores.

Per layer: ``neurons`` (relay included), ``synapses`` (connections with a non-zero weight; a
convolution counts every output neuron's kernel taps), ``weight_bytes`` (one byte per stored
weight: a dense matrix, or a convolution's kernel once; a delay adds 6 bits per synapse) and
``cores = max(ceil(neurons / 8192), ceil(weight_bytes / 128 KiB))``, each layer on cores of its
own -- an estimate, not a placement (see `spec`).

>>> import snnx
>>> from snnx.targets.loihi.lower import lower
>>> lowered = lower(snnx.read(snnx.example_path("braille")), snnx.Semantics.profile("snntorch-nir"))
>>> usage = resources(lowered.program)
>>> usage["neurons"], usage["estimated_cores"]
(46, 2)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from snnx.targets.loihi.program import Program
from snnx.targets.loihi.spec import SPEC


def resources(program: Program) -> dict[str, Any]:
    """Totals and a per-layer breakdown (see the module docstring)."""
    per_core_neurons = SPEC.facts["neurons_per_core"]
    per_core_bytes = SPEC.facts["synapse_bytes_per_core"]
    rows = []
    for layer in program.layers:
        weight = np.asarray(layer.weight)
        if layer.kind == "conv":  # each output neuron uses its channel's kernel taps
            taps = np.count_nonzero(weight.reshape(weight.shape[0], -1), axis=1)
            synapses = int(taps.sum()) * (layer.neurons // layer.shape[0])
            stored = weight.size
        else:
            synapses = int(np.count_nonzero(weight))
            stored = weight.size
            if layer.weight_rec is not None:
                synapses += int(np.count_nonzero(layer.weight_rec))
                stored += np.asarray(layer.weight_rec).size
        memory = stored + (math.ceil(stored * 6 / 8) if layer.delay is not None else 0)
        cores = max(math.ceil(layer.neurons / per_core_neurons), math.ceil(memory / per_core_bytes))
        rows.append(
            {
                "layer": layer.name,
                "type": layer.kind,
                "node": layer.node,
                "neurons": layer.neurons,
                "synapses": synapses,
                "weight_bytes": memory,
                "cores": cores,
            }
        )
    return {
        "neurons": sum(r["neurons"] for r in rows),
        "synapses": sum(r["synapses"] for r in rows),
        "weight_memory_bytes": sum(r["weight_bytes"] for r in rows),
        "estimated_cores": sum(r["cores"] for r in rows),
        "input_channels": program.input_size(),
        "bias_line": program.bias_channel,
        "layers": len(rows),
        "per_layer": rows,
        "assumptions": "each layer on its own cores; 8192 neurons and 128 KiB of 8-bit weights "
        "per core (Loihi 2: 128 cores per chip)",
    }
