"""Bit-image model: predicts the pixels of 1-bit-per-pixel images (fax pages, scanned text,
bitmaps) from the pixels around them, in the row being coded and the three rows above.

The row width is the record length the History detects (models/history.py), in bytes; each
byte holds eight pixels, most significant first, so bit position b of the next byte is the
pixel in column 8 * x + b.  Per byte the model reads the three bytes around the pixel's column
in each of the rows above (above-left, above, above-right); per bit it forms small contexts of
neighbouring pixels (templates, as a fax coder's: JBIG's idea) and looks each up in a directly
indexed StateMap: no hashing, no collisions.  Each gives the mixer its stretched probability,
and the nearest pixels choose a weight set (the "image" selector, predictor.py).  Without a
detected record length, or on text, the inputs are 0 and nothing learns.

On bytes that are not pixels (tables, 8-bit images) the same contexts read "the same bit of
the bytes above", which is weaker but not wrong: the mixer weighs them.

Contexts 8 and 9 are wide: 12 or 16 pixels left and 17 above in each of the two or three rows
above, hashed into a map of up to 2^22 entries each (an entry per bit of the first block, at
least 2^16; collisions are rare enough to ignore).  A
scanned page repeats its glyphs, and a wide context tells one glyph's stroke from another's
where the 16-pixel templates cannot (model version 14; measured in levels.py).

A level takes the first `image` contexts of the list in contexts().  The order is a judgement,
not a measured ranking: the 16-pixel template first, then the ones reaching furthest up (level
4's five were measured as a set, not one by one), the wide ones last.
"""
from typing import NamedTuple

import numpy as np

from ..jit import inline
from ..statemap import COUNT_BITS, P22, sm_p16, sm_update
from .history import C4, RECORD, byte_back

MAX_CONTEXTS = 10
N_SMALL = 8                 # contexts 0-7: templates of at most 16 pixels, indexed directly
CONTEXT_BITS = 16           # each one's StateMap: 2^16 entries (256 KiB)
WIDE_BITS = 22              # contexts 8-9: hashed, up to 2^22 entries each (16 MiB); fewer
                            # where the input is small (new_image)
LIMIT = 1023                # StateMap counts stop here (images are stationary: average long)

# Image.s: scalars
WIDTH = 0                   # the row width in bytes; 0: off (no rows detected, or text)
ROW1 = 1                    # 24 pixels of the row above around the next byte: the bytes
ROW2 = 2                    # above-left, above and above-right, the leftmost pixel highest;
ROW3 = 3                    # ROW2 and ROW3 the same of the two rows above that
NEIGHBOURS = 4              # 1 + the nearest five pixels (two left, three above), 0: no rows
TEXT = 5                    # the share of text bytes among the last few hundred (16-bit fixed
                            # point)
WIDE = 6                    # log2 of each wide context's entries
N_SCALARS = 7
# Text is not pixels: where more than this share of the recent bytes are printable characters
# or line ends, the model is off even with a record length (text lines can make one), and costs
# nothing (pic and bitmaps are mostly runs of 0x00 and 0xFF)
TEXT_LIMIT = 3 << 14        # 3/4


WIDE_START = N_SMALL << CONTEXT_BITS       # where the wide contexts' StateMaps start in sm


def map_start(i, wide_bits=WIDE_BITS):
    """Where context i's StateMap starts in Image.sm."""
    if i < N_SMALL:
        return i << CONTEXT_BITS
    return WIDE_START + ((i - N_SMALL) << wide_bits)


def map_size(i, wide_bits=WIDE_BITS):
    return 1 << (CONTEXT_BITS if i < N_SMALL else wide_bits)


class Image(NamedTuple):
    sm: np.ndarray          # uint32: a StateMap per context (map_start, map_size)
    at: np.ndarray          # int64 (MAX_CONTEXTS,): the entries that predict this bit
    s: np.ndarray           # int64 scalars (WIDTH, ROW1, ...)


