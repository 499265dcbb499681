"""Hostile files, made and judged: a seeded generator of mutated `.nir` files and a runner that puts
each through ``snnx inspect``, ``simulate`` and ``compile`` for every target, each run in its own
process with a deadline and a memory limit.

Seeds: the conformance graphs (``$SNNX_CONFORMANCE/nir-paper/*.nir``), the bundled example, and
graphs snnx writes itself (a chain through a `Delay`, a current-based chain, a nested subgraph).
Mutations (`MUTATIONS`): truncation, flipped bytes, a corrupted global heap, dropped, NaN/inf,
huge-declared and wrong-typed datasets, garbage node types, dangling edges, odd node names
(newlines, terminal escapes, long, non-ASCII), huge shapes, huge or negative delays, deep nesting.

A run is judged (`Outcome.verdict`):

- ``hang``: still running at the deadline (killed);
- ``internal``: ``snnx: internal error``, a traceback, a signal, or output that is not one clean
  line on failure;
- ``wrong``: exit 0 where the answer cannot be right: a file with a NaN field, a garbage type, a
  dangling edge or a huge declared dataset accepted; a simulation with non-finite outputs, or
  with spikes through a delay longer than the run; a compilation of a delay of a million steps;
  raw terminal escapes printed;
- ``ok``: anything else (a clean error is ok: most mutated files are broken).

Each run is a fork of one process that has imported snnx, JAX and the targets but started no
computation, so a run costs its own work and not the imports; the child sets its memory limit
(``resource.setrlimit(RLIMIT_AS)``) and the parent kills it at the deadline.

>>> cases = list(generate(seeds(), count=3, seed=1, folder=__import__("tempfile").mkdtemp()))
>>> len(cases), sorted(MUTATIONS) == sorted(set(MUTATIONS))
(3, True)
"""

from __future__ import annotations

import dataclasses
import os
import resource
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

STRING = h5py.string_dtype()
DT = 1e-4
STEPS = 20
TARGETS = ("loihi", "xylo", "lynxi", "bss2")
#: Deadlines (seconds) and memory limit (bytes) of each run.
DEADLINE = {"inspect": 20.0, "simulate": 90.0, "compile": 90.0}
MEMORY = 6 << 30
CONFORMANCE = Path(
    os.environ.get(
        "SNNX_CONFORMANCE", Path(__file__).resolve().parents[3].parent / "shared" / "conformance"
    )
)


# -- seeds -----------------------------------------------------------------------------------


def seeds() -> list[Path]:
    """The seed files: conformance graphs, the bundled example, and graphs snnx writes (in a
    temporary folder made once per process)."""
    import snnx

    found = sorted((CONFORMANCE / "nir-paper").glob("*.nir"))
    found.append(Path(snnx.example_path("braille")))
    return found + _written()


def _written() -> list[Path]:
    from snnx.ir import Graph, Node, write

    folder = Path(tempfile.mkdtemp(prefix="snnx-fuzz-seeds-"))
    n = 4
    lif = Node(
        "LIF", tau=np.full(n, 2e-3), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n)
    )
    cuba = Node(
        "CubaLIF",
        tau_syn=np.full(n, 5e-3),
        tau_mem=np.full(n, 1e-2),
        r=np.ones(n),
        v_leak=np.zeros(n),
        v_threshold=np.ones(n),
    )
    graphs = {
        "delay_chain": Graph.sequential(
            {
                "input": Node("Input", shape=[n]),
                "delay": Node("Delay", delay=np.full(n, 2 * DT)),
                "fc": Node("Linear", weight=np.eye(n) * 3.0),
                "lif": lif,
                "output": Node("Output", shape=[n]),
            }
        ),
        "cuba_chain": Graph.sequential(
            {
                "input": Node("Input", shape=[n]),
                "fc": Node("Linear", weight=np.eye(n) * 500.0),
                "cuba": cuba,
                "output": Node("Output", shape=[n]),
            }
        ),
    }
    inner = Graph.sequential(
        {"input": Node("Input", shape=[n]), "lif": lif, "output": Node("Output", shape=[n])}
    )
    graphs["nested"] = Graph.sequential(
        {
            "input": Node("Input", shape=[n]),
            "fc": Node("Linear", weight=np.eye(n) * 3.0),
            "sub": inner,
            "output": Node("Output", shape=[n]),
        }
    )
    paths = []
    for name, graph in graphs.items():
        graph.semantics = _semantics()
        paths.append(folder / f"{name}.nir")
        write(graph, paths[-1])
    return paths


