"""The hashed contexts a level can use, and their hashes for the next byte.

Each context is a summary of what came before the next byte: the last n bytes (orders), the
current and previous words, the column in a line of text and the byte above it, byte patterns
with gaps (sparse), the position in a 32-bit word (binaries), the bytes above in fixed-length
records (tables, images), the classes of the last bytes (the form of a text), the byte the
match model expects.  Once per byte, each context of the level is hashed to 32 bits with its
own salt; the predictor looks the hash up in the bucket table at the two nibble boundaries of the
byte.
"""
import numpy as np

from ..jit import inline
from .history import (C4, C8, LINE, NEST, POS, RECORD, SHAPE, WORD, WORD1, WORD2, byte_back,
                      char_class, column_above, followers_key, is_letter, word_start)

M32 = 0xFFFFFFFF

# name -> id; the ids are part of the format (a level's list of ids is in its fingerprint)
CONTEXT_IDS = {
    **{f"o{n}": n for n in range(9)},      # the last n bytes
    "word": 9,        # the current word (letters only, case-folded); between words, the byte before
    "word2": 10,      # the current and the previous word
    "sparse1": 11,    # bytes 2..3 back
    "sparse2": 12,    # bytes 3..4 back
    "sparse3": 13,    # bytes 1 and 3 back
    "sparse4": 14,    # bytes 2 and 4 back
    "sparse5": 15,    # byte 4 back
    "aligned2": 16,   # the last two bytes and the position's parity: 16-bit aligned code and data
    "aligned4": 17,   # the last byte and the position in a 32-bit word
    # the same byte of the two 32-bit words before, and the position in the word: fixed-width
    # machine instructions and tables of 32-bit numbers
    "stride4": 18,
    # fixed-width instructions (SPARC, MIPS: 32-bit words, big-endian, the opcode in the first
    # byte): the position in the word and its bytes so far, with the first bytes of the previous
    # four words (the instruction sequence)
    "insn_ops": 19,
    "rec1": 20,       # fixed-length records: the byte above
    "rec2": 21,       # ... with the byte to the left
    "rec3": 22,       # ... and the byte two rows above
    "column": 23,     # the column within the record, with the byte to the left
    # indirect (paq8): the last byte (two bytes) with the bytes that followed its last occurrences
    "ind1": 24,       # the last byte and its last two followers
    "ind2": 25,       # the last two bytes and their last follower
    # text: words further back, and lines (the column and the byte above it; paq8's word model)
    "word3": 26,      # the current word and the two before it
    "wskip": 27,      # the current word and the one before the previous
    "col": 28,        # the column in the line and the byte above
    "above": 29,      # the byte above and the last byte
    "wc1": 30,        # the previous word and the last two bytes
    "colc1": 31,      # the column and the last byte
    # the byte the match model expects (paq8px's match model): what follows where it predicts X
    # is learnt in a context of its own (contexts of a byte that is not coded yet would be
    # useless; its prediction is not)
    "mexp": 32,       # the expected byte and the match length's class; without a match, o1
    "mexpc1": 33,     # ... and the last byte; without a match, o2
    # character classes (history.char_class; paq8px's char-group model): the form of the text
    # around the next byte whatever its letters, digits and words are
    "cls12": 34,      # the classes of the last 12 bytes
    "clsc1": 35,      # the classes of the last 4 bytes, and the last byte
    "shape": 36,      # the last 10 runs of one class (the shape: history.SHAPE)
    "shapec1": 37,    # the last 4 runs, and the last byte
    "shapew": 38,     # the last 3 runs, and the current word
    "clsc2": 39,      # the classes of bytes 3-8 back, and the last two bytes
    "shapec2": 40,    # the last 6 runs, and the last two bytes
    "clsc3": 41,      # the classes of bytes 4-11 back, and the last three bytes
    # the brackets open (history.NEST; paq8px's nest model): program text, markup, formulas
    "nests": 42,      # the innermost 6 open brackets, and the last 3 runs' classes
    "nestw": 43,      # the innermost 3, and the current word
    # indirect, of words: the word that followed the previous word when it occurred last, and
    # the current word so far (history.next_word)
    "wnext": 44,
    # (45: measured, not kept: levels.py)
    "shapeword2": 46, # the last 3 runs' classes, and the previous word
    "linecol": 47,    # the line's first two bytes, and the column (beyond 255 counted as 255)
    # the last byte with the last two bytes that followed the last three (four) bytes: indirect
    # contexts of orders 3 and 4 (history.ind3, ind4)
    "ind3": 48,
    "ind4": 49,
}
USES_RECORDS = {"rec1", "rec2", "rec3", "column"}
USES_FOLLOWERS = {"ind1", "ind2"}
USES_LONG_FOLLOWERS = {"ind3", "ind4"}


@inline
def hash32(a, b, salt):
    """A 32-bit hash of two 32-bit values and a salt (integer arithmetic, wraps mod 2^64)."""
    x = (a * 0x9E3779B1 + b * 0x85EBCA77 + (salt + 1) * 0xC2B2AE3D) & M32
    x ^= x >> 15
    x = (x * 0x2C1B3C6D) & M32
    x ^= x >> 12
    x = (x * 0x297A2D39) & M32
    x ^= x >> 15
    return x


@inline
def _above(h, rows):
    r = h.s[RECORD]
    if r == 0:
        return 0
    return byte_back(h, rows * r)


@inline
def _classes(c4, c8, n):
    """The classes of the last n <= 8 bytes (c4 and c8: History's), 3 bits each, the last byte's
    highest."""
    g = 0
    for k in range(n):
        byte = (c4 >> (8 * k)) & 255 if k < 4 else (c8 >> (8 * (k - 4))) & 255
        g = (g << 3) | char_class(byte)
    return g


