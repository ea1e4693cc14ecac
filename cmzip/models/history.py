"""What every lane has seen so far: the block buffer and per-lane summaries of recent bytes.

A block of n bytes is cut into L contiguous segments ("lanes") whose lengths differ by at most one;
step t codes byte t of every lane.  The buffer starts zeroed and byte t of each lane is written
into it only once it has been coded, in the encoder exactly as in the decoder, so any read of the
buffer sees the same value on both sides.  Reads that reach outside a lane's own already-coded
bytes are masked to 0 by `lane_bytes_back`.
"""
import numpy as np

M64 = 0xFFFFFFFFFFFFFFFF


def is_letter(c):
    return ((c | 32) >= 97) & ((c | 32) <= 122)


class History:
    def __init__(self, n, lanes):
        q, r = divmod(n, lanes)
        lane = np.arange(lanes, dtype=np.int64)
        self.lanes = lanes
        self.lengths = q + (lane < r)
        self.start = lane * q + np.minimum(lane, r)
        self.steps = int(self.lengths.max()) if n else 0
        self.buf = np.zeros(n + 1, dtype=np.uint8)      # +1: padding bytes of inactive lanes land at n
        self.t = 0                                      # bytes coded per lane so far
        self.pos = self.start.copy()                    # where each lane's next byte goes
        self.c4 = np.zeros(lanes, dtype=np.uint64)      # last 4 bytes, most recent lowest
        self.c8 = np.zeros(lanes, dtype=np.uint64)      # the 4 bytes before those
        self.word = np.zeros(lanes, dtype=np.uint64)    # hash of the current word (letters)
        self.word1 = np.zeros(lanes, dtype=np.uint64)   # hash of the previous word
        self.active = self.lengths > 0

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
        self.t += 1
        self.pos += 1
        self.active = self.t < self.lengths

    def lane_bytes_back(self, distance):
        """The byte `distance` (>= 1, per lane array or scalar) before each lane's next byte, or 0
        where that lies before the lane's first byte."""
        where = self.pos - distance
        inside = where >= self.start
        return np.where(inside, self.buf[np.where(inside, where, 0)], 0).astype(np.int64)
