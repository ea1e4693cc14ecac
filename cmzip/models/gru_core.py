"""The GRU byte predictor, compiled: forward pass, bit predictions, truncated back-propagation
through time over a sliding window, clipping and the optimiser step, all inside the coding loop.

    gi    = x_table[byte_{t-1}]                                  input byte's gate rows (3H)
    gh    = h_{t-1} W_h + b_h                                    (3H)
    r     = sigmoid(gi_r + gh_r)           reset gate            (H)
    z     = sigmoid(gi_z + gh_z)           update gate           (H)
    n     = tanh(gi_n + r * gh_n)          candidate             (H)
    h_t   = n + z * (h_{t-1} - n)          new state             (H)
    P(byte_t) = softmax(h_t W_o + b_o)                           (256)

The input byte selects a row of x_table: a one-hot input, the same function as an embedding
followed by a linear layer but without that product's cost.

Learning (the seed's design, truncated BPTT over a sliding window): the last `window` steps are
kept in a ring.  Every `every` bytes, the cross-entropy of the last `every` predictions (mean, in
nats) is back-propagated through the whole window -- back to the hidden state before the window's
oldest step, where the gradient is truncated -- then clipped (by global norm or by value) and
applied by AdamW or SGD at the schedule's learning rate (learn/kernels.py).  With every = 1 that
is an update at every byte through the last `window` bytes; with every = window, disjoint windows.
Steps older than the last update were computed with older weights, as in any online truncated
BPTT.  The input table takes a step only in the rows of the bytes the window read (a lazy
optimiser: untouched rows keep their moments), all other parameters in every step.

Exactness (docs/design.md): compiled without fastmath, every operation below is an element-wise
float64 + - * / or sqrt in the order written, every sum runs in a fixed order (plain loops, or
row by row), exp/sigmoid/tanh come from learn/kernels.py (exact.exp_portable's
algorithm).  So encoder and decoder, on any machine, compute the same bits -- with no grid
rounding, which only matmul libraries with their own summation order needed.
"""
import math
from typing import NamedTuple

import numpy as np

from ..exact import P_MAX, STRETCH
from ..jit import inline, njit
from ..learn.kernels import (adamw_update, clip_values, schedule_lr, scale_values, sgd_update,
                             sigmoid, sum_squares, tanh)
from ..learn.kernels import exp as exp_portable

# GRU.s: int64 scalars
S_STEP, S_PENDING, S_OPT_STEPS, S_UPDATES, S_BYTES, S_LOG2_EXP, S_TOUCHED = range(7)
# GRU.f: float64 scalars (F_LOG2_MANT * 2^S_LOG2_EXP: the product of the probabilities the GRU
# gave the bytes that came, for its own bits per byte; display only)
F_BETA1_T, F_BETA2_T, F_LOG2_MANT, F_LAST_NORM = range(4)
# GRU.hp: float64 hyper-parameters
HP_LR, HP_LR_FLOOR, HP_BETA1, HP_BETA2, HP_EPS, HP_WD, HP_CLIP, HP_MOMENTUM = range(8)
# GRU.ip: int64 hyper-parameters
IP_EVERY, IP_OPTIMIZER, IP_CLIP, IP_WARMUP, IP_DECAY, IP_HALF_LIFE = range(6)
OPTIMIZERS = {"adamw": 0, "sgd": 1}
CLIPS = {"none": 0, "norm": 1, "value": 2}


