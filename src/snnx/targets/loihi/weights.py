"""What happens to a ``dense`` / ``dense_rec`` weight matrix between a netx HDF5 file and the
neuron, under ``Loihi2SimCfg(select_tag="fixed_pt")`` (lava-dl 0.6.0 netx, lava-nc 0.10.0).

The stored integers ``W`` are not applied as they are. Two stages rewrite them once:

1. netx's ``optimize_weight_bits`` (at ``Network`` build), with ``M = max W``, ``m = min W``:

   - both signs and ``M > 254`` or ``m < -256``: clip to ``[-256, 254]``;
   - its sign mode: ``M < 0`` inhibitory (``scale = -256 / m``), ``m >= 0`` excitatory
     (``scale = 255 / M``), otherwise mixed (``scale = min(127 / M, -128 / m)``; ``M == 0``
     with negatives counts as mixed here);
   - ``sb = floor(log2 scale) + signed``, ``n`` = trailing zero bits common to every weight (at
     most 8) ``- signed``; ``num_weight_bits = 8 - sb - n``, ``weight_exp = -sb``,
     ``W <<= sb`` (a negative shift count gives 0);
   - an all-zero matrix has ``scale = inf``: netx fails (``OverflowError``).

2. Lava's ``Dense`` on its first step, with its own sign mode (``m >= 0`` excitatory,
   ``M <= 0`` inhibitory, else mixed): clip to ``[-256, 255]`` (mixed), ``[0, 255]``
   (excitatory) or ``[-255, 0]`` (inhibitory, on magnitudes), then drop
   ``8 - num_weight_bits + mixed`` low bits (on magnitudes when inhibitory; a negative count
   gives 0).

Each step the neuron then receives ``a = (W_hw @ s) << exp`` (``>> -exp``, arithmetic, when
``exp < 0``). ``dense_rec`` optimises ``hstack(W, W_rec)`` jointly (one ``num_weight_bits`` and
``exp``), and each of its two Lava ``Dense`` picks its own sign mode.

So mixed-sign matrices within ``[-256, 254]`` and excitatory ones within ``[0, 255]`` arrive
exactly; a single-sign negative matrix whose most negative weight is ``-2^k`` does not, and an
excitatory one above 255 arrives as zeros (facts measured against Lava, see ``FACTS.md`` of the
Lava tier).

>>> import numpy as np
>>> applied(np.array([[3, -5], [254, -256]]))[0].tolist()
[[3, -5], [254, -256]]
>>> effective_dense(np.array([[-128, -2]])).tolist()  # inhibitory -128 arrives as -126
[[-126, -2]]
>>> effective_dense(np.array([[300, 1]])).tolist()  # excitatory above 255: silently zero
[[0, 0]]
"""

from __future__ import annotations

import math

import numpy as np

from snnx.errors import LoweringError


def _shift_left(x: np.ndarray, bits: int) -> np.ndarray:
    """``x << bits``; numpy (on x86) gives 0 for a negative count, and so does this."""
    return x << bits if bits >= 0 else np.zeros_like(x)


def _shift_right(x: np.ndarray, bits: int) -> np.ndarray:
    """``x >> bits`` (arithmetic); 0 for a negative count, as numpy gives on x86."""
    return x >> bits if bits >= 0 else np.zeros_like(x)


def netx_optimize(weight: np.ndarray) -> tuple[np.ndarray, int, int]:
    """netx's ``optimize_weight_bits``: ``(shifted weights, num_weight_bits, weight_exp)``.

    >>> netx_optimize(np.array([[100, -50]]))[1:]
    (7, -1)
    """
    w = np.asarray(weight).astype(np.int64)
    hi, lo = int(w.max()), int(w.min())
    if hi > 254 and lo < 0:
        w = np.clip(w, -256, 254)
        hi = int(w.max())
    if lo < -256 and hi > 0:
        w = np.clip(w, -256, 254)
        lo = int(w.min())
    if hi < 0:
        signed, scale = 0, -256 / lo
    elif lo >= 0:
        if hi == 0:
            raise OverflowError("an all-zero weight matrix: netx cannot load it")
        signed, scale = 0, 255 / hi
    else:
        signed = 1
        scale = min(127 / hi if hi else math.inf, -128 / lo)
    sb = math.floor(math.log2(scale)) + signed
    n = 8
    while n > 0 and np.any(w % (1 << n)):
        n -= 1
    n -= signed
    return _shift_left(w, sb), 8 - sb - n, -sb


def lava_dense(weight: np.ndarray, num_weight_bits: int) -> np.ndarray:
    """Lava ``Dense`` (fixed_pt) on its first step: own sign mode, clip to 8 bits, truncate."""
    w = np.asarray(weight).astype(np.int64)
    if w.min() >= 0:
        sign, mixed = 1, 0
    elif w.max() <= 0:
        sign, mixed = -1, 0
    else:
        sign, mixed = 1, 1
    w = np.clip(sign * w, -256 * mixed, 255)
    drop = 8 - num_weight_bits + mixed
    return sign * _shift_left(_shift_right(w, drop), drop)


def applied(weight: np.ndarray) -> tuple[np.ndarray, int]:
    """``(W_hw, exp)`` for a ``dense`` layer's stored weights ``(out, in)``."""
    shifted, bits, exp = netx_optimize(weight)
    return lava_dense(shifted, bits), exp


def applied_rec(weight: np.ndarray, weight_rec: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """``(W_hw, W_rec_hw, exp)`` for a ``dense_rec`` layer (optimised jointly)."""
    n_in = np.shape(weight)[1]
    shifted, bits, exp = netx_optimize(np.hstack([weight, weight_rec]))
    return lava_dense(shifted[:, :n_in], bits), lava_dense(shifted[:, n_in:], bits), exp


def effective(w_hw: np.ndarray, exp: int) -> np.ndarray:
    """What one spike through each synapse adds to ``a``: ``W_hw * 2^exp``. With ``exp < 0`` the
    sum is shifted right, which equals shifting each weight only when every weight is a multiple
    of ``2^-exp`` -- always true after the two stages above; checked here.

    >>> effective(np.array([[4, -8]]), -2).tolist()
    [[1, -2]]
    """
    w = np.asarray(w_hw).astype(np.int64)
    if exp >= 0:
        return w << exp
    if np.any(w % (1 << -exp)):
        raise LoweringError(
            f"weights are not multiples of 2^{-exp}: the shifted sum would round (Lava model)"
        )
    return w >> -exp


def effective_dense(weight: np.ndarray) -> np.ndarray:
    """Per-spike effect of a ``dense`` layer's stored weights (netx + Lava applied).

    >>> effective_dense(np.array([[100, -50]])).tolist()
    [[100, -50]]
    """
    return effective(*applied(weight))


def effective_dense_rec(weight: np.ndarray, weight_rec: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per-spike effects ``(W, W_rec)`` of a ``dense_rec`` layer's stored weights."""
    w, w_rec, exp = applied_rec(weight, weight_rec)
    return effective(w, exp), effective(w_rec, exp)
