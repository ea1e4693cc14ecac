"""What the models know of the bytes coded so far: a ring buffer of the stream and running
summaries of the last bytes (the last 8 bytes, the current word and the two before it, where
the current and the previous line began, the classes of the last runs of bytes (letters,
digits, spaces, ...), the brackets open, the length of fixed-size records, if any).

Positions are stream positions (bytes coded since the stream began); the buffer keeps the last
2**buf_bits of them, and the models carry over from one block to the next.
"""
from typing import NamedTuple

import numpy as np

from ..jit import inline
from ..memory import big_zeros

MAX_RECORD = 4096
M32 = 0xFFFFFFFF

# the running summaries, indices into History.s
POS = 0         # bytes coded so far = the position of the next byte
C4 = 1          # the last 4 bytes, most recent lowest
C8 = 2          # the 4 bytes before those
WORD = 3        # hash of the current word (letters, case-folded), 0 between words
WORD1 = 4       # hash of the previous word
RECORD = 5      # detected record length, 0 = none
CANDIDATE1, COUNT1, CANDIDATE2, COUNT2 = 6, 7, 8, 9     # two record lengths seen, and how often
WORD2 = 10      # hash of the word before the previous one
LINE = 11       # position of the current line's first byte (after the last newline)
LINE1 = 12      # position of the previous line's first byte
SHAPE = 13      # the classes (char_class) of the last runs of bytes of one class, 3 bits each,
                # the latest lowest: "Word, word." -> upper lower punct space lower punct
NEST = 14       # the open brackets, 2 bits each ( [ { as 1 2 3), the innermost lowest
N_SUMMARIES = 15
RECORD_EVIDENCE = 16    # sightings of a candidate that make it the record length


class History(NamedTuple):
    buf: np.ndarray          # uint8, ring buffer of the last 2**buf_bits bytes
    s: np.ndarray            # int64 summaries (POS, C4, ...)
    seen_at: np.ndarray      # int64 (256, 4): position + 1 of each byte value's last 4 occurrences
    # indirect contexts: the bytes that followed the last occurrences of each context, the most
    # recent lowest (a shift register of followers per context)
    ind1: np.ndarray         # uint16 (256,): the last 2 followers of each byte
    ind2: np.ndarray         # uint16 (65536,): the last 2 followers of each two bytes
    ind3: np.ndarray         # uint16 (65536,): the last 2 followers of the last three bytes, by
                             # their hash (followers_key)
    ind4: np.ndarray         # uint16 (65536,): the same of the last four bytes
    # the same for words: the word that followed each word last (by its hash's low 16 bits)
    next_word: np.ndarray    # uint32 (65536,)


def new_history(buf_bits):
    return History(big_zeros(1 << buf_bits, np.uint8), np.zeros(N_SUMMARIES, dtype=np.int64),
                   np.zeros((256, 4), dtype=np.int64), np.zeros(256, dtype=np.uint16),
                   np.zeros(1 << 16, dtype=np.uint16), np.zeros(1 << 16, dtype=np.uint16),
                   np.zeros(1 << 16, dtype=np.uint16), np.zeros(1 << 16, dtype=np.uint32))


@inline
def is_letter(c):
    c |= 32
    return 97 <= c <= 122


def _char_classes():
    """Each byte value's class, 0-7: control or non-ASCII, space or tab, newline, digit,
    lower-case letter, upper-case letter, punctuation that ends a phrase (. , ; : ! ?), any other
    symbol."""
    classes = np.zeros(256, dtype=np.uint8)     # control and non-ASCII: 0
    classes[32:128] = 7
    classes[[9, 32]] = 1
    classes[[10, 13]] = 2
    classes[48:58] = 3
    classes[97:123] = 4
    classes[65:91] = 5
    classes[[ord(p) for p in ".,;:!?"]] = 6
    return classes


# a table, not a chain of tests: the contexts read up to 12 classes a byte, and as branches,
# inlined in each, they made level 4's first run (compiling its loop) take 27 s and 0.86 GB
# against 19 s and 0.60 GB with the table (version 11, without these contexts: 15 s, 0.52 GB)
CHAR_CLASSES = _char_classes()


@inline
def char_class(c):
    """The class of byte c (0..255): CHAR_CLASSES."""
    return np.int64(CHAR_CLASSES[c])


