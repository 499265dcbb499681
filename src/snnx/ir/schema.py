"""The fields of every NIR 1.0.8 primitive, and the checks each field's value must pass.

One table, `SCHEMA`, drives reading, writing, construction and checking, and says what each
primitive is (its category, shape rule, trainable parameters, neuron kind), so a new primitive is one
entry here; every other module asks it rather than naming types. A field's ``kind`` says what its value is:

- ``float``: a real number or array of them, finite (no NaN or inf);
- ``int``: an integer or array of integers;
- ``padding``: an integer, an array of integers, or one of the strings ``same`` / ``valid``;
- ``shape``: a one-dimensional array of positive integers.

Integers size or index arrays, so they must fit in int32 (and be non-empty); a shape may hold at
most `MAX_ELEMENTS` elements.

Optional fields (``required=False``) may be absent; absence is kept, never filled in, so a file
reads and writes back unchanged. `check_fields` raises a `GraphError` naming the field at fault.

>>> sorted(SCHEMA["LIF"])
['r', 'tau', 'v_leak', 'v_reset', 'v_threshold']
>>> SCHEMA["LIF"]["v_reset"].required, SCHEMA["LIF"].category, SCHEMA["LIF"].neuron
(False, 'neuron', 'leaky')
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from snnx.errors import GraphError

#: The largest integer field value (int32: integers size and index arrays).
MAX_INT = 2**31 - 1
#: The most elements a shape may describe (one sample of one node).
MAX_ELEMENTS = 2**31 - 1


@dataclasses.dataclass(frozen=True)
class Field:
    """One field of a primitive: its kind, whether it must be present, its allowed ranks."""

    kind: str
    required: bool = True
    ndim: tuple[int, ...] | None = None
    positive: bool = False
    nonnegative: bool = False


_F = Field("float")
_POS = Field("float", positive=True)
_OPT = Field("float", required=False)
_INT = Field("int")
_INT_POS = Field("int", positive=True)
_CONV = {
    "input_shape": Field("int", required=False, positive=True),
    "stride": _INT_POS,
    "padding": Field("padding"),
    "dilation": _INT_POS,
    "groups": _INT_POS,
    "bias": _F,
}
_POOL = {"kernel_size": _INT_POS, "stride": _INT_POS, "padding": Field("int", nonnegative=True)}


@dataclasses.dataclass(frozen=True)
class Primitive(Mapping):
    """One NIR primitive: its fields (the mapping itself: field name -> `Field`) and what the rest
    of snnx asks about it.

    ``category``: ``io``, ``synapse`` (weights applied to the input), ``pool``, ``reshape``,
    ``delay``, ``neuron``, ``threshold`` or ``graph``; ``shape``: the shape rule of
    `snnx.ir.shapes` (``io``, ``dense``, ``elementwise``, ``conv``, ``pool``, ``flatten``,
    ``graph``); ``params``: the fields a simulation may train (float arrays); ``neuron``: the
    neuron's kind (``integrator``, ``leaky``, ``cuba``) as `snnx.dynamics` steps it; ``spiking``:
    it emits spikes; ``stateful``: it keeps state from one time step to the next.
    """

    fields: Mapping[str, Field]
    category: str
    shape: str
    params: tuple[str, ...] = ()
    neuron: str | None = None
    spiking: bool = False
    stateful: bool = False

    def __getitem__(self, name: str) -> Field:
        return self.fields[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    @property
    def elementwise(self) -> bool:
        """Parameters element-wise over the neurons (all of one shape, or scalars)."""
        return self.shape == "elementwise"


def _neuron(kind: str, fields: dict[str, Field], spiking: bool) -> Primitive:
    return Primitive(fields, "neuron", "elementwise", tuple(fields), kind, spiking, stateful=True)


_FIRE = {"v_threshold": _F, "v_reset": _OPT}
_LEAKY = {"tau": _POS, "r": _F, "v_leak": _F}
_CUBA = {"tau_syn": _POS, "tau_mem": _POS, "r": _F, "v_leak": _F, "w_in": _OPT}

SCHEMA: dict[str, Primitive] = {
    "Input": Primitive({"shape": Field("shape")}, "io", "io"),
    "Output": Primitive({"shape": Field("shape")}, "io", "io"),
    "Affine": Primitive(
        {"weight": Field("float", ndim=(2,)), "bias": _F}, "synapse", "dense", ("weight", "bias")
    ),
    "Linear": Primitive({"weight": Field("float", ndim=(2,))}, "synapse", "dense", ("weight",)),
    "Scale": Primitive({"scale": _F}, "synapse", "elementwise", ("scale",)),
    "Conv1d": Primitive(
        {"weight": Field("float", ndim=(3,)), **_CONV}, "synapse", "conv", ("weight", "bias")
    ),
    "Conv2d": Primitive(
        {"weight": Field("float", ndim=(4,)), **_CONV}, "synapse", "conv", ("weight", "bias")
    ),
    "SumPool2d": Primitive(_POOL, "pool", "pool"),
    "AvgPool2d": Primitive(_POOL, "pool", "pool"),
    "Flatten": Primitive(
        {
            "input_type": Field("shape", required=False),
            "start_dim": Field("int", ndim=(0,)),
            "end_dim": Field("int", ndim=(0,)),
        },
        "reshape",
        "flatten",
    ),
    "Delay": Primitive(
        {"delay": Field("float", nonnegative=True)}, "delay", "elementwise", stateful=True
    ),
    "Threshold": Primitive(
        {"threshold": _F}, "threshold", "elementwise", ("threshold",), spiking=True
    ),
    "I": _neuron("integrator", {"r": _F}, spiking=False),
    "IF": _neuron("integrator", {"r": _F, **_FIRE}, spiking=True),
    "LI": _neuron("leaky", dict(_LEAKY), spiking=False),
    "LIF": _neuron("leaky", {**_LEAKY, **_FIRE}, spiking=True),
    "CubaLI": _neuron("cuba", dict(_CUBA), spiking=False),
    "CubaLIF": _neuron(
        "cuba", {**{k: v for k, v in _CUBA.items() if k != "w_in"}, **_FIRE, "w_in": _OPT}, True
    ),
    "NIRGraph": Primitive({}, "graph", "graph"),
}


def types_where(**wanted: Any) -> tuple[str, ...]:
    """The primitives whose attributes have the wanted values, in `SCHEMA` order.

    >>> types_where(category="neuron", spiking=True)
    ('IF', 'LIF', 'CubaLIF')
    >>> types_where(neuron="cuba")
    ('CubaLI', 'CubaLIF')
    """
    return tuple(
        name
        for name, primitive in SCHEMA.items()
        if all(getattr(primitive, key) == value for key, value in wanted.items())
    )


#: Primitives whose parameters are element-wise over the neurons (all one shape, or scalars).
ELEMENTWISE = frozenset(types_where(shape="elementwise"))
#: Primitives that keep state from one time step to the next.
STATEFUL = frozenset(types_where(stateful=True))
#: Primitives that emit spikes.
SPIKING = frozenset(types_where(spiking=True))
#: Neuron primitives (a membrane, perhaps a synaptic current), stepped by `snnx.dynamics`.
NEURONS = types_where(category="neuron")
#: Synapses: weights applied to the input (dense, convolutional or element-wise).
SYNAPSES = types_where(category="synapse")
#: Synapses with a weight matrix or kernel (``weight``): dense and convolutional.
WEIGHTED = (*types_where(shape="dense"), *types_where(shape="conv"))
#: Neurons that emit spikes.
SPIKING_NEURONS = types_where(category="neuron", spiking=True)


def check_fields(type_name: str, fields: Mapping[str, Any]) -> list[str]:
    """Check a primitive's fields against `SCHEMA`; return the names of fields it does not know.

    Raises `GraphError` (with ``field`` set) for a missing, mistyped, mis-ranked, non-finite or
    out-of-range value, and for element-wise parameters of different shapes.

    >>> check_fields("LI", {"tau": np.ones(3), "r": np.ones(3), "v_leak": 0.0, "x": 1})
    ['x']
    """
    schema = SCHEMA[type_name]
    for name, spec in schema.items():
        if name not in fields:
            if spec.required:
                raise GraphError(f"required field of {type_name} is missing", field=name)
            continue
        _check_value(type_name, name, spec, fields[name])
    if schema.elementwise:
        shapes = {n: np.shape(fields[n]) for n in schema if n in fields}
        shaped = {n: s for n, s in shapes.items() if s != ()}
        if len(set(shaped.values())) > 1:
            listing = ", ".join(f"{n}{tuple(s)}" for n, s in shaped.items())
            first = next(iter(shaped))
            odd = next(n for n, s in shaped.items() if s != shaped[first])
            raise GraphError(
                f"parameters of {type_name} must share one shape (or be scalars), got {listing}",
                field=odd,
            )
    return [name for name in fields if name not in schema]


def _check_value(type_name: str, name: str, spec: Field, value: Any) -> None:
    if spec.kind == "padding" and isinstance(value, str):
        if value not in ("same", "valid"):
            raise GraphError(
                f"padding must be an integer, 'same' or 'valid', got {value!r}", field=name
            )
        return
    array = np.asarray(value)
    integral = spec.kind in ("int", "shape", "padding")
    if integral:  # integers, or floats that hold whole numbers (some exporters write those)
        numeric = array.dtype.kind in "iu" or (
            array.dtype.kind == "f"
            and np.all(np.isfinite(array))
            and np.all(array == np.round(array))
        )
    else:
        numeric = array.dtype.kind in "iuf"
    if not numeric:
        wanted = "integers" if integral else "real numbers"
        raise GraphError(
            f"{type_name}.{name} must hold {wanted}, got dtype {array.dtype}", field=name
        )
    if integral and array.size == 0:
        raise GraphError(f"{type_name}.{name} is empty", field=name)
    if integral and np.any(np.abs(array.astype(np.float64)) > MAX_INT):
        raise GraphError(
            f"{type_name}.{name} must fit in int32 (it sizes or indexes arrays), got "
            f"{array.astype(np.float64).flat[np.argmax(np.abs(array))]:.4g}",
            field=name,
        )
    if spec.ndim is not None and array.ndim not in spec.ndim:
        raise GraphError(
            f"{type_name}.{name} must have {' or '.join(map(str, spec.ndim))} dimensions, "
            f"got shape {array.shape}",
            field=name,
        )
    if spec.kind == "shape":
        if array.ndim != 1 or np.any(array <= 0):
            raise GraphError(
                f"a shape must be a 1-D array of positive integers, got {array.tolist()}",
                field=name,
            )
        if np.prod(array.astype(np.float64)) > MAX_ELEMENTS:
            raise GraphError(
                f"a shape of {np.prod(array.astype(np.float64)):.3g} elements is more than "
                f"{MAX_ELEMENTS:,}",
                field=name,
            )
        return
    if not np.all(np.isfinite(array)):
        bad = "NaN" if np.any(np.isnan(array)) else "infinite"
        raise GraphError(f"{type_name}.{name} holds {bad} values", field=name)
    if spec.positive and np.any(array <= 0):
        raise GraphError(f"{type_name}.{name} must be positive, got min {array.min()}", field=name)
    if spec.nonnegative and np.any(array < 0):
        raise GraphError(
            f"{type_name}.{name} must be non-negative, got min {array.min()}", field=name
        )
