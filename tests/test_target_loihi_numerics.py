"""Loihi's integer numerics against facts measured in Lava's bit-accurate simulation (the values
Lava's monitors read in ``exp_lif_edges`` and the latency experiments) and against hand-worked
integer arithmetic; the Lava tier compares whole networks.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from snnx.targets.loihi import numerics
from snnx.targets.loihi.numerics import decay, decay_float, feed, run
from snnx.targets.loihi.program import Layer, Program


def one_layer(weight, i_decay, v_decay, threshold, *, bias=None, delay=None, kind="dense"):
    weight = np.asarray(weight)
    layer = Layer(
        index=1,
        kind=kind,
        node="n",
        size=weight.shape[0],
        shape=(weight.shape[0],),
        weight=weight,
        i_decay=i_decay,
        v_decay=v_decay,
        threshold=threshold,
        bias=None if bias is None else np.asarray(bias),
        delay=delay,
    )
    return Program((weight.shape[1],), (weight.shape[1],), False, [layer])


def states(program, x):
    out = run(program, np.asarray(x, np.float32)[:, None], full=True)["1"]
    return {k: v[:, 0] for k, v in out.items()}


def test_current_wraps_once_at_24_bits_as_lava():
    program = one_layer([[128] * 8, [-128] * 8], i_decay=0, v_decay=4096, threshold=131071)
    r = states(program, np.ones((132, 8)))
    assert r["u"][127].tolist() == [8323072, -8323072]
    assert r["u"][128].tolist() == [8388608, 8388608]  # +2^23 stays, -2^23 becomes +2^23
    assert r["v"][128].tolist() == [0, 0]  # v saturated at 2^23 - 1 > 131071 << 6: fired
    assert r["u"][129].tolist() == [-8323072, 8323072]
    assert r["u"][130].tolist() == [-8257536, 8257536]


def test_threshold_is_strict_on_the_shifted_mantissa():
    program = one_layer([[100, -2], [101, -2], [99, -2]], i_decay=4096, v_decay=4096, threshold=100)
    x = np.zeros((4, 2))
    x[1, 0] = 1
    r = states(program, x)
    assert r["u"][2].tolist() == [6400, 6464, 6336]
    assert r["s"].sum(axis=0).tolist() == [0, 1, 0]


def test_decays_round_toward_zero():
    program = one_layer([[3, -2], [-3, 2]], i_decay=3048, v_decay=4095, threshold=131071)
    x = np.zeros((12, 2))
    x[0, 0] = 1
    r = states(program, x)
    assert r["u"][1:8, 0].tolist() == [192, 49, 12, 3, 0, 0, 0]
    assert r["u"][1:8, 1].tolist() == [-192, -49, -12, -3, 0, 0, 0]
    assert r["v"][1:8, 0].tolist() == [192, 49, 12, 3, 0, 0, 0]


def test_netx_bias_enters_every_step_and_after_each_reset():
    program = one_layer([[2], [-2]], i_decay=4096, v_decay=0, threshold=20, bias=[7, 3])
    r = states(program, np.zeros((12, 1)))
    assert r["v"][:, 0].tolist() == [448, 896, 0] * 4
    assert np.flatnonzero(r["s"][:, 0]).tolist() == [2, 5, 8, 11]
    assert np.flatnonzero(r["s"][:, 1]).tolist() == [6]


def test_bias_mantissa_wraps_in_sixteen_bits():
    program = one_layer([[1]], i_decay=4096, v_decay=4096, threshold=131071, bias=[40000])
    assert states(program, np.zeros((2, 1)))["v"][0].tolist() == [-25536 * 64]


def test_synapses_deliver_one_step_later_plus_their_delay():
    program = one_layer(
        [[5], [5], [5]], i_decay=4096, v_decay=4096, threshold=1, delay=np.array([0, 2, 62])
    )
    x = np.zeros((70, 1))
    x[3] = 1
    r = states(program, x)
    assert [int(np.flatnonzero(r["s"][:, k])[0]) for k in range(3)] == [4, 6, 66]


def test_each_layer_adds_one_step():
    layers = [
        Layer(
            index=i,
            kind="dense",
            node=f"n{i}",
            size=1,
            shape=(1,),
            weight=np.array([[9]]),
            i_decay=4096,
            v_decay=4096,
            threshold=1,
        )
        for i in (1, 2, 3)
    ]
    x = np.zeros((8, 1, 1))
    x[2] = 1
    out = run(Program((1,), (1,), False, layers), x)
    assert [int(np.flatnonzero(out[str(i)][:, 0, 0])[0]) for i in (1, 2, 3)] == [3, 4, 5]


def test_recurrent_synapses_return_a_layer_s_spikes_a_step_later():
    layer = Layer(
        index=1,
        kind="dense_rec",
        node="n",
        size=2,
        shape=(2,),
        weight=np.array([[9], [0]]),
        weight_rec=np.array([[0, 0], [9, 0]]),
        i_decay=4096,
        v_decay=4096,
        threshold=1,
    )
    x = np.zeros((6, 1, 1))
    x[0] = 1
    out = run(Program((1,), (1,), False, [layer]), x)["1"][:, 0]
    assert np.flatnonzero(out[:, 0]).tolist() == [1] and np.flatnonzero(out[:, 1]).tolist() == [2]


def test_conv_layers_convolve_as_pytorch_does():
    weight = np.array([[[[1, 2], [3, 4]]]])
    layer = Layer(
        index=1,
        kind="conv",
        node="c",
        size=4,
        shape=(1, 2, 2),
        weight=weight,
        padding=(1, 1),
        stride=(2, 2),
        i_decay=4096,
        v_decay=4096,
        threshold=131071,
    )
    program = Program((1, 3, 3), (1, 3, 3), False, [layer])
    image = np.arange(9.0).reshape(1, 1, 1, 3, 3) > 3  # pixels 4..8 spike
    r = run(program, np.concatenate([image, 0 * image]), full=True)["1"]
    # torch.nn.functional.conv2d(x, w, stride=2, padding=1) on that image: [[0, 0], [4, 10]]
    assert (r["u"][1, 0] // 64).tolist() == [0, 0, 4, 10]


def test_a_batch_runs_as_its_samples_run_alone():
    """Consistency check of two snnx paths: a batch and its samples one at a time."""
    rng = np.random.default_rng(0)
    layer = Layer(
        index=1,
        kind="dense_rec",
        node="n",
        size=6,
        shape=(6,),
        weight=rng.integers(-60, 90, (6, 4)),
        weight_rec=rng.integers(-40, 40, (6, 6)),
        i_decay=1000,
        v_decay=300,
        threshold=50,
    )
    program = Program((4,), (4,), False, [layer])
    x = (rng.uniform(size=(40, 5, 4)) < 0.4).astype(np.float32)
    together = run(program, x)["1"]
    alone = np.concatenate([run(program, x[:, b : b + 1])["1"] for b in range(5)], axis=1)
    assert together.sum() > 0 and np.array_equal(together, alone)


def test_non_zero_inputs_are_spikes_and_the_bias_channel_is_appended():
    program = Program((3, 2, 2), (2, 2, 2), True, [])
    x = feed(program, np.array([[[[[0.0, 3.0], [-1.0, 0.0]], [[0.0, 0.0], [0.0, 0.5]]]]]))
    assert x.shape == (1, 1, 12)
    assert x[0, 0].tolist() == [0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1]


def test_inputs_of_the_wrong_size_are_refused():
    with pytest.raises(Exception, match="do not hold"):
        run(one_layer([[1, 1]], 4096, 4096, 1), np.zeros((3, 1, 3)))


def test_float32_decays_are_the_integer_ones():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.integers(-(1 << 24), (1 << 24) + 1, 200_000), [0, 1, -1, 4095, -4097]])
    for keep in (0, 1, 1024, 2253, 4095, 4096):
        exact = np.sign(x) * ((np.abs(x) * keep) >> 12)
        got = decay_float(jnp.asarray(x, jnp.float32), jnp.float32(keep))
        assert np.array_equal(np.asarray(got).astype(np.int64), exact), keep
        got = decay(jnp.asarray(x, jnp.int32), jnp.int32(keep))
        assert np.array_equal(np.asarray(got).astype(np.int64), exact), keep


def test_float32_and_int32_states_give_the_same_run(monkeypatch):
    """Consistency check of two snnx paths: the float32 and the int32 state representation."""
    rng = np.random.default_rng(1)
    layers = [
        Layer(
            index=1,
            kind="dense_rec",
            node="a",
            size=12,
            shape=(12,),
            weight=rng.integers(-200, 200, (12, 5)),
            weight_rec=rng.integers(-90, 90, (12, 12)),
            i_decay=700,
            v_decay=90,
            threshold=150,
            bias=rng.integers(-30, 30, 12),
        ),
        Layer(
            index=2,
            kind="dense",
            node="b",
            size=4,
            shape=(4,),
            weight=rng.integers(-250, 250, (4, 12)),
            i_decay=3000,
            v_decay=1,
            threshold=40,
        ),
    ]
    program = Program((5,), (5,), False, layers)
    x = (rng.uniform(size=(80, 3, 5)) < 0.5).astype(np.float32)
    floating = run(program, x, full=True)
    monkeypatch.setattr(numerics, "FLOAT_STATES", 0)
    integers = run(program, x, full=True)
    for name in ("1", "2"):
        for key in ("s", "u", "v"):
            assert np.array_equal(floating[name][key], integers[name][key]), (name, key)
    assert floating["2"]["s"].sum() > 0
