"""Write files atomically: into a temporary file beside the target, renamed over it on success.

A failed write leaves the target as it was and no temporary file behind.

>>> import tempfile, os
>>> target = os.path.join(tempfile.mkdtemp(), "out.txt")
>>> with atomic_path(target) as tmp:
...     _ = tmp.write_text("done")
>>> open(target).read()
'done'
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; move it to ``path`` when the block succeeds."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)  # mkstemp makes the file private: give it the mode a new file gets
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
