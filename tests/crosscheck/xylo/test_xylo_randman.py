"""A recurrent network trained here on Randman (`randman_task`: a 16-40-5 CubaLIF network
trained under snnTorch's semantics), adapted for Xylo (`snnx.adaptation.adapt`), in Rockpool's
XyloSim on held-out test samples: the specification snnx writes, loaded as a user would, runs
spike for spike and state for state as snnx's Xylo numerics say; XyloSim's output classes agree
with the float network's on >= 95 % of the decided samples, and its test accuracy is within 2
points of the float network's (issue 15's aims).
"""

from __future__ import annotations

import numpy as np
import randman_task as rt
from test_xylosim import assert_same, load_artifact, xylosim

from snnx.verification import is_decided

#: Test samples run in XyloSim (all of them); the first CHECKED are compared state for state.
SAMPLES, CHECKED = rt.TEST, 8


def test_adapted_randman_network_keeps_its_accuracy_in_xylosim(tmp_path):
    task = rt.trained(0)
    done = rt.adapted(task, "xylo", iterations=200)
    program = done.lowered.program
    spec = load_artifact(done.lowered, tmp_path)
    x, y = task.x_test[:, :SAMPLES], task.y_test[:SAMPLES]
    raster = x.astype(int)
    assert assert_same(program, spec, raster[:, :CHECKED], "adapted randman") > 100

    out = next(b for b in program.blocks if b.output)
    padded = np.concatenate([raster, np.zeros((out.latency, SAMPLES, rt.CHANNELS), int)])
    theirs = np.stack(
        [xylosim(program.chip.rockpool, spec, padded[:, b])["out_spikes"] for b in range(SAMPLES)],
        axis=1,
    )
    xylo = theirs[out.latency :, :, out.start : out.start + out.size].sum(0)
    reference = rt.float_counts(task, x)
    keep = is_decided(reference)
    agreement = (xylo.argmax(-1) == reference.argmax(-1))[keep].mean()
    assert keep.mean() > 0.9 and agreement >= 0.95, (keep.mean(), agreement)
    assert rt.accuracy(xylo, y) >= rt.accuracy(reference, y) - 0.02
    assert rt.accuracy(reference, y) > 0.9  # the task was learnt: accuracy means something
