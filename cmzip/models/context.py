"""Hashed context models: for each context (order-n bytes, the current word, sparse byte
patterns, the bytes above in fixed-length records) a table of bit histories.  Each bit history
names an entry of the predictor's StateMap (one block of 256 entries per context), which turns
it into a learned probability.

Per byte, each context of each lane is hashed once.  At bit 0 and bit 4 the hash, extended by the
bits of the byte seen so far, picks a 16-slot bucket: slot 0 holds an 8-bit check of the hash
(a mismatch means another context owns the bucket: it is cleared and taken over), slots 1..15
hold the bit histories of the 15 partial nibbles.

All contexts of all lanes are handled as one (n_contexts, L) array per operation.
"""
import numpy as np

from ..statemap import NEXT_STATE, N_STATES, initial_p22
from .history import is_letter

_NEXT = NEXT_STATE.ravel()          # _NEXT[2 * state + bit]
_K1 = np.uint64(0x9E3779B97F4A7C15)
_K2 = np.uint64(0xD6E8FEB86659FD93)
_U = np.uint64
_OWNER_SIZE = 1 << 18


def _mask(n_bytes):
    return _U((1 << (8 * n_bytes)) - 1)


def _order(n):
    """The last n bytes (n <= 8)."""
    if n <= 4:
        return lambda h: h.c4 & _mask(n)
    return lambda h: h.c4 | ((h.c8 & _mask(n - 4)) << _U(32))


def _word_so_far(h):
    """The position in the current 32-bit word and the word's bytes before this one."""
    k = (h.pos & 3).astype(np.uint64)
    return k | ((h.c4 & ((_U(1) << (k * _U(8))) - _U(1))) << _U(8))


def _above(h, rows=1):
    """The byte `rows` records back in each lane (0 where no record length is known)."""
    r = h.record
    return h.lane_bytes_back(np.where(r > 0, rows * r, 1 << 40)).astype(np.uint64)


# name -> the raw context of every lane (uint64 array), before hashing
CONTEXTS = {
    **{f"o{n}": _order(n) for n in range(9)},
    # the current word (letters only, case-folded) and, between words, the byte before
    "word": lambda h: h.word ^ (h.c4 & _mask(1)) * _U(1 - is_letter(h.c1())),
    # the current and the previous word
    "word2": lambda h: h.word ^ (h.word1 * _U(0x5851F42D4C957F2D)),
    # sparse contexts: byte patterns with gaps, for binary data
    "sparse1": lambda h: (h.c4 >> _U(8)) & _mask(2),          # bytes 2..3 back
    "sparse2": lambda h: (h.c4 >> _U(16)) & _mask(2),         # bytes 3..4 back
    "sparse3": lambda h: h.c4 & _U(0xFF00FF),                 # bytes 1 and 3 back
    "sparse4": lambda h: h.c4 & _U(0xFF00FF00),               # bytes 2 and 4 back
    "sparse5": lambda h: h.c4 >> _U(24),                      # byte 4 back
    # the last two bytes and the position's parity: 16-bit aligned code and data
    "aligned2": lambda h: (h.c4 & _mask(2)) | ((h.pos & 1).astype(np.uint64) << _U(16)),
    "aligned4": lambda h: (h.c4 & _mask(1)) | ((h.pos & 3).astype(np.uint64) << _U(8)),
    # the same byte of the two 32-bit words before, and the position in the word: fixed-width
    # machine instructions and tables of 32-bit numbers (obj2 at level 5: 1.9918 -> 1.9781)
    "stride4": lambda h: (h.pos & 3).astype(np.uint64)
    | (h.lane_bytes_back(4).astype(np.uint64) << _U(8))
    | (h.lane_bytes_back(8).astype(np.uint64) << _U(16)),
    # fixed-width instructions (SPARC, MIPS: 32-bit words, big-endian, the opcode in the first
    # byte): the position in the word and its bytes so far, with the first bytes of the previous
    # four words (the instruction sequence)
    "insn_ops": lambda h: _word_so_far(h) ^ (
        (h.word_start(1) | (h.word_start(2) << 8) | (h.word_start(3) << 16)
         | (h.word_start(4) << 24)).astype(np.uint64) * _U(0x9E3779B97F4A7C15)),
    # fixed-length records (tables, images): the byte above, with the left byte, two rows
    "rec1": lambda h: _above(h) | (h.record.astype(np.uint64) << _U(16)),
    "rec2": lambda h: _above(h) | ((h.c4 & _mask(1)) << _U(8)) | (h.record.astype(np.uint64) << _U(16)),
    "rec3": lambda h: _above(h) | (_above(h, 2) << _U(8)) | (h.record.astype(np.uint64) << _U(16)),
    # column within the record, with the byte to the left
    "column": lambda h: (h.pos % np.maximum(h.record, 1)).astype(np.uint64) << _U(8)
    | (h.c4 & _mask(1)) | (h.record.astype(np.uint64) << _U(24)),
}


