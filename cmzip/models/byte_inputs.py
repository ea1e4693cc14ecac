"""From a byte distribution to bit predictions: what a byte-level learner gives the mixer.

A byte learner (GRU, QCT) predicts a distribution over the 256 values of the next byte.  The
coder codes bits, most significant first, so for each bit the mixer needs
P(bit = 1 | the bits of this byte so far) = (mass of the bytes that continue the prefix with a 1)
/ (mass of the bytes that continue the prefix at all).  With the distribution held as integer
weights (exact.softmax_weights) the partial sums are exact integers, and the division is a single
correctly rounded operation: the same on every machine.
"""
import numpy as np

from ..exact import P_MAX, STRETCH


def _node_bounds():
    """For every node of the binary tree over byte values, named by c0 (a leading 1, then the
    bits seen so far: 1 at bit 0, 1b at bit 1, ...), where its bytes start, where the bytes
    continuing with a 1 start, and where its bytes end (indices into cum)."""
    c0 = np.arange(1, 256)
    bitpos = np.array([int(c).bit_length() - 1 for c in c0])
    half = 1 << (7 - bitpos)
    lo = (c0 - (1 << bitpos)) * (2 * half)
    pad = np.zeros(1, dtype=np.int64)                     # c0 = 0 names no node
    return (np.concatenate([pad, lo]), np.concatenate([pad, lo + half]),
            np.concatenate([pad, lo + 2 * half]))


_NODE_BOUNDS = np.concatenate(_node_bounds()[::-1])     # top, mid, lo: one gather for all three


def _p1_to_p16(top, mid, base):
    """P(bit = 1) = (mass continuing with a 1) / (mass of the prefix), as p16 in [1, 65535]:
    one correctly rounded division, the same on every machine."""
    p1 = (top - mid) / np.maximum(top - base, 1.0)
    return np.clip(np.rint(p1 * 65536.0), 1, P_MAX).astype(np.int64)


class ByteDistribution:
    """Per-lane byte distributions and the bit probabilities they imply (the codec uses one
    lane: it codes the block in order)."""

    def __init__(self, lanes):
        self.cum = np.zeros((lanes, 257))           # cum[l, b] = weight of bytes < b in lane l
        self.cum[:, 1:] = np.arange(1, 257)         # uniform until set
        self._lane = np.arange(lanes)

    def set(self, weights):
        """weights: (L, 256) non-negative integer-valued float64 whose row sums are < 2^53."""
        np.cumsum(weights, axis=1, out=self.cum[:, 1:])

    def tree(self):
        """Lane 0's stretched P(bit = 1 | the bits so far) for every node of the bit tree,
        indexed by c0 (1 at bit 0, 1b at bit 1, ...; index 0 is unused): (256,) int64.  The
        codec gives these to the compiled predictor once per byte."""
        top, mid, base = np.split(np.take(self.cum[:1], _NODE_BOUNDS, axis=1), 3, axis=1)
        return STRETCH[_p1_to_p16(top, mid, base)][0]

    def byte_probability(self, byte):
        """P(byte) per lane as float64 (for metrics: how well the learner predicted)."""
        return (self.cum[self._lane, byte + 1] - self.cum[self._lane, byte]) / self.cum[:, 256]


class ByteLearner:
    """What every byte learner (GRU, QCT) shares: per block, its byte distributions and the lanes
    it trains on; per byte, scoring its last prediction in its own metrics; per bit, one
    stretched mixer input per bit (ByteDistribution.tree).  Subclasses set `metrics` and cfg["train_lanes"] and predict into
    self.dist."""
    n_inputs = 1

    def start_block(self, hist):
        lanes = hist.lanes
        self.dist = ByteDistribution(lanes)
        k = min(lanes, self.cfg["train_lanes"])
        self.train_lanes = (np.arange(k) * lanes) // k          # evenly spread over the block

    def tree(self):
        """The bit predictions the codec gives the compiled predictor before each byte."""
        return self.dist.tree()

    def end_block(self):
        """Called after each block (the compiled GRU tallies its metrics here)."""

    def score_previous(self, hist):
        """(the byte each lane just coded, whether it was a real byte (lanes past their end code
        padding)), after charging this learner's metrics with its prediction of it."""
        byte = hist.c1()
        real = hist.lengths >= hist.t
        if real.any():          # display only: np.log2 never feeds back into a model
            self.metrics.record(-np.log2(self.dist.byte_probability(byte)[real]))
        return byte, real
