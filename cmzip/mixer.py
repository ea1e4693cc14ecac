"""Logistic mixing and adaptive probability maps (APM / SSE), in integer arithmetic.

Mixer: p = squash(sum_i w_i * x_i) over stretched input probabilities x_i, a one-layer network
trained online to minimise coding cost: after each bit, w_i += x_i * (bit - p) * rate.  A mixer
has several weight sets (rows); a small context chooses the row for each bit.  Weights are 16.16
fixed point (65536 = 1.0) in int32, inputs and outputs are stretch-domain integers (1/256 nat,
within +-SMAX).  Every product and sum is an int32 that cannot overflow (the bounds below), so
every sum is exact and the order of the additions cannot change a bit.

APM (adaptive probability map, or SSE): refines a probability given a context by interpolating
between 25 learned points spaced along the stretch axis of that context's row; the nearer point
learns from each bit, at a fixed rate or (apm_first > 0) first as an average of what it has seen.
"""
import numpy as np

from .exact import SMAX, SQUASH
from .jit import inline, prefetch

WEIGHT_ONE = 1 << 16
APM_STEP = 256
APM_NODES = 2 * SMAX // APM_STEP + 2          # 25 nodes cover [-SMAX, SMAX]


WEIGHT_LIMIT = (1 << 19) - 1    # |w| < 8.0
# An APM node: its 22-bit probability, and above it (apm_first > 0) how often it has learned,
# up to 2^rate (at most 2^8: within int32)
APM_COUNT_SHIFT = 22
APM_P_MASK = (1 << 22) - 1
MAX_APM_RATE = 8

# Model version 17: the mixers compute in int32, as the vector units do eight at a time, where
# they computed in int64 (four at a time; numba widens int32 arithmetic to int64 unless each
# result is cast back).  What makes int32 enough:
# - dot: |w * x| <= WEIGHT_LIMIT * SMAX < 2^31; each product is shifted down by PRODUCT_SHIFT
#   before it is summed, so a sum of MAX_INPUTS of them stays below 2^31;
# - train: the step's error times rate (|err| < 2^16, rate <= MAX_RATE) is shifted down by
#   ERROR_SHIFT first, so |x * e| < 2^31.
# Measured on book1, level 4, codec only, alternating 5 rounds: 517 -> 564 KB/s; Calgary /
# Canterbury / the C headers and libpython the same to four decimals (1.6612 / 0.9684 / 1.1393).
PRODUCT_SHIFT = 8
ERROR_SHIFT = 4
MAX_RATE = 127
MAX_INPUTS = ((1 << 31) - 1) // ((WEIGHT_LIMIT * SMAX) >> PRODUCT_SHIFT) // 8 * 8
assert WEIGHT_LIMIT * SMAX < 1 << 31
assert SMAX * (((1 << 16) * MAX_RATE) >> ERROR_SHIFT) < 1 << 31


def check_mixer(n_inputs, rates):
    """Refuse a mixer whose sums could overflow int32 (a level's config, not data, sets both)."""
    if n_inputs > MAX_INPUTS or max(rates) > MAX_RATE or min(rates) < 0:
        raise ValueError(f"mixer of {n_inputs} inputs at rates up to {max(rates)}: its int32 "
                         f"sums could overflow (at most {MAX_INPUTS} inputs, rate {MAX_RATE})")


# A mixer's inputs are padded with zeros to a multiple of LANES, so that the vectorised loops of
# dot and train end without a scalar remainder (an input of 0 adds nothing to a dot product and
# its weight never moves, so the padding changes no bit).  Measured on book1, in-process: level 5
# (45 inputs -> 48) 340 -> 389 KB/s; level 3 (19 -> 24) unchanged.  Padding to 16 or 32 measured
# the same; loops written as explicit blocks of LANES compiled to slower code (level 5: 220 KB/s).
LANES = 8


