"""Match model: finds the last occurrence of the current context (the last `min_len` bytes) and
predicts that the byte which followed it then follows now, with a confidence learned per match
length by a StateMap.  Long repeats in text and binaries cost almost nothing.

The table maps a hash of the last min_len bytes to the stream position after their last
occurrence; a candidate is verified against the history buffer before it is used, and matches
reach back as far as the buffer does (across blocks).

Levels 5-9 run a second instance for long repeats (min_len 16, levels.py): the first follows the
most recent occurrence of the last 6 bytes, which in repeated text or code is often a short
match while a long one is available further back; the second only takes matches of 16 bytes or
more, found by a hash of all 16.
"""
from typing import NamedTuple

import numpy as np

from ..jit import inline, prefetch
from ..memory import big_zeros
from .contexts import M32, hash32
from .history import C4, C8, POS

MAX_LEN = 65535
RECOVER_LEN = 16      # matches at least this long survive one mispredicted byte
VERIFY = 32           # bytes compared backwards when a candidate is found (a long model:
                      # twice its min_len)
N_BUCKETS = 16        # confidence buckets of the match length (0: no match)
# The match model's StateMap: an entry per confidence bucket, expected bit and partial byte (the
# partial byte says which bits of the predicted byte are confirmed so far; paq8px's match model
# keys its StateMap so).  Measured, model version 12, codec only, Calgary / Canterbury / 4 MiB of
# C headers + 4 MiB of libpython: level 4 1.6797 / 0.9758 / 1.1402 -> 1.6786 / 0.9753 / 1.1397,
# level 9 without its GRU 1.6345 / 0.9475 / 1.0614 -> 1.6341 / 0.9470 / 1.0614.
MAP_SIZE = 2 * N_BUCKETS * 256

# the match model's scalars, indices into Match.s
PTR = 0               # stream position of the predicted byte
LEN = 1               # match length, 0: no match
PREDICTED = 2         # 256 + the predicted byte, or 0
BUCKET = 3            # confidence bucket of the current byte
STRENGTH = 4          # size of the direct input
N_SCALARS = 5


def _length_buckets():
    """match length -> confidence bucket 0..15; roughly logarithmic beyond 12."""
    n = np.arange(MAX_LEN + 1)
    return np.minimum(15, np.where(n < 13, n, 13 + (n >= 24) + (n >= 48))).astype(np.uint8)


class Match(NamedTuple):
    table: np.ndarray        # int64 (2**bits,): position + 1 after a context's last occurrence
    s: np.ndarray            # int64 scalars (PTR, LEN, ...)
    buckets: np.ndarray      # uint8 (MAX_LEN + 1,): length -> confidence bucket
    min_len: int


def new_match(table_bits, min_len):
    return Match(big_zeros(1 << table_bits, np.int64), np.zeros(N_SCALARS, dtype=np.int64),
                 _length_buckets(), min_len)


@inline
def _short_entry(m, c4, c8):
    """The table entry of a model with min_len <= 8 for the last 8 bytes c8, c4 (History's)."""
    key_lo = c4
    key_hi = c8
    if m.min_len < 4:
        key_lo &= (1 << (8 * m.min_len)) - 1
        key_hi = 0
    elif m.min_len < 8:
        key_hi &= (1 << (8 * (m.min_len - 4))) - 1
    return hash32(key_lo, key_hi, 99) & (m.table.shape[0] - 1)


@inline
def prefetch_next(m, h, c0):
    """At a byte's last bit (c0: 1 and its first seven bits), start bringing in the table entry
    update_byte will read after it, for either value of the last bit (a long model's key is
    not worth computing twice)."""
    if m.min_len <= 8:
        for bit in range(2):
            c4 = ((h.s[C4] << 8) | (((c0 << 1) | bit) & 255)) & M32
            c8 = ((h.s[C8] << 8) | (h.s[C4] >> 24)) & M32
            prefetch(m.table, _short_entry(m, c4, c8))


@inline
def update_byte(m, h):
    """After a byte was coded (and pushed to h): extend or drop the current match, look up a new
    one, and remember where the current context occurs."""
    s = m.s
    buf = h.buf
    ring = buf.shape[0] - 1
    pos = h.s[POS]
    last = h.s[C4] & 255
    length = s[LEN]
    if length > 0 and s[PREDICTED] == 256 + last:
        length = min(length + 1, MAX_LEN)
        s[PTR] += 1
    elif length >= RECOVER_LEN:     # a long match that missed one byte (a changed number in
        length = 1                  # repeated data) keeps following its source, unsure
        s[PTR] += 1
    else:
        length = 0
    if pos >= m.min_len:
        if m.min_len > 8:       # (C4 and C8 hold 8 bytes: a long model hashes all min_len)
            key_lo = 0
            for k in range(m.min_len):
                key_lo = (key_lo * 0x2F0F3A1B + np.int64(buf[(pos - 1 - k) & ring]) + 1) & M32
            i = hash32(key_lo, m.min_len, 99) & (m.table.shape[0] - 1)
        else:
            i = _short_entry(m, h.s[C4], h.s[C8])
        if length < m.min_len:
            cand = m.table[i] - 1
            if cand > 0 and pos - cand < ring:
                n = 0
                verify = max(VERIFY, 2 * m.min_len)
                while n < verify and n < cand and buf[(pos - 1 - n) & ring] == buf[(cand - 1 - n) & ring]:
                    n += 1
                if n >= m.min_len:
                    length = n
                    s[PTR] = cand
        m.table[i] = pos + 1
    if length > 0 and pos - s[PTR] >= ring:        # the source left the buffer
        length = 0
    s[LEN] = length
    if length > 0:
        s[PREDICTED] = 256 + np.int64(buf[s[PTR] & ring])
        s[BUCKET] = np.int64(m.buckets[length])
        s[STRENGTH] = min(length, 32) * 32
    else:
        s[PREDICTED] = 0
        s[BUCKET] = 0
        s[STRENGTH] = 0


@inline
def expected_bit(m, c0, bitpos):
    """(the confidence bucket, the bit the match expects); bucket 0 once the bits of this byte
    left the predicted byte, or without a match."""
    predicted = m.s[PREDICTED]
    if predicted == 0 or (predicted >> (8 - bitpos)) != c0:
        return 0, 0
    return m.s[BUCKET], (predicted >> (7 - bitpos)) & 1
