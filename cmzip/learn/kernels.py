"""The toolkit's arithmetic as compiled kernels: the one implementation that the compiled learners
(models/gru_core.py) call inside the coding loop and that the Python classes (optim.SGD,
optim.AdamW, clip.clip_by_value, schedule.WarmupDecay) call too, so tests of either test both.

Portable (docs/design.md, "The exactness contract"): compiled without fastmath, so every
operation is an element-wise IEEE 754 float64 + - * / or sqrt (correctly rounded), no a*b+c is
fused, and every sum runs in the order written here.  The exponential is exact.exp_portable's
algorithm, step for step (range reduction, the same degree-14 Horner polynomial, an exact scaling
by 2^k), so it returns the same bits as exact.exp_portable; sigmoid and tanh are built from it.
"""
import math

import numpy as np

from ..exact import _EXP_COEFFS, _INV_LN2, _LN2_HI, _LN2_LO
from ..jit import inline, njit

EXP_COEFFS = np.array(_EXP_COEFFS)                        # highest degree first
# 2^k for k in [-1020, 1020] (all normal numbers): exp's scaling, an exact multiplication
_POW2_BIAS = 1020
POW2 = np.ldexp(1.0, np.arange(-_POW2_BIAS, _POW2_BIAS + 1))

# Loops over a range lo..hi index with np.uint64(i): numba wraps a negative signed index around
# (i < 0 means n + i), and where it cannot prove i >= 0 that test stays in the loop and keeps the
# compiler from vectorising it (measured: AdamW over 82000 elements 400 us, unsigned 54 us).

# the decays of schedule.WarmupDecay, by number
DECAY_IDS = {"constant": 0, "inverse_sqrt": 1, "linear": 2, "exponential": 3}
_LN2 = 0.6931471805599453


@inline
def exp(x):
    """e^x, bit-identical to exact.exp_portable (inputs clipped to [-700, 700])."""
    if x > 700.0:
        x = 700.0
    elif x < -700.0:
        x = -700.0
    k = np.rint(x * _INV_LN2)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = EXP_COEFFS[0]
    for i in range(1, EXP_COEFFS.shape[0]):
        p = p * r + EXP_COEFFS[i]
    return p * POW2[np.int64(k) + _POW2_BIAS]


@inline
def sigmoid(x):
    return 1.0 / (1.0 + exp(-x))


@inline
def tanh(x):
    """2 sigmoid(2x) - 1: absolute error about 1e-16, smooth (as finite differences need)."""
    return 2.0 / (1.0 + exp(-2.0 * x)) - 1.0


# ------------------------------------------------------------------------------ optimisers

@inline
def adamw_update(p, g, m, v, lo, hi, lr, b1, b2, c1, c2, eps, wd):
    """AdamW on elements lo..hi-1 of flat arrays, with c1 = 1 - b1^t and c2 = 1 - b2^t:

        m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
        p -= lr * (m (1 / c1) / (sqrt(v (1 / c2)) + eps) + wd p)

    in the order optim.AdamW documents (it calls this).  The bias corrections multiply by their
    reciprocals, computed once: one division per element where there were three (division is
    the slowest of the vector operations; measured on level 9's GRU, whose 82000 dense weights
    take a step every 5 bytes: 35 -> 18 us per byte).  Still exact and portable: each is one
    correctly rounded operation."""
    inv_c1 = 1.0 / c1
    inv_c2 = 1.0 / c2
    for j in range(lo, hi):
        i = np.uint64(j)
        gi = g[i]
        m[i] = m[i] * b1 + gi * (1.0 - b1)
        v[i] = v[i] * b2 + (gi * gi) * (1.0 - b2)
        step = (m[i] * inv_c1) / (math.sqrt(v[i] * inv_c2) + eps)
        if wd != 0.0:
            step = step + wd * p[i]
        p[i] = p[i] - step * lr


@inline
def sgd_update(p, g, buf, lo, hi, lr, momentum, wd):
    """SGD with momentum on elements lo..hi-1: buf = momentum buf + g (buf = g without momentum),
    p -= lr (buf + wd p), in the order optim.SGD documents (it calls this)."""
    for j in range(lo, hi):
        i = np.uint64(j)
        d = g[i]
        if momentum != 0.0:
            d = buf[i] * momentum + d
            buf[i] = d
        p[i] = p[i] - lr * (d + wd * p[i])


@njit
def adamw_step(p, g, m, v, lr, b1, b2, c1, c2, eps, wd):
    """adamw_update over whole flat arrays (Python's optim.AdamW calls this)."""
    adamw_update(p, g, m, v, 0, p.shape[0], lr, b1, b2, c1, c2, eps, wd)


@njit
def sgd_step(p, g, buf, lr, momentum, wd):
    """sgd_update over whole flat arrays (Python's optim.SGD calls this)."""
    sgd_update(p, g, buf, 0, p.shape[0], lr, momentum, wd)


# ------------------------------------------------------------------------------ clipping

@inline
def clip_values(g, lo, hi, limit):
    """Elements lo..hi-1 of g clipped to [-limit, limit] in place."""
    for j in range(lo, hi):
        i = np.uint64(j)
        if g[i] > limit:
            g[i] = limit
        elif g[i] < -limit:
            g[i] = -limit


@njit
def clip_values_all(g, limit):
    clip_values(g, 0, g.shape[0], limit)


@inline
def sum_squares(g, lo, hi, total):
    """total + the sum of g[i]^2 over lo..hi-1, added in four interleaved running sums (a fixed
    order, which the compiler may run as one vector of four, and four times faster than one
    chain of dependent adds), combined at the end as (s0 + s1) + (s2 + s3)."""
    s0 = s1 = s2 = s3 = 0.0
    i = np.uint64(lo)
    while i + 4 <= hi:
        s0 += g[i] * g[i]
        s1 += g[i + 1] * g[i + 1]
        s2 += g[i + 2] * g[i + 2]
        s3 += g[i + 3] * g[i + 3]
        i += np.uint64(4)
    while i < hi:
        s0 += g[i] * g[i]
        i += np.uint64(1)
    return total + ((s0 + s1) + (s2 + s3))


@inline
def scale_values(g, lo, hi, factor):
    for j in range(lo, hi):
        i = np.uint64(j)
        g[i] = g[i] * factor


# ------------------------------------------------------------------------------ schedule

@njit
def schedule_lr(step, peak, warmup, decay, floor, half_life):
    """schedule.WarmupDecay's lr for optimiser step `step` (decay: a DECAY_IDS number)."""
    if step <= warmup and warmup != 0:
        return peak * step / warmup
    s = step - warmup
    span = peak - floor
    if decay == 0:
        return peak
    if decay == 1:
        return max(floor, peak * math.sqrt(max(warmup, 1) / max(step, 1)))
    if decay == 2:
        return floor + span * max(0.0, 1.0 - s / (2 * half_life))
    return floor + span * exp(-_LN2 * s / half_life)
