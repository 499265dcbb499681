"""A Xylo network's parameters: each population's reference coefficients, the network in Xylo's
form as floats (`FloatForm`: weights in units of each target's voltage, bit-shift decays, per-step
biases), then quantized into a `XyloProgram`. See `snnx.targets.xylo.lower` for the equations.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from snnx import dynamics
from snnx.errors import LoweringError
from snnx.ir.graph import Graph
from snnx.ir.schema import SCHEMA
from snnx.semantics import Semantics
from snnx.targets.xylo import decay
from snnx.targets.xylo.program import Block, XyloProgram
from snnx.targets.xylo.quantize import Quantized, quantize
from snnx.targets.xylo.spec import Chip
from snnx.targets.xylo.structure import Connection, Population, Synapse


def coefficients(name: str, flat: Graph, semantics: Semantics, size: int) -> dict[str, np.ndarray]:
    """The node's step coefficients (`snnx.dynamics`, float64), one value per neuron."""
    node = flat.node(name)
    fields = {k: np.asarray(v, np.float64) for k, v in node.fields.items()}
    return {
        k: np.broadcast_to(np.asarray(v, np.float64), (size,)).copy()
        for k, v in dynamics.coefficients(node.type, fields, semantics).items()
    }


def population(name: str, flat: Graph, size: int, semantics: Semantics) -> Population:
    """Node ``name`` as a `Population`: its reference decays, threshold, drive and synapses (an
    LI node in front of a LIF/IF is a synapse of it, ``Q = B B_li / (1 - A_li)``)."""
    node_type = flat[name].type
    q = coefficients(name, flat, semantics, size)
    zeros = np.zeros(size)
    synapses: dict[str | None, Synapse] = {}
    if SCHEMA[node_type].neuron == "cuba":
        charge = q["Bx"] + (q["Bn"] + q["Bi"]) * q["Bs"] / _leak(name, q["As"], "tau_syn")
        synapses[None] = Synapse(q["As"], charge, zeros)
    else:
        synapses[None] = Synapse(None, q["B"], zeros)
        for pred in flat.predecessors(name):
            if flat[pred].type == "LI" and pred not in synapses:
                li = coefficients(pred, flat, semantics, size)
                keep = _leak(pred, li["A"], "tau")
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


def _leak(name: str, decay: np.ndarray, field: str) -> np.ndarray:
    """``1 - A``: what a synapse loses per step; refused where a time constant so long against
    dt leaves nothing (``A`` is 1 in float64), whose steady state ``B / (1 - A)`` is infinite."""
    leak = 1.0 - decay
    if np.any(leak <= 0):
        raise LoweringError(
            f"{field} is so long against dt that the synapse never decays (its decay is 1 in "
            "float64): Xylo's synapses must leak",
            node=name,
            field=field,
        )
    return leak


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


def quantized_program(
    chip: Chip,
    pops: dict[str, Population],
    links: list[Connection],
    source: str,
    n_in: int,
    out_pop: str,
    order: list[str],
    latency: dict[str, int],
    semantics: Semantics,
    max_threshold: float,
) -> tuple[XyloProgram, list[Block], list[str]]:
    """`float_form`, then `quantize.quantize`: the integer program, its blocks (one per population,
    in chip order) and notes on what rounding moved."""
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


def float_form(
    chip: Chip,
    pops: dict[str, Population],
    links: list[Connection],
    source: str,
    n_in: int,
    out_pop: str,
    order: list[str],
    semantics: Semantics,
) -> FloatForm:
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


def _bias_note(bias: np.ndarray, q: Quantized) -> str:
    """How much rounding the per-step biases to integers moves them, in thresholds."""
    if not np.any(bias):
        return "none"
    exact = bias * q.scale
    return f"int16, rounding {np.max(np.abs(np.round(exact) - exact) / q.sigma):.2g} thresholds"
