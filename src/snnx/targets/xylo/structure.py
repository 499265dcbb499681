"""The structure of a Xylo network: which spiking populations the graph has, the connections
between them (weights, synapse, delay), each population's latency behind the reference, and the
order the hidden populations take on the chip. See `snnx.targets.xylo.lower` for the rules.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from snnx.errors import LoweringError
from snnx.ir.graph import Graph
from snnx.ir.schema import SCHEMA, SPIKING_NEURONS
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


def refuse_unsupported(flat: Graph, chip: Chip, target: str) -> None:
    """Refuse node types the chip lacks and graphs with other than one `Output`."""
    chip.spec(chip.name).check_types(flat, target)
    outputs = flat.outputs
    if len(outputs) != 1:
        raise LoweringError(f"Xylo targets take one Output; the graph has {outputs}")


def output_population(flat: Graph) -> str:
    """The spiking population feeding the `Output`: Xylo's output neurons."""
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


def connections(flat: Graph, pops: dict[str, Population], source: str) -> list[Connection]:
    """Every path of weights from the Input or a population into a synapse of a population;
    refuse any other node on the way."""
    back = flat.back_edges()
    links: list[Connection] = []

    def origin(name: str, dst: str, synapse: str | None, tail: tuple[str, ...], delay: int) -> None:
        """Follow one edge ``name -> tail[0]`` backwards to a population or the Input."""
        node = flat.node(name)
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


def latencies(
    pops: dict[str, Population], links: list[Connection], source: str, out_pop: str
) -> dict[str, int]:
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


def layout(
    hidden: list[str],
    links: list[Connection],
    source: str,
    out_pop: str,
    latency: dict[str, int],
) -> list[str]:
    """Hidden populations in chip order: input-driven first, output-driving last (Xylo IMU
    projects the input to the first 128 hidden neurons and reads the last 128)."""
    driven = {x.dst for x in links if x.src == source}
    driving = {x.src for x in links if x.dst == out_pop}

    def rank(name: str) -> tuple[int, int, int]:
        inp, out = name in driven, name in driving
        group = 0 if inp and not out else 1 if inp and out else 3 if out else 2
        return group, latency[name], hidden.index(name)

    return sorted(hidden, key=rank)
