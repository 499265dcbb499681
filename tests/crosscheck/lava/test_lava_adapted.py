"""An adapted Loihi network (`snnx compile --adapt`) in real Lava: the ``model.net`` the CLI
writes, run by lava-dl netx under ``Loihi2SimCfg(select_tag="fixed_pt")``, spikes exactly as
snnx's Loihi numerics say, every layer, every step; and the output class agreement with the
float reference that `snnx compile` reports for those samples is what Lava's spikes give.

The NIR paper's Braille network under its own semantics (subtractive reset, exact integration:
what Loihi cannot express), random inputs at rate 0.1; a short adaptation keeps the tier quick.
"""

from __future__ import annotations

import dataclasses
import json

import lavarun
import numpy as np

import snnx
from snnx.adaptation.loop import chip_semantics, reference_counts
from snnx.cli import main
from snnx.sim import resolve_semantics
from snnx.targets import get_target
from snnx.targets.loihi import artifact, numerics
from snnx.verification import is_decided, verify

SAMPLES, STEPS = 6, 128


def test_adapted_braille_runs_in_lava_as_snnx_says(nir_paper, tmp_path):
    path = nir_paper / "braille_noDelay_bias_zero.nir"
    calibration = (np.random.default_rng(5).uniform(size=(STEPS, 192, 12)) < 0.1).astype("f4")
    np.save(tmp_path / "cal.npy", calibration)
    code = main(
        [
            "compile",
            str(path),
            "--target",
            "loihi",
            "-o",
            str(tmp_path / "out"),
            "--adapt",
            "--calibration",
            str(tmp_path / "cal.npy"),
            "--adapt-steps",
            "120",
        ]
    )
    assert code == 0
    report = json.loads((tmp_path / "out" / "adaptation.json").read_text())
    assert report["after"]["class agreement"] >= report["before"]["class agreement"]

    program = artifact.read(tmp_path / "out" / "model.net")
    held = (np.random.default_rng(6).uniform(size=(STEPS, SAMPLES, 12)) < 0.1).astype("f4")
    horizon = STEPS + len(program.layers)
    padded = np.concatenate([held, np.zeros((horizon - STEPS, SAMPLES, 12), "f4")])
    mine = numerics.run(program, padded, full=True)
    fed = numerics.feed(program, padded)
    lava_out = []
    for b in range(SAMPLES):
        theirs = lavarun.run(str(tmp_path / "out" / "model.net"), fed[:, b])
        for layer in program.layers:
            np.testing.assert_array_equal(
                theirs[layer.index]["s"], mine[layer.name]["s"][:, b], err_msg=f"sample {b}"
            )
        lava_out.append(theirs[program.layers[-1].index]["s"])
    # the class agreement snnx's verify reports for the adapted program is what Lava's spikes give
    graph = snnx.read(path)
    target = get_target("loihi")
    lowered, _ = chip_semantics(graph, target, resolve_semantics(graph, None))
    adapted = dataclasses.replace(lowered, program=program)
    figure = verify(graph, target, held, lowered=adapted)
    ref = reference_counts(adapted, held)[adapted.output.name].sum(0)
    last = program.layers[-1]
    lava = np.stack(lava_out, 1)[last.latency : last.latency + STEPS, :, : last.size].sum(0)
    keep = is_decided(ref)
    assert keep.sum() == SAMPLES - figure.undecided
    assert (lava.argmax(-1) == ref.argmax(-1))[keep].mean() == figure.decided_agreement


def test_subtractive_start_runs_in_lava_as_snnx_says(nir_paper, tmp_path):
    """The Loihi adapter's subtractive-reset start (vDecay 4096, a self weight of -k theta per
    neuron, a spare output neuron that keeps both output matrices mixed-sign), its parameters
    perturbed as adaptation would move them, written as ``model.net``: real Lava's spikes and
    states equal snnx's numerics, and the layers stay within netx's exact weight range."""
    import jax
    import jax.numpy as jnp

    from snnx.adaptation.loihi import LoihiAdapter, subtractive_start

    graph = snnx.read(nir_paper / "braille_noDelay_bias_zero.nir")
    lowered, _ = chip_semantics(graph, get_target("loihi"), resolve_semantics(graph, None))
    start = subtractive_start(lowered)
    assert start is not None
    adapter = LoihiAdapter()
    keys = iter(jax.random.split(jax.random.PRNGKey(2), 64))
    params = jax.tree_util.tree_map(
        lambda v: v * (1 + 0.05 * jax.random.normal(next(keys), jnp.shape(v))),
        adapter.init(start),
    )
    program = adapter.apply(start, params).program
    for layer in program.layers:
        assert layer.kind == "dense_rec" and layer.v_decay == 4096
        for m in (layer.weight, layer.weight_rec):
            assert m.min() >= -256 and m.max() <= 254
    path = tmp_path / "model.net"
    artifact.write(program, path)
    held = (np.random.default_rng(7).uniform(size=(STEPS, 3, 12)) < 0.2).astype("f4")
    horizon = STEPS + len(program.layers)
    padded = np.concatenate([held, np.zeros((horizon - STEPS, 3, 12), "f4")])
    mine = numerics.run(artifact.read(path), padded, full=True)
    fed = numerics.feed(program, padded)
    for b in range(3):
        theirs = lavarun.run(str(path), fed[:, b], probe=True)
        for layer in program.layers:
            for key in ("s", "u", "v"):
                np.testing.assert_array_equal(
                    theirs[layer.index][key],
                    mine[layer.name][key][:, b],
                    err_msg=f"sample {b}, layer {layer.name}, {key}",
                )
        assert theirs[program.layers[-1].index]["s"].sum() > 10