def _semantics() -> Any:
    from snnx.semantics import Semantics

    return Semantics.profile("nir-reference").replace(dt=DT)


# -- mutations -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    """One mutated file: where it is, what was done to which seed, and what a right answer is
    (``refuse``: every command must fail; ``delay``: the seconds of a delay put in)."""

    path: Path
    seed: str
    mutation: str
    detail: str
    refuse: bool = False
    delay: float | None = None


Mutator = Callable[[Path, np.random.Generator], tuple[str, dict[str, Any]]]


def _datasets(path: Path, numeric: bool = False) -> list[str]:
    found: list[str] = []
    with h5py.File(path, "r") as handle:

        def visit(name: str, item: Any) -> None:
            dataset = isinstance(item, h5py.Dataset) and name != "version"
            if dataset and (not numeric or item.dtype.kind in "iuf"):
                found.append(name)

        handle.visititems(visit)
    return found


def _nodes(path: Path) -> list[str]:
    """Paths of the top-level node groups."""
    with h5py.File(path, "r") as handle:
        return [f"node/nodes/{k}" for k in handle["node/nodes"]]


def _replace(handle: h5py.File, name: str, **dataset: Any) -> None:
    del handle[name]
    handle.create_dataset(name, **dataset)


def truncate(path: Path, rng: np.random.Generator) -> tuple[str, dict[str, Any]]:
    data = path.read_bytes()
    cut = int(rng.integers(0, len(data)))
    path.write_bytes(data[:cut])
    return f"cut at {cut} of {len(data)}", {}


def flip(path: Path, rng: np.random.Generator) -> tuple[str, dict[str, Any]]:
    data = bytearray(path.read_bytes())
    spots = rng.integers(0, len(data), size=int(rng.integers(1, 9)))
    for spot in spots:
        data[spot] = int(rng.integers(0, 256))
    path.write_bytes(bytes(data))
    return f"bytes {sorted(spots.tolist())}", {}


def heap(path: Path, rng: np.random.Generator) -> tuple[str, dict[str, Any]]:
    """One byte of the global heap collection's header or its first objects' headers."""
    data = bytearray(path.read_bytes())
    start = data.find(b"GCOL")
    spot = start + int(rng.integers(0, 16 + 16 * 4))
    data[spot] = int(rng.choice([0, 0xFF, data[spot] ^ 0x80, data[spot] ^ 1]))
    path.write_bytes(bytes(data))
    return f"heap byte {spot - start}", {}


def drop(path: Path, rng: np.random.Generator) -> tuple[str, dict[str, Any]]:
    names = _datasets(path)
    name = names[int(rng.integers(len(names)))]
    with h5py.File(path, "r+") as handle:
        del handle[name]
    return name, {}


def nan(path: Path, rng: np.random.Generator) -> tuple[str, dict[str, Any]]:
    floats = [n for n in _datasets(path, numeric=True) if "float" in _dtype(path, n)]
    floats = [n for n in floats if "/metadata/" not in n]
    if not floats:
        return flip(path, rng)
    name = floats[int(rng.integers(len(floats)))]
    value = float(rng.choice([np.nan, np.inf, -np.inf]))
    with h5py.File(path, "r+") as handle:
        array = np.array(handle[name][()], dtype=handle[name].dtype)
        array.reshape(-1)[int(rng.integers(max(array.size, 1)))] = value
        _replace(handle, name, data=array)
    return f"{name} = {value}", {"refuse": True}


def _dtype(path: Path, name: str) -> str:
    with h5py.File(path, "r") as handle:
        return str(handle[name].dtype)


def huge(path: Path, rng: np.random.Generator) -> tuple[str, dict[str, Any]]:
    """A dataset declared huge and never written (or gzip-compressed zeros)."""
    names = [n for n in _datasets(path, numeric=True) if "/metadata/" not in n]
    name = names[int(rng.integers(len(names)))]
    shape = [(10**9, 8), (2**31, 2**31), (2**40,), (30_000, 30_000)][int(rng.integers(4))]
    with h5py.File(path, "r+") as handle:
        chunks = tuple(min(s, 64) for s in shape)
        _replace(handle, name, shape=shape, chunks=chunks, dtype="f4", compression="gzip")
    return f"{name} declared {shape}", {"refuse": True}


def wrong_type(path: Path, rng: np.random.Generator) -> tuple[str, dict[str, Any]]:
    names = _datasets(path)
    name = names[int(rng.integers(len(names)))]
    values: list[tuple[str, dict[str, Any]]] = [
        ("a string", {"data": "abc", "dtype": STRING}),
        ("strings", {"data": np.array(["x", "y"], dtype=object), "dtype": STRING}),
        ("complex", {"data": np.array([1 + 2j, 3j])}),
        ("bool", {"data": np.array([True, False])}),
        ("int8 scalar", {"data": np.int8(-7)}),
        ("5-d floats", {"data": np.ones((1, 2, 1, 2, 1))}),
        ("empty", {"data": np.zeros((0,))}),
        ("compound", {"data": np.zeros(2, dtype=[("a", "f4"), ("b", "i2")])}),
        ("1e300", {"data": np.array([1e300, -1e300])}),
    ]
    label, dataset = values[int(rng.integers(len(values)))]
    with h5py.File(path, "r+") as handle:
        _replace(handle, name, **dataset)
    return f"{name} := {label}", {}


def garbage_type(path: Path, rng: np.random.Generator) -> tuple[str, dict[str, Any]]:
    nodes = _nodes(path)
    node = nodes[int(rng.integers(len(nodes)))]
    garbage = ["LIF2", "", "NIRGraph ", "lif", "\x00", "Izhikevich", "Ω" * 50][int(rng.integers(7))]
    with h5py.File(path, "r+") as handle:
        _replace(handle, f"{node}/type", data=garbage, dtype=STRING)
    return f"{node}/type := {garbage!r}", {"refuse": garbage not in ("NIRGraph",)}


def dangling(path: Path, rng: np.random.Generator) -> tuple[str, dict[str, Any]]:
    with h5py.File(path, "r+") as handle:
        edges = handle["node/edges"].asstr()[()].reshape(-1, 2)
        row, col = int(rng.integers(len(edges))), int(rng.integers(2))
        edges[row, col] = edges[row, col][:-1] if rng.random() < 0.5 else "ghost"
        if edges[row, col] in handle["node/nodes"] or not edges[row, col]:
            edges[row, col] = "ghost"
        _replace(handle, "node/edges", data=edges.astype(object), dtype=STRING)
    return f"edge {row} end {col} := {edges[row, col]!r}", {"refuse": True}


ODD_NAMES = ["a\nb", "x\x1b[2J", "\x1b]0;pwned\x07", "名前", "n" * 5000, "  ", "a\u2028b", "\t"]


def odd_name(path: Path, rng: np.random.Generator) -> tuple[str, dict[str, Any]]:
    with h5py.File(path, "r+") as handle:
        names = list(handle["node/nodes"])
        old = names[int(rng.integers(len(names)))]
        new = ODD_NAMES[int(rng.integers(len(ODD_NAMES)))]
        handle["node/nodes"].move(old, new)
        edges = handle["node/edges"].asstr()[()].reshape(-1, 2)
        edges[edges == old] = new
        _replace(handle, "node/edges", data=edges.astype(object), dtype=STRING)
    return f"{old!r} -> {new[:20]!r}", {}


def huge_shape(path: Path, rng: np.random.Generator) -> tuple[str, dict[str, Any]]:
    with h5py.File(path, "r+") as handle:
        shapes = [
            f"{n}/shape" for n in handle["node/nodes"] if "shape" in handle[f"node/nodes/{n}"]
        ]
        shapes = [f"node/nodes/{s}" for s in shapes]
        name = shapes[int(rng.integers(len(shapes)))]
        value = [[2**40], [2**20, 2**20], [10**9], [0], [-3], [1] * 40][int(rng.integers(6))]
        _replace(handle, name, data=np.array(value, dtype=np.int64))
    return f"{name} := {value}", {}


def huge_delay(path: Path, rng: np.random.Generator) -> tuple[str, dict[str, Any]]:
    """A delay of the Delay node (or a new Delay in front of the first synapse)."""
    delay = float(rng.choice([1e38, 1e9, 1e4, 1.0, 5 * DT, -1.0, 1e-300]))
    with h5py.File(path, "r+") as handle:
        delays = [n for n in handle["node/nodes"] if _type_of(handle, n) == "Delay"]
        if not delays:
            return flip(path, rng)
        node = handle[f"node/nodes/{delays[0]}"]
        size = node["delay"].size
        _replace(node, "delay", data=np.full(size, delay))
    return f"{delays[0]}.delay := {delay:g}", {"delay": delay}


def _type_of(handle: h5py.File, node: str) -> str:
    item = handle[f"node/nodes/{node}"]
    return item["type"].asstr()[()] if "type" in item else ""


def deep(path: Path, rng: np.random.Generator) -> tuple[str, dict[str, Any]]:
    """The file replaced by subgraphs nested ``depth`` levels, an identity at the bottom."""
    depth = int(rng.choice([2, 10, 63, 64, 65, 200, 1000]))
    with h5py.File(path, "w") as handle:
        handle.create_dataset("version", data="1.0.8", dtype=STRING)
        group = handle.create_group("node")
        for _ in range(depth):
            group.create_dataset("type", data="NIRGraph", dtype=STRING)
            edges = np.array([["input", "sub"], ["sub", "output"]], dtype=object)
            group.create_dataset("edges", data=edges, dtype=STRING)
            nodes = group.create_group("nodes")
            for io in ("Input", "Output"):
                port = nodes.create_group(io.lower())
                port.create_dataset("type", data=io, dtype=STRING)
                port.create_dataset("shape", data=np.array([2]))
            group = nodes.create_group("sub")
        group.create_dataset("type", data="Scale", dtype=STRING)
        group.create_dataset("scale", data=np.ones(2))
    return f"{depth} levels", {"refuse": depth - 1 > 64}  # the top graph is not nested


MUTATIONS: dict[str, Mutator] = {
    "truncate": truncate,
    "flip": flip,
    "heap": heap,
    "drop": drop,
    "nan": nan,
    "huge": huge,
    "wrong_type": wrong_type,
    "garbage_type": garbage_type,
    "dangling": dangling,
    "odd_name": odd_name,
    "huge_shape": huge_shape,
    "huge_delay": huge_delay,
    "deep": deep,
}


def generate(seed_files: list[Path], count: int, seed: int, folder: str | Path) -> Iterator[Case]:
    """``count`` mutated files in ``folder``, mutation kinds in turn, seeds drawn at random; the
    same ``seed`` gives the same files."""
    import shutil

    folder = Path(folder)
    kinds = sorted(MUTATIONS)
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        kind = kinds[i % len(kinds)]
        source = seed_files[int(rng.integers(len(seed_files)))]
        if kind == "huge_delay":
            source = next((s for s in seed_files if s.name == "delay_chain.nir"), source)
        path = folder / f"{i:05d}-{kind}-{source.stem}.nir"
        shutil.copy(source, path)
        try:
            detail, expect = MUTATIONS[kind](path, rng)
        except (OSError, KeyError, ValueError, TypeError, IndexError) as err:
            detail, expect = f"mutation could not apply ({type(err).__name__})", {}
        yield Case(path, source.name, kind, detail, **expect)


# -- running ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One command on one file: ``verdict`` (``ok``, ``hang``, ``internal``, ``wrong``), why."""

    case: Case
    command: str
    verdict: str
    why: str
    seconds: float