def padded(n_inputs):
    """The length of a mixer's input vector for n_inputs inputs: a multiple of LANES."""
    return -(-n_inputs // LANES) * LANES


def new_weights(rows, n_inputs, init):
    """Weight sets for a mixer: `rows` sets of n_inputs weights (a multiple of LANES), each
    `init` (a float)."""
    return np.full((rows, n_inputs), int(init * WEIGHT_ONE), dtype=np.int32)


@inline
def dot(w, row, x, n):
    """sum_i w[row, i] * x[i] over the first n inputs (int32 x; n a multiple of LANES), in the
    stretch domain, clamped.  (Each step cast to int32: the vectorised loop stays int32.)"""
    total = np.int32(0)
    for i in range(n):
        total = np.int32(total + np.int32(np.int32(w[row, i] * x[i]) >> PRODUCT_SHIFT))
    s = np.int64(total) >> (16 - PRODUCT_SHIFT)
    if s > SMAX:
        return SMAX
    if s < -SMAX:
        return -SMAX
    return s


@inline
def train(w, row, x, n, err, rate):
    """One gradient step of weight set `row` for the coding error err = (bit << 16) - p16:
    w += x * err * rate / 2^20 (err * rate first floored to a multiple of 2^ERROR_SHIFT, the
    step rounded)."""
    e = np.int32((err * rate) >> ERROR_SHIFT)
    half = np.int32(1 << (19 - ERROR_SHIFT))
    for i in range(n):
        step = np.int32(np.int32(np.int32(x[i] * e) + half) >> (20 - ERROR_SHIFT))
        v = np.int32(w[row, i] + step)
        w[row, i] = min(max(v, np.int32(-WEIGHT_LIMIT)), np.int32(WEIGHT_LIMIT))


def new_apm(rows):
    """An APM of `rows` contexts, each starting as the identity map (22-bit probabilities)."""
    nodes = np.arange(APM_NODES, dtype=np.int64) * APM_STEP - SMAX
    row = SQUASH[np.clip(nodes, -SMAX, SMAX) + SMAX] << 6
    # 22-bit values: int32 halves the cache misses.  (Tiled from an int32 row: an int64 table
    # first, converted, cost each process 13 MiB of fresh pages at the level-4 APM's 65536 rows.)
    return np.tile(row.astype(np.int32), rows)


@inline
def apm_prefetch(t, row):
    """Start bringing in the cache lines of an APM's row (its nodes span two or three)."""
    first = row * APM_NODES
    prefetch(t, first)
    prefetch(t, first + 16)
    prefetch(t, first + APM_NODES - 1)


@inline
def apm_predict(t, row, s):
    """Refine stretched probability s under context `row`.  Returns (p16, the node that
    learns from this bit)."""
    u = s + SMAX                                     # 0 .. 2 * SMAX
    lo = row * APM_NODES + (u >> 8)
    w = u & 255
    left = np.int64(t[lo]) & APM_P_MASK              # (the count above the 22 bits is not
    right = np.int64(t[lo + 1]) & APM_P_MASK         # part of the probability)
    p = (left * (256 - w) + right * w) >> 14
    if p < 1:
        p = 1
    elif p > 65535:
        p = 65535
    return p, lo + (w >> 7)


@inline
def apm_update(t, node, bit, rate, first):
    """Move the node towards the bit by 2^-rate; with first > 0, by 1/(n + first) after n
    updates while that is the larger step (the node's count is kept above its 22 bits)."""
    raw = np.int64(t[node])
    v = raw & APM_P_MASK
    n = raw >> APM_COUNT_SHIFT
    if first > 0 and n + first < (1 << rate):
        v += ((bit << 22) - v) // (n + first)
        n += 1
    else:
        v += ((bit << 22) - v) >> rate
    if v < 64:
        v = 64
    elif v > (1 << 22) - 64:
        v = (1 << 22) - 64
    t[node] = v | (n << APM_COUNT_SHIFT)
