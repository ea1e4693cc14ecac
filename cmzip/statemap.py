"""Bit histories and state maps: how a context slot remembers the bits it has seen.

A slot of a context table holds one byte: the index of a *bit-history state*, a small summary
(n0, n1) of how many zeros and ones the context has seen, with old evidence discounted when the
other bit shows up (recent behaviour matters more on non-stationary data).  The state machine is
generated below from that rule; state 0 is "never seen".

A StateMap turns a small context (for example a context's number * 256 + a bit-history state)
into a probability that is *learned*: each entry moves towards the bits that actually followed
it, with a step 1/(n + 1.5) that shrinks as the entry's count n grows (an incremental average, up
to a limit so that it keeps adapting).  An entry is one uint32 holding a 22-bit probability above
a 10-bit count, updated with integer arithmetic only (as lpaq's StateMap).

Level 9's states also keep the last bit where both values have been seen in a few bits
(last_bit_until): "01" and "10" are one (n0, n1) but different states there.

The discount rule was tuned on the corpora and checked on real files (codec only, level 4 with
four mixers; Calgary / Canterbury / 4 MiB of C headers + 4 MiB of libpython): halving the other
count above 3, limits 44 and 18 (the former rule): 1.7188 / 1.0065 / 1.2313; above 2, limits 30
and 30: 1.7158 / 1.0029 / 1.2281 (level 4 as it was).  Halving above 1 or limits 24 did no better.
"""
import numpy as np

from .jit import inline

SINGLE_LIMIT = 30      # longest run of one bit a state can count
MIXED_LIMIT = 30       # n0 + n1 bound once both bits have been seen


def _next_counts(n0, n1, bit):
    """(n0, n1) after seeing `bit`: count it, discount the opposite count, keep within bounds."""
    counts = [n0, n1]
    counts[bit] += 1
    other = counts[1 - bit]
    if other > 2:
        counts[1 - bit] = other // 2 + 1
    if counts[1 - bit] == 0:
        counts[bit] = min(counts[bit], SINGLE_LIMIT)
    while counts[0] and counts[1] and counts[0] + counts[1] > MIXED_LIMIT:
        counts[0 if counts[0] > counts[1] else 1] -= 1
    return tuple(counts)


def _build_state_machine(last_bit_until=0):
    """Enumerate the reachable states breadth-first from (0, 0).  A state is (n0, n1, last):
    with last_bit_until > 0, a state that has seen both bit values, at most last_bit_until bits
    in all, also tells which bit came last (else last is -1); its StateMap entry learns what
    follows "...01" apart from "...10" (model version 19, level 9: levels.py)."""
    def after(state, bit):
        n0, n1 = _next_counts(state[0], state[1], bit)
        last = bit if (n0 and n1 and n0 + n1 <= last_bit_until) else -1
        return (n0, n1, last)
    states = [(0, 0, -1)]
    index = {(0, 0, -1): 0}
    next_state = []
    i = 0
    while i < len(states):
        row = []
        for bit in (0, 1):
            s = after(states[i], bit)
            if s not in index:
                index[s] = len(states)
                states.append(s)
            row.append(index[s])
        next_state.append(row)
        i += 1
    if len(states) > 256:       # (a state is a byte of the table: at most 10 here)
        raise ValueError(f"last_bit_until {last_bit_until}: {len(states)} states, over 256")
    counts = np.array([state[:2] for state in states], dtype=np.int64)
    return counts, np.array(next_state, dtype=np.uint8)


# the state machine of every level but 9: (S, 2) counts, (S, 2) transitions
STATE_COUNTS, NEXT_STATE = _build_state_machine()
N_STATES = len(STATE_COUNTS)

P22 = 1 << 22      # state maps keep 22-bit probabilities; p16 = p22 >> 6
COUNT_BITS = 10
COUNT_MASK = (1 << COUNT_BITS) - 1
# the step of an entry seen n times, as lpaq: 2^14 / (n + 1.5), in units that make it 1/(n + 1.5)
STEP = np.array([16384 // (n + n + 3) for n in range(1 << COUNT_BITS)], dtype=np.int64)


def initial_p22(counts=STATE_COUNTS):
    """Prior for each state: (n1 + 0.4) / (n0 + n1 + 0.8), in 22-bit fixed point."""
    n0, n1 = counts[:, 0], counts[:, 1]
    return (((5 * n1 + 2) * P22) // (5 * (n0 + n1) + 4)).astype(np.int64)


def state_tables(last_bit_until=0):
    """The transition table as next[2 * state + bit] (256 states, unreachable ones stay 0),
    each state's total count n0 + n1 (a bucket's priority when it is replaced), and 1 for the
    states that have seen only one bit value (deterministic contexts)."""
    counts, transitions = _build_state_machine(last_bit_until)
    n_states = len(counts)
    nxt = np.zeros(512, dtype=np.int64)
    nxt[:2 * n_states] = transitions.ravel()
    total = np.zeros(256, dtype=np.int64)
    total[:n_states] = counts.sum(axis=1)
    one_sided = np.zeros(256, dtype=np.int64)
    n0, n1 = counts[:, 0], counts[:, 1]
    one_sided[:n_states] = (n0 == 0) != (n1 == 0)
    return nxt, total, one_sided


def new_statemap(n_contexts, per_state_prior=True, last_bit_until=0):
    """A StateMap of n_contexts * 256 entries; entry c * 256 + s starts at state s's prior
    (or at 1/2), with a count of 0."""
    init = np.full(256, P22 // 2, dtype=np.int64)
    if per_state_prior:
        counts = _build_state_machine(last_bit_until)[0]
        init[:len(counts)] = initial_p22(counts)
    return np.tile(init << COUNT_BITS, n_contexts).astype(np.uint32)


@inline
def sm_p16(sm, i):
    """Entry i's probability of a 1, in 16 bits (0..65535)."""
    return np.int64(sm[i]) >> (COUNT_BITS + 6)


@inline
def sm_update(sm, i, bit, limit, step):
    """Move entry i towards `bit` by 1/(n + 1.5), and count the observation up to `limit`."""
    t = np.int64(sm[i])
    n = t & COUNT_MASK
    p = t >> COUNT_BITS
    if n < limit:
        t += 1
    t += ((((bit << 22) - p) >> 3) * step[n]) & ~COUNT_MASK
    if t < 0:                   # the rounding down of a step towards 0 can pass 0 when p is
        t &= COUNT_MASK         # a few units: p stays 0 (the count is kept), so that sm_p16
    sm[i] = t                   # never goes negative