@inline
def column_above(h):
    """(the column of the next byte in its line, the byte in that column of the line above or 0
    where that line is shorter); columns beyond 255 count as 255."""
    s = h.s
    pos = s[POS]
    column = pos - s[LINE]
    above = 0
    if s[LINE] > 0 and s[LINE1] + column < s[LINE] - 1:
        above = byte_back(h, pos - s[LINE1] - column)
    return min(column, 255), above


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
def push(h, byte, detect_records, track_followers, track_long_followers):
    """Record the byte just coded.  The followers (indirect contexts) are kept only where a
    level reads them: their two stores cost level 1 about 7% of its time on book1."""
    s = h.s
    pos = s[POS]
    h.buf[pos & (h.buf.shape[0] - 1)] = byte
    if track_followers:
        _push_followers(h, byte)
    if track_long_followers:
        key = followers_key(s[C4] & 0xFFFFFF)
        h.ind3[key] = ((np.int64(h.ind3[key]) << 8) | byte) & 0xFFFF
        key = followers_key(s[C4])
        h.ind4[key] = ((np.int64(h.ind4[key]) << 8) | byte) & 0xFFFF
    s[C8] = ((s[C8] << 8) | (s[C4] >> 24)) & M32
    s[C4] = ((s[C4] << 8) | byte) & M32
    if is_letter(byte):
        s[WORD] = ((s[WORD] + (byte | 32)) * 0x2F0F3A1B) & M32
    elif s[WORD] != 0:
        h.next_word[s[WORD1] & 0xFFFF] = s[WORD]
        s[WORD2] = s[WORD1]
        s[WORD1] = s[WORD]
        s[WORD] = 0
    cls = char_class(byte)
    if cls != (s[SHAPE] & 7):
        s[SHAPE] = ((s[SHAPE] << 3) | cls) & 0x3FFFFFFF       # the last 10 runs
    bracket = 1 if byte == 40 else (2 if byte == 91 else (3 if byte == 123 else 0))
    if bracket != 0:
        s[NEST] = ((s[NEST] << 2) | bracket) & 0x3FFFFFFF     # the innermost 15 kept
    elif byte == 41 or byte == 93 or byte == 125:
        s[NEST] >>= 2
    if byte == 10:
        s[LINE1] = s[LINE]
        s[LINE] = pos + 1
    if detect_records:
        _detect_records(h, byte, pos)
    s[POS] = pos + 1


@inline
def _push_followers(h, byte):
    """The byte just coded follows the last byte and the last two: shift it into their entries
    (before C4 moves on, while C4 still ends with those contexts)."""
    c4 = h.s[C4]
    c1 = c4 & 0xFF
    c2c1 = c4 & 0xFFFF
    h.ind1[c1] = ((np.int64(h.ind1[c1]) << 8) | byte) & 0xFFFF
    h.ind2[c2c1] = ((np.int64(h.ind2[c2c1]) << 8) | byte) & 0xFFFF


@inline
def followers_key(context):
    """The last three or four bytes (below 2^32) hashed to 16 bits: their entry in ind3, ind4."""
    return ((context * 0x2F0F1F3B) >> 16) & 0xFFFF


@inline
def _detect_records(h, byte, pos):
    """Fixed-size records (tables, images, database dumps): when a byte value recurs at the same
    distance three times in a row (six times for distances up to 32, which text produces by
    chance), that distance is a candidate record length.  Two candidates are counted; one seen
    RECORD_EVIDENCE times becomes the record length (the idea of paq8's record model)."""
    s = h.s
    at = h.seen_at
    mask = h.buf.shape[0] - 1
    r = pos + 1 - at[byte, 0]
    if (at[byte, 2] > 0 and 1 < r <= MAX_RECORD and r == at[byte, 0] - at[byte, 1]
            and r == at[byte, 1] - at[byte, 2]
            and (r > 32 or (at[byte, 3] > 0 and r == at[byte, 2] - at[byte, 3]
                            and pos >= 5 * r and h.buf[(pos - 4 * r) & mask] == byte
                            and h.buf[(pos - 5 * r) & mask] == byte))):
        if r == s[CANDIDATE1]:
            s[COUNT1] += 1
        elif r == s[CANDIDATE2]:
            s[COUNT2] += 1
        elif s[COUNT1] > s[COUNT2]:
            s[CANDIDATE2] = r
            s[COUNT2] = 1
        else:
            s[CANDIDATE1] = r
            s[COUNT1] = 1
        if s[COUNT1] >= RECORD_EVIDENCE and s[RECORD] != s[CANDIDATE1]:
            s[RECORD] = s[CANDIDATE1]
            s[COUNT1] = 0
            s[COUNT2] = 0
        elif s[COUNT2] >= RECORD_EVIDENCE and s[RECORD] != s[CANDIDATE2]:
            s[RECORD] = s[CANDIDATE2]
            s[COUNT1] = 0
            s[COUNT2] = 0
    at[byte, 3] = at[byte, 2]
    at[byte, 2] = at[byte, 1]
    at[byte, 1] = at[byte, 0]
    at[byte, 0] = pos + 1
