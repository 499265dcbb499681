"""Shape inference against torch's own convolution, pooling and flatten as the reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from snnx.errors import GraphError, ShapeError
from snnx.ir import Graph, Node, infer_shapes


def through(node: Node, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Output shape snnx infers for ``node`` fed by an Input of ``shape``."""
    graph = Graph({"in": Node("Input", shape=list(shape)), "x": node}, [("in", "x")])
    return infer_shapes(graph)["x"].output


@st.composite
def conv_cases(draw, ndim):
    groups = draw(st.integers(1, 3))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = [draw(st.integers(1, 4)) for _ in range(ndim)]
    dilation = [draw(st.integers(1, 2)) for _ in range(ndim)]
    padding = [draw(st.integers(0, 2)) for _ in range(ndim)]
    stride = [draw(st.integers(1, 3)) for _ in range(ndim)]
    spatial = [
        draw(st.integers(d * (k - 1) + 1, 12)) for k, d in zip(kernel, dilation, strict=True)
    ]
    return groups, c_in, c_out, kernel, dilation, padding, stride, spatial


@settings(max_examples=60, deadline=None)
@given(conv_cases(2))
def test_conv2d_matches_torch(case):
    groups, c_in, c_out, kernel, dilation, padding, stride, spatial = case
    weight = np.zeros((c_out, c_in // groups, *kernel), np.float32)
    node = Node(
        "Conv2d",
        weight=weight,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        bias=np.zeros(c_out),
    )
    expected = torch.nn.functional.conv2d(
        torch.zeros(1, c_in, *spatial),
        torch.from_numpy(weight),
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
    ).shape[1:]
    assert through(node, (c_in, *spatial)) == tuple(expected)


@settings(max_examples=40, deadline=None)
@given(conv_cases(1))
def test_conv1d_matches_torch(case):
    groups, c_in, c_out, kernel, dilation, padding, stride, spatial = case
    weight = np.zeros((c_out, c_in // groups, *kernel), np.float32)
    node = Node(
        "Conv1d",
        weight=weight,
        stride=stride[0],
        padding=padding[0],
        dilation=dilation[0],
        groups=groups,
        bias=np.zeros(c_out),
    )
    expected = torch.nn.functional.conv1d(
        torch.zeros(1, c_in, *spatial),
        torch.from_numpy(weight),
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
    ).shape[1:]
    assert through(node, (c_in, *spatial)) == tuple(expected)


@pytest.mark.filterwarnings("ignore:Using padding=.same.")
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_string_padding_matches_torch(padding):
    weight = np.zeros((3, 2, 3, 2), np.float32)
    node = Node(
        "Conv2d", weight=weight, stride=1, padding=padding, dilation=1, groups=1, bias=np.zeros(3)
    )
    expected = torch.nn.functional.conv2d(
        torch.zeros(1, 2, 7, 5), torch.from_numpy(weight), padding=padding
    ).shape[1:]
    assert through(node, (2, 7, 5)) == tuple(expected)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(0, 1),
    st.integers(4, 10),
    st.integers(4, 10),
    st.sampled_from(["SumPool2d", "AvgPool2d"]),
)
def test_pooling_matches_torch(kh, kw, sh, sw, pad, h, w, kind):
    pad = min(pad, kh // 2, kw // 2)
    node = Node(kind, kernel_size=[kh, kw], stride=[sh, sw], padding=[pad, pad])
    expected = torch.nn.functional.avg_pool2d(
        torch.zeros(1, 3, h, w), (kh, kw), (sh, sw), pad
    ).shape[1:]
    assert through(node, (3, h, w)) == tuple(expected)


@pytest.mark.parametrize(("start", "end"), [(0, -1), (1, -1), (0, 1), (-2, -1), (1, 1)])
def test_flatten_matches_torch(start, end):
    node = Node("Flatten", start_dim=start, end_dim=end)
    assert through(node, (2, 3, 4)) == tuple(torch.zeros(2, 3, 4).flatten(start, end).shape)


def test_grouped_non_square_conv_where_nir_is_wrong():
    """nir's own inference reads the kernel height for both dims and ignores groups."""
    weight = np.zeros((4, 1, 5, 1), np.float32)
    node = Node(
        "Conv2d", weight=weight, stride=1, padding=0, dilation=1, groups=2, bias=np.zeros(4)
    )
    assert through(node, (2, 9, 9)) == (4, 5, 9)


def test_channel_mismatch_names_the_weight():
    node = Node(
        "Conv2d",
        weight=np.zeros((4, 3, 3, 3)),
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=np.zeros(4),
    )
    with pytest.raises(ShapeError, match=r"node 'x': field 'weight': input has 2 channels"):
        through(node, (2, 9, 9))


def test_window_larger_than_input():
    with pytest.raises(ShapeError, match=r"field 'kernel_size': a window of 5"):
        through(Node("SumPool2d", kernel_size=5, stride=1, padding=0), (1, 3, 3))


def test_same_size_shapes_meet_with_a_warning(nir_paper):
    """lif_rockpool.nir's Output says (1, 1, 1) after a (1,) neuron: accepted, reshaped."""
    import snnx

    shapes = snnx.read(nir_paper / "lif_rockpool.nir").check()
    assert shapes.warnings == [
        "edge ('1_LIFNeuronTorch', 'output'): shape (1,) meets (1, 1, 1) (same size, reshaped)"
    ]


def test_scalar_neuron_takes_shape_from_its_input():
    lif = Node("LIF", tau=0.01, r=1.0, v_leak=0.0, v_threshold=1.0)
    assert through(lif, (3, 2)) == (3, 2)
    lonely = Graph(
        {"in": Node("Input", shape=[2]), "a": lif, "out": Node("Output", shape=[2])},
        [("in", "out"), ("a", "a")],
    )
    with pytest.raises(GraphError, match=r"no incoming edge|no entry"):
        lonely.check()
