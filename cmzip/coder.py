"""Binary arithmetic coder: 32-bit, carry-less, as in lpaq, paq8 and zpaq, compiled into the loop.

The coder keeps an interval [x1, x2] of 32-bit integers.  A bit with probability p16 / 65536 of
being 1 splits it at xmid, about x1 + (x2 - x1) * p16 / 65536: a 1 keeps [x1, xmid], a 0 keeps
[xmid + 1, x2].  Whenever x1 and x2 agree in their top byte, that byte is settled: the encoder
writes it and both ends shift left by 8.  The decoder mirrors this with x, the 32 payload bits
at the same place, and decides each bit by x <= xmid.  Probabilities have 16 bits, so a bit the
model is sure of costs as little as -log2(65535/65536) = 0.000022 bits.

Why not constriction (used by cmzip before): a call into it from Python costs at least 0.64 us
per bit for the call alone (measured), and numba-compiled code cannot call it.  Coding inside the
compiled loop costs a few nanoseconds per bit.  The price of carry-less coding is a small loss
when the interval straddles a byte boundary; tests/test_coder.py measures the whole coder within
0.05% + 8 bytes of the ideal code length sum(-log2 p).

State: an int64 array `st` (X1, X2, X, POS, PAST_END, INFO, BUDGET), the uint8 buffer `io` (the
output for the encoder, the payload for the decoder) and the cost table.

How far a damaged payload can take the decoder.  Every coded bit narrows the interval by at
least one part in 2^16 (split: even a bit of probability 65535/65536 leaves the other part one
unit in 2^16 wide), and the decoder reads a payload byte per 8 bits of narrowing (after the 4 it
starts with); it stops with an error at the fourth byte past the payload's end (below).  So L
bytes of payload decode to at most 8 (L + 4) bits of narrowing, and so at most about 45 KB of
output per byte of payload, however many bytes a block header claims.

Where byte learners make decoding slow (levels 6-9), that is too much: there each bit counts at
least `min_cost` units of 2^-16 bit in an information sum that both sides keep (from one integer
table, so their sums agree to the last unit), and
- the encoder makes the payload long enough for its sum: in the rare case where the coder's
  rounding made the bits cheaper than their information, it pads the payload with zeros;
- the decoder stops with an error as soon as its sum exceeds the payload's 8 L bits.
With min_cost 64 (2^-10 bit) a byte of payload decodes to at most 1 KB of output, which costs at
most 0.008 bits per byte on the most redundant data.  Where min_cost is 1 the sum is not kept (the
interval bounds decoding as well): its table look-up, a cache miss at random probabilities, took
3-5% of level 4's time on book1 (measured, model version 15).

At the end of a block the decoder checks that
the payload was exactly as long as it had to be: it reads 4 bytes at the start and one per shift,
where the encoder wrote one per shift and 1 at the end, so a valid payload leaves it 3 bytes
(zeros) past its coded end, plus any padding.
"""
from decimal import Decimal, localcontext
from typing import NamedTuple

import numpy as np

from .jit import inline

X1, X2, X, POS, PAST_END, INFO, BUDGET = range(7)
STATE_SIZE = 7
MAX_PAST_END = 3            # zero bytes a valid payload's decoder reads past its coded end
INFO_ONE_BIT = 1 << 16      # the cost table's unit: 2^-16 bit
_TOP = 0xFF000000
_MASK32 = 0xFFFFFFFF


def _cost_table():
    """COST[q] = -log2(q / 65536) in units of 2^-16 bit, rounded, for q = 1..65535 (COST[0] and
    COST[65536] unused).  np.log2 is accurate to far better than 1e-6 of a unit, so rounding
    it gives the correctly rounded value wherever the true value is not within 1e-6 of a half;
    those few entries are computed with the decimal module (correctly rounded in software).  The
    table is therefore the same on every machine."""
    q = np.arange(1, 1 << 16, dtype=np.float64)
    exact = (16.0 - np.log2(q)) * INFO_ONE_BIT
    table = np.rint(exact)
    for i in np.flatnonzero(np.abs(exact - np.floor(exact) - 0.5) < 1e-6):
        with localcontext() as ctx:
            ctx.prec = 40
            v = (16 - Decimal(int(q[i])).ln() / Decimal(2).ln()) * INFO_ONE_BIT
            table[i] = int(v.to_integral_value())
    # int32 (every cost is below 2^21): the 256 KB table stays in the L2 cache, where int64's
    # 512 KB did not (its look-up took 4% of level 3's time on book1, measured with perf)
    cost = np.zeros((1 << 16) + 1, dtype=np.int32)
    cost[1:1 << 16] = np.maximum(table, 1)          # a certain bit still costs one unit
    return cost


COST = _cost_table()


class Coder(NamedTuple):
    st: np.ndarray          # int64 (STATE_SIZE,)
    io: np.ndarray          # uint8: the output buffer (encoder) or the payload (decoder)
    cost: np.ndarray        # int32 (65537,): COST at least min_cost; empty: no information sum


