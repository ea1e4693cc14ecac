"""What the models know of the bytes coded so far: a ring buffer of the stream and running
summaries of the last bytes (the last 8 bytes, the current and previous word, the length of
fixed-size records, if any).

Positions are stream positions (bytes coded since the stream began); the buffer keeps the last
2**buf_bits of them, and the models carry over from one block to the next.
"""
from typing import NamedTuple

import numpy as np

from ..jit import inline

MAX_RECORD = 4096
M32 = 0xFFFFFFFF

# the running summaries, indices into History.s
POS = 0         # bytes coded so far = the position of the next byte
C4 = 1          # the last 4 bytes, most recent lowest
C8 = 2          # the 4 bytes before those
WORD = 3        # hash of the current word (letters, case-folded), 0 between words
WORD1 = 4       # hash of the previous word
RECORD = 5      # detected record length, 0 = none
N_SUMMARIES = 6


class History(NamedTuple):
    buf: np.ndarray          # uint8, ring buffer of the last 2**buf_bits bytes
    s: np.ndarray            # int64 summaries (POS, C4, ...)
    last_seen: np.ndarray    # int64 (256,): position + 1 where each byte value was last seen
    last_gap: np.ndarray     # int64 (256,): the distance between its last two occurrences
    votes: np.ndarray        # int64 (MAX_RECORD + 1,): votes for each record length


def new_history(buf_bits):
    return History(np.zeros(1 << buf_bits, dtype=np.uint8), np.zeros(N_SUMMARIES, dtype=np.int64),
                   np.zeros(256, dtype=np.int64), np.zeros(256, dtype=np.int64),
                   np.zeros(MAX_RECORD + 1, dtype=np.int64))


@inline
def is_letter(c):
    c |= 32
    return 97 <= c <= 122


@inline
def byte_back(h, distance):
    """The byte `distance` (1 .. buffer size) before the next one, or 0 before the stream."""
    pos = h.s[POS]
    if distance > pos or distance > h.buf.shape[0]:
        return 0
    return np.int64(h.buf[(pos - distance) & (h.buf.shape[0] - 1)])


@inline
def word_start(h, words_back):
    """The first byte of the 32-bit word (aligned in the stream) `words_back` words before the
    one the next byte is in, or 0 before the stream."""
    return byte_back(h, (h.s[POS] & 3) + 4 * words_back)


@inline
def push(h, byte, detect_records):
    """Record the byte just coded."""
    s = h.s
    pos = s[POS]
    h.buf[pos & (h.buf.shape[0] - 1)] = byte
    s[C8] = ((s[C8] << 8) | (s[C4] >> 24)) & M32
    s[C4] = ((s[C4] << 8) | byte) & M32
    if is_letter(byte):
        s[WORD] = ((s[WORD] + (byte | 32)) * 0x2F0F3A1B) & M32
    elif s[WORD] != 0:
        s[WORD1] = s[WORD]
        s[WORD] = 0
    if detect_records:
        _detect_records(h, byte, pos)
    s[POS] = pos + 1


@inline
def _detect_records(h, byte, pos):
    """When a byte value recurs at the same distance as last time, that distance gets a vote;
    old votes fade, and a clear winner is taken as the length of fixed-size records (tables,
    images, database dumps)."""
    gap = pos + 1 - h.last_seen[byte]
    if gap == h.last_gap[byte] and 3 < gap <= MAX_RECORD:
        h.votes[gap] += 1
    h.last_gap[byte] = gap
    h.last_seen[byte] = pos + 1
    if pos % 16 == 15:
        if pos % 64 == 63:
            for i in range(MAX_RECORD + 1):
                h.votes[i] >>= 1
        best = 0
        for i in range(MAX_RECORD + 1):
            if h.votes[i] > h.votes[best]:
                best = i
        if h.votes[best] >= 8:
            h.s[RECORD] = best
