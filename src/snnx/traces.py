"""Recorded traces: what a simulator or chip did on one input, read from ``.csv`` or ``.npz``.

A trace has one row per time step: the input fed to the graph's Input (``input``), optionally the
membrane voltage of the neuron that drives the Output (``v``), and the spikes it emitted
(``spike``: counts per step, 0/1 for most recordings); ``time`` (seconds) is optional and, where
present, gives the step ``dt = median(diff(time))``. A quantity with several elements per step
takes one column each, numbered from 0: ``input_0, input_1, ...`` (``input[0]`` works too).

- CSV: a header row naming the columns (``time``/``t``, ``input``, ``v``, ``spike``/``spikes``,
  numbered as above), or no header and the NIR paper's layout: ``input, v, spike`` (three columns)
  or ``input, spike`` (two).
- NPZ: arrays ``input`` and ``spike``/``spikes``, optional ``v`` and ``time``/``t``, each
  ``(T,)`` or ``(T, n)``; read without pickle.

Every value must be a finite number; a bad file raises `SnnxError` naming the file and column.

>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "t.csv")
>>> np.savetxt(path, [[0.0, 0.0, 0.0], [1.0, 0.04, 0.0]], delimiter=",")
>>> trace = read_trace(path)
>>> trace.input.shape, trace.v.shape, trace.spikes.shape, trace.dt
((2, 1), (2, 1), (2, 1), None)
"""

from __future__ import annotations

import csv
import dataclasses
import os
import re
import zipfile

import numpy as np

from snnx.errors import SnnxError

#: Column names (as a header spells them) -> the quantity they hold.
NAMES = {
    "time": "time",
    "t": "time",
    "input": "input",
    "v": "v",
    "spike": "spike",
    "spikes": "spike",
}
_COLUMN = re.compile(r"^\s*([a-z]+)\s*(?:[_\[]\s*(\d+)\s*\]?)?\s*$", re.IGNORECASE)
_HEADERLESS = {2: ("input", "spike"), 3: ("input", "v", "spike")}


@dataclasses.dataclass(frozen=True)
class Trace:
    """One recording: ``input`` ``(T, n_in)``, ``spikes`` ``(T, n_out)`` counts, ``v``
    ``(T, n_v)`` or None, ``dt`` from the time column or None; ``source`` names the file."""

    input: np.ndarray
    spikes: np.ndarray
    v: np.ndarray | None
    dt: float | None
    source: str

    @property
    def steps(self) -> int:
        """The number of time steps."""
        return int(self.input.shape[0])


def read_trace(path: str | os.PathLike) -> Trace:
    """Read a trace from ``.csv`` or ``.npz`` (module docstring); `SnnxError` on a bad file.

    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "t.npz")
    >>> np.savez(path, time=[0.0, 1e-3, 2e-3], input=[1.0, 0.0, 0.0], spikes=[0, 1, 0])
    >>> read_trace(path).dt
    0.001
    """
    source = os.fspath(path)
    if not os.path.exists(source):
        raise SnnxError("no such trace file", file=source)
    columns = _read_npz(source) if source.lower().endswith(".npz") else _read_csv(source)
    for required in ("input", "spike"):
        if required not in columns:
            raise SnnxError(
                f"no '{required}' column (found: {', '.join(sorted(columns)) or 'none'})",
                file=source,
            )
    steps = {name: len(values) for name, values in columns.items()}
    if len(set(steps.values())) != 1:
        raise SnnxError(f"columns differ in length: {steps}", file=source)
    for name, values in columns.items():
        bad = np.argwhere(~np.isfinite(values))
        if len(bad):
            raise SnnxError(
                f"column '{name}': {values[tuple(bad[0])]} at row {bad[0][0]} is not a finite number",
                file=source,
            )
    if steps["input"] == 0:
        raise SnnxError("the trace has no rows", file=source)
    spikes = columns["spike"]
    if np.any(spikes < 0) or np.any(spikes != np.round(spikes)):
        raise SnnxError("column 'spike': spike counts must be whole numbers >= 0", file=source)
    return Trace(
        input=columns["input"],
        spikes=spikes,
        v=columns.get("v"),
        dt=_step(columns.get("time"), source),
        source=source,
    )


