"""What libhdf5 trusts in a file, checked before it reads: heap references, dataset sizes, plugins.

libhdf5 believes the sizes a file declares. Two kinds of corruption make it misbehave before it
reports anything:

- a **global heap collection** (signature ``GCOL``, where variable-length strings live) whose
  collection size or an object's size field is wrong: libhdf5 walks the objects
  ``p <- p + 16 + align8(size)`` (``p <- p + size`` for the free-space object, index 0), and a walk
  that lands on a zero size never advances: the first string read spins forever;
- a datatype message that describes no type a writer makes (a variable-length string whose
  class bits were changed into a sequence of an unknown kind, a float with odd exponent fields):
  libhdf5 converts by the description, and a nonsensical one crashes the process;
- a dataset that declares more than the file holds (a chunked ``(1e9, 8)`` dataset never
  written, a gzip bomb): reading it allocates the declared size.

So before a dataset's values are read, `Guard.check` checks its datatype against the types a NIR
file holds (`_check_type`: integers, IEEE floats, strings, booleans), its declared size against the read
budget (`Limits.max_bytes`) and, for a contiguous dataset, against the end of the file; for a
variable-length dataset it reads the raw references ``(length u32, collection address, index
u32)`` from the file, and checks each referenced collection the way libhdf5 will walk it (size at
least 4096 bytes and inside the file, every object inside the collection, the walk ending exactly
at its end, no zero-sized step) and that the object named exists and holds ``length`` bytes. A
variable-length dataset whose raw references cannot be located (compact or chunked layout, which
neither nir nor h5py writes) makes it check every ``GCOL`` collection in the file instead.

This costs one ``pread`` per string dataset and one per collection (a NIR file has one or two):
measured in docs/notes, well under the cost of reading the file.

Filter plugins: a file may name any filter id, and libhdf5 then searches its plugin path and
loads what it finds there; `no_plugins` empties the search path while a file is read.

>>> limits = Limits(max_bytes=2**20)
>>> limits.describe()
'1.0 MiB of data, 100,000 nodes, 64 levels of nesting'
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
from collections.abc import Iterator
from typing import Any

import h5py
import numpy as np

from snnx.errors import NIRFormatError

#: A global heap collection is at least this large (the HDF5 file format specification).
MIN_COLLECTION = 4096
#: Bytes of data a file may declare by default: this, or twice the file's size if larger.
DEFAULT_MAX_BYTES = 1 << 30
#: Nodes (all levels together) and levels of nested subgraphs a file may hold by default.
DEFAULT_MAX_NODES = 100_000
DEFAULT_MAX_DEPTH = 64
#: Environment variables that change the defaults (bytes may end in K, M or G).
ENVIRONMENT = {
    "max_bytes": "SNNX_MAX_BYTES",
    "max_nodes": "SNNX_MAX_NODES",
    "max_depth": "SNNX_MAX_DEPTH",
}


@dataclasses.dataclass(frozen=True)
class Limits:
    """How much a file may ask for: ``max_bytes`` of dataset values (``None``: the larger of
    `DEFAULT_MAX_BYTES` and twice the file's size), ``max_nodes`` nodes, ``max_depth`` levels."""

    max_bytes: int | None = None
    max_nodes: int = DEFAULT_MAX_NODES
    max_depth: int = DEFAULT_MAX_DEPTH

    @classmethod
    def from_environment(cls) -> Limits:
        """The defaults, changed by ``SNNX_MAX_BYTES``, ``SNNX_MAX_NODES``, ``SNNX_MAX_DEPTH``.

        >>> Limits.from_environment().max_depth == DEFAULT_MAX_DEPTH or "SNNX_MAX_DEPTH" in os.environ
        True
        """
        values: dict[str, int] = {}
        for key, variable in ENVIRONMENT.items():
            text = os.environ.get(variable)
            if text:
                values[key] = _count(text, variable)
        return cls(**values)

    def bytes_for(self, file_size: int) -> int:
        """The byte budget for a file of ``file_size`` bytes."""
        if self.max_bytes is not None:
            return self.max_bytes
        return max(DEFAULT_MAX_BYTES, 2 * file_size)

    def describe(self, file_size: int = 0) -> str:
        """The limits in words."""
        return (
            f"{_size(self.bytes_for(file_size))} of data, {self.max_nodes:,} nodes, "
            f"{self.max_depth} levels of nesting"
        )


def _count(text: str, variable: str) -> int:
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:].upper(), 1)
    digits = text[:-1] if scale > 1 else text
    try:
        value = int(float(digits) * scale)
    except ValueError:
        raise NIRFormatError(f"{variable}={text!r} is not a number") from None
    if value <= 0:
        raise NIRFormatError(f"{variable}={text!r} must be positive")
    return value