def prepare() -> None:
    """Import what the runs need once, before forking (no computation: no threads start)."""
    import jax  # noqa: F401

    import snnx.cli.compile_cmd
    import snnx.cli.inspect_cmd
    import snnx.cli.simulate_cmd
    import snnx.compiler
    import snnx.inspection
    import snnx.sim
    import snnx.targets  # noqa: F401


def argv_of(command: str, case: Case, out: Path) -> list[str]:
    """The ``snnx`` arguments of one command on one case."""
    path = str(case.path)
    if command == "inspect":
        return ["inspect", path]
    if command == "simulate":
        return [
            "simulate", path, "--random-input", "0.5", "--steps", str(STEPS), "--dt", str(DT),
            "-o", str(out / "out.npz"),
        ]  # fmt: skip
    target = command.split(":")[1]
    return ["compile", path, "--target", target, "--dt", str(DT), "-o", str(out / "compiled")]


def run(case: Case, command: str) -> Outcome:
    """Fork, run ``snnx ARGV`` in the child under the memory limit, judge what it did."""
    out = Path(tempfile.mkdtemp(prefix="snnx-fuzz-run-"))
    log = out / "log"
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        _child(argv_of(command, case, out), log)
    deadline = start + DEADLINE[command.split(":")[0]]
    status = None
    while status is None:
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            status = code
        elif time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return Outcome(
                case, command, "hang", "killed at the deadline", time.monotonic() - start
            )
        else:
            time.sleep(0.01)
    seconds = time.monotonic() - start
    text = log.read_text(errors="replace") if log.exists() else ""
    verdict, why = judge(case, command, status, text, out)
    _remove(out)
    return Outcome(case, command, verdict, why, seconds)