def _costs(min_cost):
    """The cost table for a least cost of `min_cost` units a bit; empty where min_cost is 1: no
    information sum is kept (the module's docstring says why)."""
    if min_cost <= 1:
        return np.zeros(0, dtype=np.int32)
    return np.maximum(COST, np.int32(min_cost))


def new_encoder(capacity, min_cost=1):
    """An encoder writing into a buffer of `capacity` bytes; each bit counts at least
    `min_cost` units in the information sum (kept only where min_cost > 1)."""
    st = np.zeros(STATE_SIZE, dtype=np.int64)
    st[X2] = _MASK32
    return Coder(st, np.zeros(capacity, dtype=np.uint8), _costs(min_cost))


def new_decoder(payload, min_cost=1):
    """A decoder of `payload` (bytes); its budget (where min_cost > 1) is the payload's 8 bits a
    byte."""
    st = np.zeros(STATE_SIZE, dtype=np.int64)
    st[X2] = _MASK32
    st[BUDGET] = 8 * len(payload) * INFO_ONE_BIT
    return Coder(st, np.frombuffer(payload, dtype=np.uint8).copy(), _costs(min_cost))


@inline
def split(x1, x2, p16):
    """The last value of the 1-part of [x1, x2] for P(1) = p16 / 65536 (1 <= p16 <= 65535):
    x1 <= xmid < x2, so both parts are non-empty and each bit narrows the interval."""
    r = x2 - x1
    return x1 + (r >> 16) * p16 + (((r & 0xFFFF) * p16) >> 16)


@inline
def _cost(c, p16, bit):
    return np.int64(c.cost[p16]) if bit else np.int64(c.cost[65536 - p16])


@inline
def encode_bit(c, p16, bit):
    """Code `bit` with P(1) = p16 / 65536.  Returns False if the output is full (never, for
    the container's payload bound; checked rather than trusted)."""
    st = c.st
    xmid = split(st[X1], st[X2], p16)
    if bit:
        st[X2] = xmid
    else:
        st[X1] = xmid + 1
    if c.cost.shape[0] > 0:
        st[INFO] += _cost(c, p16, bit)
    while ((st[X1] ^ st[X2]) & _TOP) == 0:
        if st[POS] >= c.io.shape[0]:
            return False
        c.io[st[POS]] = st[X2] >> 24
        st[POS] += 1
        st[X1] = (st[X1] << 8) & _MASK32
        st[X2] = ((st[X2] << 8) & _MASK32) | 255
    return True


@inline
def flush(c):
    """End the payload: one byte that, followed by zeros, lies in [x1, x2]; then zeros up to the
    length the information coded needs.  Returns the payload length, or -1 if the output is
    full."""
    st = c.st
    top = st[X1] >> 24
    if st[X1] & 0xFFFFFF:       # x1 itself is not "top byte, then zeros": take the next one,
        top += 1                # still <= x2's top byte, since the two differ there
    needed = max(st[POS] + 1, (st[INFO] + 8 * INFO_ONE_BIT - 1) // (8 * INFO_ONE_BIT))
    if needed > c.io.shape[0]:
        return -1
    c.io[st[POS]] = top
    for i in range(st[POS] + 1, needed):
        c.io[i] = 0
    return needed


@inline
def _next_byte(c):
    """The next payload byte, or 0 past its end (counted)."""
    st = c.st
    if st[POS] < c.io.shape[0]:
        b = np.int64(c.io[st[POS]])
    else:
        b = np.int64(0)
        st[PAST_END] += 1
    st[POS] += 1
    return b


@inline
def start_decoding(c):
    for _ in range(4):
        c.st[X] = (c.st[X] << 8) | _next_byte(c)


@inline
def decode_bit(c, p16):
    """Decode one bit with P(1) = p16 / 65536; -1 once the bits decoded carry more information
    than the payload holds, or the decoder needs more bytes than a valid payload has."""
    st = c.st
    xmid = split(st[X1], st[X2], p16)
    if st[X] <= xmid:
        bit = 1
        st[X2] = xmid
    else:
        bit = 0
        st[X1] = xmid + 1
    if c.cost.shape[0] > 0:
        st[INFO] += _cost(c, p16, bit)
        if st[INFO] > st[BUDGET]:
            return -1
    while ((st[X1] ^ st[X2]) & _TOP) == 0:
        st[X1] = (st[X1] << 8) & _MASK32
        st[X2] = ((st[X2] << 8) & _MASK32) | 255
        st[X] = ((st[X] << 8) & _MASK32) | _next_byte(c)
        if st[PAST_END] > MAX_PAST_END:
            return -1
    return bit


def decoded_exactly(c):
    """After the last bit: whether the payload was exactly as long as the encoder makes it (its
    coded bytes, and zeros up to what the information decoded needs)."""
    st = c.st
    coded = st[POS] - MAX_PAST_END
    needed = max(coded, -(-int(st[INFO]) // (8 * INFO_ONE_BIT)))
    return len(c.io) == needed and not c.io[coded:].any()
