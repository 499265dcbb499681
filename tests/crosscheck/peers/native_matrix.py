"""The native conformance matrix: models written natively in a framework (random weights,
feed-forward and recurrent), run by the framework itself, against `snnx simulate --profile
<framework>` on the NIR file its own exporter writes (``exporter``) and on the one `snnx convert`
writes (``snnx-convert``). One module per framework (``native_matrix_<framework>.py``) builds and
runs its models; this one holds what they share and writes the tables.

Each cell is ``exact`` (every spike equal), ``refused`` (snnx, or the framework's exporter, will
not convert the model, with the reason), ``lost`` (the exporter does not record a knob that
changes the model's behaviour; snnx warned at import, naming the knob, and the cell records
whether the run is exact once the user sets what the warning names) or ``n/a`` (the framework
itself cannot run or export the model). A run that differs without a warning would be a
``differs`` cell, which the tests forbid. Every model's output neurons fire in at least
`MIN_ACTIVE` of the (step, sample, neuron) slots, so that no cell is vacuously exact.

Row schema (one JSON object per model, ``docs/guide/native-matrix-<framework>.json``)::

    framework     str    the framework ("norse")
    layer         str    the neuron layer under test ("LIFRecurrentCell")
    knobs         str    the layer's options that were varied ("reset=subtract, reset_delay=True")
    active        float  fraction of output slots that spiked in the native run
    exporter      cell   the framework's own NIR exporter, then `snnx simulate --profile`
    snnx-convert  cell   `snnx convert` (from_torch), then `snnx simulate --profile`

    cell: status ("exact" | "lost" | "refused" | "n/a"), spikes (native output spike count),
          differ (differing output slots), reason (why, for all but "exact"),
          with_set ({"sets": "--set k=v ...", "differ": int}, for "lost" where a fix is known)

Other keys (``reset``, ``reset_delay``, ``multi``, ``variant``, ...) are optional: the tables
show them in the knobs column when ``knobs`` is absent.

``python native_matrix.py OUT_DIR [FRAMEWORK ...]`` (peers environment) writes
``native-matrix-<framework>.json`` for each framework measured here (default: all);
``python native_matrix.py --tables`` rebuilds ``docs/guide/native-matrix.md`` and the README's
summary from every ``docs/guide/native-matrix-*.json`` (other frameworks' files included).
"""

from __future__ import annotations

import importlib
import json
import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import snnx
from snnx import from_torch
from snnx.errors import ConversionError, SnnxWarning
from snnx.provenance import resolve
from snnx.sim import simulate

#: The least fraction of output slots that must spike in every native run.
MIN_ACTIVE = 0.01
FRAMEWORKS = ("snntorch", "norse", "sinabs", "spikingjelly")
ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs" / "guide"
STANDARD_KEYS = ("framework", "layer", "knobs", "active", "exporter", "snnx-convert")


def firing(build: Callable[[int], Any], run: Callable[[Any], np.ndarray], seed: int) -> tuple:
    """``(net, output)`` of the first model ``build(seed)``, ``build(seed + 1000)``, ... (eight
    tries) whose native output fires in at least `MIN_ACTIVE` of its slots."""
    for attempt in range(8):
        net = build(seed + 1000 * attempt)
        out = run(net)
        if np.mean(out > 0) >= MIN_ACTIVE:
            break
    return net, out


def run_snnx(graph: snnx.Graph, x: np.ndarray, profile: str, sets: dict) -> tuple[Any, list]:
    """``snnx simulate --profile`` (the same resolution), the output and the warnings given."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SnnxWarning)
        semantics = resolve(graph, profile, sets).semantics
    out = simulate(graph, x, semantics).outputs
    notes = [str(w.message) for w in caught if issubclass(w.category, SnnxWarning)]
    return np.asarray(next(iter(out.values()))), notes


def cell(got: np.ndarray, want: np.ndarray, notes: list, retry: Any = None) -> dict:
    """Classify one run (see the module docstring)."""
    got = got.reshape(want.shape)
    differ = int(np.sum(got != want))
    entry: dict[str, Any] = {"spikes": int(want.sum()), "differ": differ}
    if differ == 0:
        entry["status"] = "exact"
    elif notes:
        entry["status"] = "lost"
        entry["reason"] = " | ".join(notes)
        if retry is not None:
            entry["with_set"] = retry()
    else:
        entry["status"] = "differs"
    return entry


def exporter_cell(
    export: Callable[[], snnx.Graph],
    x: np.ndarray,
    want: np.ndarray,
    profile: str,
    fix: dict | None,
) -> dict:
    """The framework's exporter: ``export()`` (the file written and read back), run under
    ``profile``; where it is lost, ``fix`` (knob -> value) is what the user would ``--set``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            graph = export()
    except Exception as err:  # the exporter's own failure, recorded as it is
        return {"status": "refused", "reason": f"the exporter fails: {type(err).__name__}: {err}"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SnnxWarning)
        try:
            got, notes = run_snnx(graph, x, profile, {})
        except snnx.SnnxError as err:
            return {"status": "refused", "reason": str(err)}
    notes += [str(w.message) for w in caught if issubclass(w.category, SnnxWarning)]

    def retry() -> dict:
        out, _ = run_snnx(graph, x, profile, fix or {})
        sets = " ".join(f"--set {k}={v}" if k != "dt" else f"--dt {v:g}" for k, v in fix.items())
        return {"sets": sets, "differ": int(np.sum(out.reshape(want.shape) != want))}

    return cell(got, want, notes, retry if fix else None)


