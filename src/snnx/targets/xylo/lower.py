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

import dataclasses
from typing import Any

import numpy as np

from snnx import dynamics
from snnx.errors import LoweringError
from snnx.ir.graph import Graph
from snnx.ir.schema import SCHEMA, SPIKING_NEURONS
from snnx.semantics import Semantics
from snnx.targets.base import LayerMap, Lowered, input_name
from snnx.targets.xylo import decay
from snnx.targets.xylo.program import Block, XyloProgram
from snnx.targets.xylo.quantize import MAX_THRESHOLD, quantize
from snnx.targets.xylo.spec import SUPPORTED, Chip

#: The populations Xylo runs: its spiking neuron types.
NEURONS = tuple(t for t in SUPPORTED if t in SPIKING_NEURONS)


@dataclasses.dataclass
class Synapse:
    """One synaptic state of a population: the reference's per-step decay of it (``None``: the
    reference has none, Xylo's fastest is used), the charge ``Q`` one unit of input delivers to
    the voltage in all, and the constant drive per step it adds (``C`` of an LI filter)."""

    decay: np.ndarray | None
    charge: np.ndarray
    drive: np.ndarray
    node: str | None = None


@dataclasses.dataclass
class Population:
    """A spiking node: size, reference membrane decay, threshold, constant drive per step, and
    its synapses (key ``None``: input arriving directly; else the name of an LI filter node)."""

    node: str
    type: str
    size: int
    decay_mem: np.ndarray
    threshold: np.ndarray
    drive: np.ndarray
    synapses: dict[str | None, Synapse]
    reset: str
    v_reset: np.ndarray
    v_start: np.ndarray


