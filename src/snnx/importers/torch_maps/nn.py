"""Plain ``torch.nn`` layers: ``Linear`` -> ``Affine``/``Linear``, ``Conv1d``/``Conv2d`` (zero
padding mode only), ``AvgPool2d``, ``LPPool2d(norm_type=1)`` -> ``SumPool2d``, ``Flatten``
(start/end shifted past the batch dimension); ``BatchNorm1d``/``2d`` are folded into the layer
before them by the importer; ``Identity`` and ``Dropout`` pass through (inference).

>>> import torch
>>> from snnx.importers.requirements import Requirements
>>> ctx = LayerContext("fc", Requirements(), None)
>>> linear(torch.nn.Linear(3, 2, bias=False), ctx).type
'Linear'
"""

from __future__ import annotations

from typing import Any

import numpy as np

from snnx.importers.torch_maps import IDENTITY, SEQUENTIAL, LayerContext, register
from snnx.ir.node import Node


def array(tensor: Any, dtype: Any = None) -> np.ndarray:
    """A torch tensor (or number) as a numpy array (detached, on the CPU)."""
    if hasattr(tensor, "detach"):
        tensor = tensor.detach().cpu().numpy()
    out = np.asarray(tensor)
    return out.astype(dtype) if dtype is not None else out


@register("torch", "Linear")
def linear(m: Any, ctx: LayerContext) -> Node:
    """``y = W x + b``."""
    if m.bias is None:
        return Node("Linear", weight=array(m.weight))
    return Node("Affine", weight=array(m.weight), bias=array(m.bias))


@register("torch", "Conv1d", "Conv2d")
def conv(m: Any, ctx: LayerContext) -> Node:
    """Channels-first convolution with stride, padding, dilation and groups."""
    if m.padding_mode != "zeros":
        raise ctx.fail(f"padding_mode={m.padding_mode!r} is not supported (only 'zeros')")
    out_channels = m.weight.shape[0]
    bias = array(m.bias) if m.bias is not None else np.zeros(out_channels, array(m.weight).dtype)
    padding = m.padding if isinstance(m.padding, str) else np.asarray(m.padding)
    return Node(
        type(m).__name__,
        weight=array(m.weight),
        bias=bias,
        stride=np.asarray(m.stride),
        padding=padding,
        dilation=np.asarray(m.dilation),
        groups=int(m.groups),
    )


def _pool_args(m: Any, ctx: LayerContext) -> dict:
    stride = m.stride if m.stride is not None else m.kernel_size
    if getattr(m, "ceil_mode", False):
        raise ctx.fail("ceil_mode=True is not supported")
    return dict(
        kernel_size=np.broadcast_to(np.asarray(m.kernel_size), (2,)).copy(),
        stride=np.broadcast_to(np.asarray(stride), (2,)).copy(),
        padding=np.broadcast_to(np.asarray(getattr(m, "padding", 0)), (2,)).copy(),
    )


@register("torch", "AvgPool2d")
def avg_pool(m: Any, ctx: LayerContext) -> Node:
    """Window mean, zero padding counted (``count_include_pad=True``)."""
    if not m.count_include_pad and np.any(np.asarray(m.padding)):
        raise ctx.fail("count_include_pad=False with padding is not supported")
    if m.divisor_override is not None:
        raise ctx.fail("divisor_override is not supported")
    return Node("AvgPool2d", **_pool_args(m, ctx))


@register("torch", "LPPool2d")
def sum_pool(m: Any, ctx: LayerContext) -> Node:
    """``LPPool2d(norm_type=1)`` is a window sum (Sinabs' ``SumPool2d``)."""
    if float(m.norm_type) != 1.0:
        raise ctx.fail(f"only norm_type=1 (a window sum) is supported, got {m.norm_type}")
    return Node("SumPool2d", **_pool_args(m, ctx))


@register("torch", "Flatten")
def flatten(m: Any, ctx: LayerContext) -> Node:
    """``torch.nn.Flatten(start, end)`` counts the batch dimension; NIR's dims do not."""
    return flatten_node(m.start_dim, m.end_dim, ctx)


def flatten_node(start: int, end: int, ctx: LayerContext) -> Node:
    """A NIR ``Flatten`` for torch dims ``start..end`` of a batched tensor."""
    if start == 0 or (end >= 0 and end < start):
        raise ctx.fail(f"flattening dims {start}..{end} would merge the batch dimension")
    shift = lambda d: d - 1 if d > 0 else d  # noqa: E731
    return Node("Flatten", start_dim=np.int64(shift(start)), end_dim=np.int64(shift(end)))


IDENTITY.update({("torch", "Identity"), ("torch", "Dropout"), ("torch", "Dropout1d")})
IDENTITY.update({("torch", "Dropout2d")})
SEQUENTIAL.add(("torch", "Sequential"))