def _size(count: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


@contextlib.contextmanager
def no_plugins() -> Iterator[None]:
    """libhdf5 searches no filter-plugin folder inside the block (its path is restored after).

    >>> with no_plugins():
    ...     h5py.h5pl.size()
    0
    """
    saved = [h5py.h5pl.get(i) for i in range(h5py.h5pl.size())]
    while h5py.h5pl.size():
        h5py.h5pl.remove(0)
    try:
        yield
    finally:
        for folder in saved:
            h5py.h5pl.append(folder)


def check_file(path: str | os.PathLike[str], limits: Limits | None = None) -> None:
    """Check every dataset of an HDF5 file as `Guard.check` does, before anything reads it (for
    files read by other code: nir's NIRData reader, netx artifacts); raises `NIRFormatError`
    naming the file and dataset. Read the file inside `no_plugins` after.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.h5"
    >>> with h5py.File(path, "w") as f:
    ...     f["x"] = np.ones(3)
    ...     _ = f.create_dataset("huge", shape=(10**9, 8), dtype="f4", chunks=(1, 8))
    >>> check_file(path)
    Traceback (most recent call last):
    ...
    snnx.errors.NIRFormatError: ...a.h5: field 'huge': declares 29.8 GiB of values ...
    """
    limits = Limits.from_environment() if limits is None else limits
    with no_plugins():
        try:
            handle = h5py.File(path, "r")
        except OSError as err:
            raise NIRFormatError(f"not a readable HDF5 file ({err})", file=path) from None
        with handle:
            guard = Guard(path, handle, limits)
            try:
                handle.visititems(lambda name, item: _check_item(guard, name, item))
            except NIRFormatError as err:
                raise err.located(file=path) from None
            except (OSError, KeyError, ValueError, TypeError, RuntimeError) as err:
                raise NIRFormatError(f"cannot read the file ({err})", file=path) from None
            finally:
                guard.close()


def _check_item(guard: Guard, name: str, item: Any) -> None:
    if isinstance(item, h5py.Dataset):
        try:
            guard.check(item)
        except NIRFormatError as err:
            raise NIRFormatError(err.reason, field=name) from None


class Guard:
    """Checks on one open file, each made before the values they protect are read.

    ``path``: the file on disk; ``handle``: it open in h5py; ``limits``: the budget. Raises
    `NIRFormatError` (the caller adds node and field) for anything libhdf5 should not be asked.
    """

    def __init__(self, path: str | os.PathLike[str], handle: h5py.File, limits: Limits) -> None:
        self.file_size = os.path.getsize(path)
        self.limits = limits
        self.budget = limits.bytes_for(self.file_size)
        self.spent = 0
        self.nodes = 0
        self._fd = os.open(path, os.O_RDONLY)
        self._base = int(handle.userblock_size)
        self._addr, self._length = handle.id.get_create_plist().get_sizes()
        self._collections: dict[int, dict[int, int]] = {}
        self._scanned = False

    def close(self) -> None:
        """Release the file descriptor."""
        os.close(self._fd)

    def count_node(self, depth: int) -> None:
        """One more node at nesting ``depth`` (0: top level); raises past the limits."""
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            raise NIRFormatError(
                f"the file holds more than {self.limits.max_nodes:,} nodes (raise SNNX_MAX_NODES "
                "to read it)"
            )
        if depth > self.limits.max_depth:
            raise NIRFormatError(
                f"subgraphs nest more than {self.limits.max_depth} levels deep (raise "
                "SNNX_MAX_DEPTH to read it)"
            )

    def read(self, dataset: h5py.Dataset | h5py.h5d.DatasetID) -> Any:
        """The dataset's value, once `check` has passed (read through h5py's low-level API: the
        high-level one costs more than the read itself on a small dataset)."""
        dsid = dataset.id if isinstance(dataset, h5py.Dataset) else dataset
        dtype, space = self._check(dsid)
        if space.get_simple_extent_type() == h5py.h5s.NULL:
            return h5py.Dataset(dsid)[()]
        value = np.empty(space.shape, dtype=dtype)
        if value.size:
            dsid.read(h5py.h5s.ALL, h5py.h5s.ALL, value)
        return value[()] if value.ndim == 0 else value

    def check(self, dataset: h5py.Dataset | h5py.h5d.DatasetID) -> None:
        """Refuse a dataset whose values would cost more than the budget, reach past the end of
        the file, or refer to a broken global heap collection."""
        self._check(dataset.id if isinstance(dataset, h5py.Dataset) else dataset)

    def _check(self, dsid: h5py.h5d.DatasetID) -> tuple[np.dtype, Any]:
        """`check`; the dataset's dtype and dataspace (each asked of libhdf5 once)."""
        tid = dsid.get_type()
        _check_type(tid)
        space = dsid.get_space()
        dtype, shape = tid.dtype, space.shape
        count = math.prod(shape or ())  # None: a null dataspace
        vlen = h5py.check_vlen_dtype(dtype) is not None
        width = 8 + self._addr if vlen else tid.get_size()  # bytes on disk
        declared = count * max(width, dtype.itemsize)
        self.spent += declared
        if self.spent > self.budget:
            raise NIRFormatError(
                f"declares {_size(declared)} of values (shape {shape}), past the read "
                f"budget of {_size(self.budget)} for a {_size(self.file_size)} file (set "
                "SNNX_MAX_BYTES to allow more)"
            )
        layout = dsid.get_create_plist().get_layout()
        offset = dsid.get_offset() if layout == h5py.h5d.CONTIGUOUS else None
        if offset is not None and offset + count * width > self.file_size:
            raise NIRFormatError(
                f"its {count * width:,} bytes of values reach past the end of the file "
                f"({self.file_size:,} bytes): truncated or corrupted"
            )
        if not dtype.hasobject:
            return dtype, space
        stored = dsid.get_storage_size()
        if offset is None or not vlen or stored != count * width:
            if stored or layout != h5py.h5d.CONTIGUOUS:
                self._scan_all()  # references we cannot read raw: check every collection
            return dtype, space
        self._check_references(self._pread(offset, count * width))
        return dtype, space

    # -- global heap -----------------------------------------------------------------------

    def _check_references(self, raw: bytes) -> None:
        """Raw variable-length elements: ``u32 length``, heap address, ``u32 index``."""
        refs = np.frombuffer(
            raw,
            dtype=np.dtype([("length", "<u4"), ("addr", f"<u{self._addr}"), ("index", "<u4")]),
        )
        for length, addr, index in refs.tolist():
            if addr == 0 and length == 0:
                continue  # an empty or unset element: no heap object
            objects = self._collection(int(addr))
            if index not in objects:
                raise NIRFormatError(
                    f"a string refers to object {index} of the global heap at {addr}, which "
                    "holds no such object: corrupted"
                )
            if length > objects[index]:
                raise NIRFormatError(
                    f"a string of {length} bytes is stored in a heap object of "
                    f"{objects[index]}: corrupted"
                )

    def _collection(self, addr: int) -> dict[int, int]:
        """Object index -> size of the collection at ``addr`` (relative to the base address),
        checked as libhdf5 will walk it."""
        if addr not in self._collections:
            self._collections[addr] = self._walk(addr + self._base)
        return self._collections[addr]

    def _walk(self, start: int) -> dict[int, int]:
        where = f"the global heap collection at byte {start}"
        head = 8 + self._length
        header = self._pread(start, head)
        if len(header) < head or header[:4] != b"GCOL":
            raise NIRFormatError(f"a string refers to byte {start}, where no heap collection is")
        if header[4] != 1:
            raise NIRFormatError(f"{where} has version {header[4]}, not 1: corrupted")
        size = int.from_bytes(header[8:head], "little")
        if size < MIN_COLLECTION or start + size > self.file_size:
            raise NIRFormatError(
                f"{where} declares {size:,} bytes (at least {MIN_COLLECTION}, and the file ends "
                f"{self.file_size - start:,} bytes after its start): corrupted"
            )
        body = self._pread(start, size)
        objects: dict[int, int] = {}
        step = 8 + self._length  # object header: u16 index, u16 references, 4 reserved, size
        p = head
        while p + step <= size:
            index = int.from_bytes(body[p : p + 2], "little")
            length = int.from_bytes(body[p + 8 : p + step], "little")
            need = length if index == 0 else step + (length + 7) // 8 * 8
            if need <= 0 or p + need > size:
                raise NIRFormatError(
                    f"{where}: object {index} of {length:,} bytes at offset {p} does not fit "
                    f"its {size:,} bytes: corrupted"
                )
            if index:
                if index in objects:
                    raise NIRFormatError(f"{where} holds object {index} twice: corrupted")
                objects[index] = length
            p += need
        return objects

    def _scan_all(self) -> None:
        """Check every collection in the file (for references that cannot be read raw)."""
        if self._scanned:
            return
        self._scanned = True
        at, chunk, overlap = 0, 1 << 24, 8
        while at < self.file_size:
            data = self._pread(at, chunk + overlap)
            found = data.find(b"GCOL")
            while 0 <= found < chunk:
                if data[found + 4 : found + 5] == b"\x01":
                    self._collections.setdefault(at + found - self._base, self._walk(at + found))
                found = data.find(b"GCOL", found + 1)
            at += chunk

    def _pread(self, offset: int, count: int) -> bytes:
        return os.pread(self._fd, count, offset)


#: The IEEE binary formats by size: (sign, exponent position, exponent bits, mantissa position,
#: mantissa bits) and the exponent bias.
IEEE = {2: ((15, 10, 5, 0, 10), 15), 4: ((31, 23, 8, 0, 23), 127), 8: ((63, 52, 11, 0, 52), 1023)}


def _check_type(tid: Any) -> None:
    """Refuse a datatype that is not one a NIR file holds (`_known`)."""
    if not _known(tid):
        raise NIRFormatError(
            f"holds values of HDF5 type class {tid.get_class()} ({tid.get_size()} bytes, "
            f"{type(tid).__name__}), not a number, boolean or string as NIR files hold: "
            "corrupted or not a NIR file"
        )


def _known(tid: Any) -> bool:
    """An integer of 1, 2, 4 or 8 whole bytes, an IEEE float of 2, 4 or 8 bytes, a string (fixed
    or variable length, ASCII or UTF-8), or h5py's boolean (an enum over a one-byte integer)."""
    size = tid.get_size()
    if isinstance(tid, h5py.h5t.TypeEnumID):
        return bool(size == 1 and _known(tid.get_super()))
    if isinstance(tid, h5py.h5t.TypeIntegerID):
        return bool(
            size in (1, 2, 4, 8) and tid.get_precision() == 8 * size and not tid.get_offset()
        )
    if isinstance(tid, h5py.h5t.TypeFloatID):
        standard = (tid.get_fields(), tid.get_ebias()) == IEEE.get(size)
        return bool(standard and tid.get_precision() == 8 * size and not tid.get_offset())
    if isinstance(tid, h5py.h5t.TypeStringID):
        pads = (h5py.h5t.STR_NULLTERM, h5py.h5t.STR_NULLPAD, h5py.h5t.STR_SPACEPAD)
        charsets = (h5py.h5t.CSET_ASCII, h5py.h5t.CSET_UTF8)
        return bool(tid.get_cset() in charsets and tid.get_strpad() in pads)
    return False
