"""An adapted Xylo network (`snnx.adaptation`) in Rockpool's XyloSim: the specification snnx
writes for the adapted program, loaded as a user would, runs spike for spike and state for
state as snnx's Xylo numerics say, and the class agreement with the float reference that the
adaptation reports on its held-out inputs is what XyloSim's output spikes give.

The NIR paper's Braille network under its own semantics (subtractive reset, exact
integration), random inputs at rate 0.1; a short adaptation keeps the tier quick.
"""

from __future__ import annotations

import numpy as np
from test_xylosim import assert_same, load_artifact, xylosim

import snnx
from snnx.adaptation import Settings, adapt, random_spikes
from snnx.adaptation.loop import reference_counts
from snnx.verification import is_decided

STEPS, HELD_OUT = 128, 24


def test_adapted_braille_runs_in_xylosim_as_snnx_says(nir_paper, tmp_path):
    graph = snnx.read(nir_paper / "braille_noDelay_bias_zero.nir")
    held = random_spikes((12,), STEPS, HELD_OUT, 0.1, 2)
    done = adapt(
        graph,
        "xylo",
        calibration=random_spikes((12,), STEPS, 192, 0.1, 1),
        held_out=held,
        settings=Settings(iterations=120),
    )
    program = done.lowered.program
    spec = load_artifact(done.lowered, tmp_path)
    raster = held.astype(int)
    assert assert_same(program, spec, raster, "adapted braille") > 100

    out = next(b for b in program.blocks if b.output)
    padded = np.concatenate([raster, np.zeros((out.latency, HELD_OUT, 12), int)])
    theirs = np.stack(
        [xylosim(program.chip.rockpool, spec, padded[:, b])["out_spikes"] for b in range(HELD_OUT)],
        axis=1,
    )
    counts = theirs[out.latency :, :, out.start : out.start + out.size].sum(0)
    ref = reference_counts(done.lowered, held)[done.lowered.output.name].sum(0)
    keep = is_decided(ref)
    # the report's figure (on the held-out inputs) is what XyloSim's spikes give
    assert keep.sum() == HELD_OUT - done.after.undecided
    got = (counts.argmax(-1) == ref.argmax(-1))[keep].mean()
    assert abs(got - done.after.decided_agreement) < 1e-12
