"""What every lane has seen so far: the block buffer and per-lane summaries of recent bytes.

A block of n bytes is cut into L contiguous segments ("lanes"); step t codes byte t of every lane.
Lane lengths vary by a few percent in a fixed pattern: with equal lengths, data that repeats with
a period that is a multiple of the lane length would always find the earlier copy in another lane
at exactly the byte being coded in the same step, never usable by the match model.  The buffer starts zeroed and byte t of each lane is written
into it only once it has been coded, in the encoder exactly as in the decoder, so any read of the
buffer sees the same value on both sides.  Reads that reach outside a lane's own already-coded
bytes are masked to 0 by `lane_bytes_back`.
"""
import numpy as np

MAX_RECORD = 4096


def is_letter(c):
    return ((c | 32) >= 97) & ((c | 32) <= 122)


class History:
    def __init__(self, n, lanes):
        lane = np.arange(lanes, dtype=np.int64)
        weight = 61 + (lane * lane * 5 + lane * 3) % 7    # 61..67, in no short period
        ends = n * np.cumsum(weight) // weight.sum()
        self.lanes = lanes
        self.start = np.concatenate([[0], ends[:-1]])
        self.lengths = ends - self.start
        self.steps = int(self.lengths.max()) if n else 0
        self.buf = np.zeros(n + 1, dtype=np.uint8)      # +1: padding bytes of inactive lanes land at n
        self.t = 0                                      # bytes coded per lane so far
        self.pos = self.start.copy()                    # where each lane's next byte goes
        self.c4 = np.zeros(lanes, dtype=np.uint64)      # last 4 bytes, most recent lowest
        self.c8 = np.zeros(lanes, dtype=np.uint64)      # the 4 bytes before those
        self.word = np.zeros(lanes, dtype=np.uint64)    # hash of the current word (letters)
        self.word1 = np.zeros(lanes, dtype=np.uint64)   # hash of the previous word
        self.active = self.lengths > 0
        # record detection: when a byte value recurs at the same distance as last time, that
        # distance gets a vote; the lanes pool their votes (old ones fade), and a clear winner
        # is taken as the length of fixed-size records (tables, images, database dumps)
        self.last_seen = np.zeros((lanes, 256), dtype=np.int64)
        self.last_gap = np.zeros((lanes, 256), dtype=np.int64)
        self.gap_votes = np.zeros(MAX_RECORD + 1, dtype=np.int64)
        self.record = np.zeros(lanes, dtype=np.int64)       # detected record length, 0 = none
        self._lane = np.arange(lanes)

    def c1(self):
        return (self.c4 & np.uint64(0xFF)).astype(np.int64)

    def push(self, byte):
        """Record the byte just coded in every lane (padding for inactive lanes)."""
        b = byte.astype(np.uint64)
        self.buf[np.where(self.active, self.pos, len(self.buf) - 1)] = byte
        self.c8 = ((self.c8 << np.uint64(8)) | (self.c4 >> np.uint64(24))) & np.uint64(0xFFFFFFFF)
        self.c4 = ((self.c4 << np.uint64(8)) | b) & np.uint64(0xFFFFFFFF)
        letter = is_letter(byte)
        ended = ~letter & (self.word != 0)
        self.word1 = np.where(ended, self.word, self.word1)
        grown = (self.word + (b | np.uint64(32))) * np.uint64(0x2F0F3A1B5C4D6E7F)
        self.word = np.where(letter, grown, np.uint64(0))
        self._detect_records(byte.astype(np.int64))
        self.t += 1
        self.pos = self.start + np.minimum(self.t, self.lengths)   # finished lanes stay at their end
        self.active = self.t < self.lengths

    def _detect_records(self, byte):
        at = (self._lane, byte)
        gap = self.pos + 1 - self.last_seen[at]             # last_seen holds position + 1
        vote = (gap == self.last_gap[at]) & (gap > 3) & (gap <= MAX_RECORD) & self.active
        self.last_gap[at] = gap
        self.last_seen[at] = self.pos + 1
        np.add.at(self.gap_votes, gap[vote], 1)
        if self.t % 16 == 15:
            if self.t % 64 == 63:
                self.gap_votes >>= 1
            best = int(self.gap_votes.argmax())
            if self.gap_votes[best] >= 8:
                self.record[:] = best

    def carry_over(self, previous):
        """Start from the record length and votes the previous block ended with."""
        self.record[:] = previous.record[0]
        self.gap_votes[:] = previous.gap_votes

    def word_start(self, words_back):
        """The first byte of the 32-bit word (aligned in the block) `words_back` words before the
        one each lane is in, or 0 before the lane's first byte."""
        return self.lane_bytes_back((self.pos & 3) + 4 * words_back)

    def lane_bytes_back(self, distance):
        """The byte `distance` (>= 1, per lane array or scalar) before each lane's next byte, or 0
        where that lies before the lane's first byte."""
        where = self.pos - distance
        inside = where >= self.start
        return np.where(inside, self.buf[np.where(inside, where, 0)], 0).astype(np.int64)