@dataclasses.dataclass
class Connection:
    """Weights ``(N_src, N_dst)`` from a source (the Input or a population) into a synapse of a
    population, an optional constant input (an Affine bias), and the reference's delay in steps
    (back edges on the path)."""

    src: str
    dst: str
    synapse: str | None
    weight: np.ndarray
    bias: np.ndarray | None
    delay: int
    via: tuple[str, ...]


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
    _refuse_unsupported(flat, chip, target)
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
    out_pop = _output_population(flat)
    notes: list[str] = []
    pops = {
        name: _population(name, flat, int(np.prod(shapes[name].output)), semantics)
        for name in flat.flow_order()
        if flat[name].type in NEURONS
    }
    links = _connections(flat, pops, source)
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
    latency = _latencies(pops, links, source, out_pop)
    order = _layout(hidden, links, source, out_pop, latency)
    program, blocks, quant_notes = _program(
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
    notes += _semantics_notes(pops, links, semantics)
    notes.append(
        "latency (steps behind the reference): "
        + ", ".join(f"{b.name}={b.node} {b.latency}" for b in blocks)
    )
    layers = [LayerMap(b.name, b.node, b.size, b.latency) for b in blocks]
    return Lowered(target, flat, semantics, layers, program, notes)


# -- structure -----------------------------------------------------------------------------------


def _refuse_unsupported(flat: Graph, chip: Chip, target: str) -> None:
    chip.spec(chip.name).check_types(flat, target)
    outputs = flat.outputs
    if len(outputs) != 1:
        raise LoweringError(f"Xylo targets take one Output; the graph has {outputs}")


def _output_population(flat: Graph) -> str:
    out = flat.outputs[0]
    preds = flat.predecessors(out)
    if len(preds) != 1 or flat[preds[0]].type not in NEURONS:
        kinds = [f"{p} ({flat[p].type})" for p in preds]
        raise LoweringError(
            f"the Output must be fed by exactly one spiking population ({', '.join(NEURONS)}) "
            f"that becomes Xylo's output neurons; it is fed by {kinds}",
            node=out,
        )
    return preds[0]


def _connections(flat: Graph, pops: dict[str, Population], source: str) -> list[Connection]:
    back = flat.back_edges()
    links: list[Connection] = []

    def origin(name: str, dst: str, synapse: str | None, tail: tuple[str, ...], delay: int):
        """Follow one edge ``name -> tail[0]`` backwards to a population or the Input."""
        node = flat[name]
        delay += (name, tail[0]) in back
        if node.type == "Input" or name in pops:
            size = pops[name].size if name in pops else None
            n_dst = pops[dst].size
            if size is not None and size != n_dst:
                raise LoweringError(
                    f"a direct edge from {name!r} ({size}) needs {n_dst} neurons", node=dst
                )
            links.append(Connection(name, dst, synapse, np.eye(n_dst), None, delay, (name, *tail)))
            return
        if SCHEMA[node.type].shape == "dense":
            weight = np.asarray(node.weight, np.float64)
            bias = np.asarray(node.bias, np.float64) if "bias" in node.fields else None
            for i, src in enumerate(flat.predecessors(name)):
                if flat[src].type != "Input" and src not in pops:
                    raise LoweringError(
                        f"weights must come straight from the input or a spiking population; "
                        f"{name!r} is fed by {src!r} ({flat[src].type})",
                        node=name,
                    )
                d = delay + ((src, name) in back)
                links.append(
                    Connection(
                        src,
                        dst,
                        synapse,
                        weight.T.reshape(-1, pops[dst].size),
                        bias if i == 0 else None,
                        d,
                        (src, name, *tail),
                    )
                )
            return
        raise LoweringError(
            f"{node.type} {name!r} cannot feed population {dst!r} here (expected Linear, Affine, "
            f"an LI synapse before a LIF/IF, a population or the Input)",
            node=name,
        )

    for dst, pop in pops.items():
        for pred in flat.predecessors(dst):
            if flat[pred].type == "LI":
                if pred not in pop.synapses:
                    raise LoweringError(
                        f"an LI node is a synaptic filter only in front of a LIF or IF; "
                        f"{dst!r} is a {pop.type}",
                        node=pred,
                    )
                succ = set(flat.successors(pred))
                if succ != {dst}:
                    raise LoweringError(
                        f"an LI synapse must feed only its population {dst!r}, it feeds "
                        f"{sorted(succ)}",
                        node=pred,
                    )
                for inner in flat.predecessors(pred):
                    origin(inner, dst, pred, (pred, dst), int((pred, dst) in back))
            else:
                origin(pred, dst, None, (dst,), 0)
    return links


def _latencies(pops, links, source: str, out_pop: str) -> dict[str, int]:
    """Each population's lag behind the reference; refuse connections that disagree."""
    latency: dict[str, int] = {}
    incoming: dict[str, list[Connection]] = {name: [] for name in pops}
    for link in links:
        incoming[link.dst].append(link)

    def expected(link: Connection) -> int | None:
        if link.src == source:
            return 0 - link.delay
        if link.src not in latency:
            return None
        return latency[link.src] + 1 - link.delay

    changed = True
    while changed:
        changed = False
        for name in pops:
            if name in latency:
                continue
            known = [e for e in map(expected, incoming[name]) if e is not None]
            if known:
                latency[name] = known[0]
                changed = True
    missing = [name for name in pops if name not in latency]
    if missing:
        raise LoweringError(f"populations not reached from the input: {missing}")
    for link in links:
        want = expected(link)
        if want != latency[link.dst] or latency[link.dst] < 0:
            others = ", ".join(
                f"{x.src} {'+' if (e := expected(x)) is not None and e >= 0 else ''}{e}"
                for x in incoming[link.dst]
            )
            raise LoweringError(
                "Xylo delays every hidden->hidden and hidden->output connection by one step and "
                "the input by none; the inputs of this population would need different delays "
                f"(steps behind the reference, by source: {others}): skip connections and loops "
                "across layers do not fit",
                node=link.dst,
            )
    return latency


def _layout(hidden, links, source, out_pop, latency) -> list[str]:
    """Hidden populations in chip order: input-driven first, output-driving last (Xylo IMU
    projects the input to the first 128 hidden neurons and reads the last 128)."""
    driven = {x.dst for x in links if x.src == source}
    driving = {x.src for x in links if x.dst == out_pop}

    def rank(name: str) -> tuple[int, int, int]:
        inp, out = name in driven, name in driving
        group = 0 if inp and not out else 1 if inp and out else 3 if out else 2
        return group, latency[name], hidden.index(name)

    return sorted(hidden, key=rank)


# -- parameters ----------------------------------------------------------------------------------


def _coefficients(name: str, flat: Graph, semantics: Semantics, size: int) -> dict[str, np.ndarray]:
    """The node's step coefficients (`snnx.dynamics`, float64), one value per neuron."""
    node = flat[name]
    fields = {k: np.asarray(v, np.float64) for k, v in node.fields.items()}
    return {
        k: np.broadcast_to(np.asarray(v, np.float64), (size,)).copy()
        for k, v in dynamics.coefficients(node.type, fields, semantics).items()
    }


def _population(name: str, flat: Graph, size: int, semantics: Semantics) -> Population:
    node_type = flat[name].type
    q = _coefficients(name, flat, semantics, size)
    zeros = np.zeros(size)
    synapses: dict[str | None, Synapse] = {}
    if SCHEMA[node_type].neuron == "cuba":
        charge = q["Bx"] + (q["Bn"] + q["Bi"]) * q["Bs"] / (1.0 - q["As"])
        synapses[None] = Synapse(q["As"], charge, zeros)
    else:
        synapses[None] = Synapse(None, q["B"], zeros)
        for pred in flat.predecessors(name):
            if flat[pred].type == "LI" and pred not in synapses:
                li = _coefficients(pred, flat, semantics, size)
                keep = 1.0 - li["A"]
                synapses[pred] = Synapse(
                    li["A"], q["B"] * li["B"] / keep, q["B"] * li["C"] / keep, pred
                )
    return Population(
        node=name,
        type=node_type,
        size=size,
        decay_mem=q["A"],
        threshold=q["v_threshold"],
        drive=q["C"],
        synapses=synapses,
        reset=semantics.for_type(node_type).reset,
        v_reset=q["v_reset"],
        v_start=q["v0"],
    )


@dataclasses.dataclass
class FloatForm:
    """The network in Xylo's form before quantization: float weights (``w_in (Nin, Nhid, S)``,
    ``w_rec (Nhid, Nhid, S)``, ``w_out (Nhid, Nout)``) in units of each target's voltage, the
    chip's decays (``dash_syn (Nhid, 2)``), thresholds and per-step biases; ``start``: each hidden
    population's first row."""

    w_in: np.ndarray
    w_rec: np.ndarray
    w_out: np.ndarray
    dash_syn: np.ndarray
    dash_mem: np.ndarray
    threshold: np.ndarray
    bias: np.ndarray
    dash_syn_out: np.ndarray
    dash_mem_out: np.ndarray
    threshold_out: np.ndarray
    bias_out: np.ndarray
    start: dict[str, int]
    notes: list[str]


def _program(chip, pops, links, source, n_in, out_pop, order, latency, semantics, max_threshold):
    form = float_form(chip, pops, links, source, n_in, out_pop, order, semantics)
    for name, th in ((n, pops[n].threshold) for n in pops):
        if np.any(~(th > 0)):
            raise LoweringError(
                f"Xylo thresholds are positive integers; v_threshold has min {th.min():g}",
                node=name,
                field="v_threshold",
            )
    start, n_hidden, n_out = form.start, form.w_rec.shape[0], form.w_out.shape[1]
    hid = quantize(
        {"in": form.w_in, "rec": form.w_rec}, form.threshold, form.bias, max_threshold=max_threshold
    )
    out = quantize(
        {"out": form.w_out}, form.threshold_out, form.bias_out, max_threshold=max_threshold
    )
    program = XyloProgram(
        chip=chip,
        weights_in=hid.weights["in"],
        weights_rec=hid.weights["rec"],
        weights_out=out.weights["out"],
        dash_mem=form.dash_mem,
        dash_syn=form.dash_syn[:, 0].copy(),
        dash_syn_2=form.dash_syn[:, 1].copy(),
        dash_mem_out=form.dash_mem_out,
        dash_syn_out=form.dash_syn_out,
        threshold=hid.threshold.astype(np.int64),
        threshold_out=out.threshold.astype(np.int64),
        bias=hid.bias.astype(np.int64),
        bias_out=out.bias.astype(np.int64),
        weight_shift_in=hid.shifts["in"],
        weight_shift_rec=hid.shifts["rec"],
        weight_shift_out=out.shifts["out"],
        dt=semantics.dt,
        float_form=form,
    )
    blocks = []
    for i, name in enumerate(order):
        rows = slice(start[name], start[name] + pops[name].size)
        blocks.append(
            Block(
                f"h{i}",
                name,
                start[name],
                pops[name].size,
                latency[name],
                False,
                tuple(hid.scale[rows]),
            )
        )
    blocks.append(Block("out", out_pop, 0, n_out, latency[out_pop], True, tuple(out.scale)))
    program.blocks = tuple(blocks)
    charge_in, charge_rec = (
        _charge_error(program, form, m, hid.scale) for m in ("weights_in", "weights_rec")
    )
    charge_out = _charge_error(program, form, "weights_out", out.scale)
    notes = [
        *form.notes,
        f"hidden weights: int8 << shift (input {hid.shifts['in']}, recurrent {hid.shifts['rec']}); "
        f"threshold {int(hid.threshold[0]) if n_hidden else 0} = 1 float threshold; rounding "
        f"moves the charge of one event by up to {charge_in:.2g} (input), {charge_rec:.2g} "
        f"(recurrent) thresholds; biases {_bias_note(form.bias, hid)}",
        f"output weights: int8 << shift {out.shifts['out']}; threshold {int(out.threshold[0])}; "
        f"rounding moves the charge of one event by up to {charge_out:.2g} thresholds; biases "
        f"{_bias_note(form.bias_out, out)}",
    ]
    if form.w_in.shape[2] == 2:
        notes.append("two synaptic states in use (LI synapses): Xylo Audio 2's syn1 and syn2")
    return program, blocks, notes


def float_form(chip, pops, links, source, n_in, out_pop, order, semantics) -> FloatForm:
    """Xylo's parameters as floats (see the module docstring), before `quantize`."""
    amplitude = dynamics.amplitude(semantics)
    start, at = {}, 0
    for name in order:
        start[name] = at
        at += pops[name].size
    n_hidden, n_out = at, pops[out_pop].size
    # synaptic states: per population, its synapses in use, in order (direct input first)
    used: dict[str, list[str | None]] = {name: [] for name in pops}
    for link in links:
        if link.synapse not in used[link.dst]:
            used[link.dst].append(link.synapse)
    for name, keys in used.items():
        used[name] = sorted(keys, key=lambda k: (k is not None, str(k)))
    n_syn = max(len(keys) for name, keys in used.items() if name != out_pop)
    if n_syn > chip.synapses:
        worst = max((n for n in used if n != out_pop), key=lambda n: len(used[n]))
        raise LoweringError(
            f"needs {n_syn} synaptic states ({used[worst]}), {chip.name} has {chip.synapses}",
            node=worst,
        )
    if len(used[out_pop]) > 1:
        raise LoweringError("Xylo's output neurons have one synaptic state", node=out_pop)

    # float parameters in Xylo's form, and the chip's decays
    dash_syn = np.zeros((n_hidden, 2), np.int64)
    dash_mem = np.zeros(n_hidden, np.int64)
    theta, bias = np.ones(n_hidden), np.zeros(n_hidden)
    dash_syn_out = np.zeros(n_out, np.int64)
    dash_mem_out = np.zeros(n_out, np.int64)
    theta_out, bias_out = np.ones(n_out), np.zeros(n_out)
    gain: dict[tuple[str, str | None], np.ndarray] = {}
    decay_notes: list[str] = []
    for name, pop in pops.items():
        is_out = name == out_pop
        rows = slice(0, n_out) if is_out else slice(start[name], start[name] + pop.size)
        mem = decay.dash_for(pop.decay_mem)
        drive, chosen = pop.drive.copy(), []
        for s, key in enumerate(used[name] or [None]):
            syn = pop.synapses[key]
            d = (
                np.ones(pop.size, np.int64)
                if syn.decay is None
                else decay.dash_for(syn.decay, low=1)
            )
            a = decay.chip_decay(d)
            gain[name, key] = syn.charge * (1.0 - a) / a
            drive = drive + syn.drive
            chosen.append((key, d))
            if is_out:
                dash_syn_out[rows] = d
            else:
                dash_syn[rows, s] = d
        for link in links:
            if link.dst == name and link.bias is not None:
                drive = drive + pop.synapses[link.synapse].charge * link.bias
        decay_notes.append(decay.describe(name, "v", pop.decay_mem, mem))
        decay_notes += [
            decay.describe(pop.synapses[key].node or name, "synapse", pop.synapses[key].decay, d)
            for key, d in chosen
            if pop.synapses[key].decay is not None
        ]
        if is_out:
            dash_mem_out[rows], theta_out[rows], bias_out[rows] = mem, pop.threshold, drive
        else:
            dash_mem[rows], theta[rows], bias[rows] = mem, pop.threshold, drive
    w_in = np.zeros((n_in, n_hidden, n_syn))
    w_rec = np.zeros((n_hidden, n_hidden, n_syn))
    w_out = np.zeros((n_hidden, n_out))
    for link in links:
        pop = pops[link.dst]
        w = link.weight * amplitude * gain[link.dst, link.synapse][None, :]
        s = used[link.dst].index(link.synapse)
        if link.dst == out_pop:
            w_out[start[link.src] : start[link.src] + pops[link.src].size] += w
            continue
        cols = slice(start[link.dst], start[link.dst] + pop.size)
        if link.src == source:
            w_in[:, cols, s] += w
        else:
            w_rec[start[link.src] : start[link.src] + pops[link.src].size, cols, s] += w

    return FloatForm(
        w_in,
        w_rec,
        w_out,
        dash_syn,
        dash_mem,
        theta,
        bias,
        dash_syn_out,
        dash_mem_out,
        theta_out,
        bias_out,
        start,
        decay_notes,
    )


def _charge_error(program: XyloProgram, form: FloatForm, matrix: str, scale: np.ndarray) -> float:
    """The largest change, in thresholds, of the charge ``w a / (1 - a)`` one event delivers to
    its target's voltage, from rounding its weight (what matters, not the weight itself: a slow
    synapse integrates its weight's error over many steps)."""
    ints = np.asarray(getattr(program, matrix), np.float64)
    shift = {"weights_in": program.weight_shift_in, "weights_rec": program.weight_shift_rec}.get(
        matrix, program.weight_shift_out
    )
    if matrix == "weights_out":
        exact, dashes = form.w_out[..., None], form.dash_syn_out[:, None]
        ints = ints[..., None]
    else:
        exact = form.w_in if matrix == "weights_in" else form.w_rec
        dashes = form.dash_syn[:, : exact.shape[2]]
    if exact.size == 0:
        return 0.0
    a = decay.chip_decay(dashes)[None]
    error = np.abs(ints * 2.0**shift / scale[None, :, None] - exact) * a / (1.0 - a)
    threshold = form.threshold_out if matrix == "weights_out" else form.threshold
    return float(np.max(error / threshold[None, :, None]))


def _bias_note(bias: np.ndarray, q) -> str:
    if not np.any(bias):
        return "none"
    exact = bias * q.scale
    return f"int16, rounding {np.max(np.abs(np.round(exact) - exact) / q.sigma):.2g} thresholds"


# -- notes ---------------------------------------------------------------------------------------


def _semantics_notes(pops, links, semantics: Semantics) -> list[str]:
    notes = []
    types = sorted({p.type for p in pops.values()})
    knobs = {t: semantics.for_type(t) for t in types}
    if any(k.reset == "zero" for k in knobs.values()):
        notes.append("the reference resets to v_reset; Xylo subtracts the threshold")
    if any(k.max_spikes != 0 and k.max_spikes < 31 for k in knobs.values()):
        caps = sorted({k.max_spikes for k in knobs.values()})
        notes.append(
            f"the reference emits up to {caps} spike(s) per step; Xylo's hidden neurons up to 31 "
            "(outputs 1)"
        )
    if any(k.threshold == ">" for k in knobs.values()):
        notes.append("the reference fires when v > threshold; Xylo when v >= threshold")
    if any(k.reset_timing == "next-step" for k in knobs.values()):
        notes.append("the reference resets in the step after a spike; Xylo in the same step")
    if any(k.v_min != "none" for k in knobs.values()):
        notes.append("the reference floors v at -threshold; Xylo does not (int16 saturation only)")
    if any(k.current == "previous" for t, k in knobs.items() if t == "CubaLIF"):
        notes.append(
            "the reference's voltage uses last step's synaptic current; Xylo's uses this step's "
            "(responses come one step earlier)"
        )
    for pop in pops.values():
        if SCHEMA[pop.type].neuron != "cuba" and any(
            x.dst == pop.node and x.synapse is None for x in links
        ):
            notes.append(
                f"{pop.node}: {pop.type} has no synaptic current; Xylo's fastest synapse "
                "(dash_syn 1: half the charge now, half over the next steps) carries its input"
            )
        if pop.type == "IF":
            notes.append(
                f"{pop.node}: IF never leaks; Xylo leaks 1 integer unit per step (dash 15)"
            )
        if np.any(pop.v_start != 0):
            notes.append(f"{pop.node}: the reference starts v at {pop.v_start.max():g}; Xylo at 0")
    if any(x.bias is not None and np.any(x.bias) for x in links):
        notes.append(
            "Affine biases enter through the synapse in the reference and straight into the "
            "voltage on Xylo (same charge per step once the synapse has settled)"
        )
    return notes


def describe_program(program: XyloProgram) -> dict[str, Any]:
    """Where each population sits, for the artifact: name, node, rows, latency, and the float
    voltage of one integer unit (per neuron)."""
    return {
        b.name: {
            "node": b.node,
            "neurons": "output" if b.output else "hidden",
            "start": b.start,
            "size": b.size,
            "latency": b.latency,
            "volts_per_unit": [1.0 / s for s in b.scale],
        }
        for b in program.blocks
    }