class GRU(NamedTuple):
    theta: np.ndarray           # float64: every parameter, one flat array ...
    x_table: np.ndarray         # ... and its views: (256, 3H) gate rows of each input byte
    w_h: np.ndarray             # (H, 3H) recurrent weights (reset, update, candidate)
    b_h: np.ndarray             # (3H,)
    w_o: np.ndarray             # (H, 256) output layer
    b_o: np.ndarray             # (256,)
    grad: np.ndarray            # float64: the gradient, laid out as theta ...
    gx_table: np.ndarray        # ... and its views
    gw_h: np.ndarray
    gb_h: np.ndarray
    gw_o: np.ndarray
    gb_o: np.ndarray
    w_hT: np.ndarray            # (3H, H) and (256, H): w_h and w_o transposed, refreshed after
    w_oT: np.ndarray            # every step, so that the backward pass runs in vector loops too
    m: np.ndarray               # float64: AdamW's first moment (SGD's momentum), as theta
    v: np.ndarray               # float64: AdamW's second moment, as theta
    h: np.ndarray               # (H,) the hidden state
    ring_byte: np.ndarray       # int64 (window,): each step's input byte (slot = step % window)
    ring_target: np.ndarray     # int64 (window,): the byte that came after it
    ring_hprev: np.ndarray      # (window, H): the hidden state before the step
    ring_r: np.ndarray          # (window, H): its gates ...
    ring_z: np.ndarray
    ring_n: np.ndarray
    ring_ghn: np.ndarray        # (window, H): h_prev W_hn + b_hn
    ring_h: np.ndarray          # (window, H): the hidden state after the step
    ring_p: np.ndarray          # (window, 256): the predicted distribution
    gates: np.ndarray           # scratch (3H,)
    logits: np.ndarray          # scratch (256,)
    mass: np.ndarray            # (512,): softmax weights in a heap: leaves 256 + byte, node c0
    dh: np.ndarray              # scratch (H,)
    dh_next: np.ndarray         # scratch (H,)
    dgh: np.ndarray             # scratch (3H,)
    dl: np.ndarray              # scratch (256,)
    touched: np.ndarray         # int64 (256,): 1 where the window read that byte (its row has
    touched_rows: np.ndarray    # a gradient); int64 (window,): those bytes, in order
    ext: np.ndarray             # int64 (256,): stretched P(bit = 1) at every node c0
    stretch: np.ndarray         # int16 (65536,): p16 -> stretch (exact.STRETCH)
    s: np.ndarray               # int64 scalars (S_...)
    f: np.ndarray               # float64 scalars (F_...)
    hp: np.ndarray              # float64 hyper-parameters (HP_...)
    ip: np.ndarray              # int64 hyper-parameters (IP_...)


def new_gru(hidden, window, every, init, hp, ip):
    """A GRU with parameters `init` (a dict of x_table, w_h, b_h, w_o, b_o arrays of their
    shapes) and the given hyper-parameter vectors; the block state is set by start_block."""
    h3 = 3 * hidden
    shapes = [("x_table", (256, h3)), ("w_h", (hidden, h3)), ("b_h", (h3,)),
              ("w_o", (hidden, 256)), ("b_o", (256,))]
    size = sum(int(np.prod(shape)) for _, shape in shapes)
    theta, grad = np.zeros(size), np.zeros(size)
    views, grads, at = {}, {}, 0
    for name, shape in shapes:
        n = int(np.prod(shape))
        views[name] = theta[at:at + n].reshape(shape)
        grads["g" + name] = grad[at:at + n].reshape(shape)
        views[name][...] = init[name]
        at += n
    f = np.zeros(4)
    f[F_BETA1_T] = f[F_BETA2_T] = f[F_LOG2_MANT] = 1.0

    def ring(width):
        return np.zeros((window, width))

    return GRU(theta=theta, **views, grad=grad, **grads, w_hT=np.ascontiguousarray(views["w_h"].T),
               w_oT=np.ascontiguousarray(views["w_o"].T), m=np.zeros(size), v=np.zeros(size),
               h=np.zeros(hidden), ring_byte=np.zeros(window, dtype=np.int64),
               ring_target=np.zeros(window, dtype=np.int64), ring_hprev=ring(hidden),
               ring_r=ring(hidden), ring_z=ring(hidden), ring_n=ring(hidden),
               ring_ghn=ring(hidden), ring_h=ring(hidden), ring_p=ring(256),
               gates=np.zeros(h3), logits=np.zeros(256), mass=np.zeros(512),
               dh=np.zeros(hidden), dh_next=np.zeros(hidden), dgh=np.zeros(h3),
               dl=np.zeros(256), touched=np.zeros(256, dtype=np.int64),
               touched_rows=np.zeros(window, dtype=np.int64),
               ext=np.zeros(256, dtype=np.int64), stretch=STRETCH.astype(np.int16),
               s=np.zeros(7, dtype=np.int64), f=f, hp=np.asarray(hp, dtype=np.float64),
               ip=np.asarray(ip, dtype=np.int64))


