"""QCT byte predictor: a small density-matrix ("quantum") transformer over each lane's last
bytes, trained online with a complete unitarity-adjoint (QUG) backward pass.

The model, for one lane whose last `context` bytes are x_0 .. x_{C-1} (x_{C-1} just coded):

  embed     byte x -> pure state rho = |psi_x><psi_x| of dimension d: amplitudes from d-1
            Givens rotations of e_0 (angles theta_x), phases phase_x (psi_0 real); the phases
            start on a golden-ratio sequence, so no two bytes start alike.
  block b   (b = 1..B) for each position i it needs:
    couple  causal dephasing by the predecessors i-1 .. i-W (the coherence window): each
            predecessor j acts as an environment that a controlled phase entangles with i and
            that is then traced out, which multiplies the coherences of rho_i element-wise:
                rho_i[a,c] *= M[a,c] = sum_m q_j[m] exp(i eps[b,k] (tau[b,c,m] - tau[b,a,m]))
            (q_j: populations of j's state, k = i - j).  A mixture of diagonal unitaries: a
            CPTP map (trace, Hermiticity, positivity kept); its strength eps decays with
            distance (initialised to phi^-k) and is learned, as are the phases tau.
    evolve  Y = U rho U^+ with U = exp(-i H dt) and the Hermitian Hamiltonian
            H = diag(bias[b] + pos_bias[b,i]) + couplings (re + i im above the diagonal).
    gate    thermodynamic gate: free energy F = <h, diag rho> - T (1 - tr rho^2) (linear entropy
            for the von Neumann one: no eigenvalues needed); near equilibrium (|F| < f) the
            evolution is skipped.  Smooth, so that it has a gradient:
                g = sigmoid(kappa (F^2 / f^2 - 1)),   R = rho + g (Y - rho)
            (a convex mix of two density matrices: still a density matrix).
    measure populations p_b = diag(R) (Born rule).
    dephase the next block starts from R with its coherences scaled by 1 - block_dephasing.
  values    v = V [p_0; p_1; ..; p_B] at the last position (p_0: the embedding's populations),
  output    logits = W_out v + b_out -> 256 byte probabilities (exact.softmax_weights).

Only the last position is predicted, so block b computes positions C-1-(B-b)W .. C-1 (what the
last one can see); older context bytes act only as predecessors in block 1.

Online learning (train-then-forward, like the GRU): the contexts of `train_lanes` lanes (spread
over the block) are recorded with the bytes that came; every `train_every` steps those samples
are run forward again as one batch (the weights have not changed since they were predicted) and
back-propagated: the cross-entropy gradient goes back through every operation above -- the
evolution's adjoint is the seed's QUG step  dL/drho = U^+ (dL/dY) U  (in the real
representation), dL/dU goes through the exact reverse of our exp(-iH dt) (Taylor + squaring,
qct_math.expm_backward), and the coupling phases and strengths, the gate, the Hamiltonian's
bias, position and coupling terms, the values, the output and the embedding (angles and phases)
all get their gradients -- summed over the samples and handed to cmzip.learn's OnlineTrainer
(clipping, schedule, AdamW).  The gradient is the exact derivative of the function computed,
up to float rounding.  Two things differ from the coded predictions, both at the 2^-24 level
and both the same in encoder and decoder: exact mode rounds the operands of its products to
grids, which the backward treats as identity (straight-through), and the grids' scales follow
the largest value of the batch, so the training batch's forward pass can round differently from
the prediction's.

Exactness (docs/design.md): complex numbers are (re, im) float64 pairs; every large product (per-lane
matrices, lane sums) goes through qct_math.exact_matmul (block-floating-point grids with exact
partial sums); every other sum is a fixed-order tree (qct_math.tree_sum); sin/cos/exp are
qct_math.sincos and exact.exp_portable.  QCTPredictor(config, exact=False) turns the grids off
and uses a float softmax: only for the finite-difference check of the backward pass.

Per-lane matrices are stored "column first, lanes last": A[..., k, c, j, lane] is component c
(0 real, 1 imaginary) of A_jk.  Then U rho is a batch (over k) of (2d x 2d) @ (2d x L) products
and (U rho) U^+ a single (2d x 2d) @ (2d x dL) product: no transposes between the two.

Cost: measured with version 1's lane codec (DEFAULT_CONFIG, one BLAS thread, on book1), about
21 us per byte at 384 lanes and 78 us at 64 lanes.  The compiled codec (format version 2) codes a
block in order and drives the QCT with one lane, one numpy step per byte: there each byte costs
the whole per-step overhead, and level 9 decodes about 1 KB/s.
"""
import dataclasses
import math

import numpy as np

from ..exact import softmax_weights
from ..learn import (OPTIMIZER_SPEC, OnlineMetrics, OnlineTrainer, Param, byte_cross_entropy,
                     raise_for_errors, uniform, validate)
from .byte_inputs import ByteLearner
from .qct_math import (INV_PHI, exact_matmul, expm, expm_backward, grid_bits,
                       quantise, real_rep, real_rep_grad, sigmoid, sincos,
                       small_matmul, tree_sum)

# ------------------------------------------------------------------------------ configuration

_OPTIMIZER_KEYS = ("lr", "warmup", "decay", "floor", "clip_norm", "accumulate", "beta1",
                   "beta2", "weight_decay")