def new_image(n_contexts, wide_bits=WIDE_BITS):
    """The model with its first n_contexts contexts (0: off, and its arrays stay unread), the
    wide ones with 2^wide_bits entries each (at most WIDE_BITS)."""
    if not 0 <= n_contexts <= MAX_CONTEXTS:
        raise ValueError(f"the bit-image model has 0 to {MAX_CONTEXTS} contexts")
    if not CONTEXT_BITS <= wide_bits <= WIDE_BITS:
        raise ValueError(f"wide contexts have 2^{CONTEXT_BITS} to 2^{WIDE_BITS} entries")
    sm = np.full(map_start(n_contexts, wide_bits), (P22 // 2) << COUNT_BITS, dtype=np.uint32)
    s = np.zeros(N_SCALARS, dtype=np.int64)
    s[WIDE] = wide_bits
    return Image(sm, np.zeros(MAX_CONTEXTS, dtype=np.int64), s)


@inline
def _row_bytes(h, distance):
    """The byte `distance` bytes back and its neighbours, as 24 bits (the left one highest)."""
    return (byte_back(h, distance + 1) << 16) | (byte_back(h, distance) << 8) | byte_back(
        h, distance - 1)


@inline
def start_byte(im, h):
    """Read the rows above the next byte (after the History took the last one)."""
    last = h.s[C4] & 255
    text = 1 if 32 <= last < 127 or last == 10 or last == 13 or last == 9 else 0
    im.s[TEXT] += ((text << 16) - im.s[TEXT]) >> 8      # an average over about 256 bytes
    width = h.s[RECORD]
    if width < 2 or im.s[TEXT] > TEXT_LIMIT:
        width = 0
    im.s[WIDTH] = width
    if width == 0:
        im.s[NEIGHBOURS] = 0
    else:
        im.s[ROW1] = _row_bytes(h, width)
        im.s[ROW2] = _row_bytes(h, 2 * width)
        im.s[ROW3] = _row_bytes(h, 3 * width)


@inline
def active(im):
    """Whether the model predicts the next byte's bits (rows were found, and not in text)."""
    return im.s[WIDTH] > 0


@inline
def _mix(h, v):
    """A 48-bit hash of h (below 2^48) and v (below 2^17): h * A + v tells the pairs apart, the
    odd multiplier spreads them over the high bits (wrapping in 64 bits, masked to 48)."""
    return ((h * 0x2F0F1F3B + v + 1) * 0x9E3779B1) & 0xFFFFFFFFFFFF


@inline
def contexts(im, h, c0, bitpos, n_contexts):
    """Set im.at to this bit's StateMap entries and NEIGHBOURS (only while active)."""
    # the pixels left of this one, the nearest lowest: this byte's bits so far after the last
    # two bytes' (16 + bitpos pixels)
    left = ((h.s[C4] & 0xFFFF) << bitpos) | (c0 ^ (1 << bitpos))
    # the pixels above: bit 15 - bitpos of a row's 24 bits is the one straight above this one;
    # a7 and b7 hold it in their bit 3, with three pixels either side (the left ones higher),
    # a11 in its bit 5 with five either side, c5 in its bit 2 with two either side
    shift = 12 - bitpos
    a7 = (im.s[ROW1] >> shift) & 0x7F
    b7 = (im.s[ROW2] >> shift) & 0x7F
    a11 = (im.s[ROW1] >> (shift - 2)) & 0x7FF
    c5 = (im.s[ROW3] >> (shift + 1)) & 0x1F
    im.s[NEIGHBOURS] = 1 + (((left & 3) << 3) | ((a7 >> 2) & 7))
    n = CONTEXT_BITS            # every small context fits in n bits: no index leaves its map
    # four left, seven above, five two rows up (JBIG2's 16-pixel template)
    im.at[0] = (0 << n) | ((left & 0xF) << 12) | (a7 << 5) | ((b7 >> 1) & 0x1F)
    # four rows: three left, five above, three and five further up
    im.at[1] = (1 << n) | ((left & 0x7) << 13) | (((a7 >> 1) & 0x1F) << 8) | (
        ((b7 >> 2) & 7) << 5) | c5
    # eight left, seven above
    im.at[2] = (2 << n) | ((left & 0xFF) << 7) | a7
    # four left, seven above, three two rows up
    im.at[3] = (3 << n) | ((left & 0xF) << 10) | (a7 << 3) | ((b7 >> 2) & 7)
    # six left, three above, five two rows up
    im.at[4] = (4 << n) | ((left & 0x3F) << 8) | (((a7 >> 2) & 7) << 5) | ((b7 >> 1) & 0x1F)
    # two left, eleven above, one two rows up
    im.at[5] = (5 << n) | ((left & 0x3) << 12) | (a11 << 1) | ((b7 >> 3) & 1)
    # seven above, seven two rows up (nothing of this row)
    im.at[6] = (6 << n) | (a7 << 7) | b7
    # twelve left, one above (runs along the row)
    im.at[7] = (7 << n) | ((left & 0xFFF) << 1) | ((a7 >> 3) & 1)
    if n_contexts > N_SMALL:
        # wide: 17 pixels of each row above (eight either side), 12 or 16 left
        r1 = (im.s[ROW1] >> (7 - bitpos)) & 0x1FFFF
        r2 = (im.s[ROW2] >> (7 - bitpos)) & 0x1FFFF
        r3 = (im.s[ROW3] >> (7 - bitpos)) & 0x1FFFF
        size = np.int64(1) << im.s[WIDE]
        h = _mix(_mix(left & 0xFFF, r1), r2)
        im.at[8] = WIDE_START + ((h >> 16) & (size - 1))
        if n_contexts > N_SMALL + 1:
            h = _mix(_mix(_mix(left & 0xFFFF, r1), r2), r3)
            im.at[9] = WIDE_START + size + ((h >> 16) & (size - 1))


@inline
def p16(im, i):
    return sm_p16(im.sm, im.at[i])


@inline
def update_bit(im, bit, n_contexts, step):
    """The first n_contexts StateMaps learn the bit (while active)."""
    if not active(im):
        return
    for i in range(n_contexts):
        sm_update(im.sm, im.at[i], bit, LIMIT, step)