def _child(argv: list[str], log: Path) -> None:
    code = 70
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        sys.stdout = os.fdopen(1, "w", closefd=False)
        sys.stderr = os.fdopen(2, "w", closefd=False)
        from snnx.cli import main

        code = main(argv)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException as err:  # escaped the command line's own handling: a bug
        print(f"ESCAPED {type(err).__name__}: {err}", file=sys.stderr)
        code = 70
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def judge(case: Case, command: str, status: int, text: str, out: Path) -> tuple[str, str]:
    """The verdict on one finished run (see the module docstring)."""
    if os.WIFSIGNALED(status):
        return "internal", f"killed by signal {os.WTERMSIG(status)}"
    code = os.WEXITSTATUS(status)
    lines = text.strip().splitlines()
    if "\x1b" in text:
        return "wrong", "a raw terminal escape was printed"
    if code != 0:
        if "internal error" in text or "Traceback" in text or "ESCAPED" in text:
            return "internal", lines[-1][:300] if lines else f"exit {code}"
        errors = [line for line in lines if line.startswith("snnx: error:")]
        if code != 1 or len(errors) != 1:
            return "internal", f"exit {code}: {text[-300:]!r}"
        return "ok", errors[0][:300]
    if case.refuse:
        return "wrong", f"exit 0 on a file that must be refused ({case.detail})"
    if command == "simulate":
        return _judge_simulation(case, out)
    if command.startswith("compile") and case.delay is not None and abs(case.delay) / DT > 1e6:
        return "wrong", f"compiled a delay of {case.delay:g} s"
    return "ok", "exit 0"


