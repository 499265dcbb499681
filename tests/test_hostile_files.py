"""Hostile and huge files: each gives one clean line and exit code 1, never a hang, a traceback, an
internal error, a huge allocation or a wrong answer.

The hang reproducers are rebuilt from a file nir writes: one byte of its global heap collection
(``GCOL``) changed, where libhdf5 (h5py 3.16, libhdf5 2.0) spins forever at the first string read.
Each runs in a subprocess with a generous deadline: the assertion is that it ends, with the clean
error, not how fast.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nir
import numpy as np
import pytest

#: Seconds a command may take before it counts as a hang (it takes well under one).
DEADLINE = 20


def nir_file(path: Path) -> bytes:
    """A small LIF graph written by nir itself; its bytes."""
    graph = nir.NIRGraph.from_list(
        nir.Input(np.array([2])),
        nir.LIF(tau=np.full(2, 0.01), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2)),
        nir.Output(np.array([2])),
    )
    nir.write(path, graph)
    return path.read_bytes()


def snnx(*argv: str) -> subprocess.CompletedProcess[str]:
    """``python -m snnx ARGV`` with the deadline (a hang fails the test by timing out)."""
    return subprocess.run(
        [sys.executable, "-m", "snnx", *argv], capture_output=True, text=True, timeout=DEADLINE
    )


def one_clean_line(done: subprocess.CompletedProcess[str]) -> str:
    err = done.stderr
    assert done.returncode == 1, (done.returncode, err)
    assert err.startswith("snnx: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    return err


# Offsets from the GCOL signature: collection size (8 bytes at 8), the first object's size
# (8 bytes at 16 + 8) and the second's (at 16 + 24 + 8): each set to 0xff in its lowest byte.
HEAP_FIELDS = {"collection size": 8, "first object size": 24, "second object size": 48}


@pytest.mark.parametrize("field", sorted(HEAP_FIELDS))
def test_corrupted_global_heap_is_a_clean_error(field, tmp_path):
    data = bytearray(nir_file(tmp_path / "good.nir"))
    heap = data.find(b"GCOL")
    assert heap > 0 and data.find(b"GCOL", heap + 1) < 0
    data[heap + HEAP_FIELDS[field]] = 0xFF
    path = tmp_path / "bad.nir"
    path.write_bytes(bytes(data))
    err = one_clean_line(snnx("inspect", str(path)))
    assert "global heap collection" in err and "corrupted" in err, err


def test_every_byte_of_the_heap_headers(tmp_path):
    """Every byte of the collection header and the first objects' headers, set to 0 and to 0xff:
    a graph, or one clean line; never a hang (the file format has no checksums, so a changed
    reference count or reserved byte reads as the file it was)."""
    data = nir_file(tmp_path / "good.nir")
    heap = data.find(b"GCOL")
    path = tmp_path / "bad.nir"
    script = (
        "import sys, snnx\n"
        "from snnx.errors import SnnxError\n"
        "data, path = open(sys.argv[1], 'rb').read(), sys.argv[2]\n"
        "for at in range(int(sys.argv[3]), int(sys.argv[3]) + 64):\n"
        "    for value in (0, 255):\n"
        "        changed = bytearray(data); changed[at] = value\n"
        "        open(path, 'wb').write(changed)\n"
        "        try:\n"
        "            snnx.read(path)\n"
        "        except SnnxError as err:\n"
        "            assert '\\n' not in str(err)\n"
        "print('done')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "good.nir"), str(path), str(heap)],
        capture_output=True,
        text=True,
        timeout=3 * DEADLINE,
    )
    assert done.returncode == 0 and done.stdout == "done\n", done.stderr[-2000:]
