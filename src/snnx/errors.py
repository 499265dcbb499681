"""One exception hierarchy. Every error names the file, node and field at fault where known.

A message reads ``FILE: node 'PATH': field 'NAME': what is wrong``; nested nodes are named by
their path through the subgraphs, joined with ``/`` (a character NIR node names cannot contain).
Names and the file are shown `printable`: a name holding a newline or a terminal escape sequence
cannot break the one-line message or take over the terminal.

>>> str(GraphError("must be positive", node="lif1", field="tau"))
"node 'lif1': field 'tau': must be positive"
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Self


def printable(text: str) -> str:
    r"""``text`` with every character that is not printable (newlines, tabs, ANSI escapes, other
    control and format characters) written as its Python escape.

    >>> print(printable("lif\x1b[2J\nout"))
    lif\x1b[2J\nout
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class SnnxError(Exception):
    """Base class of every error snnx raises on purpose."""

    def __init__(
        self,
        reason: str,
        *,
        file: str | os.PathLike | None = None,
        node: str | None = None,
        field: str | None = None,
    ) -> None:
        self.reason = reason
        self.file = os.fspath(file) if file is not None else None
        self.node = node
        self.field = field
        super().__init__(self._message())

    def _message(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(printable(self.file))
        if self.node is not None:
            parts.append(f"node '{printable(self.node)}'")
        if self.field is not None:
            parts.append(f"field '{printable(self.field)}'")
        return ": ".join([*parts, printable(self.reason)])

    def located(
        self, *, file: str | os.PathLike[str] | None = None, parent: str | None = None
    ) -> Self:
        """The same error with the file set and the node path prefixed by ``parent``.

        >>> GraphError("bad", node="lif").located(file="m.nir", parent="sub").args[0]
        "m.nir: node 'sub/lif': bad"
        """
        node = self.node
        if parent is not None:
            node = parent if node is None else f"{parent}/{node}"
        return type(self)(self.reason, file=file or self.file, node=node, field=self.field)


class NIRFormatError(SnnxError):
    """A file that is not a readable NIR file (not HDF5, truncated, missing groups)."""


class GraphError(SnnxError):
    """A graph whose structure or fields are wrong: dangling edges, bad or missing fields."""


class ShapeError(GraphError):
    """Shapes that do not fit together along an edge, or that cannot be inferred."""


class SemanticsError(SnnxError):
    """An invalid or inconsistent `Semantics` value or profile name."""


class ConversionError(SnnxError):
    """A model (or graph) that cannot be converted as asked; names the layer and what is wrong."""


class LoweringError(SnnxError):
    """A graph, or a part of it, that a target cannot run (with the numbers that do not fit)."""


class SnnxWarning(UserWarning):
    """Something suspicious that snnx can still handle (for example a shape fixed by reshape)."""


@dataclasses.dataclass(frozen=True)
class Diagnostic:
    """A warning found while checking a graph, kept so `inspect` can show it."""

    message: str
    node: str | None = None

    def __str__(self) -> str:
        text = f"node '{self.node}': {self.message}" if self.node else self.message
        return printable(text)
