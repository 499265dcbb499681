"""The Loihi quantization rule and the netx weight path.

The weight-path cases are facts measured against real Lava (lava-nc 0.10.0, lava-dl 0.6.0; the
Lava tier re-checks the whole path on every compiled network); the rule's properties are its
equations: weights in range, within half a grid step of the real-valued ones, and -- with the
lowering's search for a threshold netx applies as stored -- applied exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from snnx.targets.loihi import weights
from snnx.targets.loihi.lower import dense_matrices
from snnx.targets.loihi.quantize import decay, kept, quantize, relay_weight, weight_range

# (stored weights, what one spike through each synapse adds): measured in Lava
LAVA_WEIGHT_FACTS = [
    ([[3, -5], [254, -256]], [[3, -5], [254, -256]]),  # mixed, in range: exact (odd too)
    ([[255, -3]], [[254, -3]]),  # mixed with 255: clipped
    ([[400, -3]], [[254, -3]]),  # mixed beyond 254: clipped
    ([[255, 7], [0, 1]], [[255, 7], [0, 1]]),  # excitatory up to 255: exact
    ([[256, 1]], [[0, 0]]),  # excitatory beyond 255: all zero, silently
    ([[-256, -2]], [[-254, -2]]),  # inhibitory with -256 (even): -254
    ([[-128, -2]], [[-126, -2]]),  # inhibitory -128: -126
    ([[0, -129, -3]], [[0, 0, 0]]),  # max 0, min <= -128, an odd weight: all zero
]


@pytest.mark.parametrize(("stored", "arrives"), LAVA_WEIGHT_FACTS)
def test_the_weight_path_reproduces_what_lava_applies(stored, arrives):
    assert weights.effective_dense(np.array(stored)).tolist() == arrives


def test_an_all_zero_matrix_cannot_be_loaded():
    with pytest.raises(OverflowError):
        weights.effective_dense(np.zeros((2, 2)))


def test_dense_rec_shares_one_exponent_but_each_part_has_its_sign_mode():
    # jointly mixed; the excitatory part with an odd weight loses its low bit (-1 truncation bits
    # give zero in numpy), the reason the quantizer moves such layers to the even grid
    w, w_rec = weights.effective_dense_rec(np.array([[3, 1]]), np.array([[-256]]))
    assert w.tolist() == [[0, 0]] and w_rec.tolist() == [[0]]
    w, w_rec = weights.effective_dense_rec(np.array([[4, 2]]), np.array([[-254]]))
    assert w.tolist() == [[4, 2]] and w_rec.tolist() == [[-254]]


def test_threshold_uses_the_whole_8_bit_range():
    q = quantize(np.array([[0.5, -0.25], [1.0, 0.0]]))
    assert q.threshold == 254 and q.weights.tolist() == [[127, -64], [254, 0]]
    assert quantize(np.array([[-1.0, 0.5]])).threshold == 256  # negatives reach -256
    assert quantize(np.array([[0.4]])).threshold == 637  # excitatory: 255 / 0.4
    assert quantize(np.array([[-1.0, -0.5]])).weights.tolist() == [[-254, -128]]  # even grid


def test_a_relay_weight_keeps_room_above_the_threshold():
    q = quantize(np.array([[0.001]]), extra_positive=True)
    assert q.threshold == 254 and relay_weight(q.threshold) == 255
    assert relay_weight(20, grid=2) == 22 and relay_weight(19, grid=2) == 20


def test_thresholds_keep_room_for_the_24_bit_states():
    q = quantize(np.array([[1e-3]]))
    assert q.threshold == 2048 and q.weights.tolist() == [[2]]  # +-64 thresholds of room
    assert quantize(np.array([[1e-6]]), max_threshold=(1 << 17) - 1).threshold == (1 << 17) - 1


def test_clipping_is_counted():
    q = quantize(np.array([[1e3]]), max_threshold=1)
    assert q.threshold == 1 and q.weights.tolist() == [[255]] and q.clipped == 1


matrices = arrays(
    np.float64,
    st.tuples(st.integers(1, 6), st.integers(1, 6)),
    elements=st.floats(-20, 20, allow_nan=False).filter(lambda v: abs(v) > 1e-3 or v == 0),
)


@settings(max_examples=200, deadline=None)
@given(matrices, st.booleans())
def test_dense_layers_get_weights_netx_applies_exactly_within_half_a_step(q, relay):
    if not np.any(q):
        return
    relay_input = q.shape[1] - 1 if relay else None
    quantized, w, _, exact = dense_matrices(q, None, relay_input)
    hi, lo, _ = weight_range(q, extra_positive=relay)
    assert exact and np.array_equal(weights.effective_dense(w), w)
    assert w.max() <= hi and w.min() >= -lo
    theta, grid = quantized.threshold, quantized.grid
    if quantized.clipped == 0:
        assert np.all(np.abs(w[: q.shape[0]] / theta - q) <= grid / 2 / theta + 1e-12)
    if relay:
        assert w[-1, relay_input] > theta  # the relay fires on its first input


@settings(max_examples=150, deadline=None)
@given(matrices, matrices)
@example(np.array([[2.375]]), np.array([[-18.25, -0.5]]))  # halves of opposite sign modes
def test_dense_rec_layers_get_weights_netx_applies_exactly(a, b):
    if a.shape[0] != b.shape[0] or not (np.any(a) or np.any(b)):
        return
    _, w, w_rec, exact = dense_matrices(a, b, None)
    assert exact
    applied = weights.effective_dense_rec(w, w_rec)
    assert np.array_equal(applied[0], w) and np.array_equal(applied[1], w_rec)


def test_decays_round_to_twelve_bits():
    assert decay(0.55) == 1843 and decay(0.9) == 410 and decay(0.5) == 2048
    assert decay(1.0) == 0 and decay(0.0) == 4096
    assert kept(1843) == pytest.approx(0.55, abs=1 / 8192)