def _step(time: np.ndarray | None, source: str) -> float | None:
    """``median(diff(time))``; it must be positive."""
    if time is None or len(time) < 2:
        return None
    steps = np.diff(time[:, 0])
    dt = float(np.median(steps))
    if not dt > 0 or np.any(steps <= 0):
        raise SnnxError("column 'time': must increase from row to row", file=source)
    return dt


def _read_csv(source: str) -> dict[str, np.ndarray]:
    with open(source, newline="") as stream:
        rows = [row for row in csv.reader(stream) if any(cell.strip() for cell in row)]
    if not rows:
        raise SnnxError("the trace is empty", file=source)
    if _numeric(rows[0]):
        if len(rows[0]) not in _HEADERLESS:
            raise SnnxError(
                f"{len(rows[0])} columns and no header: name the columns in a first row "
                "(time, input, v, spike; input_0, input_1, ... for several elements)",
                file=source,
            )
        header = list(_HEADERLESS[len(rows[0])])
    else:
        header, rows = [cell.strip() for cell in rows[0]], rows[1:]
    keys = [_column_key(name, source) for name in header]
    if len(set(keys)) != len(keys):
        raise SnnxError(f"a column is named twice in the header {header}", file=source)
    values = np.full((len(rows), len(header)), np.nan)
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise SnnxError(
                f"row {i}: {len(row)} values where the header names {len(header)} columns",
                file=source,
            )
        for j, cell in enumerate(row):
            try:
                values[i, j] = float(cell)
            except ValueError:
                raise SnnxError(
                    f"column '{header[j]}': {cell.strip()!r} at row {i} is not a number",
                    file=source,
                ) from None
    grouped: dict[str, list[tuple[int, int]]] = {}
    for j, (quantity, index) in enumerate(keys):
        grouped.setdefault(quantity, []).append((index, j))
    columns = {}
    for quantity, members in grouped.items():
        indices = sorted(index for index, _ in members)
        if indices != list(range(len(indices))):
            raise SnnxError(
                f"column '{quantity}': elements numbered {indices}, expected 0 to "
                f"{len(indices) - 1}",
                file=source,
            )
        columns[quantity] = values[:, [j for _, j in sorted(members)]]
    return columns


def _numeric(row: list[str]) -> bool:
    try:
        [float(cell) for cell in row]
    except ValueError:
        return False
    return True


def _column_key(name: str, source: str) -> tuple[str, int]:
    """``"input_2"`` -> ``("input", 2)``; an unknown name raises."""
    match = _COLUMN.match(name)
    quantity = NAMES.get(match.group(1).lower()) if match else None
    if match is None or quantity is None:
        raise SnnxError(
            f"column '{name}': unknown; columns are time, input, v, spike (numbered "
            "input_0, input_1, ... for several elements)",
            file=source,
        )
    index = int(match.group(2)) if match.group(2) is not None else 0
    if quantity == "time" and index:
        raise SnnxError(f"column '{name}': there is one time column", file=source)
    return quantity, index


def _read_npz(source: str) -> dict[str, np.ndarray]:
    try:
        with np.load(source, allow_pickle=False) as data:
            arrays = {name: np.asarray(data[name]) for name in data.files}
    except (ValueError, OSError, zipfile.BadZipFile) as err:
        raise SnnxError(f"not a readable .npz file ({err})", file=source) from None
    columns = {}
    for name, array in arrays.items():
        quantity = NAMES.get(name.lower())
        if quantity is None:
            raise SnnxError(
                f"column '{name}': unknown; arrays are time, input, v, spike", file=source
            )
        if quantity in columns:
            raise SnnxError(f"column '{name}': given twice", file=source)
        if array.ndim not in (1, 2) or array.dtype.kind not in "biuf":
            raise SnnxError(
                f"column '{name}': must be numbers of shape (T,) or (T, n), got "
                f"{array.dtype} {array.shape}",
                file=source,
            )
        columns[quantity] = array.astype(np.float64).reshape(len(array), -1)
    return columns
