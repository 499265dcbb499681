"""The stateless NIR nodes between two spiking layers, as exact float64 linear maps: evaluated on
arrays (to materialise a dense matrix), and convolutions and pooling composed into one
convolution netx can build.

A `Conv` is ``y = conv(x, W) + b`` over ``(C, H, W)`` with a full kernel (``groups`` expanded),
symmetric zero padding, stride and dilation, as PyTorch's ``conv2d``. Pooling is a
convolution with a per-channel window of ones (``AvgPool2d`` divides by the window size; its
zero padding counts, as PyTorch's default). Two convolutions ``A`` then ``B`` compose, per
spatial dimension, into ::

    stride  = s_A s_B        padding = p_B s_A + p_A
    K[o, i, j d_B s_A + m d_A] += sum_c K_B[o, c, j] K_A[c, i, m]        (dilation 1)
    b       = b_B + sum_(c, j) K_B[o, c, j] b_A[c]

which is exact when ``B`` reads no padding (``p_B = 0``), or when every position of ``A``'s
output that ``B``'s padding stands for reads only ``A``'s padding (``(k_A - 1) d_A < s_A + p_A``
on the left, ``n_A s_A - p_A >= H`` on the right) and ``A`` has no bias; and the output sizes
agree. `compose` returns ``None`` otherwise.

>>> import numpy as np
>>> pool = Conv.pool(channels=1, kernel=(2, 2), stride=(2, 2), padding=(0, 0), average=False)
>>> conv = Conv(np.ones((1, 1, 1, 1)), (1, 1), (0, 0), (1, 1), np.zeros(1))
>>> both = compose(pool, conv, in_size=(4, 4))
>>> both.weight.shape, both.stride
((1, 1, 2, 2), (2, 2))
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from snnx.errors import LoweringError
from snnx.ir.node import Node
from snnx.ir.schema import SCHEMA


def per_dim(value: ArrayLike, ndim: int = 2) -> tuple[int, ...]:
    """A scalar or per-dimension field as one integer per spatial dimension."""
    values = np.atleast_1d(np.asarray(value)).astype(int).tolist()
    return tuple(values * ndim if len(values) == 1 else values)


@dataclasses.dataclass(frozen=True)
class Conv:
    """``y = conv(x, weight) + bias``: weight ``(C_out, C_in / groups, kH, kW)``."""

    weight: np.ndarray
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    bias: np.ndarray
    groups: int = 1

    @classmethod
    def pool(
        cls, channels: int, kernel: ArrayLike, stride: ArrayLike, padding: ArrayLike, average: bool
    ) -> Conv:
        """A sum (or average) pool as a depthwise convolution of ones."""
        kernel = per_dim(kernel)
        scale = 1.0 / math.prod(kernel) if average else 1.0
        weight = np.full((channels, 1, *kernel), scale)
        return cls(weight, per_dim(stride), per_dim(padding), (1, 1), np.zeros(channels), channels)

    def full(self) -> np.ndarray:
        """The kernel with groups expanded: ``(C_out, C_in, kH, kW)``, zeros across groups."""
        if self.groups == 1:
            return np.asarray(self.weight, np.float64)
        c_out, c_group = self.weight.shape[:2]
        out_group = c_out // self.groups
        weight = np.zeros((c_out, c_group * self.groups, *self.weight.shape[2:]))
        for o in range(c_out):
            g = o // out_group
            weight[o, g * c_group : (g + 1) * c_group] = self.weight[o]
        return weight

    def out_size(self, in_size: Sequence[int]) -> tuple[int, int]:
        """Output height and width for an input of ``in_size``."""
        k = self.weight.shape[2:]
        return tuple(
            (n + 2 * p - d * (kk - 1) - 1) // s + 1
            for n, kk, s, p, d in zip(
                in_size, k, self.stride, self.padding, self.dilation, strict=True
            )
        )

    def apply(self, x: np.ndarray, with_bias: bool = True) -> np.ndarray:
        """Apply to ``(B, C_in, H, W)`` in float64."""
        weight = self.full()
        kh, kw = weight.shape[2:]
        (sh, sw), (ph, pw), (dh, dw) = self.stride, self.padding, self.dilation
        x = np.pad(np.asarray(x, np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        oh, ow = self.out_size((x.shape[2] - 2 * ph, x.shape[3] - 2 * pw))
        y = np.zeros((x.shape[0], weight.shape[0], oh, ow))
        for a in range(kh):
            for b in range(kw):
                window = x[
                    :,
                    :,
                    a * dh : a * dh + sh * (oh - 1) + 1 : sh,
                    b * dw : b * dw + sw * (ow - 1) + 1 : sw,
                ]
                y += np.einsum("nchw,oc->nohw", window, weight[:, :, a, b])
        if with_bias:
            y += np.asarray(self.bias, np.float64).reshape(-1, 1, 1)
        return y


def conv_of(node: Node, name: str, in_shape: Sequence[int]) -> Conv:
    """A ``Conv2d``, ``SumPool2d`` or ``AvgPool2d`` node as a `Conv` (padding strings resolved)."""
    f = node.fields
    if SCHEMA[node.type].category == "pool":
        return Conv.pool(
            in_shape[0], f["kernel_size"], f["stride"], f["padding"], node.type == "AvgPool2d"
        )
    weight = np.asarray(f["weight"], np.float64)
    stride, dilation = per_dim(f["stride"]), per_dim(f["dilation"])
    padding = f["padding"]
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        else:  # "same" (stride 1): XLA pads (k - 1) d, the odd one at the end
            totals = [d * (k - 1) for k, d in zip(weight.shape[2:], dilation, strict=True)]
            if any(t % 2 for t in totals):
                raise LoweringError(
                    f"padding 'same' with kernel {weight.shape[2:]} pads unevenly; netx pads "
                    "both sides alike",
                    node=name,
                    field="padding",
                )
            padding = tuple(t // 2 for t in totals)
    else:
        padding = per_dim(padding)
    bias = np.broadcast_to(np.asarray(f["bias"], np.float64).reshape(-1), (weight.shape[0],))
    return Conv(weight, stride, padding, dilation, bias.copy(), int(f["groups"]))


def compose(first: Conv, second: Conv, in_size: Sequence[int]) -> Conv | None:
    """One convolution equal to ``first`` then ``second`` on inputs of ``in_size``, or ``None``
    when no single convolution is (see the module docstring)."""
    ka, kb = first.full(), second.full()
    mid = first.out_size(in_size)
    if any(p > 0 for p in second.padding):
        if np.any(first.bias != 0):
            return None
        for dim in range(2):
            k, d, s, p = (
                ka.shape[2 + dim],
                first.dilation[dim],
                first.stride[dim],
                first.padding[dim],
            )
            if second.padding[dim] and ((k - 1) * d >= s + p or mid[dim] * s - p < in_size[dim]):
                return None
    stride = tuple(a * b for a, b in zip(first.stride, second.stride, strict=True))
    padding = tuple(
        pb * sa + pa for pa, pb, sa in zip(first.padding, second.padding, first.stride, strict=True)
    )
    size = [
        (kb.shape[2 + i] - 1) * second.dilation[i] * first.stride[i]
        + (ka.shape[2 + i] - 1) * first.dilation[i]
        + 1
        for i in range(2)
    ]
    weight = np.zeros((kb.shape[0], ka.shape[1], *size))
    for j0 in range(kb.shape[2]):
        for j1 in range(kb.shape[3]):
            inner = np.einsum("oc,cihw->oihw", kb[:, :, j0, j1], ka)
            for m0 in range(ka.shape[2]):
                for m1 in range(ka.shape[3]):
                    a0 = j0 * second.dilation[0] * first.stride[0] + m0 * first.dilation[0]
                    a1 = j1 * second.dilation[1] * first.stride[1] + m1 * first.dilation[1]
                    weight[:, :, a0, a1] += inner[:, :, m0, m1]
    bias = second.bias + np.einsum("ocij,c->o", kb, first.bias)
    result = Conv(weight, stride, padding, (1, 1), bias)
    if result.out_size(in_size) != second.out_size(mid):
        return None
    return result


def apply_node(
    node: Node, x: np.ndarray, out_shape: Sequence[int], name: str, with_bias: bool
) -> np.ndarray:
    """Evaluate one stateless node on a batch ``(B, *in_shape)`` in float64 (a ``Delay`` is the
    identity here: its steps are kept apart)."""
    batch = x.shape[0]
    t = node.type
    rule = SCHEMA[t].shape
    if rule == "dense":
        y = x.reshape(batch, -1) @ np.asarray(node.weight, np.float64).T
        if "bias" in node.fields and with_bias:
            y = y + np.asarray(node.bias, np.float64).reshape(-1)
        return y.reshape(batch, *out_shape)
    if t == "Scale":
        return x * np.broadcast_to(np.asarray(node.scale, np.float64), x.shape[1:])
    if rule in ("conv", "pool"):
        return conv_of(node, name, x.shape[1:]).apply(x, with_bias).reshape(batch, *out_shape)
    if SCHEMA[t].category in ("reshape", "delay"):
        return x.reshape(batch, *out_shape)
    raise LoweringError(
        f"{t} cannot sit between two Loihi layers (netx layers are dense, dense_rec or conv "
        "synapses feeding CUBA neurons)",
        node=name,
    )
