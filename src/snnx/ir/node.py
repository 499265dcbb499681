"""`Node`: one NIR primitive, its fields exactly as given.

snnx keeps its own small record rather than the `nir` dataclasses because those normalise their
values on construction (they broadcast ``w_in``, fill in ``v_reset``, turn ``stride=2`` into a
tuple), which would make reading and writing a file lossy. A `Node` keeps each field's value, dtype
and rank as given, and an absent optional field stays absent. `Graph.from_nir` and `Graph.to_nir`
convert to and from the `nir` dataclasses.

Treat a node as immutable: passes build new nodes with `Node.replace`.

>>> lif = Node("LIF", tau=[0.01], r=[1.0], v_leak=[0.0], v_threshold=[1.0])
>>> lif.tau.dtype, lif.get("v_reset") is None
(dtype('float64'), True)
>>> lif.replace(v_threshold=[2.0]) == lif
False
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from snnx.errors import GraphError
from snnx.ir.schema import SCHEMA


def normalise_value(value: Any) -> Any:
    """Lists and tuples become arrays; strings, numbers, arrays and dicts are kept as they are."""
    if isinstance(value, (list, tuple)):
        return np.asarray(value)
    if isinstance(value, Mapping):
        return {str(k): normalise_value(v) for k, v in value.items()}
    return value


def values_equal(a: Any, b: Any) -> bool:
    """Exact equality of field or metadata values: same type class, dtype, shape and contents."""
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        return (
            isinstance(a, Mapping)
            and isinstance(b, Mapping)
            and a.keys() == b.keys()
            and all(values_equal(a[k], b[k]) for k in a)
        )
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if isinstance(a, np.ndarray) != isinstance(b, np.ndarray):
        return False
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    if a_arr.dtype != b_arr.dtype or a_arr.shape != b_arr.shape:
        return False
    return bool(np.array_equal(a_arr, b_arr, equal_nan=a_arr.dtype.kind == "f"))


class Node:
    """A NIR primitive: ``type`` (for example ``"LIF"``), its ``fields`` and optional ``metadata``.

    Fields read as attributes (``node.tau``); `get` returns a default for absent optional fields.
    """

    __slots__ = ("fields", "metadata", "type")

    def __init__(
        self,
        type: str,
        fields: Mapping[str, Any] | None = None,
        *,
        metadata: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if type not in SCHEMA or type == "NIRGraph":
            known = ", ".join(t for t in SCHEMA if t != "NIRGraph")
            raise GraphError(f"unknown node type {type!r}; known types: {known}, NIRGraph")
        merged = {**(fields or {}), **kwargs}
        for key in merged:
            if not isinstance(key, str):
                raise GraphError(f"field names must be strings, got {key!r}")
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "fields", {k: normalise_value(v) for k, v in merged.items()})
        object.__setattr__(
            self, "metadata", None if metadata is None else normalise_value(dict(metadata))
        )

    def __getattr__(self, name: str) -> Any:
        try:
            return object.__getattribute__(self, "fields")[name]
        except KeyError:
            raise AttributeError(f"{self.type} node has no field {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Node is immutable; use node.replace(...)")

    def get(self, name: str, default: Any = None) -> Any:
        """The field's value, or ``default`` when it is absent."""
        return self.fields.get(name, default)

    def replace(self, **changes: Any) -> Node:
        """A copy with some fields changed; a change to ``None`` removes an optional field."""
        fields = {**self.fields, **changes}
        fields = {k: v for k, v in fields.items() if v is not None}
        return Node(self.type, fields, metadata=self.metadata)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Node):
            return NotImplemented
        return (
            self.type == other.type
            and values_equal(self.fields, other.fields)
            and (self.metadata is None) == (other.metadata is None)
            and (self.metadata is None or values_equal(self.metadata, other.metadata))
        )

    __hash__ = None  # type: ignore[assignment]

    def num_params(self) -> int:
        """Number of real-valued parameters (weights, time constants, ...) the node holds."""
        schema = SCHEMA[self.type]
        return int(
            sum(
                np.size(v)
                for k, v in self.fields.items()
                if k in schema and schema[k].kind == "float"
            )
        )

    def __repr__(self) -> str:
        def short(v: Any) -> str:
            if isinstance(v, np.ndarray) and v.size > 4:
                return f"<{v.dtype}{list(v.shape)}>"
            return repr(v.tolist() if isinstance(v, np.ndarray) else v)

        inner = ", ".join(f"{k}={short(v)}" for k, v in self.fields.items())
        return f"Node({self.type!r}, {inner})"