DEFAULT_CONFIG = dict(
    dim=8,                  # d: density matrices are d x d complex
    blocks=2,               # B
    window=2,               # W: coherence window, predecessors each position is coupled to
    context=5,              # C: bytes of each lane the model sees (1 + B W fills the window)
    values=24,              # value vector size (B + 1) d: all populations, linearly mixed
    dt=0.09,                # evolution time step, 1/phi^5 as in the seed
    temperature=0.618,      # T of the gate's free energy, 1/phi
    gate_threshold=0.0295,  # f: |F| below this counts as equilibrium (seed: 0.236 / d)
    gate_sharpness=4.0,     # kappa: the gate is sigmoid(-kappa) ~ 0.02 at F = 0
    block_dephasing=0.118,  # coherences lost between blocks (seed: 0.236 / B)
    coupling_init=0.5,      # Hamiltonian couplings start uniform in +-coupling_init
    train_lanes=64,         # lanes whose predictions are back-propagated, per step
    train_every=4,          # steps whose samples make one batch (one backward, one update)
    seed=1,
    optimizer="adamw",      # AdamW at a high constant rate: a few hundred updates per 100 KB
    lr=0.05, warmup=20, decay="constant", floor=0.0, clip_norm=1.0, accumulate=1,
    beta1=0.9, beta2=0.99, weight_decay=0.0,
)

QCT_SPEC = {
    "dim": Param(int, low=2, high=32, warn_high=12, default=8,
                 high_note="cost grows as dim^3 per lane and position", doc="state dimension d"),
    "blocks": Param(int, low=1, high=8, warn_high=3, default=2, doc="QCT blocks"),
    "window": Param(int, low=1, high=32, warn_high=6, default=2,
                    doc="coherence window: predecessors coupled to each position"),
    "context": Param(int, low=1, high=256, default=5, doc="bytes of each lane the model sees"),
    "values": Param(int, low=1, high=1024, default=24, doc="value vector size"),
    "dt": Param(float, low=0.0, low_open=True, warn_high=2.0, default=0.09,
                high_note="large steps make U nearly random at initialisation",
                doc="evolution time step"),
    "temperature": Param(float, low=0.0, default=0.618, doc="gate temperature T"),
    "gate_threshold": Param(float, low=0.0, low_open=True, default=0.0295,
                            doc="gate: |free energy| below this counts as equilibrium"),
    "gate_sharpness": Param(float, low=0.0, warn_high=50.0, default=4.0,
                            high_note="a nearly hard gate has almost no gradient",
                            doc="gate sharpness kappa (0: always half open)"),
    "block_dephasing": Param(float, low=0.0, high=1.0, default=0.118,
                             doc="fraction of coherence lost between blocks"),
    "coupling_init": Param(float, low=0.0, warn_high=4.0, default=0.5,
                           doc="initial Hamiltonian couplings are uniform in +-this"),
    "train_lanes": Param(int, low=1, high=1 << 16, warn_low=8, default=64,
                         low_note="few lanes make noisy gradients",
                         doc="lanes back-propagated per step"),
    "train_every": Param(int, low=1, high=1024, warn_high=32, default=4,
                         high_note="the model updates rarely and adapts slowly",
                         doc="codec steps per backward pass and update"),
    "seed": Param(int, low=0, default=1, doc="initialisation seed"),
    # the optimiser's settings as cmzip.learn defines them, with the QCT's defaults
    "optimizer": dataclasses.replace(OPTIMIZER_SPEC["name"], default=DEFAULT_CONFIG["optimizer"]),
    **{k: dataclasses.replace(OPTIMIZER_SPEC[k], default=DEFAULT_CONFIG[k])
       for k in _OPTIMIZER_KEYS},
}


def validate_config(cfg):
    """Errors raise CmzipError (all at once); warnings are returned."""
    diagnostics = validate(QCT_SPEC, cfg)
    warnings = [str(w) for w in raise_for_errors(diagnostics, "QCT settings")]
    reach = 1 + cfg["blocks"] * cfg["window"]
    if cfg["context"] > reach:
        warnings.append(f"context {cfg['context']} exceeds the receptive field 1 + blocks * "
                        f"window = {reach}: the oldest bytes are never used")
    return warnings


# ------------------------------------------------------------------------------ static layout

class Layout:
    """Which context positions each block computes, and where each position's predecessors are.

    Block b (0-based) computes positions lo_b .. C-1 with lo_b = max(0, C-1-(B-1-b) W): exactly
    what the last position can see through the remaining blocks.  Its input states are the
    embeddings (b = 0, all C positions) or the previous block's outputs (its positions)."""

    def __init__(self, cfg):
        c, n_blocks, w = cfg["context"], cfg["blocks"], cfg["window"]
        self.context, self.window = c, w
        self.positions = [np.arange(max(0, c - 1 - (n_blocks - 1 - b) * w), c)
                          for b in range(n_blocks)]
        self.input_positions = [np.arange(c)] + self.positions[:-1]
        self.sources = []          # (n_b, W): index of predecessor i-k in the block's inputs
        self.from_prev = []        # (n_b,): index of each position in the block's inputs
        for pos, inp in zip(self.positions, self.input_positions):
            virtual = len(inp)      # "no predecessor": an identity factor (see _phase_table)
            src = np.full((len(pos), w), virtual, dtype=np.intp)
            for k in range(1, w + 1):
                ok = pos - k >= inp[0]
                src[ok, k - 1] = pos[ok] - k - inp[0]
            self.sources.append(src)
            self.from_prev.append(pos - inp[0])
        self.unitary_slices = []   # rows of the stacked unitaries that belong to each block
        start = 0
        for pos in self.positions:
            self.unitary_slices.append(slice(start, start + len(pos)))
            start += len(pos)
        self.n_unitaries = start