def _mix(v, salt):
    """64-bit hash of v (uint64 array) with a salt."""
    h = (v + salt) * _K1
    h ^= h >> _U(29)
    return h * _K2


class ContextModel:
    def __init__(self, contexts, table_bits):
        unknown = [c for c in contexts if c not in CONTEXTS]
        if unknown:
            raise ValueError(f"unknown contexts {unknown}")
        self.contexts = list(contexts)
        self.n_maps = n = len(self.contexts)     # StateMap look-ups per bit
        self.table_bits = table_bits
        self.table = np.zeros(n << table_bits, dtype=np.uint8)
        self.offset = (np.arange(n, dtype=np.uint64) << _U(table_bits))[:, None]
        self.salt = np.arange(1, n + 1, dtype=np.uint64)[:, None] * _U(0x1000193)
        self.map_size = n * 256
        self.map_init = np.tile(np.pad(initial_p22(), (0, 256 - N_STATES)), n)
        self.map_base = 0                        # set by the predictor: where our entries start

    def map_confidence(self, novel_prior):
        """Prior weight of each StateMap entry's initial p: the entry for "never seen" (state 0)
        is shared by every new context, so lanes in lockstep must not swing it too easily."""
        weight = np.zeros(self.map_size, dtype=np.int64)
        weight[::256] = novel_prior
        return weight

    def start_block(self, hist):
        self.values = np.zeros((self.n_maps, hist.lanes), dtype=np.uint64)
        self.rank = np.arange(self.n_maps * hist.lanes, dtype=np.int32)
        self.owner = np.full(_OWNER_SIZE, -1, dtype=np.int32)
        self.map_offset = (self.map_base + np.arange(self.n_maps, dtype=np.int64) * 256)[:, None]

    def start_byte(self, hist):
        for i, name in enumerate(self.contexts):
            self.values[i] = CONTEXTS[name](hist)
        self.hashes = _mix(self.values, self.salt)

    def _select_bucket(self, c0):
        """At a nibble boundary: find (or claim) each context's bucket for the bits seen so far."""
        h = _mix(self.hashes ^ c0.astype(np.uint64), _U(77))
        self.base = ((h >> _U(64 - self.table_bits + 4) << _U(4)) + self.offset).astype(np.int64)
        check = np.maximum(h >> _U(56), _U(1)).astype(np.uint8)       # 0 marks an empty bucket
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
        new = _NEXT[2 * self.state + bits].ravel()
        slot = self.slot.ravel()
        # Lanes sharing a slot: the last lane's update wins, as if the lanes were coded one
        # after another.  "Last" is decided by an order-independent maximum over lane ranks in a
        # small hashed owner table (a rare owner-key collision drops an update, deterministically)
        # rather than trusting numpy's unspecified order for repeated fancy-index writes.
        key = slot & (_OWNER_SIZE - 1)
        np.maximum.at(self.owner, key, self.rank)
        wins = self.owner[key] == self.rank
        self.table[slot[wins]] = new[wins]
        self.owner[key] = -1
