"""Checksummed bucket table: where the context models keep their bit histories.

The table is an array of 16-byte slots.  A slot belongs to one context at one nibble boundary:
byte 0 is an 8-bit check of the context's hash, bytes 1..15 are the bit-history states of the 15
partial nibbles (1, 1x, 1xx, 1xxx in binary) that can follow.  A look-up probes the four slots
of one 64-byte cache line; if none carries the check, the one whose first state has seen the
fewest bits is cleared and taken over (so frequent contexts survive collisions; lpaq's policy).
(Probing three, as before, left every fourth slot unused.)

Hashes are 32-bit values held in int64: the low bits choose the cache line, the top 8 the check.
"""
import numpy as np

from .jit import inline, prefetch
from .memory import big_zeros

SLOT = 16


def new_table(slot_bits):
    """A table of 2**slot_bits slots (16 bytes each)."""
    return big_zeros(SLOT << slot_bits, np.uint8)


@inline
def prefetch_line(table, h, slot_mask):
    """Start bringing in the cache line that find_slot(table, h, ...) will read."""
    prefetch(table, ((h * 4) & slot_mask) * SLOT)


@inline
def find_slot(table, h, slot_mask, priority):
    """The index of byte 0 of the slot for 32-bit hash h (claiming one if needed).  slot_mask
    is (number of slots - 1); priority[state] ranks slots for replacement."""
    check = (h >> 24) & 255
    first = (h * 4) & slot_mask                  # the first of the 4 slots of a 64-byte line
    best = first
    best_priority = 1 << 30
    for k in range(4):
        i = (first + k) * SLOT
        if table[i] == check:
            return i
        pr = priority[table[i + 1]]
        if pr < best_priority:
            best_priority = pr
            best = first + k
    i = best * SLOT
    for k in range(SLOT):
        table[i + k] = 0
    table[i] = check
    return i
