"""The corners of netx's weight path and neuron that the lowering steers clear of, on hand-made
programs: snnx's numerics must still do what Lava does with them (u, v and spikes of every
neuron, every step), so a foreign ``model.net`` runs right too."""

from __future__ import annotations

import lavarun
import numpy as np
import pytest

from snnx.targets.loihi import artifact, numerics
from snnx.targets.loihi.program import Layer, Program


def dense(weight, *, kind="dense", weight_rec=None, bias=None, threshold=60, i_decay=1024):
    weight = np.asarray(weight)
    n = weight.shape[0]
    return Layer(
        index=1,
        kind=kind,
        node="n",
        size=n,
        shape=(n,),
        weight=weight,
        weight_rec=None if weight_rec is None else np.asarray(weight_rec),
        bias=None if bias is None else np.asarray(bias),
        i_decay=i_decay,
        v_decay=512,
        threshold=threshold,
    )


CASES = {
    "mixed-clipped": dense([[255, -3, 40], [400, 7, -9]]),
    "excitatory-beyond-255": dense([[256, 1, 3], [2, 9, 0]], threshold=1),
    "inhibitory-powers-of-two": dense([[-128, -2, -64], [-256, -4, -6]], threshold=1),
    "dense-rec-odd-excitatory": dense(
        [[3, 1, 5], [7, 9, 11]], kind="dense_rec", weight_rec=[[-256, -2], [0, -8]]
    ),
    "netx-bias": dense([[30, -20, 10], [5, 5, 5]], bias=[7, 40000], threshold=300),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_weight_and_bias_corners_match_lava(case, tmp_path):
    layer = CASES[case]
    program = Program((3,), (3,), False, [layer])
    path = tmp_path / "model.net"
    artifact.write(program, path)
    rng = np.random.default_rng(len(case))
    data = (rng.uniform(size=(40, 1, 3)) < 0.5).astype(np.float32)
    ours = numerics.run(artifact.read(path), data, full=True)["1"]
    lava = lavarun.run(str(path), data[:, 0], probe=True)[1]
    for key in ("s", "u", "v"):
        assert np.array_equal(lava[key], ours[key][:, 0]), key


def test_raw_conv_weights_groups_stride_and_dilation_match_lava(tmp_path):
    rng = np.random.default_rng(11)
    weight = rng.integers(-300, 1000, (4, 1, 3, 2))  # netx passes conv weights on raw
    layer = Layer(
        index=1,
        kind="conv",
        node="c",
        size=4 * 3 * 3,
        shape=(4, 3, 3),
        weight=weight,
        stride=(2, 1),
        padding=(1, 0),
        dilation=(1, 2),
        groups=2,
        i_decay=2000,
        v_decay=700,
        threshold=900,
    )
    program = Program((2, 5, 5), (2, 5, 5), False, [layer])
    path = tmp_path / "model.net"
    artifact.write(program, path)
    data = (rng.uniform(size=(30, 1, 2, 5, 5)) < 0.4).astype(np.float32)
    ours = numerics.run(artifact.read(path), data, full=True)["1"]
    lava = lavarun.run(str(path), numerics.feed(program, data)[:, 0], probe=True)[1]
    assert ours["s"].sum() > 0
    for key in ("s", "u", "v"):
        assert np.array_equal(lava[key], ours[key][:, 0]), key
