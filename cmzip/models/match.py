"""Match model: finds the last occurrence of the current context (the last `min_len` bytes) and
predicts that the byte which followed it then follows now, with a confidence learned per match
length by a StateMap.  Long repeats in text and binaries cost almost nothing.

Occurrences are remembered in a hash table of buffer positions shared by all lanes; a lane may
follow a match into any bytes already coded (its own or another lane's).
"""
import numpy as np


MAX_LEN = 65535
RECOVER_LEN = 16      # matches at least this long survive one mismatched byte
_VERIFY = 32          # bytes compared backwards when a candidate is found


# match length -> confidence bucket 0..15 (0: no match); roughly logarithmic beyond 12
_BUCKET = np.minimum(15, np.concatenate([np.arange(13), 13 + (np.arange(13, 65536) >= 24)
                                         + (np.arange(13, 65536) >= 48)]))


class MatchModel:
    n_maps = 1              # StateMap look-ups per bit: (length bucket, expected bit)
    map_size = 32
    map_init = None
    map_base = 0            # set by the predictor: where our StateMap entries start
    n_inputs = 1            # direct input: the expected bit, signed, scaled by the length

    def __init__(self, table_bits, min_len):
        self.table_bits, self.min_len = table_bits, min_len
        self.table = np.zeros(1 << table_bits, dtype=np.int64)   # position + 1 of the byte after a context

    def map_confidence(self, novel_prior):
        return np.zeros(self.map_size, dtype=np.int64)

    def start_block(self, hist):
        # positions refer to the block buffer, so matches do not reach into earlier blocks
        self.table[:] = 0
        self.ptr = np.zeros(hist.lanes, dtype=np.int64)          # where the predicted byte is
        self.length = np.zeros(hist.lanes, dtype=np.int64)       # 0: no match

    def start_byte(self, hist):
        """Called after hist.push(): extend or drop current matches, look up new ones, and
        remember where the current context occurs."""
        if hist.t == 0:
            self.predicted = np.full_like(self.length, 256)
            self.byte_bucket = self.strength = np.zeros_like(self.length)
            return
        buf, pos = hist.buf, hist.pos
        last = buf[pos - 1]
        # a match continues if it predicted the byte just coded; a long match that missed one
        # byte (a changed address or number in repeated code or data) keeps following its old
        # source with the lowest confidence until a new match is found
        cont = (self.length > 0) & (buf[self.ptr] == last)
        recover = ~cont & (self.length >= RECOVER_LEN)
        self.length = np.where(cont, np.minimum(self.length + 1, MAX_LEN), recover.astype(np.int64))
        self.ptr = np.where(cont | recover, self.ptr + 1, 0)
        if hist.t >= self.min_len:
            key = hist.c4 | (hist.c8 << np.uint64(32))
            if self.min_len < 8:
                key &= np.uint64((1 << (8 * self.min_len)) - 1)
            h = ((key * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - self.table_bits)).astype(np.int64)
            look = (self.length < self.min_len) & hist.active
            if look.any():
                self._find(hist, np.flatnonzero(look), self.table[h[look]] - 1)
            # remember this context's position (most recent wins, whatever the lane order)
            self.table[h] = 0
            np.maximum.at(self.table, h, np.where(hist.active, pos + 1, 0))
        # the predicted byte must already be coded: in its lane, before that lane's frontier
        known = self._known(hist, self.ptr)
        self.length = np.where(known, self.length, 0)
        self.ptr = np.where(known, self.ptr, 0)
        self.predicted = np.where(known, buf[self.ptr], 0).astype(np.int64) | 256
        self.byte_bucket = _BUCKET[self.length]
        self.strength = np.minimum(self.length, 32) * 32

    def _known(self, hist, p):
        """Whether position p has been coded: in its lane, before that lane's frontier."""
        lane = np.searchsorted(hist.start, p, side="right") - 1
        coded = np.minimum(hist.t, hist.lengths[lane])
        return (p >= hist.start[lane]) & (p - hist.start[lane] < coded) & (self.length > 0)

    def _find(self, hist, lanes, cand):
        """Verify candidate positions by comparing up to _VERIFY bytes backwards."""
        ok = cand >= 0
        lanes, cand = lanes[ok], cand[ok]
        if not len(lanes):
            return
        pos = hist.pos[lanes]
        back = np.arange(1, _VERIFY + 1)
        room = np.minimum(pos - hist.start[lanes], cand - hist.start[
            np.searchsorted(hist.start, cand, side="right") - 1])
        a = hist.buf[np.maximum(pos[:, None] - back, 0)]
        b = hist.buf[np.maximum(cand[:, None] - back, 0)]
        same = (a == b) & (back <= room[:, None])
        length = np.cumprod(same, axis=1).sum(axis=1)
        good = length >= self.min_len
        self.length[lanes[good]] = length[good]
        self.ptr[lanes[good]] = cand[good]

    def bit_contexts(self, c0, bitpos):
        """StateMap entry (1, L): the match's length bucket (0 once the byte has left the
        prediction) and the bit it expects."""
        on = (self.predicted >> (8 - bitpos)) == c0
        self.expected = (self.predicted >> (7 - bitpos)) & 1
        self.bucket = self.byte_bucket * on
        return (self.map_base + 2 * self.bucket + self.expected)[None, :]

    def bit_inputs(self):
        """Direct input (1, L): +-length for the expected bit, 0 without a match."""
        return ((2 * self.expected - 1) * self.strength * (self.bucket > 0))[None, :]

    def update(self, bits):
        """Nothing to learn per bit here: the predictor updates our StateMap entries, and the
        match itself moves on once per byte, in start_byte."""