@inline
def _classes_back(h, first, last, g):
    """g followed by the classes of the bytes first..last back (beyond c4 and c8), 3 bits each,
    the furthest lowest."""
    for k in range(first, last + 1):
        g = (g << 3) | char_class(byte_back(h, k))
    return g


@inline
def context_hash(h, cid, expected):
    """The 32-bit hash of context `cid` for the next byte.  expected: 0 without a match, else
    the byte the match model expects + 256, with its length class (1-3) from bit 9 up."""
    s = h.s
    c4, c8, pos = s[C4], s[C8], s[POS]
    lo, hi = 0, 0
    if cid <= 4:
        lo = c4 & ((1 << (8 * cid)) - 1)
    elif cid <= 8:
        lo = c4
        hi = c8 & ((1 << (8 * (cid - 4))) - 1)
    elif cid == 9:
        lo = s[WORD]
        if not is_letter(c4 & 255):
            hi = c4 & 255
    elif cid == 10:
        lo, hi = s[WORD], s[WORD1]
    elif cid == 11:
        lo = (c4 >> 8) & 0xFFFF
    elif cid == 12:
        lo = (c4 >> 16) & 0xFFFF
    elif cid == 13:
        lo = c4 & 0xFF00FF
    elif cid == 14:
        lo = c4 & 0xFF00FF00
    elif cid == 15:
        lo = c4 >> 24
    elif cid == 16:
        lo = (c4 & 0xFFFF) | ((pos & 1) << 16)
    elif cid == 17:
        lo = (c4 & 0xFF) | ((pos & 3) << 8)
    elif cid == 18:
        lo = (pos & 3) | (byte_back(h, 4) << 8) | (byte_back(h, 8) << 16)
    elif cid == 19:
        k = pos & 3
        lo = k | ((c4 & ((1 << (8 * k)) - 1)) << 8)
        hi = (word_start(h, 1) | (word_start(h, 2) << 8) | (word_start(h, 3) << 16)
              | (word_start(h, 4) << 24))
    elif cid == 20:
        lo = _above(h, 1) | (s[RECORD] << 16)
    elif cid == 21:
        lo = _above(h, 1) | ((c4 & 0xFF) << 8) | (s[RECORD] << 16)
    elif cid == 22:
        lo = _above(h, 1) | (_above(h, 2) << 8) | (s[RECORD] << 16)
    elif cid == 23:
        r = s[RECORD]
        column = pos % r if r > 0 else 0
        lo = (column << 8) | (c4 & 0xFF)
        hi = r
    elif cid == 24:
        c1 = c4 & 0xFF
        lo = c1 | ((np.int64(h.ind1[c1]) & 0xFFFF) << 8)
    elif cid == 25:
        c2c1 = c4 & 0xFFFF
        lo = c2c1 | ((np.int64(h.ind2[c2c1]) & 0xFF) << 16)
    elif cid == 26:
        lo = s[WORD]
        hi = s[WORD1] * 0x2F0F3A1B + s[WORD2]
    elif cid == 27:
        lo, hi = s[WORD], s[WORD2]
    elif cid == 28:
        column, above = column_above(h)
        lo = column | (above << 8)
    elif cid == 29:
        column, above = column_above(h)
        lo = above | ((c4 & 0xFF) << 8)
    elif cid == 30:
        lo = s[WORD1]
        hi = c4 & 0xFFFF
    elif cid == 31:
        column, above = column_above(h)
        lo = column | ((c4 & 0xFF) << 8)
    elif cid == 32:
        lo = expected if expected != 0 else c4 & 0xFF
    elif cid == 33:
        lo = expected
        hi = c4 & (0xFF if expected != 0 else 0xFFFF)
    elif cid == 34:
        lo = _classes(c4, c8, 8)
        hi = _classes_back(h, 9, 12, 0)
    elif cid == 35:
        lo = _classes(c4, c8, 4)
        hi = c4 & 0xFF
    elif cid == 36:
        lo = s[SHAPE]
    elif cid == 37:
        lo = s[SHAPE] & 0xFFF
        hi = c4 & 0xFF
    elif cid == 38:
        lo = s[SHAPE] & 0x1FF
        hi = s[WORD]
    elif cid == 39:
        lo = _classes(c4, c8, 8) & 0x3FFFF
        hi = c4 & 0xFFFF
    elif cid == 40:
        lo = s[SHAPE] & 0x3FFFF
        hi = c4 & 0xFFFF
    elif cid == 41:
        lo = _classes_back(h, 9, 11, _classes(c4, c8, 8) & 0x7FFF)
        hi = c4 & 0xFFFFFF
    elif cid == 42:
        lo = s[NEST] & 0xFFF
        hi = s[SHAPE] & 0x1FF
    elif cid == 43:
        lo = s[NEST] & 0x3F
        hi = s[WORD]
    elif cid == 44:
        lo = np.int64(h.next_word[s[WORD1] & 0xFFFF])
        hi = s[WORD]
    elif cid == 46:
        lo = s[SHAPE] & 0x1FF
        hi = s[WORD1]
    elif cid == 47:
        column = min(pos - s[LINE], 255)
        first = byte_back(h, column) if column >= 1 else 0
        second = byte_back(h, column - 1) if column >= 2 else 0
        lo = first | (second << 8) | (column << 16)
    elif cid == 48:
        lo = c4 & 0xFF
        hi = np.int64(h.ind3[followers_key(c4 & 0xFFFFFF)])
    elif cid == 49:
        lo = c4 & 0xFF
        hi = np.int64(h.ind4[followers_key(c4)])
    return hash32(lo & M32, hi & M32, cid)
