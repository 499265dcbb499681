"""Lower a graph to a Xylo chip: populations packed into one recurrent hidden population, integer
weights, bit-shift decays, and the latency of each population for verification.

**What fits.** One `Input` (at most 16 channels) and one `Output`. Spiking populations (`CubaLIF`,
`LIF`, `IF`) joined by `Linear`/`Affine` nodes or directly (identity). The population feeding the
`Output` becomes Xylo's output neurons: it may listen only to other populations and drive nothing
else. Every other population is packed into the hidden population, feed-forward stacks included.
A `LIF`/`IF` may take its input through up to two `LI` nodes (each one a synaptic filter): those
become Xylo's synaptic states (two on Xylo Audio 2). Anything else is a `LoweringError` that
names the nodes and the numbers that do not fit.

**Timing.** Xylo delivers input to the hidden neurons in the same step and every hidden spike one
step later, to hidden and output neurons alike. So a population's spikes lag the reference's by
its depth (``latency``): 0 for those the input drives, +1 per hidden-to-hidden or
hidden-to-output hop, -1 per back edge on the way (a back edge already carries last step's
spikes in the reference). Each connection must agree; a skip connection or a loop across layers
cannot, and is refused.

**Dynamics.** The reference's per-step factors ``A`` (membrane) and ``As`` (synapse, under the
graph's `Semantics`) become bit-shift decays (`decay.dash_for`). Each synapse delivers the same
total charge to the membrane as the reference's: an input ``x`` adds ``Q x`` in all to the
voltage, ``Q = Bx + (Bn + Bi) Bs / (1 - As)`` for a CubaLIF (``B`` for LIF, ``dt r`` for IF), and
Xylo's synapse ``I_t = a (I_{t-1} + w x_t)`` adds ``w a / (1 - a)``, so ``w = Q (1 - a) / a``
(a LIF without a synapse uses Xylo's fastest one, ``dash_syn = 1``). The membrane's drive is not
rescaled for its rounded decay: on the Braille graph that lowered agreement (benchmarks/xylo.md).
Constant terms (``v_leak``, `Affine` biases)
become Xylo's per-step bias. Then `quantize.quantize` turns the float parameters into integers.
`Lowered.notes` records every approximation: decays, quantization, and the semantics Xylo cannot
follow (reset to zero, one spike per step, ...).
"""

from __future__ import annotations

import numpy as np

from snnx.errors import LoweringError
from snnx.ir.graph import Graph
from snnx.semantics import Semantics
from snnx.targets.base import LayerMap, Lowered, input_name
from snnx.targets.xylo.notes import semantics_notes
from snnx.targets.xylo.parameters import population, quantized_program
from snnx.targets.xylo.quantize import MAX_THRESHOLD
from snnx.targets.xylo.spec import Chip
from snnx.targets.xylo.structure import (
    NEURONS,
    connections,
    latencies,
    layout,
    output_population,
    refuse_unsupported,
)


def lower(
    graph: Graph,
    semantics: Semantics,
    chip: Chip,
    *,
    target: str = "xylo",
    max_threshold: float = MAX_THRESHOLD,
) -> Lowered:
    """Lower ``graph``, run under ``semantics``, to ``chip`` (see the module docstring).

    ``max_threshold`` caps the integer threshold (`quantize.quantize`). Raises `LoweringError`
    naming what does not fit.

    >>> from snnx.ir import Node
    >>> from snnx.targets.xylo.spec import AUDIO2
    >>> def lif(n):
    ...     return Node("LIF", tau=np.full(n, 4e-3), r=np.ones(n), v_leak=np.zeros(n),
    ...                 v_threshold=np.ones(n))
    >>> g = Graph.sequential({"in": Node("Input", shape=[2]),
    ...                       "w1": Node("Linear", weight=np.ones((3, 2))), "h": lif(3),
    ...                       "w2": Node("Linear", weight=np.ones((1, 3))), "o": lif(1),
    ...                       "out": Node("Output", shape=[1])})
    >>> low = lower(g, Semantics(dt=1e-3), AUDIO2)
    >>> [(m.node, m.size, m.latency) for m in low.layers], int(low.program.dash_mem[0])
    ([('h', 3, 0), ('o', 1, 1)], 2)
    """
    flat = graph.flatten()
    shapes = flat.check()
    refuse_unsupported(flat, chip, target)
    if semantics.spike_output == "next-step" or any(
        semantics.for_type(t).spike_output == "next-step" for t in NEURONS
    ):
        raise LoweringError(
            "the reference emits spikes one step after they occur (spike_output='next-step'); "
            "Xylo emits them in the step they occur: lower under a same-step profile",
            field="semantics",
        )
    source = input_name(flat)
    n_in = int(np.prod(shapes[source].output))
    if n_in > chip.inputs:
        raise LoweringError(
            f"{n_in} input channels > {chip.inputs} on {chip.name}", node=source, field="shape"
        )
    out_pop = output_population(flat)
    notes: list[str] = []
    pops = {
        name: population(name, flat, int(np.prod(shapes[name].output)), semantics)
        for name in flat.flow_order()
        if flat[name].type in NEURONS
    }
    links = connections(flat, pops, source)
    for link in links:
        if link.dst == out_pop and link.src == source:
            raise LoweringError(
                "Xylo's output neurons listen only to hidden neurons, not to the input: put a "
                "hidden population between",
                node=out_pop,
            )
        if link.src == out_pop:
            raise LoweringError(
                f"Xylo's output neurons drive nothing but the output; it feeds {link.dst!r}",
                node=out_pop,
            )
    hidden = [name for name in pops if name != out_pop]
    if not hidden:
        raise LoweringError(
            "Xylo needs a hidden population between the input and the output population",
            node=out_pop,
        )
    sizes = {name: pops[name].size for name in hidden}
    if sum(sizes.values()) > chip.hidden or pops[out_pop].size > chip.outputs:
        raise LoweringError(
            f"does not fit {chip.name}: {sum(sizes.values())} hidden neurons (limit "
            f"{chip.hidden}: {', '.join(f'{k} {v}' for k, v in sizes.items())}), "
            f"{pops[out_pop].size} output neurons (limit {chip.outputs}, {out_pop})"
        )
    latency = latencies(pops, links, source, out_pop)
    order = layout(hidden, links, source, out_pop, latency)
    program, blocks, quant_notes = quantized_program(
        chip,
        pops,
        links,
        source,
        n_in,
        out_pop,
        order,
        latency,
        semantics,
        max_threshold,
    )
    program.check()
    notes += quant_notes
    notes += semantics_notes(pops, links, semantics)
    notes.append(
        "latency (steps behind the reference): "
        + ", ".join(f"{b.name}={b.node} {b.latency}" for b in blocks)
    )
    layers = [LayerMap(b.name, b.node, b.size, b.latency) for b in blocks]
    return Lowered(target, flat, semantics, layers, program, notes)
