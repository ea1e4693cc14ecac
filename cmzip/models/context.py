"""Hashed context models: for each context (order-n bytes, the current word, sparse byte
patterns, ...) a table of bit histories.  Each bit history names an entry of the predictor's
StateMap (one block of 256 entries per context), which turns it into a learned probability.

Per byte, each context of each lane is hashed once.  At bit 0 and bit 4 the hash, extended by the
bits of the byte seen so far, picks a 16-slot bucket: slot 0 holds an 8-bit check of the hash
(a mismatch means another context owns the bucket: it is cleared and taken over), slots 1..15
hold the bit histories of the 15 partial nibbles.  Each slot is a StateMap state index.

All contexts of all lanes are handled as one (n_contexts, L) array per operation.
"""
import numpy as np

from ..statemap import NEXT_STATE, N_STATES, initial_p22
from .history import is_letter

_NEXT = NEXT_STATE.ravel()          # _NEXT[2 * state + bit]
_K1 = np.uint64(0x9E3779B97F4A7C15)
_K2 = np.uint64(0xD6E8FEB86659FD93)
_MASK = [np.uint64((1 << (8 * k)) - 1) for k in range(9)]


def _mix(v, salt):
    """64-bit hash of v (uint64 array) with a per-context salt."""
    h = (v + np.uint64(salt)) * _K1
    h ^= h >> np.uint64(29)
    return h * _K2


def context_values(name, hist):
    """The raw context of every lane for context `name`, as uint64 (before hashing)."""
    c4, c8 = hist.c4, hist.c8
    if name.startswith("o"):                       # o0 .. o8: the last n bytes
        n = int(name[1:])
        if n <= 4:
            return c4 & _MASK[n]
        return c4 | ((c8 & _MASK[n - 4]) << np.uint64(32))
    if name == "word":                             # current word, and the byte before it
        return hist.word ^ (c4 & _MASK[1]) * np.uint64(is_letter(hist.c1()) == 0)
    if name == "word2":                            # current and previous word
        return hist.word ^ (hist.word1 * np.uint64(0x5851F42D4C957F2D))
    if name == "sparse1":                          # bytes 2..3 back
        return (c4 >> np.uint64(8)) & _MASK[2]
    if name == "sparse2":                          # bytes 3..4 back
        return (c4 >> np.uint64(16)) & _MASK[2]
    if name == "sparse3":                          # bytes 1 and 3 back
        return c4 & np.uint64(0xFF00FF)
    if name == "sparse4":                          # bytes 2 and 4 back
        return c4 & np.uint64(0xFF00FF00)
    raise ValueError(f"unknown context {name!r}")


class ContextModel:
    def __init__(self, contexts, table_bits):
        self.contexts = list(contexts)
        self.n_maps = n = len(self.contexts)     # StateMap look-ups per bit
        self.table_bits = table_bits
        self.table = np.zeros(n << table_bits, dtype=np.uint8)
        self.offset = (np.arange(n, dtype=np.uint64) << np.uint64(table_bits))[:, None]
        self.map_size = n * 256
        self.map_init = np.tile(np.pad(initial_p22(), (0, 256 - N_STATES)), n)
        self.map_offset = (np.arange(n, dtype=np.int64) * 256)[:, None]   # + the predictor's base

    def start_block(self, hist):
        self.hashes = np.zeros((self.n_maps, hist.lanes), dtype=np.uint64)

    def start_byte(self, hist):
        for i, name in enumerate(self.contexts):
            self.hashes[i] = _mix(context_values(name, hist), i + 1)

    def _select_bucket(self, c0):
        """At a nibble boundary: find (or claim) each context's bucket for the bits seen so far."""
        h = _mix(self.hashes ^ c0.astype(np.uint64), 77)
        bucket = (h >> np.uint64(64 - self.table_bits + 4)) << np.uint64(4)
        self.base = (bucket + self.offset).astype(np.int64)
        check = np.maximum(h >> np.uint64(56), np.uint64(1)).astype(np.uint8)   # 0 marks "empty"
        stale = self.table[self.base] != check
        if stale.any():
            base = self.base[stale]
            self.table[base[:, None] + np.arange(16)] = 0
            # several lanes may claim one bucket: the largest check wins, whatever the lane order
            np.maximum.at(self.table, base, check[stale])

    def bit_contexts(self, c0, bitpos):
        """StateMap entries (n_maps, L) that predict this bit."""
        if bitpos == 0 or bitpos == 4:
            self._select_bucket(c0)
        if bitpos < 4:
            nibble = c0                                      # 1 followed by this nibble's bits
        else:
            k = bitpos - 4
            nibble = (c0 & ((1 << k) - 1)) | (1 << k)
        self.slot = self.base + nibble
        self.state = self.table[self.slot].astype(np.int64)
        return self.state + self.map_offset

    def update(self, bits):
        new = _NEXT[2 * self.state + bits]
        # lanes sharing a slot: clear, then keep the largest new state (order independent)
        self.table[self.slot] = 0
        np.maximum.at(self.table, self.slot, new)