# ------------------------------------------------------------------------------ helpers

@inline
def _add_row_times(out, n, a, w, row):
    """out[k] += a * w[row, k] for k < n: independent elements, so the compiler runs it in
    vector instructions, each element's sum still in the order of the calls."""
    for k in range(n):
        out[k] += a * w[row, k]


@inline
def _matvec(out, w_t, x, n_in, n_out):
    """out[j] += sum_k w_t[k, j] x[k] (a matrix's transpose times x), summed over k in order:
    row by row of w_t, so in vector loops (dot products run as one chain of adds, about
    seven times slower here)."""
    for k in range(n_in):
        _add_row_times(out, n_out, x[k], w_t, k)


@inline
def _transpose(dst, src):
    """dst = src.T, in 8 x 8 tiles (both shapes multiples of 8): element by element it took
    15 times longer, each write a cache miss."""
    for j0 in range(0, src.shape[0], 8):
        for k0 in range(0, src.shape[1], 8):
            for j in range(j0, j0 + 8):
                for k in range(k0, k0 + 8):
                    dst[k, j] = src[j, k]


# ------------------------------------------------------------------------------ predict

@inline
def start_block(g):
    """A fresh hidden state and window (the weights carry on), then the first prediction, from
    byte 0 as "nothing yet"."""
    for k in range(g.h.shape[0]):
        g.h[k] = 0.0
    g.s[S_STEP] = 0
    g.s[S_PENDING] = 0
    forward(g, 0)


@inline
def forward(g, byte):
    """One step: read `byte`, move the hidden state on, predict the next byte (into ring_p and,
    as bit predictions, ext)."""
    n_h = g.h.shape[0]
    slot = g.s[S_STEP] % g.ring_byte.shape[0]
    g.ring_byte[slot] = byte
    for k in range(n_h):
        g.ring_hprev[slot, k] = g.h[k]
    for k in range(3 * n_h):
        g.gates[k] = g.b_h[k]
    for j in range(n_h):
        _add_row_times(g.gates, 3 * n_h, g.h[j], g.w_h, j)
    for k in range(n_h):
        r = sigmoid(g.x_table[byte, k] + g.gates[k])
        z = sigmoid(g.x_table[byte, n_h + k] + g.gates[n_h + k])
        ghn = g.gates[2 * n_h + k]
        n = tanh(g.x_table[byte, 2 * n_h + k] + r * ghn)
        h = n + z * (g.ring_hprev[slot, k] - n)
        g.ring_r[slot, k] = r
        g.ring_z[slot, k] = z
        g.ring_n[slot, k] = n
        g.ring_ghn[slot, k] = ghn
        g.ring_h[slot, k] = h
        g.h[k] = h
    _predict(g, slot)
    g.s[S_STEP] += 1


@inline
def _predict(g, slot):
    """softmax(h W_o + b_o) into ring_p[slot], and P(bit = 1 | the bits so far) for every node
    of the bit tree into ext, from the softmax weights summed up a heap (mass[c0] is the weight
    of the bytes below node c0; its children are 2 c0 and 2 c0 + 1)."""
    n_h = g.h.shape[0]
    for k in range(256):
        g.logits[k] = g.b_o[k]
    for j in range(n_h):
        _add_row_times(g.logits, 256, g.h[j], g.w_o, j)
    top = g.logits[0]
    for k in range(1, 256):
        top = max(top, g.logits[k])
    for k in range(256):
        g.mass[256 + k] = exp_portable(g.logits[k] - top)      # in (0, 1]: never 0
    for node in range(255, 0, -1):
        g.mass[node] = g.mass[2 * node] + g.mass[2 * node + 1]
    total = g.mass[1]
    for k in range(256):
        g.ring_p[slot, k] = g.mass[256 + k] / total
    for c0 in range(1, 256):
        p16 = math.floor(g.mass[2 * c0 + 1] / g.mass[c0] * 65536.0 + 0.5)
        p16 = min(max(p16, 1.0), float(P_MAX))
        g.ext[c0] = g.stretch[np.int64(p16)]


