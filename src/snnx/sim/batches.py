"""Data sets larger than one batch: split across devices and processes, streamed in batches.

Samples are independent, so a batch ``(T, B, *shape)`` is split along its batch axis over a mesh of
every device of every process (`jax.sharding`): with one process, its local devices; under
`jax.distributed` (`start`), the devices of all hosts, each process feeding and reading only the
samples its own devices hold. A data set of ``N`` samples runs ``batch_size`` at a time
(`ranges`), each batch padded with silent samples to a multiple of the device count (`pad`) and
the padding dropped from the results.

>>> ranges(10, 4)
[(0, 4), (4, 8), (8, 10)]
>>> import numpy as np
>>> pad(np.ones((2, 3, 1)), 4).shape
(2, 4, 1)
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from snnx.errors import SnnxError

if TYPE_CHECKING:
    from snnx.sim.simulator import Result


def start(
    coordinator: str | None = None, processes: int | None = None, process: int | None = None
) -> None:
    """Join a multi-process run with `jax.distributed.initialize` (``coordinator``
    ``host:port``, the number of ``processes`` and this ``process``'s index; all None: detected
    from the cluster environment). CPU processes exchange data through gloo."""
    if coordinator is None and processes is None and process is None:
        jax.distributed.initialize()
        return
    if None in (coordinator, processes, process):
        raise SnnxError("a distributed run needs the coordinator, the process count and index")
    jax.distributed.initialize(coordinator, num_processes=processes, process_id=process)


def is_main() -> bool:
    """Whether this is the process that writes files and prints (index 0)."""
    return jax.process_index() == 0


def ranges(samples: int, batch_size: int | None) -> list[tuple[int, int]]:
    """``(start, stop)`` of each batch of at most ``batch_size`` samples (None: one batch)."""
    if batch_size is not None and batch_size < 1:
        raise SnnxError(f"a batch holds at least one sample, got {batch_size}")
    size = batch_size or max(samples, 1)
    return [(lo, min(lo + size, samples)) for lo in range(0, samples, size)]


def pad(x: Any, batch: int) -> np.ndarray:
    """``x`` ``(T, B, ...)`` with zero samples appended up to ``batch`` samples."""
    x = np.asarray(x)
    if x.shape[1] >= batch:
        return x
    zeros = np.zeros((x.shape[0], batch - x.shape[1], *x.shape[2:]), x.dtype)
    return np.concatenate([x, zeros], axis=1)


def padded_size(samples: int) -> int:
    """``samples`` rounded up to a multiple of the number of devices."""
    count = jax.device_count()
    return -(-samples // count) * count


def shard(inputs: Mapping[str, Any]) -> dict[str, jax.Array]:
    """Place ``(T, B, ...)`` arrays split along the batch axis over every device of every
    process; each process reads only the samples its devices hold (``inputs`` may be memory
    mapped)."""
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    devices = jax.devices()
    sharding = NamedSharding(Mesh(np.array(devices), ("batch",)), PartitionSpec(None, "batch"))
    for name, value in inputs.items():
        if np.shape(value)[1] % len(devices):
            raise SnnxError(
                f"batch of {np.shape(value)[1]} for '{name}' does not split across {len(devices)} devices"
            )

    def block(value: Any) -> Callable[[Any], np.ndarray]:
        return lambda index: np.asarray(value[index])

    return {
        name: jax.make_array_from_callback(np.shape(value), sharding, block(value))
        for name, value in inputs.items()
    }


def local_blocks(array: jax.Array) -> list[tuple[int, int, np.ndarray]]:
    """This process's samples of a ``(T, B, ...)`` array: ``(start, stop, values)`` for each
    run of consecutive samples its devices hold (the whole batch when nothing is split)."""
    pieces: dict[tuple[int, int], Any] = {}
    for piece in array.addressable_shards:
        lo, hi, _ = piece.index[1].indices(array.shape[1])
        pieces.setdefault((lo, hi), piece)
    blocks: list[tuple[int, int, list]] = []
    for (lo, hi), piece in sorted(pieces.items()):
        if blocks and blocks[-1][1] == lo:
            blocks[-1] = (blocks[-1][0], hi, [*blocks[-1][2], piece.data])
        else:
            blocks.append((lo, hi, [piece.data]))
    return [(lo, hi, np.concatenate([np.asarray(p) for p in data], 1)) for lo, hi, data in blocks]


def to_host(arrays: Mapping[str, jax.Array]) -> dict[str, np.ndarray]:
    """Every array whole, as numpy, on every process (gathered across processes, in one fixed
    order, where the processes each hold a part)."""
    from jax.experimental import multihost_utils

    out = {}
    for name in sorted(arrays):
        value = arrays[name]
        addressable = getattr(value, "is_fully_addressable", True)
        if addressable:
            out[name] = np.asarray(value)
        else:
            with _stdout_to_stderr():
                out[name] = np.asarray(multihost_utils.process_allgather(value, tiled=True))
    return out


def all_processes(values: np.ndarray) -> np.ndarray:
    """``values`` from every process stacked along a new first axis (one row per process)."""
    if jax.process_count() == 1:
        return np.asarray(values)[None]
    from jax.experimental import multihost_utils

    with _stdout_to_stderr():
        return np.asarray(multihost_utils.process_allgather(np.asarray(values)))


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """The CPU collectives (gloo) print each connection on the process's stdout: send it to
    stderr meanwhile, so that stdout carries only what the command reports."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def progress(total: int, desc: str, enabled: bool = True) -> Any:
    """A tqdm bar counting samples, drawn by the main process only."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="sample", disable=not (enabled and is_main()))


def simulate(
    sim: Any, inputs: Mapping[str, Any], batch_size: int | None, show: bool = False
) -> Result:
    """``sim(x)`` (a `snnx.sim.Simulator`) over a data set ``batch_size`` samples at a time,
    each batch padded to split across all devices when ``sim.shard`` (the padding dropped);
    a `snnx.sim.Result` of numpy arrays holding every sample. ``show``: a progress bar."""
    from snnx.sim.simulator import Result

    total = np.shape(next(iter(inputs.values())))[1]
    outputs: dict[str, np.ndarray] = {}
    records: dict[str, np.ndarray] = {}
    with progress(total, "simulating", enabled=show) as bar:
        for lo, hi in ranges(total, batch_size):
            size = padded_size(hi - lo) if sim.shard else hi - lo
            result = sim({name: pad(value[:, lo:hi], size) for name, value in inputs.items()})
            for part, joined in ((result.outputs, outputs), (result.records, records)):
                for name, value in part.items():
                    if name not in joined:
                        joined[name] = np.empty(
                            (value.shape[0], total, *value.shape[2:]), value.dtype
                        )
                    joined[name][:, lo:hi] = value[:, : hi - lo]
            bar.update(hi - lo)
    return Result(outputs, records)