def _judge_simulation(case: Case, out: Path) -> tuple[str, str]:
    with np.load(out / "out.npz") as arrays:
        values = {k: arrays[k] for k in arrays.files}
    for name, value in values.items():
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            return "wrong", f"non-finite values in {name}"
    longer = case.delay is not None and (case.delay < 0 or case.delay / DT > STEPS)
    if longer and any(np.any(v != 0) for v in values.values()):
        return "wrong", f"output within {STEPS} steps through a delay of {case.delay:g} s"
    return "ok", "exit 0"


def _remove(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def campaign(
    count: int,
    seed: int,
    folder: str | Path,
    deep_runs: int | None = None,
    progress: Callable[[int, list[Outcome]], None] | None = None,
) -> list[Outcome]:
    """Generate ``count`` files; inspect each; put the accepted ones (the first ``deep_runs`` of
    them, all when ``None``) through ``simulate`` and ``compile`` for every target; call
    ``progress(files done, outcomes so far)`` after each file."""
    prepare()
    outcomes: list[Outcome] = []
    accepted = 0
    for i, case in enumerate(generate(seeds(), count, seed, folder)):
        if progress is not None and i:
            progress(i, outcomes)
        first = run(case, "inspect")
        outcomes.append(first)
        if first.why != "exit 0" or (deep_runs is not None and accepted >= deep_runs):
            continue
        accepted += 1
        for command in ("simulate", *(f"compile:{t}" for t in TARGETS)):
            outcomes.append(run(case, command))
    return outcomes


def counts(outcomes: list[Outcome]) -> dict[str, dict[str, int]]:
    """Verdicts per command kind: ``{"inspect": {"ok": n, ...}, ...}``."""
    table: dict[str, dict[str, int]] = {}
    for outcome in outcomes:
        kind = outcome.command.split(":")[0]
        row = table.setdefault(kind, {"ok": 0, "hang": 0, "internal": 0, "wrong": 0})
        row[outcome.verdict] += 1
    return table