# ------------------------------------------------------------------------------ learn

@inline
def learn(g, byte):
    """The byte that came after the last prediction: score it, and every `every` bytes train."""
    slot = (g.s[S_STEP] - 1) % g.ring_byte.shape[0]
    g.ring_target[slot] = byte
    mant, exponent = math.frexp(g.f[F_LOG2_MANT] * g.ring_p[slot, byte])   # exact, normal
    g.f[F_LOG2_MANT] = mant
    g.s[S_LOG2_EXP] += exponent
    g.s[S_BYTES] += 1
    g.s[S_PENDING] += 1
    if g.s[S_PENDING] >= g.ip[IP_EVERY]:
        backward(g)
        optimizer_step(g)
        g.s[S_PENDING] = 0


@inline
def backward(g):
    """The gradient of the mean cross-entropy (nats) of the last S_PENDING predictions, back
    through every step in the window (truncated before its oldest), into grad."""
    n_h = g.h.shape[0]
    window = g.ring_byte.shape[0]
    steps = min(g.s[S_STEP], window)
    pending = g.s[S_PENDING]
    inv = 1.0 / pending
    dense_from = g.x_table.size
    for k in range(dense_from, g.grad.shape[0]):
        g.grad[np.uint64(k)] = 0.0             # (unsigned: see learn/kernels.py)
    for k in range(n_h):
        g.dh_next[k] = 0.0
    n_touched = 0
    for i in range(steps):                          # newest first
        slot = (g.s[S_STEP] - 1 - i) % window
        for k in range(n_h):
            g.dh[k] = g.dh_next[k]
        if i < pending:                             # this step's prediction is in the loss
            target = g.ring_target[slot]
            for k in range(256):
                g.dl[k] = g.ring_p[slot, k] * inv
            g.dl[target] = (g.ring_p[slot, target] - 1.0) * inv
            for k in range(256):
                g.gb_o[k] += g.dl[k]
            for j in range(n_h):
                _outer_row(g.gw_o, j, g.ring_h[slot, j], g.dl, 256)
            _matvec(g.dh, g.w_oT, g.dl, 256, n_h)
        byte = g.ring_byte[slot]
        if g.touched[byte] == 0:
            g.touched[byte] = 1
            g.touched_rows[n_touched] = byte
            n_touched += 1
        for k in range(n_h):
            d = g.dh[k]
            r = g.ring_r[slot, k]
            z = g.ring_z[slot, k]
            n = g.ring_n[slot, k]
            da_n = (d * (1.0 - z)) * (1.0 - n * n)
            da_r = (da_n * g.ring_ghn[slot, k]) * (r * (1.0 - r))
            da_z = (d * (g.ring_hprev[slot, k] - n)) * (z * (1.0 - z))
            g.dgh[k] = da_r
            g.dgh[n_h + k] = da_z
            g.dgh[2 * n_h + k] = da_n * r
            g.gx_table[byte, k] += da_r
            g.gx_table[byte, n_h + k] += da_z
            g.gx_table[byte, 2 * n_h + k] += da_n
            g.dh_next[k] = d * z
        for k in range(3 * n_h):
            g.gb_h[k] += g.dgh[k]
        for j in range(n_h):
            _outer_row(g.gw_h, j, g.ring_hprev[slot, j], g.dgh, 3 * n_h)
        if i + 1 < steps:                           # the oldest step passes nothing further
            _matvec(g.dh_next, g.w_hT, g.dgh, 3 * n_h, n_h)
    g.s[S_TOUCHED] = n_touched


@inline
def _outer_row(out, row, a, x, n):
    """out[row, k] += a * x[k] for k < n: one row of a gradient's outer product."""
    for k in range(n):
        out[row, k] += a * x[k]


