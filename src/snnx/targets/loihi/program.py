"""`Program`: a network as netx builds it, in plain integers -- what the lowering produces, the
numerics run and the artifact stores (``model.net`` reads back into the same `Program`).

A program is a chain: the input, then `Layer` after `Layer`, each a netx ``dense``,
``dense_rec`` or ``conv`` layer with CUBA neurons; a netx ``flatten`` layer sits between a conv
layer and a dense one (``flatten_before``). HDF5 layer 0 is the input; the layers take the next
indices in order (a flatten takes one too), and each target layer is named by its index.

Feature order is the HDF5 ``shape`` flattened in C order (channels, height, width), as netx
reads a flatten and as NIR and PyTorch flatten.

**Bias line.** netx adds a layer's ``bias`` to v from the first time step, layers ahead of the
pipeline included, so it cannot reproduce a reference whose constant inputs start when the
layer's first input does. The lowering instead feeds constants through synapses: the input gets
one more channel (``bias_channel``, always 1: the last element, or the last plane of an image),
and a layer whose successor needs a constant gets one always-firing *relay* neuron (the last one,
or the last channel of a conv layer), driven by the previous relay with weight ``vThMant + 1``.
Its spikes reach the next layer exactly when the first real spikes do, one step later through
a recurrent synapse. ``relay`` is the flat index of one relay neuron in the layer's output.

>>> layer = Layer(index=1, kind="dense", node="lif", size=2, shape=(3,),
...               weight=np.array([[5, 0], [0, 5], [0, 9]]), i_decay=4096, v_decay=0,
...               threshold=8, relay=2)
>>> Program(input_shape=(2,), data_shape=(1,), bias_channel=True, layers=[layer]).names()
['1']
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np


@dataclasses.dataclass
class Layer:
    """One netx layer with CUBA neurons.

    ``weight``: stored integers, ``(n, n_in)`` for dense layers, ``(C_out, C_in / groups, kH,
    kW)`` for conv; ``weight_rec`` ``(n, n)`` for ``dense_rec``; ``delay``: ``None``, per
    neuron ``(n,)`` or per synapse ``(n, n_in)`` (dense only, steps 0..62); ``bias``: netx's
    per-neuron ``bias`` (``bias_mant``, added to v as ``bias << 6`` from the first step; the
    lowering leaves it ``None``). ``i_decay``/``v_decay``/``threshold``: ``iDecay``, ``vDecay``,
    ``vThMant``. ``size`` neurons reproduce ``node``; the rest (a relay) do not.
    """

    index: int
    kind: str
    node: str
    size: int
    shape: tuple[int, ...]
    weight: np.ndarray
    i_decay: int
    v_decay: int
    threshold: int
    weight_rec: np.ndarray | None = None
    delay: np.ndarray | None = None
    bias: np.ndarray | None = None
    stride: tuple[int, ...] = (1, 1)
    padding: tuple[int, ...] = (0, 0)
    dilation: tuple[int, ...] = (1, 1)
    groups: int = 1
    relay: int | None = None
    flatten_before: bool = False
    latency: int = 0

    @property
    def name(self) -> str:
        """The target layer's name: its netx (HDF5) layer index."""
        return str(self.index)

    @property
    def neurons(self) -> int:
        """Neurons in the layer, relay included."""
        return math.prod(self.shape)


@dataclasses.dataclass
class Program:
    """``input_shape``: what ``model.net`` takes per step (bias channel included);
    ``data_shape``: the reference graph's input shape; ``layers`` in order."""

    input_shape: tuple[int, ...]
    data_shape: tuple[int, ...]
    bias_channel: bool
    layers: list[Layer]

    def names(self) -> list[str]:
        """Target layer names, in order."""
        return [layer.name for layer in self.layers]

    def input_size(self) -> int:
        """Features per step of the network input, bias channel included."""
        return math.prod(self.input_shape)