# ------------------------------------------------------------------------------ initialisation

def _golden(n, offset=0):
    """frac((offset + 1 .. offset + n) / phi): a low-discrepancy golden-ratio sequence in [0, 1)."""
    k = np.arange(offset + 1, offset + n + 1, dtype=np.float64)
    return (k * INV_PHI) % 1.0


def init_params(cfg):
    d, n_blocks, w, c, m = (cfg[k] for k in ("dim", "blocks", "window", "context", "values"))
    seed = cfg["seed"]
    n_pairs = d * (d - 1) // 2
    # Givens angles in (0, pi/2) and phases over the full circle, both from golden sequences;
    # phase of component k of byte x: the golden angle times (x + 1) (k + 1)  (seed 004)
    theta = (0.5 * math.pi) * (0.1 + 0.8 * _golden(256 * (d - 1)).reshape(256, d - 1))
    xk = np.arange(1, 257, dtype=np.float64)[:, None] * np.arange(1, d, dtype=np.float64)
    phase = (2.0 * math.pi) * ((xk * INV_PHI) % 1.0)
    levels = np.arange(d, dtype=np.float64) * (2.0 / max(d - 1, 1)) - 1.0      # -1 .. 1
    decay = [INV_PHI]                               # phi^-k by products (a float power is
    for _ in range(w - 1):                          # a library transcendental: not portable)
        decay.append(decay[-1] * INV_PHI)
    return {
        "embed_theta": theta,                                           # (256, d-1)
        "embed_phase": phase,                                           # (256, d-1)
        "ham_bias": np.tile(levels, (n_blocks, 1)),                     # (B, d)
        "ham_pos": np.zeros((n_blocks, c, d)),                          # (B, C, d)
        "ham_re": uniform((n_blocks, n_pairs), seed * 16 + 1, -cfg["coupling_init"],
                          cfg["coupling_init"]),                        # (B, d(d-1)/2)
        "ham_im": uniform((n_blocks, n_pairs), seed * 16 + 2, -cfg["coupling_init"],
                          cfg["coupling_init"]),
        "deph_eps": np.tile(np.array(decay), (n_blocks, 1)),            # (B, W): phi^-k
        "deph_tau": uniform((n_blocks, d, d), seed * 16 + 3, -math.pi, math.pi),   # (B, a, m)
        "value": uniform((m, (n_blocks + 1) * d), seed * 16 + 4, -1.0, 1.0)
        / math.sqrt((n_blocks + 1) * d),                                # (m, (B+1) d)
        "out_w": np.zeros((256, m)),                                    # zero: start uniform
        "out_b": np.zeros(256),
    }


# ------------------------------------------------------------------------------ complex helpers
# Arrays in the lane layout (..., k, c, j, L): c = 0 real, 1 imaginary.

def _cmul(a, b, conj_b=False):
    """Element-wise complex product a * b (or a * conj(b)) in the lane layout."""
    ar, ai = a[..., 0, :, :], a[..., 1, :, :]
    br, bi = b[..., 0, :, :], b[..., 1, :, :]
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    if conj_b:
        out[..., 0, :, :] = ar * br + ai * bi
        out[..., 1, :, :] = ai * br - ar * bi
    else:
        out[..., 0, :, :] = ar * br - ai * bi
        out[..., 1, :, :] = ai * br + ar * bi
    return out


def _hermitian_part(a):
    """(A + A^+) / 2 in the lane layout: A^+[k, c, j] = +-A[j, c, k]."""
    t = np.swapaxes(a, -4, -2)
    out = np.empty_like(a)
    out[..., 0, :, :] = (a[..., 0, :, :] + t[..., 0, :, :]) * 0.5
    out[..., 1, :, :] = (a[..., 1, :, :] - t[..., 1, :, :]) * 0.5
    return out


def _diag(a):
    """Real diagonal (..., d, L) of lane-layout matrices (..., d, 2, d, L)."""
    d = a.shape[-2]
    idx = np.arange(d)
    return a[..., idx, 0, idx, :]


def _leave_one_out_products(factors):
    """For factors (n, W, d, 2, d, L): the element-wise complex product of all factors but the
    k-th, for each k (None where that product is empty), from prefix and suffix products."""
    w = factors.shape[1]
    prefix = [None]
    for k in range(1, w):
        prefix.append(factors[:, 0] if k == 1 else _cmul(prefix[-1], factors[:, k - 1]))
    out = [None] * w
    suffix = None
    for k in range(w - 1, -1, -1):
        if prefix[k] is None or suffix is None:
            out[k] = suffix if prefix[k] is None else prefix[k]
        else:
            out[k] = _cmul(prefix[k], suffix)
        suffix = factors[:, k] if suffix is None else _cmul(factors[:, k], suffix)
    return out


def _add_diag(a, values):
    """a[..., k, 0, k, :] += values[..., k, :] in place."""
    for k in range(a.shape[-2]):
        a[..., k, 0, k, :] += values[..., k, :]


# ------------------------------------------------------------------------------ the predictor