def convert_cell(net: Any, shape: tuple, x: np.ndarray, want: np.ndarray, profile: str) -> dict:
    """`snnx convert` of ``net`` (input ``shape``), run under ``profile``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SnnxWarning)
        try:
            graph = from_torch(net, shape=shape)
        except ConversionError as err:
            return {"status": "refused", "reason": str(err)}
    notes = [str(w.message) for w in caught if issubclass(w.category, SnnxWarning)]
    got, more = run_snnx(graph, x, profile, {})
    return cell(got, want, notes + more)


def knobs_of(row: dict) -> str:
    """The knobs column: ``knobs``, else the row's optional keys."""
    if "knobs" in row:
        return str(row["knobs"])
    extra = [k for k in row if k not in STANDARD_KEYS]
    return ", ".join(f"{k}={row[k]}" for k in extra)


def cell_text(entry: dict) -> str:
    """One cell as Markdown text."""
    text = entry["status"]
    if entry["status"] == "lost":
        fixed = entry.get("with_set")
        text += f" ({entry['differ']} spikes differ; warned at import"
        if fixed is not None:
            verdict = "exact" if fixed["differ"] == 0 else f"{fixed['differ']} differ"
            text += f"; `{fixed['sets']}`: {verdict}"
        text += ")"
    elif entry.get("reason"):
        text += f": {entry['reason'].splitlines()[0][:160]}"
    return text.replace("|", "/")


def markdown(rows: list[dict]) -> str:
    """The matrix as a Markdown table."""
    lines = [
        "| framework | layer | knobs | output firing | framework's exporter | `snnx convert` |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        active = f"{row['active']:.1%}" if "active" in row else "-"
        lines.append(
            f"| {row['framework']} | {row['layer']} | {knobs_of(row)} | {active} | "
            f"{cell_text(row['exporter'])} | {cell_text(row['snnx-convert'])} |"
        )
    return "\n".join(lines) + "\n"


def summary(groups: dict[str, list[dict]]) -> str:
    """Counts per framework and column: the README's table."""
    lines = [
        "| framework | models | framework's exporter | `snnx convert` |",
        "|---|---|---|---|",
    ]
    for framework, rows in groups.items():
        cols = []
        for key in ("exporter", "snnx-convert"):
            counts: dict[str, int] = {}
            for row in rows:
                status = row[key]["status"]
                counts[status] = counts.get(status, 0) + 1
            fixed = sum(
                1
                for row in rows
                if row[key]["status"] == "lost" and row[key].get("with_set", {}).get("differ") == 0
            )
            text = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
            if fixed:
                text += f" ({fixed} lost exact after the suggested `--set`)"
            cols.append(text)
        lines.append(f"| {framework} | {len(rows)} | {cols[0]} | {cols[1]} |")
    return "\n".join(lines) + "\n"


def load_groups(folder: Path = DOCS) -> dict[str, list[dict]]:
    """Every ``native-matrix-<framework>.json`` in ``folder``, snnTorch first."""
    files = sorted(folder.glob("native-matrix-*.json"))
    order = {name: i for i, name in enumerate(FRAMEWORKS)}
    files.sort(key=lambda p: (order.get(p.stem.removeprefix("native-matrix-"), 99), p.name))
    return {p.stem.removeprefix("native-matrix-"): json.loads(p.read_text()) for p in files}


BEGIN, END = "<!-- native-matrix:begin -->", "<!-- native-matrix:end -->"


def write_tables(root: Path = ROOT) -> None:
    """Rewrite the generated parts of ``docs/guide/native-matrix.md`` and ``README.md``."""
    groups = load_groups(root / "docs" / "guide")
    full = summary(groups) + "\n" + "".join(markdown(rows) + "\n" for rows in groups.values())
    readme = "".join(f"  {line}\n" for line in summary(groups).splitlines())  # in a list item
    for path, table, indent in (
        (root / "docs/guide/native-matrix.md", full, ""),
        (root / "README.md", readme, "  "),
    ):
        pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
        block = f"{BEGIN}\n{table}{indent}{END}"
        body = pattern.sub(lambda _, block=block: block, path.read_text())
        path.write_text(body)


def rows_of(framework: str) -> list[dict]:
    """Every row of one framework (its module's ``rows()``)."""
    return importlib.import_module(f"native_matrix_{framework}").rows()


def main(args: list[str]) -> None:
    """See the module docstring."""
    if args[:1] == ["--tables"]:
        write_tables()
        return
    out = Path(args[0] if args else DOCS)
    out.mkdir(parents=True, exist_ok=True)
    for framework in args[1:] or FRAMEWORKS:
        rows = rows_of(framework)
        (out / f"native-matrix-{framework}.json").write_text(json.dumps(rows, indent=2) + "\n")
        print(markdown(rows))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main(sys.argv[1:])
