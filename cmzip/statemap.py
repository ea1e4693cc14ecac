"""Bit histories and state maps: how a context slot remembers the bits it has seen.

A slot of a context table holds one byte: the index of a *bit-history state*, a small summary
(n0, n1) of how many zeros and ones the context has seen, with old evidence discounted when the
other bit shows up (recent behaviour matters more on non-stationary data).  The state machine is
generated below from that rule; state 0 is "never seen".

A StateMap turns a state into a probability that is *learned*: the table p[state] moves towards
the bits that actually followed that state, with a step 1/(n + 1.5) that shrinks as the entry's
count n grows (an incremental average, up to a limit so it keeps adapting).

Lanes: all lanes share the tables.  A step's updates from every lane are applied together, and
the combined update must not depend on the order in which lanes are processed, so a StateMap
entry is updated from the counts of zeros and ones its lanes saw (order-free): the incremental
average over those bits, with at most `lane_cap` of them counted per step.
"""
import numpy as np


SINGLE_LIMIT = 44      # longest run of one bit a state can count
MIXED_LIMIT = 18       # n0 + n1 bound once both bits have been seen


def _next_counts(n0, n1, bit):
    """(n0, n1) after seeing `bit`: count it, discount the opposite count, keep within bounds."""
    counts = [n0, n1]
    counts[bit] += 1
    other = counts[1 - bit]
    if other > 3:
        counts[1 - bit] = other // 2 + 1
    if counts[1 - bit] == 0:
        counts[bit] = min(counts[bit], SINGLE_LIMIT)
    while counts[0] and counts[1] and counts[0] + counts[1] > MIXED_LIMIT:
        counts[0 if counts[0] > counts[1] else 1] -= 1
    return tuple(counts)


def _build_state_machine():
    """Enumerate the reachable (n0, n1) states breadth-first from (0, 0)."""
    states = [(0, 0)]
    index = {(0, 0): 0}
    next_state = []
    i = 0
    while i < len(states):
        row = []
        for bit in (0, 1):
            s = _next_counts(*states[i], bit)
            if s not in index:
                index[s] = len(states)
                states.append(s)
            row.append(index[s])
        next_state.append(row)
        i += 1
    assert len(states) <= 256
    return np.array(states, dtype=np.int64), np.array(next_state, dtype=np.uint8)


STATE_COUNTS, NEXT_STATE = _build_state_machine()   # (S, 2) counts, (S, 2) transitions
N_STATES = len(STATE_COUNTS)

P22 = 1 << 22      # state maps keep 22-bit probabilities; p16 = p22 >> 6


def initial_p22():
    """Prior for each state: (n1 + 0.4) / (n0 + n1 + 0.8), in 22-bit fixed point."""
    n0, n1 = STATE_COUNTS[:, 0], STATE_COUNTS[:, 1]
    return (((5 * n1 + 2) * P22) // (5 * (n0 + n1) + 4)).astype(np.int64)


class StateMap:
    """A table of adaptive probabilities indexed by small contexts (for example a context
    number * 256 + a bit-history state).  `init` gives each entry's starting 22-bit
    probability."""

    def __init__(self, init, limit=1023, lane_cap=32, confidence=None):
        # float64 holding integers: every update below is a few IEEE-exact-rounded element-wise
        # operations, the same on every machine, and faster than int64 division
        self.p = np.array(init, dtype=np.float64)
        # how many observations the initial p is worth (default: none)
        self.n = np.zeros_like(self.p) if confidence is None else np.array(confidence, dtype=np.float64)
        np.minimum(self.n, limit, out=self.n)
        self.limit, self.lane_cap = limit, lane_cap
        self.sparse_below = 0.25     # look-ups per update, as a share of the table (measured)

    def predict(self, index):
        """index: flat map*size + context, any shape -> p16 of the same shape."""
        self._index = index
        return (self.p[index] * (1 / 64)).astype(np.int64)

    def update(self, bits):
        """bits: 0/1, broadcastable to the shape of the last predict() index."""
        # one count of (entry, bit) pairs gives each entry's zeros and ones of this step
        index = self._index
        counts = np.bincount((2 * index + bits).ravel(), minlength=2 * self.p.size)
        if index.size <= self.p.size * self.sparse_below:
            # few lanes: work on the looked-up entries only (an entry looked up twice gets the
            # same new value twice); entries nobody looked up would not change anyway
            ones = counts[2 * index + 1].astype(np.float64)
            k = counts[2 * index] + ones
            p, n = self.p[index], self.n[index]
            self._learn(p, n, ones, k)
            self.p[index], self.n[index] = p, n
        else:
            ones = counts[1::2].astype(np.float64)
            self._learn(self.p, self.n, ones, counts[0::2] + ones)

    def _learn(self, p, n, ones, k):
        """Moves entries p, n (in place) on by k bits of which `ones` were ones (k = 0: no
        change)."""
        # more than lane_cap lanes on one entry in one step count as lane_cap lanes (with their
        # proportion of ones): lanes in lockstep, e.g. at the start of a block, would otherwise
        # pile hundreds of identical observations onto one entry
        if k.max() > self.lane_cap:
            capped = np.minimum(k, self.lane_cap)
            ones = np.floor(ones * capped / np.maximum(k, 1))
            k = capped
        # incremental average over the k new bits, with prior weight n + 1.5
        p += np.floor((ones * P22 - k * p) / (n + k + 1.5))
        np.minimum(n + k, self.limit, out=n)
