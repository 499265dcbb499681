"""Xylo's integer arithmetic (snnx.targets.xylo.numerics), its bit-shift decays and its
quantization rule, against hand-worked cases.

The expected traces are worked out by hand from the chip's rules (documented with the facts
measured on xylosim 0.1.3); the cross-check tier (tests/crosscheck/xylo) compares the numerics with
the real simulator on random networks.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snnx.targets.xylo import decay
from snnx.targets.xylo.numerics import simulate
from snnx.targets.xylo.program import XyloProgram
from snnx.targets.xylo.quantize import quantize
from snnx.targets.xylo.spec import AUDIO2, IMU

NEVER = 30000  # a threshold no test reaches


def program(n_in=1, n_hidden=1, n_out=1, synapses=1, chip=AUDIO2, **fields) -> XyloProgram:
    p = XyloProgram.empty(chip, n_in, n_hidden, n_out, synapses)
    p.threshold[:] = NEVER
    p.threshold_out[:] = NEVER
    for name, value in fields.items():
        current = getattr(p, name)
        if isinstance(current, np.ndarray):
            current[...] = value
        else:
            setattr(p, name, value)
    return p


def run(p, raster, **kw):
    raster = np.asarray(raster)
    return simulate(p, raster.reshape(raster.shape[0], 1, -1), states=True, **kw)


def trace(result, key, neuron=0):
    return result[key][:, 0, neuron].tolist()


def test_synaptic_decay_is_a_floor_shift_with_a_minimum_step_of_one():
    # +100 at dash 1: 100 - 50 = 50, 50 - 25, 25 - 12 = 13, 13 - 6 = 7, 7 - 3 = 4, 4 - 2, 2 - 1,
    # 1 - (0 -> forced 1) = 0; -100: -100 - (-50), -50 - (-25), -25 - (-13) = -12, ... faster
    p = program(n_hidden=2, dash_syn=1, dash_mem=15)
    p.weights_in[0, :, 0] = [100, -100]
    r = run(p, [1, 0, 0, 0, 0, 0, 0, 0, 0])
    assert trace(r, "isyn", 0) == [50, 25, 13, 7, 4, 2, 1, 0, 0]
    assert trace(r, "isyn", 1) == [-50, -25, -12, -6, -3, -1, 0, 0, 0]


def test_a_synapse_with_dash_zero_is_wiped_before_the_membrane_sees_it():
    p = program(n_hidden=2, dash_mem=15)
    p.dash_syn[:] = [0, 4]
    p.weights_in[0, :, 0] = 100
    r = run(p, [1, 0, 0])
    assert trace(r, "isyn", 0) == [0, 0, 0] and trace(r, "vmem", 0) == [0, 0, 0]
    assert trace(r, "isyn", 1) == [94, 89, 84]  # 100 - 6, 94 - 5, 89 - 5


def test_multi_spikes_subtract_the_threshold_and_reach_the_output_one_step_later():
    # I: 100 - 1 = 99 -> 98 -> 97 (dash 15); V: 99 -> 2 spikes? no: 99 >= 50 once -> 49;
    # then V = 49 - 1 + 98 = 146 -> 2 spikes -> 46; 46 - 1 + 97 = 142 -> 2 -> 42
    p = program(dash_syn=15, dash_mem=15, dash_syn_out=15, dash_mem_out=15)
    p.weights_in[0, 0, 0] = p.weights_out[0, 0] = 100
    p.threshold[:] = p.threshold_out[:] = 50
    r = run(p, [1, 0, 0])
    assert trace(r, "hidden_spikes") == [1, 2, 2]
    assert trace(r, "vmem") == [49, 46, 42]
    # the output hears step t's spikes at t+1 (2 x 100 - 1 = 199 at step 2: one spike at most)
    assert trace(r, "out_spikes") == [0, 1, 1]
    assert trace(r, "isyn_out") == [0, 99, 298]  # 99 + 2 x 100 - 1


def test_event_caps_15_in_31_hidden_1_out():
    p = program(dash_syn=15, dash_mem=15, dash_syn_out=15, dash_mem_out=15)
    p.weights_in[0, 0, 0] = 1
    p.weights_out[0, 0] = 1
    p.threshold[:] = 1
    p.threshold_out[:] = 1
    r = run(p, [[200], [15], [0], [0]])
    # 200 events clip to 15; I = 15 - 1 = 14 -> 14 spikes, V back to 0; then 14 + 15 - 1 = 28
    assert trace(r, "isyn") == [14, 28, 27, 26]
    assert trace(r, "hidden_spikes") == [14, 28, 27, 26]
    p.weights_in[0, 0, 0] = 127
    r = run(p, [[15], [0]])
    assert trace(r, "hidden_spikes")[0] == 31  # 15 x 127 - 1 = 1904 >= 31 thresholds
    assert trace(r, "out_spikes") == [0, 1]  # 31 events in, one spike out, the rest stays in V
    assert trace(r, "vmem_out")[1] == 31 - 1 - 1  # I = 31 - 1 = 30, V = 30 -> 1 spike -> 29


def test_weight_shift_and_saturation_in_arrival_order():
    # 127 << 7 = 16256 per event: three events saturate at 32767 (then - 1 for dash 15)
    p = program(dash_syn=15, dash_mem=15, weight_shift_in=7)
    p.weights_in[0, 0, 0] = 127
    r = run(p, [3])
    assert trace(r, "isyn") == [32766]
    # channel 0 first: 32767 is reached before channel 1's -16384 arrives
    p = program(n_in=2, dash_syn=15, dash_mem=15, weight_shift_in=7)
    p.weights_in[:, 0, 0] = [127, -128]
    r = run(p, [[3, 1]])
    assert trace(r, "isyn") == [32767 - 16384 - 1]
    r = run(p, [[1, 3]])  # 16256 - 3 x 16384 = -32896 -> -32768, then - (-1) = -32767
    assert trace(r, "isyn") == [-32767]


def test_recurrent_spikes_arrive_one_step_late_and_count_each_event():
    p = program(n_hidden=2, dash_syn=15, dash_mem=15)
    p.weights_in[0, 0, 0] = 100
    p.weights_rec[0, 1, 0] = 10
    p.threshold[:] = [25, NEVER]
    r = run(p, [1, 0])
    # 99 -> 3 spikes, V 24; then 24 - 1 + 98 = 121 -> 4 spikes
    assert trace(r, "hidden_spikes", 0) == [3, 4]
    assert trace(r, "isyn", 1) == [0, 29]  # the 3 events x 10, a step late, - 1


def test_bias_and_membrane_order_of_operations():
    # dv = -dec(V) + I + bias, V += dv: bias 7 alone, dash_mem 1: V = 7, 7 - 3 + 7 = 11, 11 - 5 + 7
    p = program(dash_syn=1, dash_mem=1, bias=7)
    r = run(p, [0, 0, 0, 0])
    assert trace(r, "vmem") == [7, 11, 13, 14]


def test_pinned_minimum_voltage_with_dash_mem_zero():
    # two events of -128 << 7 saturate I at -32768 (then - (-1)), bias -1 takes V to -32768;
    # from then on -dec(-32768, 0) = 32768 does not fit 16 bits and wraps to -32768: V stays
    # pinned (without the wrap it would climb back to -32767)
    p = program(dash_syn=15, dash_mem=0, bias=-1, weight_shift_in=7)
    p.weights_in[0, 0, 0] = -128
    r = run(p, [2, 0, 0])
    assert trace(r, "isyn") == [-32767, -32766, -32765]
    assert trace(r, "vmem") == [-32768, -32768, -32768]


def test_two_synaptic_states_add_up_in_the_membrane():
    p = program(n_in=1, synapses=2, dash_syn=1, dash_syn_2=4, dash_mem=15)
    p.weights_in[0, 0] = [100, -60]
    r = run(p, [1, 0, 0, 0])
    assert trace(r, "isyn") == [50, 25, 13, 7]
    assert trace(r, "isyn2") == [-56, -52, -48, -45]
    v, expected = 0, []
    for i1, i2 in zip([50, 25, 13, 7], [-56, -52, -48, -45], strict=True):
        dec = v >> 15 or (1 if v > 0 else -1 if v < 0 else 0)
        v = v - dec + i1 + i2
        expected.append(v)
    assert trace(r, "vmem") == expected


def test_inputs_must_be_event_counts():
    p = program()
    with pytest.raises(Exception, match="event counts"):
        simulate(p, np.full((2, 1, 1), 0.5))
    with pytest.raises(Exception, match=r"\(T, B, 1\)"):
        simulate(p, np.zeros((2, 1, 3)))


def test_batch_samples_are_independent():
    """Consistency check of two snnx paths: a batch and its samples one at a time."""
    rng = np.random.default_rng(0)
    p = program(n_in=3, n_hidden=4, n_out=2, dash_syn=2, dash_mem=3, dash_syn_out=1)
    p.dash_mem_out[:] = 2
    p.weights_in[...] = rng.integers(-128, 128, p.weights_in.shape)
    p.weights_rec[...] = rng.integers(-128, 128, p.weights_rec.shape)
    p.weights_out[...] = rng.integers(-128, 128, p.weights_out.shape)
    p.threshold[:] = 90
    p.threshold_out[:] = 70
    raster = rng.poisson(1.0, (30, 5, 3))
    whole = simulate(p, raster, states=True)
    for b in range(5):
        alone = simulate(p, raster[:, b : b + 1], states=True)
        for key, value in alone.items():
            assert np.array_equal(value[:, 0], whole[key][:, b]), key


# -- decays --------------------------------------------------------------------------------------


def test_dash_matches_rockpools_rule_under_euler():
    # Rockpool rounds log2(tau / dt) (halves to even): dt = 1 ms -> 2 ms: 1, 3 ms: 2, 10 ms: 3,
    # 20 ms: 4, 100 ms: 7; log2 = 1.5 -> 2, 2.5 -> 2
    dt = 1e-3
    taus = np.array([2, 3, 10, 20, 100, 2**1.5, 2**2.5]) * dt
    assert decay.dash_for(1 - dt / taus).tolist() == [1, 2, 3, 4, 7, 2, 2]
    assert decay.dash_for([1.0, 0.0]).tolist() == [15, 0]  # no leak; wiped every step
    assert decay.dash_for([0.1], low=1).tolist() == [1]


def test_tau_error_is_relative_to_the_reference_time_constant():
    assert decay.tau_error(1 - 2.0**-4, 4) == 0.0
    # the chip's 1/(-ln(0.5)) = 1.4427 steps against 1/(-ln(0.55)) = 1.6727
    assert decay.tau_error(0.55, 1) == pytest.approx(1.4427 / 1.6727 - 1, abs=1e-4)


# -- quantization --------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(1, 5),
    st.floats(1e-3, 1e3),
    st.floats(0.05, 20),
    st.integers(0, 2**31 - 1),
)
def test_quantize_keeps_the_chip_ranges_and_rounds_to_half_a_step(n_src, n, magnitude, thr, seed):
    rng = np.random.default_rng(seed)
    w_in = rng.normal(0, magnitude, (n_src, n, 2))
    w_rec = rng.normal(0, magnitude / 7, (n, n, 2))
    theta = rng.uniform(0.5, 2.0, n) * thr
    bias = rng.normal(0, thr, n)
    q = quantize({"in": w_in, "rec": w_rec}, theta, bias)
    assert all(0 <= k <= 7 for k in q.shifts.values())
    assert len(set(q.threshold.tolist())) == 1 and 1 <= q.threshold[0] <= 2048
    assert q.threshold[0] == round(q.sigma)
    for name, w in (("in", w_in), ("rec", w_rec)):
        ints = q.weights[name].astype(np.int64)
        assert ints.dtype == np.int64 and ints.min() >= -128 and ints.max() <= 127
        back = ints * 2.0 ** q.shifts[name] / q.scale[None, :, None]
        step = 2.0 ** q.shifts[name] / q.scale[None, :, None]
        exact = w * q.scale[None, :, None] / 2.0 ** q.shifts[name]
        clipped = (exact > 127.5) | (exact < -128.5)
        assert np.all((np.abs(back - w) <= step / 2 * (1 + 1e-9)) | clipped)
        if q.sigma > 1:  # only an integer threshold of 1 clips (weights > 16000 thresholds)
            assert not clipped.any()
    exact_bias = bias * q.scale
    assert np.all((np.abs(q.bias - exact_bias) <= 0.5 + 1e-9) | (np.abs(exact_bias) > 32767))
    # the integer threshold stands for each neuron's float threshold
    assert np.allclose(q.scale * theta, q.sigma)


def test_quantize_is_scale_free_and_uses_the_int8_range():
    w = {"in": np.array([[[0.9], [-0.2]], [[0.05], [0.4]]])}
    theta, bias = np.array([1.0, 0.5]), np.array([0.1, 0.0])
    a = quantize(w, theta, bias)
    b = quantize({"in": w["in"] * 3.5}, theta * 3.5, bias * 3.5)
    assert np.array_equal(a.weights["in"], b.weights["in"]) and a.shifts == b.shifts
    assert np.array_equal(a.bias, b.bias) and np.array_equal(a.threshold, b.threshold)
    # the largest weight relative to its threshold (0.4 / 0.5) lands on 127 << shift
    assert np.abs(a.weights["in"]).max() == 127


def test_quantize_refuses_non_positive_thresholds():
    with pytest.raises(ValueError, match="positive"):
        quantize({"in": np.ones((1, 2, 1))}, np.array([1.0, 0.0]), np.zeros(2))


def test_program_check_names_what_does_not_fit():
    program(chip=IMU, n_hidden=3).check()
    with pytest.raises(Exception, match=r"synaptic states: 2 > 1"):
        program(chip=IMU, synapses=2).check()
    p = program(n_hidden=70)
    p.weights_rec[...] = 1
    with pytest.raises(Exception, match=r"fan-out: hidden neuron 0 has 70 recurrent targets > 64"):
        p.check()
    p = program(dash_mem=16, weight_shift_rec=8)
    with pytest.raises(Exception, match=r"dash_mem: values 16..16 outside 0..15.*weight_shift_rec"):
        p.check()
