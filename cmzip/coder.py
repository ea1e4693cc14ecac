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

State: an int64 array `st` (X1, X2, X, POS, PAST_END) and a uint8 buffer `io` (the output for
the encoder, the payload for the decoder).

The decoder's information budget.  Encoder and decoder shift their intervals identically, so
the decoder reads exactly as many bytes as the encoder wrote: 4 at the start, one per shift,
while the encoder wrote one per shift and 1 at the end.  A valid payload therefore leaves the
decoder 3 bytes (read as zeros) past its end, and never more; a decoder that needs a 4th byte
past the end is decoding garbage (a damaged payload, or a block header that claims more bytes
than the payload codes) and stops with an error.  Between two reads it can decode at most about
45 KB (each bit narrows the interval by at least a factor 65535/65536), so a hostile header's
claim costs time in proportion to the payload, not to the claim.
"""
import numpy as np

from .jit import inline as njit

X1, X2, X, POS, PAST_END = range(5)
STATE_SIZE = 5
MAX_PAST_END = 3            # zero bytes a valid payload's decoder reads past its end
_TOP = 0xFF000000
_MASK32 = 0xFFFFFFFF


def new_state():
    st = np.zeros(STATE_SIZE, dtype=np.int64)
    st[X2] = _MASK32
    return st


@njit
def split(x1, x2, p16):
    """The last value of the 1-part of [x1, x2] for P(1) = p16 / 65536 (1 <= p16 <= 65535):
    x1 <= xmid < x2, so both parts are non-empty and each bit narrows the interval."""
    r = x2 - x1
    return x1 + (r >> 16) * p16 + (((r & 0xFFFF) * p16) >> 16)


@njit
def encode_bit(st, out, p16, bit):
    """Code `bit` with P(1) = p16 / 65536.  Returns False if `out` is full (never, for the
    container's payload bound; checked rather than trusted)."""
    xmid = split(st[X1], st[X2], p16)
    if bit:
        st[X2] = xmid
    else:
        st[X1] = xmid + 1
    while ((st[X1] ^ st[X2]) & _TOP) == 0:
        if st[POS] >= out.shape[0]:
            return False
        out[st[POS]] = st[X2] >> 24
        st[POS] += 1
        st[X1] = (st[X1] << 8) & _MASK32
        st[X2] = ((st[X2] << 8) & _MASK32) | 255
    return True


@njit
def flush(st, out):
    """End the payload: one byte that, followed by zeros, lies in [x1, x2].  Returns False if
    `out` is full."""
    if st[POS] >= out.shape[0]:
        return False
    top = st[X1] >> 24
    if st[X1] & 0xFFFFFF:       # x1 itself is not "top byte, then zeros": take the next one,
        top += 1                # still <= x2's top byte, since the two differ there
    out[st[POS]] = top
    st[POS] += 1
    return True


@njit
def _next_byte(st, payload):
    """The next payload byte, or 0 past its end (counted)."""
    if st[POS] < payload.shape[0]:
        b = np.int64(payload[st[POS]])
    else:
        b = np.int64(0)
        st[PAST_END] += 1
    st[POS] += 1
    return b


@njit
def start_decoding(st, payload):
    for _ in range(4):
        st[X] = (st[X] << 8) | _next_byte(st, payload)


@njit
def decode_bit(st, payload, p16):
    """Decode one bit with P(1) = p16 / 65536; -1 once the payload is exhausted (see the
    module docstring)."""
    xmid = split(st[X1], st[X2], p16)
    if st[X] <= xmid:
        bit = 1
        st[X2] = xmid
    else:
        bit = 0
        st[X1] = xmid + 1
    while ((st[X1] ^ st[X2]) & _TOP) == 0:
        st[X1] = (st[X1] << 8) & _MASK32
        st[X2] = ((st[X2] << 8) & _MASK32) | 255
        st[X] = ((st[X] << 8) & _MASK32) | _next_byte(st, payload)
        if st[PAST_END] > MAX_PAST_END:
            return -1
    return bit


def decoded_exactly(st, payload):
    """After the last bit: whether the decoder consumed exactly the payload (a valid payload
    leaves it MAX_PAST_END bytes past the end; anything else is damage)."""
    return st[POS] == len(payload) + MAX_PAST_END
