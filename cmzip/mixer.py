"""Logistic mixing and adaptive probability maps (APM / SSE), in exact fixed-point arithmetic.

Both are shared by all lanes.  Each lane picks a weight set (mixer) or context row (APM) per bit.
The updates of one step are *summed* over the lanes, as if the lanes had been coded one after the
other from the same starting weights (measured: summing learns markedly faster than averaging,
e.g. 3.00 vs 3.12 bits per byte on 30 KB of book1 at 128 lanes).  The sums are of integers, so
exact and order-independent: the result does not depend on the order lanes are processed in.
"""
import numpy as np

from .exact import SMAX, SQUASH, STRETCH


class Mixer:
    """K mixers at once: mixer k computes p_k = squash(sum_i w[k, set_k, i] * x_i), a single-layer
    network over stretched probabilities trained online to minimise coding cost, with weight set
    set_k chosen per lane per bit by its own small context.  The gradient of the coding cost in
    the stretch domain is x_i * (bit - p).

    Weights are 16.16 fixed point held in float64: every weight, input and product is an integer
    below 2^53, so the float64 sums are exact and identical in any order, on any machine, and
    numpy's fast float paths (einsum, bincount) can be used without giving up exactness."""

    def __init__(self, n_inputs, set_counts, lr=12, init_weight=0.15, lane_cap=32):
        self.n_inputs, self.lane_cap = n_inputs, lane_cap
        self.step_scale = lr / 2.0 ** 20        # lr is an integer: products stay exact
        self.set_offset = np.cumsum([0] + list(set_counts))[:-1, None]      # (K, 1)
        self.n_rows = int(sum(set_counts))
        self.w = np.full((self.n_rows, n_inputs), float(int(init_weight * 65536)))
        self._column = np.arange(n_inputs)

    def predict(self, x, select):
        """x: (n_inputs, L) stretched inputs (float64 integers); select: (K, L) weight-set index
        per mixer.  Returns (stretched outputs (K, L), p16 (K, L)) as int64."""
        self.x = x
        self.rows = select + self.set_offset
        dot = np.einsum("klm,ml->kl", self.w[self.rows], x)
        self.s = np.minimum(np.maximum(np.floor(dot * 2.0 ** -16), -SMAX), SMAX).astype(np.int64)
        self.p = SQUASH[self.s + SMAX]
        return self.s, self.p

    def update(self, bits):
        err = ((bits << 16) - self.p).astype(np.float64)              # (K, L), p16 units
        grad = err[:, :, None] * self.x.T[None, :, :]                 # (K, L, M)
        cell = (self.rows[:, :, None] * self.n_inputs + self._column).ravel()
        # The lanes' gradients are summed, as if the lanes had been coded one after another, but
        # a weight set that more than lane_cap lanes used moves by lane_cap times their mean
        # gradient: many lanes in one context (long runs, all lanes at the start of a block)
        # would otherwise take one huge step and overshoot.
        total = np.bincount(cell, weights=grad.ravel(), minlength=self.w.size).reshape(self.w.shape)
        total *= self.step_scale
        if self.rows.shape[1] > self.lane_cap:       # else no set can have more than lane_cap lanes
            hits = np.bincount(self.rows.ravel(), minlength=self.n_rows)
            over = np.flatnonzero(hits > self.lane_cap)
            total[over] /= (hits[over] / float(self.lane_cap))[:, None]
        self.w += np.floor(total, out=total)


class APM:
    """K adaptive probability maps at once (secondary symbol estimation): map k refines a
    probability given its own context by interpolating between 25 learned points spaced along
    the stretch axis."""

    STEP = 256
    NODES = 2 * SMAX // STEP + 2                              # 25 nodes cover [-SMAX, SMAX]

    def __init__(self, context_counts, rate=7):
        self.rate = rate
        nodes = np.arange(self.NODES, dtype=np.int64) * self.STEP - SMAX
        row = SQUASH[np.clip(nodes, -SMAX, SMAX) + SMAX] << 6   # 22-bit probabilities
        self.t = np.tile(row, int(sum(context_counts)))
        self.first_row = np.cumsum([0] + list(context_counts))[:-1, None]   # (K, 1)

    def predict(self, p16, context):
        """p16: (L,) probabilities; context: (K, L), one row per map.  Returns (K, L)."""
        u = STRETCH[p16] + SMAX
        lo = (context + self.first_row) * self.NODES + (u >> 8)
        w = u & 255
        p = (self.t[lo] * (256 - w) + self.t[lo + 1] * w) >> 14
        self._node = lo + (w >> 7)                             # the nearer node learns
        return np.minimum(np.maximum(p, 1), 65535)

    def update(self, bits):
        node = self._node
        np.add.at(self.t, node, (((bits << 22) - self.t[node]) >> self.rate))
        self.t[node] = np.minimum(np.maximum(self.t[node], 64), (1 << 22) - 64)
