"""Test helpers for the byte learners (GRU, QCT): a lane-aware history to feed them, and their
bit predictions computed lane by lane."""
import numpy as np

from cmzip.exact import P_MAX, STRETCH


class LaneHistory:
    """What a byte learner reads of a block cut into `lanes` contiguous lanes of slightly
    different lengths, coded one byte per lane per step (the codec now codes one lane; the
    learners still take any number): .lanes, .t, .lengths, .c1(), .lane_bytes_back(distance).
    Lanes past their end code padding (c1 is the padding byte; score_previous masks it)."""

    def __init__(self, n, lanes):
        lane = np.arange(lanes, dtype=np.int64)
        weight = 61 + (lane * lane * 5 + lane * 3) % 7          # unequal lengths, no short period
        ends = n * np.cumsum(weight) // weight.sum()
        self.lanes = lanes
        self.start = np.concatenate([[0], ends[:-1]])
        self.lengths = ends - self.start
        self.steps = int(self.lengths.max()) if n else 0
        self.buf = np.zeros(n + 1, dtype=np.uint8)             # +1: where padding bytes land
        self.t = 0
        self.pos = self.start.copy()                           # where each lane's next byte goes
        self.active = self.lengths > 0
        self.last = np.zeros(lanes, dtype=np.int64)

    def c1(self):
        return self.last.copy()

    def lane_bytes_back(self, distance):
        where = self.pos - distance
        inside = where >= self.start
        return np.where(inside, self.buf[np.where(inside, where, 0)], 0).astype(np.int64)

    def push(self, byte):
        self.buf[np.where(self.active, self.pos, len(self.buf) - 1)] = byte
        self.last = np.asarray(byte).astype(np.int64)
        self.t += 1
        self.pos = self.start + np.minimum(self.t, self.lengths)
        self.active = self.t < self.lengths


def bit_inputs(dist, c0, bitpos):
    """Every lane's stretched P(bit = 1 | the bits so far) from its cumulative byte weights
    (the formula of ByteDistribution.tree, lane by lane)."""
    half = 1 << (7 - bitpos)
    lo = (c0 - (1 << bitpos)) * (2 * half)
    lane = np.arange(len(c0))
    base, mid, top = (dist.cum[lane, lo + k * half] for k in range(3))
    p1 = (top - mid) / np.maximum(top - base, 1.0)
    return STRETCH[np.clip(np.rint(p1 * 65536.0), 1, P_MAX).astype(np.int64)]
