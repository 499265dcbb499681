"""``model.net``: a `Program` as a lava-dl netx HDF5 file, and back.

Layout (what ``lava.lib.dl.netx.hdf5.Network`` reads; lava-dl 0.6.0 conventions)::

    /layer/0/type = "input", shape                (C, H, W) or (N,), bias channel included
    /layer/<i>/type = "dense" | "dense_rec" | "conv" | "flatten"
        dense:   shape (n,), inFeatures, outFeatures, weight (n, n_in), [weight_rec (n, n)],
                 [delay (n,) or (n, n_in)], [bias (n,)]
        conv:    shape (C, H, W), inChannels, outChannels, kernelSize, stride, padding,
                 dilation (each (H, W)), groups, weight (C_out, C_in / groups, kH, kW)
        flatten: shape (N, 1, 1)
        neuron/  type = "CUBA", iDecay, vDecay, vThMant, refDelay = 1, gradedSpike = False
    /snnx/       what netx does not read: data_shape, bias_channel, and per layer
                 (/snnx/layer/<i>) the reference node, its size, the relay index, the latency

``type`` strings are ``(1,)`` arrays of ``S10`` as lava-dl writes them; weights are the integers
netx is given (as float32, as lava-dl stores them; netx truncates to int). Files are written
atomically. `read` accepts other netx files with dense, dense_rec, conv and flatten layers too
(a lava-dl export, say), taking each layer's neurons as its reference.

>>> import tempfile, os, numpy as np
>>> from snnx.targets.loihi.program import Layer, Program
>>> layer = Layer(index=1, kind="dense", node="lif", size=2, shape=(2,),
...               weight=np.array([[4, -2], [0, 7]]), i_decay=4096, v_decay=164, threshold=9)
>>> path = os.path.join(tempfile.mkdtemp(), "model.net")
>>> write(Program((2,), (2,), False, [layer]), path)
>>> back = read(path)
>>> back.layers[0].weight.tolist(), back.layers[0].v_decay, back.layers[0].node
([[4, -2], [0, 7]], 164, 'lif')
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from snnx.atomic import atomic_path
from snnx.errors import SnnxError
from snnx.targets.loihi.program import Layer, Program


def _text(group: Any, key: str, value: str) -> None:
    group.create_dataset(key, (1,), "S10", [value.encode("ascii")])


def _neuron(group: Any, layer: Layer) -> None:
    _text(group, "neuron/type", "CUBA")
    group.create_dataset("neuron/iDecay", data=np.int64(layer.i_decay))
    group.create_dataset("neuron/vDecay", data=np.int64(layer.v_decay))
    group.create_dataset("neuron/vThMant", data=np.int64(layer.threshold))
    group.create_dataset("neuron/refDelay", data=np.int64(1))
    group.create_dataset("neuron/gradedSpike", data=np.bool_(False))


def write(program: Program, path: str | os.PathLike) -> None:
    """Write ``program`` as a netx HDF5 file at ``path`` (atomically)."""
    import h5py

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        layers = f.create_group("layer")
        meta = f.create_group("snnx")
        meta.create_dataset("data_shape", data=np.asarray(program.data_shape, np.int64))
        meta.create_dataset("bias_channel", data=np.bool_(program.bias_channel))
        first = layers.create_group("0")
        _text(first, "type", "input")
        first.create_dataset("shape", data=np.asarray(program.input_shape, np.int64))
        n_in = program.input_size()
        for layer in program.layers:
            if layer.flatten_before:
                flat = layers.create_group(str(layer.index - 1))
                _text(flat, "type", "flatten")
                flat.create_dataset("shape", data=np.asarray([n_in, 1, 1], np.int64))
            g = layers.create_group(layer.name)
            _text(g, "type", layer.kind)
            g.create_dataset("shape", data=np.asarray(layer.shape, np.int64))
            g.create_dataset("weight", data=np.asarray(layer.weight, np.float32))
            if layer.kind == "conv":
                g.create_dataset("inChannels", data=np.int64(layer.weight.shape[1] * layer.groups))
                g.create_dataset("outChannels", data=np.int64(layer.shape[0]))
                g.create_dataset("kernelSize", data=np.asarray(layer.weight.shape[2:], np.int64))
                for key in ("stride", "padding", "dilation"):
                    g.create_dataset(key, data=np.asarray(getattr(layer, key), np.int64))
                g.create_dataset("groups", data=np.int64(layer.groups))
            else:
                g.create_dataset("inFeatures", data=np.int64(np.shape(layer.weight)[1]))
                g.create_dataset("outFeatures", data=np.int64(layer.neurons))
                if layer.weight_rec is not None:
                    g.create_dataset("weight_rec", data=np.asarray(layer.weight_rec, np.float32))
                if layer.delay is not None:
                    g.create_dataset("delay", data=np.asarray(layer.delay, np.float32))
            if layer.bias is not None:
                g.create_dataset("bias", data=np.asarray(layer.bias, np.float32))
            _neuron(g, layer)
            m = meta.create_group(f"layer/{layer.name}")
            m.create_dataset("node", data=layer.node.encode("utf-8"))
            m.create_dataset("size", data=np.int64(layer.size))
            m.create_dataset("relay", data=np.int64(-1 if layer.relay is None else layer.relay))
            m.create_dataset("latency", data=np.int64(layer.latency))
            n_in = layer.neurons


def _scalar(value: Any) -> Any:
    value = value[()]
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0] if value.size == 1 else value
    return value.decode("ascii") if isinstance(value, bytes) else value


def _pair(group: Any, key: str) -> tuple[int, int]:
    if key not in group:
        return (1, 1) if key != "padding" else (0, 0)
    values = np.atleast_1d(np.asarray(group[key][()])).astype(int).tolist()
    return tuple(values * 2 if len(values) == 1 else values[:2])


def read(path: str | os.PathLike) -> Program:
    """A netx HDF5 file (dense, dense_rec, conv and flatten layers of CUBA neurons) as a
    `Program`."""
    import h5py

    from snnx.ir.hdf5guard import check_file, no_plugins

    path = os.fspath(path)
    check_file(path)  # nothing libhdf5 would hang, crash or allocate gigabytes on
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise SnnxError(f"not a readable HDF5 file: {err}", file=path) from None
    with no_plugins(), f:
        if "layer" not in f:
            raise SnnxError("no /layer group: not a netx network", file=path)
        groups = f["layer"]
        meta = f.get("snnx")
        layers: list[Layer] = []
        input_shape: tuple[int, ...] | None = None
        flatten = False
        for i in range(len(groups)):
            if str(i) not in groups:
                raise SnnxError(f"layer groups must be 0..{len(groups) - 1}", file=path)
            g = groups[str(i)]
            kind = _scalar(g["type"])
            if kind == "input":
                if "neuron" in g:
                    raise SnnxError("input layers with neurons are not supported", file=path)
                input_shape = tuple(int(s) for s in np.atleast_1d(g["shape"][()]))
                continue
            if kind == "flatten":
                flatten = True
                continue
            if kind not in ("dense", "dense_rec", "conv"):
                raise SnnxError(f"layer {i}: type {kind!r} is not supported", file=path)
            layers.append(_layer(g, i, kind, flatten, meta, path))
            flatten = False
        if not layers:
            raise SnnxError("no dense, dense_rec or conv layer", file=path)
        if input_shape is None:
            first = layers[0]
            if first.kind == "conv":
                raise SnnxError("a conv network needs an input layer with a shape", file=path)
            input_shape = (int(np.shape(first.weight)[1]),)
        data_shape, bias_channel = input_shape, False
        if meta is not None:
            data_shape = tuple(int(s) for s in np.atleast_1d(meta["data_shape"][()]))
            bias_channel = bool(meta["bias_channel"][()])
    return Program(input_shape, data_shape, bias_channel, layers)


def _layer(g: Any, index: int, kind: str, flatten: bool, meta: Any, path: str) -> Layer:
    if "neuron" not in g:
        raise SnnxError(f"layer {index}: no neuron group (netx's default never spikes)", file=path)
    neuron = g["neuron"]
    if _scalar(neuron["type"]) not in ("CUBA", "LOIHI"):
        raise SnnxError(f"layer {index}: only CUBA neurons are supported", file=path)
    shape = tuple(int(s) for s in np.atleast_1d(g["shape"][()]))
    weight = np.asarray(g["weight"][()]).astype(np.int64)
    if kind != "conv":
        shape = (int(np.prod(shape)),)
        if weight.ndim == 1:
            weight = weight.reshape(shape[0], -1)
    elif weight.ndim == 5:
        weight = weight[..., 0]
    fields: dict[str, Any] = {}
    if kind == "dense_rec":
        fields["weight_rec"] = (
            np.asarray(g["weight_rec"][()]).astype(np.int64).reshape(shape[0], -1)
        )
    if "delay" in g and kind != "conv":
        fields["delay"] = np.asarray(g["delay"][()]).astype(np.int64)
    if "bias" in g:
        fields["bias"] = np.asarray(g["bias"][()]).astype(np.int64)
    if kind == "conv":
        fields.update(
            stride=_pair(g, "stride"),
            padding=_pair(g, "padding"),
            dilation=_pair(g, "dilation"),
            groups=int(_scalar(g["groups"])) if "groups" in g else 1,
        )
    node, size, relay, latency = str(index), int(np.prod(shape)), None, 0
    if meta is not None and f"layer/{index}" in meta:
        m = meta[f"layer/{index}"]
        node = m["node"][()].decode("utf-8")
        size = int(m["size"][()])
        relay = int(m["relay"][()])
        relay = None if relay < 0 else relay
        latency = int(m["latency"][()])
    return Layer(
        index=index,
        kind=kind,
        node=node,
        size=size,
        shape=shape,
        weight=weight,
        i_decay=int(_scalar(neuron["iDecay"])),
        v_decay=int(_scalar(neuron["vDecay"])),
        threshold=int(_scalar(neuron["vThMant"])),
        relay=relay,
        flatten_before=flatten,
        latency=latency,
        **fields,
    )