class QCTPredictor(ByteLearner):
    name = "qct"

    def __init__(self, config=None, exact=True):
        cfg = dict(DEFAULT_CONFIG, **(config or {}))
        self.warnings = validate_config(cfg)
        self.cfg, self.exact = cfg, exact
        self.d = cfg["dim"]
        self.layout = Layout(cfg)
        self.params = init_params(cfg)
        self.trainer = OnlineTrainer(
            self.params, {"name": cfg["optimizer"], **{k: cfg[k] for k in _OPTIMIZER_KEYS}},
            what="QCT optimizer settings")
        self.warnings += [str(w) for w in self.trainer.warnings]
        self.metrics = OnlineMetrics("qct")
        d = self.d
        keep = np.full((d, 1, d, 1), 1.0 - cfg["block_dephasing"])
        keep[np.arange(d), 0, np.arange(d), 0] = 1.0
        self.block_keep = keep                      # inter-block dephasing factor, lane layout
        self.dist = None
        self.pending = None
        self.records = []       # (contexts, targets, real) of predictions not yet trained on
        self._prepare()

    # ------------------------------------------------------------------ derived tables
    def _prepare(self):
        """Everything the lane path reads that depends only on the weights: recomputed after
        every optimiser step (cheap: a few hundred small matrices)."""
        p = self.params
        self.embed = self._embedding(p["embed_theta"], p["embed_phase"])
        self.ham = self._unitaries()
        self.phase_tables = [self._phase_table(b) for b in range(self.cfg["blocks"])]

    def _embedding(self, theta, phase):
        """Byte -> pure state.  Amplitudes: e_0 turned by Givens rotations G(k, k+1; theta_k),
        i.e. a_k = cos theta_k prod_{j<k} sin theta_j (a_{d-1}: all sines), and
        psi_k = a_k e^(i phase_k) (psi_0 real: the global phase is not a parameter)."""
        d = self.d
        s, c = sincos(theta)                                            # (256, d-1)
        prefix = [np.ones(256)]
        for k in range(d - 1):
            prefix.append(prefix[-1] * s[:, k])
        amp = np.stack([prefix[k] * c[:, k] for k in range(d - 1)] + [prefix[d - 1]], axis=1)
        ps, pc = sincos(phase)
        psi_r = np.concatenate([amp[:, :1], amp[:, 1:] * pc], axis=1)  # (256, d)
        psi_i = np.concatenate([np.zeros((256, 1)), amp[:, 1:] * ps], axis=1)
        # E_jk = psi_j conj(psi_k), stored (2 d^2, 256) rows in lane order (k, c, j)
        er = psi_r[:, :, None] * psi_r[:, None, :] + psi_i[:, :, None] * psi_i[:, None, :]
        ei = psi_i[:, :, None] * psi_r[:, None, :] - psi_r[:, :, None] * psi_i[:, None, :]
        table = np.stack([er, ei], axis=1)                              # (256, c, j, k)
        table = np.ascontiguousarray(table.transpose(3, 1, 2, 0)).reshape(2 * d * d, 256)
        pops = np.ascontiguousarray((psi_r * psi_r + psi_i * psi_i).T)  # (d, 256)
        return dict(s=s, c=c, prefix=prefix, amp=amp, ps=ps, pc=pc, psi_r=psi_r, psi_i=psi_i,
                    table=table, pops=pops)

    def _hamiltonian_diag(self):
        """h[b][n, k]: the diagonal of H for block b at its n-th position."""
        p = self.params
        return [p["ham_bias"][b][None, :] + p["ham_pos"][b][pos]
                for b, pos in enumerate(self.layout.positions)]

    def _unitaries(self):
        """U = exp(-i H dt) for every (block, position) the lane path uses, stacked (N, d, d),
        and the two real matrices the lane path multiplies by (see _evolve)."""
        p, d, dt = self.params, self.d, self.cfg["dt"]
        iu = np.triu_indices(d, 1)
        h_diag = self._hamiltonian_diag()
        hr, hi = [], []
        for b, hd in enumerate(h_diag):
            n = hd.shape[0]
            r = np.zeros((n, d, d))
            i = np.zeros((n, d, d))
            r[:, iu[0], iu[1]] = p["ham_re"][b]
            r[:, iu[1], iu[0]] = p["ham_re"][b]
            i[:, iu[0], iu[1]] = p["ham_im"][b]
            i[:, iu[1], iu[0]] = -p["ham_im"][b]
            r[:, np.arange(d), np.arange(d)] = hd
            hr.append(r)
            hi.append(i)
        hr, hi = np.concatenate(hr), np.concatenate(hi)
        # A = -i dt H: re A = dt im H, im A = -dt re H
        u, cache = expm(real_rep(dt * hi, -dt * hr))
        ur, ui = u[:, :d, :d], u[:, d:, :d]              # the (re, im) pair we read from exp
        left = real_rep(ur, ui)                           # X[k] = left @ rho[k]: rows (c, j)
        right = np.empty((len(ur), d, 2, d, 2))           # Y = right @ X: rows (l, c'), cols (k, c)
        right[:, :, 0, :, 0] = ur
        right[:, :, 0, :, 1] = ui
        right[:, :, 1, :, 0] = -ui
        right[:, :, 1, :, 1] = ur
        right = right.reshape(len(ur), 2 * d, 2 * d)
        return dict(ur=ur, ui=ui, left=left, right=right, cache=cache, h_diag=h_diag)

    def _phase_table(self, b):
        """(W, 2 d^2, d + 1): entry [w, (k, c, a), m] (rows in lane order) is component c of
        exp(i eps[w] (tau[k, m] - tau[a, m])), so table @ q is the coupling factor M of a
        predecessor with populations q; column d is the identity factor (all ones), used with
        q = e_d where a position has no predecessor at that distance."""
        p, d, w = self.params, self.d, self.cfg["window"]
        tau, eps = p["deph_tau"][b], p["deph_eps"][b]
        diff = tau[:, None, :] - tau[None, :, :]                        # (k, a, m): tau_km - tau_am
        angle = eps[:, None, None, None] * diff[None]                   # (W, k, a, m)
        s, c = sincos(angle)
        table = np.zeros((w, d, 2, d, d + 1))
        table[:, :, 0, :, :d] = c
        table[:, :, 1, :, :d] = s
        table[:, :, 0, :, d] = 1.0
        return dict(table=table.reshape(w, 2 * d * d, d + 1), s=s, c=c, diff=diff)

    # ------------------------------------------------------------------ predictor protocol
    def start_block(self, hist):
        super().start_block(hist)
        self.pending = None     # the training lanes' contexts of the prediction in flight

    def start_byte(self, hist):
        if hist.t > 0 and self.pending is not None:
            byte, real = self.score_previous(hist)
            lanes = self.train_lanes
            self.records.append((self.pending, byte[lanes], real[lanes]))
            if len(self.records) == self.cfg["train_every"]:
                self._train()
        c = self.cfg["context"]
        x = np.stack([hist.lane_bytes_back(c - i) for i in range(c)])  # (C, L), oldest first
        self.dist.set(self.forward(x)[0])
        self.pending = x[:, self.train_lanes]

    def state(self):
        out = {f"param.{k}": v for k, v in self.params.items()}
        out.update({f"opt.{k}": v for k, v in self.trainer.optimizer.state().items()})
        out.update({f"accumulated.{k}": v for k, v in self.trainer.accumulator.sums.items()})
        out["accumulated_count"] = self.trainer.accumulator.count
        if self.pending is not None:
            out["pending"] = self.pending
        if self.dist is not None:
            out["dist"] = self.dist.cum
        for i, (x, targets, mask) in enumerate(self.records):
            out[f"record{i}"] = np.concatenate([x, targets[None], mask[None]])
        return out

    def _train(self):
        """One optimiser step on the recorded samples: their forward pass again (same weights:
        none changed since they were predicted), this time kept for the backward pass, all
        `train_every` steps' lanes as one batch."""
        x, targets, mask = (np.concatenate(a, axis=-1) for a in zip(*self.records))
        self.records = []
        count = int(mask.sum())
        if count == 0:
            return
        _, cache = self.forward(x, keep=True)
        if self.trainer.add(self.gradients(cache, targets, mask), count):
            self.metrics.record_update()
            self._prepare()

    # ------------------------------------------------------------------ forward
    def forward(self, x, keep=False):
        """x: (C, L) context bytes, oldest first.  Returns (softmax weights (L, 256), cache
        for gradients() or None)."""
        lay, d, n_blocks = self.layout, self.d, self.cfg["blocks"]
        emb = self.embed
        n_lanes = x.shape[1]
        caches = []
        pops_in = np.moveaxis(emb["pops"][:, x], 0, 1)                  # (C, d, L)
        last_pops = [pops_in[-1]]                                       # p_0 at the last position
        states = None
        for b in range(n_blocks):
            pos = lay.positions[b]
            if b == 0:
                s = emb["table"][:, x[pos]]                             # (2 d^2, n, L)
                s = s.reshape(d, 2, d, len(pos), n_lanes).transpose(3, 0, 1, 2, 4)   # a view
            else:
                s = states[lay.from_prev[b]] * self.block_keep
            out, cache = self._block(b, s, pops_in)
            caches.append(cache)
            states = out
            pops_in = _diag(out)                                        # (n_b, d, L)
            last_pops.append(pops_in[-1])
        p_all = np.concatenate(last_pops)                               # ((B+1) d, L)
        value = exact_matmul(self.params["value"], p_all, p_all.shape[0], exact=self.exact)
        logits = exact_matmul(value.T, self.params["out_w"].T, value.shape[0],
                              exact=self.exact) + self.params["out_b"]  # (L, 256)
        if self.exact:
            weights = softmax_weights(logits)
        else:
            weights = np.exp(logits - logits.max(axis=1, keepdims=True))
        if not keep:
            return weights, None
        return weights, dict(x=x, blocks=caches, p_all=p_all, value=value, weights=weights)

    def _block(self, b, s, pops_in):
        """One block on its positions.  s: input states (n, d, 2, d, L); pops_in: populations
        of the block's input states (n_in, d, L).  Returns (R, cache)."""
        lay, d, ex, cfg = self.layout, self.d, self.exact, self.cfg
        n, n_lanes = s.shape[0], s.shape[-1]
        w = cfg["window"]
        # causal dephasing: one factor per predecessor distance, from its populations
        q = np.zeros((pops_in.shape[0] + 1, d + 1, n_lanes))
        q[:-1, :d] = pops_in
        q[-1, d] = 1.0                                                  # the identity factor
        q_src = q[lay.sources[b]]                                       # (n, W, d+1, L)
        table = self.phase_tables[b]["table"]                           # (W, 2d^2, d+1)
        factors = exact_matmul(table[None], q_src, d + 1, 1.0, 1.0, ex)  # (n, W, 2d^2, L)
        factors = factors.reshape(n, w, d, 2, d, n_lanes)
        coupling = factors[:, 0]
        for k in range(1, w):
            coupling = _cmul(coupling, factors[:, k])
        rho = _cmul(s, coupling)
        # evolution, the gate and the measurement
        x_mat, y = self._evolve(b, rho)
        h = self.ham["h_diag"][b]                                       # (n, d)
        rho_diag = _diag(rho)                                           # (n, d, L)
        energy = tree_sum(h[:, :, None] * rho_diag, axis=1)             # (n, L)
        purity = tree_sum((rho * rho).reshape(n, 2 * d * d, n_lanes), axis=1)
        free = energy - cfg["temperature"] * (1.0 - purity)
        f = cfg["gate_threshold"]
        gate = sigmoid(cfg["gate_sharpness"] * (free * free / (f * f) - 1.0))   # (n, L)
        r = rho + gate[:, None, None, None, :] * (y - rho)
        cache = dict(s=s, q_src=q_src, factors=factors, coupling=coupling, rho=rho, x=x_mat,
                     y=y, rho_diag=rho_diag, free=free, gate=gate)
        return r, cache

    def _evolve(self, b, rho):
        """Y = U rho U^+ for every position of block b and lane: X = U rho as a batch over
        columns k of (2d x 2d) @ (2d x L), then Y = X U^+ as (2d x 2d) @ (2d x dL) in the
        real representation (see _unitaries); made exactly Hermitian at the end (the rounded
        operands of the exact product leave it Hermitian only to ~1e-8)."""
        d, ex = self.d, self.exact
        sl = self.layout.unitary_slices[b]
        left, right = self.ham["left"][sl], self.ham["right"][sl]
        n, n_lanes = rho.shape[0], rho.shape[-1]
        x_mat = exact_matmul(left[:, None], rho.reshape(n, d, 2 * d, n_lanes), 2 * d, 1.0, 1.0, ex)
        y = exact_matmul(right, x_mat.reshape(n, 2 * d, d * n_lanes), 2 * d, 1.0, 1.0, ex)
        return x_mat, _hermitian_part(y.reshape(n, d, 2, d, n_lanes))

    # ------------------------------------------------------------------ backward
    def gradients(self, cache, targets, mask):
        """Gradient of the summed cross-entropy (nats) of the cached predictions over the lanes
        with mask, for every parameter.  Sums over lanes are exact (grid products) or in fixed
        order, so the result is portable."""
        p, d, lay, ex = self.params, self.d, self.layout, self.exact
        n_blocks = self.cfg["blocks"]
        n_lanes = len(targets)
        weights = cache["weights"]
        if ex:      # p - onehot, from the integer softmax weights (exact row sums)
            prob = byte_cross_entropy(weights, targets)[1]
        else:
            prob = weights / weights.sum(axis=1, keepdims=True)
            prob[np.arange(n_lanes), targets] -= 1.0
        d_logits = prob * mask[:, None]                                 # (L, 256)
        grads = {}
        value, p_all = cache["value"], cache["p_all"]
        value1 = np.concatenate([value, np.ones((1, n_lanes))])         # bias as a constant input
        g_out = exact_matmul(d_logits.T, value1.T, n_lanes, exact=ex)   # (256, m + 1)
        grads["out_w"], grads["out_b"] = g_out[:, :-1], g_out[:, -1]
        g_value = exact_matmul(p["out_w"].T, d_logits.T, 256, exact=ex)  # (m, L)
        grads["value"] = exact_matmul(g_value, p_all.T, n_lanes, exact=ex)
        g_pops = exact_matmul(p["value"].T, g_value, g_value.shape[0], exact=ex)  # ((B+1)d, L)

        g_unit = [None] * n_blocks          # (n_b, 2d, 2d) dL/d(left), dL/d(right)
        g_h = [None] * n_blocks             # gate energy: dL/dh (n_b, d)
        g_table = [None] * n_blocks         # dL/d phase table (W, 2d^2, d+1)
        g_next_s = g_next_q = None
        for b in range(n_blocks - 1, -1, -1):
            c = cache["blocks"][b]
            g_r = np.zeros(c["rho"].shape)
            g_r[-1][np.arange(d), 0, np.arange(d)] += g_pops[(b + 1) * d:(b + 2) * d]
            if g_next_s is not None:        # the next block's input states and populations
                g_r[lay.from_prev[b + 1]] += g_next_s * self.block_keep
                _add_diag(g_r, g_next_q)
            g_s, g_q, g_unit[b], g_h[b], g_table[b] = self._block_backward(b, c, g_r)
            g_next_s, g_next_q = g_s, g_q
        # block 0's inputs are the embeddings: full states at its positions, populations at all
        g_embed = np.zeros((lay.context, d, 2, d, n_lanes))
        g_embed[lay.positions[0]] += g_next_s
        _add_diag(g_embed, g_next_q)
        g_embed[-1][np.arange(d), 0, np.arange(d)] += g_pops[:d]
        grads.update(self._embedding_grads(cache["x"], g_embed))
        grads.update(self._hamiltonian_grads(g_unit, g_h))
        grads.update(self._dephasing_grads(g_table))
        return grads

    def _block_backward(self, b, c, g_r):
        """Back through one block: dL/dR (n, d, 2, d, L) -> (dL/d input states, dL/d input
        populations (n_in, d, L), dL/d(left, right) of the unitaries, dL/dh of the gate,
        dL/d phase table)."""
        d, ex, cfg, lay = self.d, self.exact, self.cfg, self.layout
        n, n_lanes = g_r.shape[0], g_r.shape[-1]
        w = cfg["window"]
        rho, y, gate, free = c["rho"], c["y"], c["gate"], c["free"]
        # R = rho + g (Y - rho)
        g_gate = tree_sum((g_r * (y - rho)).reshape(n, 2 * d * d, n_lanes), axis=1)   # (n, L)
        g_y = g_r * gate[:, None, None, None, :]
        g_rho = g_r * (1.0 - gate)[:, None, None, None, :]
        # g = sigmoid(kappa (F^2/f^2 - 1)),  F = <h, diag rho> - T (1 - sum rho^2)
        f = cfg["gate_threshold"]
        g_free = g_gate * gate * (1.0 - gate) * cfg["gate_sharpness"] * 2.0 * free / (f * f)
        h = self.ham["h_diag"][b]
        _add_diag(g_rho, g_free[:, None, :] * h[:, :, None])
        g_h = tree_sum(g_free[:, None, :] * c["rho_diag"], axis=2)     # (n, d)
        g_rho += (2.0 * cfg["temperature"]) * g_free[:, None, None, None, :] * rho
        # Y = herm(U rho U^+): the QUG adjoint dL/drho = U^+ (dL/dY) U, as the transposes of
        # the two real products, and dL/dU from the same two products
        g_y = _hermitian_part(g_y)
        sl = lay.unitary_slices[b]
        left, right = self.ham["left"][sl], self.ham["right"][sl]
        g_y2 = g_y.reshape(n, 2 * d, d * n_lanes)
        x2 = c["x"].reshape(n, 2 * d, d * n_lanes)
        g_x = exact_matmul(np.swapaxes(right, 1, 2), g_y2, 2 * d, exact=ex)    # (n, 2d, dL)
        g_right = exact_matmul(g_y2, np.swapaxes(x2, 1, 2), d * n_lanes, exact=ex)
        g_x = g_x.reshape(n, d, 2 * d, n_lanes)
        g_rho += exact_matmul(np.swapaxes(left, 1, 2)[:, None], g_x, 2 * d,
                              exact=ex).reshape(rho.shape)
        rho_cols = rho.reshape(n, d, 2 * d, n_lanes).transpose(0, 2, 1, 3).reshape(n, 2 * d, -1)
        g_x_cols = g_x.transpose(0, 2, 1, 3).reshape(n, 2 * d, -1)
        g_left = exact_matmul(g_x_cols, np.swapaxes(rho_cols, 1, 2), d * n_lanes, exact=ex)
        # rho = s * coupling,  coupling = prod_k factors[k]
        g_s = _cmul(g_rho, c["coupling"], conj_b=True)
        g_coupling = _cmul(g_rho, c["s"], conj_b=True)
        factors = c["factors"]
        g_factors = np.empty(factors.shape)
        for k, others in enumerate(_leave_one_out_products(factors)):
            g_factors[:, k] = g_coupling if others is None else _cmul(g_coupling, others, True)
        # factors = table @ q_src
        table = self.phase_tables[b]["table"]
        g_f2 = g_factors.reshape(n, w, 2 * d * d, n_lanes)
        g_q_src = exact_matmul(np.swapaxes(table, 1, 2)[None], g_f2, 2 * d * d, exact=ex)
        g_f_cols = g_f2.transpose(1, 2, 0, 3).reshape(w, 2 * d * d, n * n_lanes)
        q_cols = c["q_src"].transpose(1, 0, 3, 2).reshape(w, n * n_lanes, d + 1)
        g_table = exact_matmul(g_f_cols, q_cols, n * n_lanes, exact=ex)   # (W, 2d^2, d+1)
        n_in = len(lay.input_positions[b])
        g_q = np.zeros((n_in + 1, d + 1, n_lanes))
        for k in range(w):                  # distinct sources per k, except the virtual one
            g_q[lay.sources[b][:, k]] += g_q_src[:, k]
        return g_s, g_q[:n_in, :d], (g_left, g_right), g_h, g_table

    def _embedding_grads(self, x, g_states):
        """dL/d(embed_theta, embed_phase) from dL/d embedded states (C, d, 2, d, L)."""
        d, emb, ex = self.d, self.embed, self.exact
        c_len, n_lanes = x.shape
        # scatter-add into the (256, 2d^2) table gradient: exact sums of grid values
        rows = np.ascontiguousarray(np.moveaxis(g_states.reshape(c_len, 2 * d * d, n_lanes), 1, 2))
        rows = rows.reshape(c_len * n_lanes, 2 * d * d)
        if ex:
            rows = quantise(rows, sum(grid_bits(c_len * n_lanes)))
        # sum the rows of each byte: sort by byte, then one reduceat (exact sums: any order)
        flat = x.reshape(-1)
        order = np.argsort(flat, kind="stable")
        flat = flat[order]
        starts = np.flatnonzero(np.concatenate([[True], flat[1:] != flat[:-1]]))
        g_table = np.zeros((256, 2 * d * d))
        g_table[flat[starts]] = np.add.reduceat(rows[order], starts, axis=0)
        g_table = g_table.reshape(256, d, 2, d)                         # [x, k, c, j] of E_jk
        ger = np.swapaxes(g_table[:, :, 0, :], 1, 2)                    # (256, j, k)
        gei = np.swapaxes(g_table[:, :, 1, :], 1, 2)
        # E = psi psi^+  ->  dL/dpsi = (G + G^+) psi
        hr, hi = ger + np.swapaxes(ger, 1, 2), gei - np.swapaxes(gei, 1, 2)
        pr, pi = emb["psi_r"], emb["psi_i"]
        g_pr = (small_matmul(hr, pr[:, :, None]) - small_matmul(hi, pi[:, :, None]))[:, :, 0]
        g_pi = (small_matmul(hr, pi[:, :, None]) + small_matmul(hi, pr[:, :, None]))[:, :, 0]
        # psi_k = amp_k (cos phase + i sin phase) for k >= 1; psi_0 = amp_0
        amp, ps, pc = emb["amp"], emb["ps"], emb["pc"]
        g_amp = np.concatenate([g_pr[:, :1], g_pr[:, 1:] * pc + g_pi[:, 1:] * ps], axis=1)
        g_phase = amp[:, 1:] * (g_pi[:, 1:] * pc - g_pr[:, 1:] * ps)
        # amp_k = prefix_k cos theta_k (k < d-1), amp_{d-1} = prefix_{d-1},
        # prefix_{k+1} = prefix_k sin theta_k: back from the last amplitude
        s, c, prefix = emb["s"], emb["c"], emb["prefix"]
        g_theta = np.zeros((256, d - 1))
        g_prefix = g_amp[:, d - 1]                  # dL/dprefix_{k+1} at the top of the loop
        for k in range(d - 2, -1, -1):
            g_c = g_amp[:, k] * prefix[k]
            g_s = g_prefix * prefix[k]
            g_theta[:, k] = g_s * c[:, k] - g_c * s[:, k]
            g_prefix = g_amp[:, k] * c[:, k] + g_prefix * s[:, k]
        return {"embed_theta": g_theta, "embed_phase": g_phase}

    def _hamiltonian_grads(self, g_unit, g_h):
        """dL/d Hamiltonian parameters from dL/d(left, right) of each block's unitaries and the
        gate's dL/dh, through the exact reverse of expm."""
        p, d, lay, dt = self.params, self.d, self.layout, self.cfg["dt"]
        g_ur, g_ui = [], []
        for g_left, g_right in g_unit:
            lr, li = real_rep_grad(g_left)
            rr = g_right.reshape(-1, d, 2, d, 2)
            g_ur.append(lr + rr[:, :, 0, :, 0] + rr[:, :, 1, :, 1])
            g_ui.append(li + rr[:, :, 0, :, 1] - rr[:, :, 1, :, 0])
        g_ur, g_ui = np.concatenate(g_ur), np.concatenate(g_ui)
        # U was read as (exp[:d, :d], exp[d:, :d]) of the real representation
        g_exp = np.zeros((len(g_ur), 2 * d, 2 * d))
        g_exp[:, :d, :d] = g_ur
        g_exp[:, d:, :d] = g_ui
        g_ar, g_ai = real_rep_grad(expm_backward(self.ham["cache"], g_exp))
        g_hr, g_hi = -dt * g_ai, dt * g_ar                  # A = -i dt H
        iu = np.triu_indices(d, 1)
        idx = np.arange(d)
        grads = {k: np.zeros_like(p[k]) for k in ("ham_bias", "ham_pos", "ham_re", "ham_im")}
        for b, pos in enumerate(lay.positions):
            sl = lay.unitary_slices[b]
            hr, hi = g_hr[sl], g_hi[sl]
            diag = hr[:, idx, idx] + g_h[b]                 # (n_b, d): H's diagonal and the gate
            grads["ham_pos"][b][pos] = diag
            grads["ham_bias"][b] = tree_sum(diag, axis=0)
            grads["ham_re"][b] = tree_sum(hr[:, iu[0], iu[1]] + hr[:, iu[1], iu[0]], axis=0)
            grads["ham_im"][b] = tree_sum(hi[:, iu[0], iu[1]] - hi[:, iu[1], iu[0]], axis=0)
        return grads

    def _dephasing_grads(self, g_tables):
        """dL/d(deph_eps, deph_tau) from dL/d phase tables (W, 2d^2, d+1) per block."""
        p, d, w = self.params, self.d, self.cfg["window"]
        g_eps = np.zeros_like(p["deph_eps"])
        g_tau = np.zeros_like(p["deph_tau"])
        for b, g_t in enumerate(g_tables):
            t = self.phase_tables[b]
            g_t = g_t.reshape(w, d, 2, d, d + 1)[..., :d]               # (W, k, c, a, m)
            # table = (cos, sin)(eps_w (tau_km - tau_am))
            g_angle = g_t[:, :, 1] * t["c"] - g_t[:, :, 0] * t["s"]     # (W, k, a, m)
            g_eps[b] = tree_sum(tree_sum(tree_sum(g_angle * t["diff"][None], 3), 2), 1)
            g_diff = tree_sum(g_angle * p["deph_eps"][b][:, None, None, None], 0)    # (k, a, m)
            g_tau[b] = tree_sum(g_diff, 1) - tree_sum(g_diff, 0)
        return {"deph_eps": g_eps, "deph_tau": g_tau}