@inline
def _clip(g, dense_from, row_len):
    """Clip the gradient (dense part and the touched input rows) by global norm or by value."""
    kind = g.ip[IP_CLIP]
    limit = g.hp[HP_CLIP]
    n_touched = g.s[S_TOUCHED]
    if kind == 1:
        total = sum_squares(g.grad, dense_from, g.grad.shape[0], 0.0)
        for i in range(n_touched):
            at = g.touched_rows[i] * row_len
            total = sum_squares(g.grad, at, at + row_len, total)
        norm = math.sqrt(total)
        g.f[F_LAST_NORM] = norm
        if not norm <= limit:                       # too large, or not finite
            factor = limit / norm if math.isfinite(norm) else 0.0
            scale_values(g.grad, dense_from, g.grad.shape[0], factor)
            for i in range(n_touched):
                at = g.touched_rows[i] * row_len
                scale_values(g.grad, at, at + row_len, factor)
    elif kind == 2:
        clip_values(g.grad, dense_from, g.grad.shape[0], limit)
        for i in range(n_touched):
            at = g.touched_rows[i] * row_len
            clip_values(g.grad, at, at + row_len, limit)


@inline
def optimizer_step(g):
    """Clip, then one AdamW or SGD step at the scheduled lr; the touched input rows' gradients
    are cleared for the next window (the dense part is cleared by backward)."""
    row_len = g.x_table.shape[1]
    dense_from = g.x_table.size
    end = g.grad.shape[0]
    _clip(g, dense_from, row_len)
    g.s[S_OPT_STEPS] += 1
    hp = g.hp
    lr = schedule_lr(g.s[S_OPT_STEPS], hp[HP_LR], g.ip[IP_WARMUP], g.ip[IP_DECAY],
                     hp[HP_LR_FLOOR], g.ip[IP_HALF_LIFE])
    n_touched = g.s[S_TOUCHED]
    if g.ip[IP_OPTIMIZER] == 0:
        b1, b2 = hp[HP_BETA1], hp[HP_BETA2]
        g.f[F_BETA1_T] *= b1
        g.f[F_BETA2_T] *= b2
        c1 = 1.0 - g.f[F_BETA1_T]
        c2 = 1.0 - g.f[F_BETA2_T]
        adamw_update(g.theta, g.grad, g.m, g.v, dense_from, end, lr, b1, b2, c1, c2,
                     hp[HP_EPS], hp[HP_WD])
        for i in range(n_touched):
            at = g.touched_rows[i] * row_len
            adamw_update(g.theta, g.grad, g.m, g.v, at, at + row_len, lr, b1, b2, c1, c2,
                         hp[HP_EPS], hp[HP_WD])
    else:
        sgd_update(g.theta, g.grad, g.m, dense_from, end, lr, hp[HP_MOMENTUM], hp[HP_WD])
        for i in range(n_touched):
            at = g.touched_rows[i] * row_len
            sgd_update(g.theta, g.grad, g.m, at, at + row_len, lr, hp[HP_MOMENTUM], hp[HP_WD])
    for i in range(n_touched):
        row = g.touched_rows[i]
        g.touched[row] = 0
        for k in range(row_len):
            g.gx_table[row, k] = 0.0
    transpose_weights(g)
    g.s[S_UPDATES] += 1


@inline
def transpose_weights(g):
    """w_hT and w_oT from w_h and w_o: after every change of the weights."""
    _transpose(g.w_hT, g.w_h)
    _transpose(g.w_oT, g.w_o)


# ------------------------------------------------------------------------------ entry points
# (the codec's Python-driven loop, for levels whose other learners are not compiled, and tests)

@njit
def gru_start_block(g):
    start_block(g)


@njit
def gru_step(g, byte):
    """After a byte was coded: learn from it, then read it (train, then forward)."""
    learn(g, byte)
    forward(g, byte)


@njit
def gru_window_gradient(g, inputs, targets):
    """Tests: from the current hidden state, read `inputs` (at most a window of them), then the
    gradient of the mean cross-entropy of the last len(targets) predictions, into grad (no
    step; the touched input rows stay marked).  The predictions are in ring_p.  (Tests change
    theta directly: the transposed copies are made again first.)"""
    transpose_weights(g)
    g.s[S_STEP] = 0
    for i in range(inputs.shape[0]):
        forward(g, inputs[i])
    first = inputs.shape[0] - targets.shape[0]
    for i in range(targets.shape[0]):
        g.ring_target[(first + i) % g.ring_byte.shape[0]] = targets[i]
    g.s[S_PENDING] = targets.shape[0]
    backward(g)
