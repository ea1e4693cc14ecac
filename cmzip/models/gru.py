"""GRU byte predictor: a recurrent network that reads the bytes of every lane and predicts the
next one, trained online with truncated back-propagation through time (BPTT).

    x_t   = embed[byte_{t-1}]                                       (L, E)
    r     = sigmoid(x W_r + b_ir + h W_hr + b_hr)                   reset gate   (L, H)
    z     = sigmoid(x W_z + b_iz + h W_hz + b_hz)                   update gate  (L, H)
    n     = tanh(x W_n + b_in + r * (h W_hn + b_hn))                candidate    (L, H)
    h_t   = n + z * (h - n)                                         new state    (L, H)
    P(byte_t) = softmax(h_t W_out + b_out)                          (L, 256)

All lanes share the weights.  Every `window` steps the last window is back-propagated for a
subset of the lanes (`train_lanes`, evenly spread over the block) and the mean gradient takes
one optimiser step (cmzip.learn); the hidden state carries over between windows, the gradient
does not (truncated BPTT with horizon = window).  Train, then forward: at every step the byte
just coded first completes the training record, then the (possibly updated) network reads it.
With `lora_rank` > 0 the output layer is W_out + A @ B, where the low-rank A @ B (cmzip.learn's
LowRankAdapter) has its own AdamW at `lora_lr` and follows recent statistics faster than W_out.

Exactness (docs/design.md): weights are used on the 2^-16 grid (|w| <= 8), hidden states and gate
values on the 2^-16 grid, back-propagated signals on the 2^-20 grid; every matrix product is
over grid values whose partial sums are exact float64 (bounds checked by
exact.check_exact_products), so BLAS order, threads and FMA cannot change a bit.  sigmoid, tanh
and exp come from exact's tables.  Optimiser steps are element-wise.  With exact=False the grids
and tables are replaced by plain float64 math: that is only for the finite-difference check of
the hand-written backward pass.
"""
import numpy as np

from ..exact import check_exact_products, matmul, sigmoid_q, softmax_weights, tanh_q, to_grid
from ..learn import (DECAYS, AdamW, LowRankAdapter, OnlineMetrics, Param, WarmupDecay,
                     clip_by_global_norm, raise_for_errors, uniform, validate)
from .byte_inputs import ByteLearner

W_GRID = (16, 8.0)          # weights: multiples of 2^-16 within +-8
A_GRID = (16, 1.0)          # hidden state and gates: multiples of 2^-16 within +-1
G_GRID = (20, 4.0)          # back-propagated signals: multiples of 2^-20 within +-4
P_GRID = (20, 1.0)          # output error p - onehot

# Tuned on calgary/paper1 (the GRU alone, 57 lanes; its own bits per byte): many small updates
# beat few large ones (window 10 at lr 0.005: 5.1; window 2 at lr 0.01: 3.9), a high early lr that
# decays as 1/sqrt(step) and a short momentum (beta1 0.5) learn fastest from little data (3.25),
# and a wider embedding helps (64: 3.15; hidden 256 would give 3.08 at twice the cost).
# On 200 KB of book1 at 384 lanes, training on 64 / 192 / 384 lanes gave 3.55 / 3.37 / 3.32 (the
# backward pass costs in proportion); splitting them into several smaller steps was worse (4.3).
DEFAULT_CONFIG = dict(embed=64, hidden=128, window=2, train_lanes=64, lr=0.02, warmup=10,
                      decay="inverse_sqrt", lr_floor=0.002, beta1=0.5, beta2=0.99,
                      weight_decay=0.0, clip_norm=5.0, seed=1, lora_rank=0, lora_lr=0.05)

# Checked before anything is built: a bad setting is a one-line CmzipError, not a crash.  The
# sizes are bounded so that every grid product stays exact (check_exact_products).
GRU_SPEC = {
    "embed": Param(int, 1, 256, doc="byte embedding width"),
    "hidden": Param(int, 1, 512, warn_high=256, high_note="slow for little gain", doc="GRU width"),
    "window": Param(int, 1, 64, warn_high=16, high_note="few updates per byte learn slowly",
                    doc="BPTT window, steps per update"),
    "train_lanes": Param(int, 1, 1024, doc="lanes back-propagated per update"),
    "lr": Param(float, 0.0, 1.0, low_open=True, warn_high=0.05,
                high_note="unusually high for AdamW; training may diverge"),
    "warmup": Param(int, 0, 100000),
    "decay": Param(str, choices=DECAYS),
    "lr_floor": Param(float, 0.0, 1.0),
    "beta1": Param(float, 0.0, 1.0, high_open=True),
    "beta2": Param(float, 0.0, 1.0, high_open=True),
    "weight_decay": Param(float, 0.0, 1.0),
    "clip_norm": Param(float, 0.0, 1e6, low_open=True),
    "seed": Param(int, 0, 1 << 62),
    "lora_rank": Param(int, 0, 64, doc="rank of a fast low-rank adapter on the output layer (0: none)"),
    "lora_lr": Param(float, 0.0, 1.0, low_open=True, doc="the adapter's learning rate"),
}


def _matmul(a, b, a_grid, b_grid, exact=True):
    """a @ b for operands on the given grids: exact in float64, so the same on every machine
    (any BLAS, thread count or FMA gives the same bits)."""
    if exact:
        check_exact_products(a.shape[-1], *a_grid, *b_grid)
    return matmul(a, b)


def _sum_rows_by_index(index, rows):
    """(the distinct values of index, ascending; for each, the sum of the rows with that index):
    like np.add.at into a table, but only over the rows that occur, and twice as fast (one
    sort, one reduceat).  The rows are grid values, so the sums are exact in any order."""
    order = np.argsort(index, kind="stable")
    sorted_index = index[order]
    starts = np.flatnonzero(np.r_[True, sorted_index[1:] != sorted_index[:-1]])
    return sorted_index[starts], np.add.reduceat(rows[order], starts, axis=0)


def _init_weights(shape, scale, seed):
    """Deterministic weights in [-scale, scale) on the weight grid (the toolkit's portable
    generator: numpy's random streams are not promised to stay the same across versions)."""
    return to_grid(uniform(shape, seed, -scale, scale), *W_GRID)


class GRUPredictor(ByteLearner):
    name = "gru"

    def __init__(self, config=None, exact=True):
        cfg = dict(DEFAULT_CONFIG, **(config or {}))
        self.warnings = [str(w) for w in raise_for_errors(validate(GRU_SPEC, cfg), "GRU settings")]
        self.cfg, self.exact = cfg, exact
        e, h = cfg["embed"], cfg["hidden"]
        self.hidden = h
        seed = cfg["seed"]
        self.params = {
            "embed": _init_weights((256, e), 1.0, seed),
            "w_in": _init_weights((e, 3 * h), 1.0 / np.sqrt(e), seed + 1),
            "b_in": np.zeros(3 * h),
            "w_h": _init_weights((h, 3 * h), 1.0 / np.sqrt(h), seed + 2),
            "b_h": np.zeros(3 * h),
            "w_out": _init_weights((h, 256), 1.0 / np.sqrt(h), seed + 3),
            "b_out": np.zeros(256),
        }
        self.optimizer = AdamW(self.params, lr=cfg["lr"], betas=(cfg["beta1"], cfg["beta2"]),
                               weight_decay=cfg["weight_decay"])
        self.schedule = WarmupDecay(cfg["lr"], cfg["warmup"], decay=cfg["decay"], floor=cfg["lr_floor"])
        self.metrics = OnlineMetrics("gru")
        # optional: a low-rank adapter beside the output layer, learning faster than it (the
        # effective output weights are w_out + A @ B), to follow local statistics quickly
        self.adapter = None
        if cfg["lora_rank"]:
            self.adapter = LowRankAdapter(h, 256, cfg["lora_rank"], seed=seed + 4)
            self.adapter_optimizer = AdamW(self.adapter.params, lr=cfg["lora_lr"],
                                           betas=(cfg["beta1"], cfg["beta2"]))
        self._use_weights()

    # ------------------------------------------------------------------ arithmetic modes
    def _grid(self, x, grid):
        return to_grid(x, *grid) if self.exact else x

    def _sigmoid(self, a):
        return sigmoid_q(a) if self.exact else 1.0 / (1.0 + np.exp(-a))

    def _tanh(self, a):
        return tanh_q(a) if self.exact else np.tanh(a)

    def _softmax_weights(self, logits):
        if self.exact:
            return softmax_weights(logits)
        return np.exp(logits - logits.max(axis=-1, keepdims=True))

    def _use_weights(self):
        """The weights the forward pass uses: the learned ones on their grid."""
        self.w = {k: self._grid(v, W_GRID) for k, v in self.params.items()}
        if self.adapter is not None:
            self.w["w_out"] = self._grid(self.w["w_out"] + self.adapter.delta(), W_GRID)
        self.input_table = None             # built again on first use (see _input_gates)

    def _input_gates(self, byte):
        """embed[byte] @ w_in + b_in for every lane (L, 3H).  With many lanes, a table of all 256
        bytes' rows (built once per weight update) turns this into a gather; with few lanes,
        computing the lanes' own rows at each step is cheaper than 256 rows per update.  The
        products are exact, so both ways give the same bits."""
        w = self.w
        if self.input_table is not None:
            return self.input_table[byte]
        if len(byte) * self.cfg["window"] < 256:
            return _matmul(w["embed"][byte], w["w_in"], W_GRID, W_GRID, self.exact) + w["b_in"]
        self.input_table = _matmul(w["embed"], w["w_in"], W_GRID, W_GRID, self.exact) + w["b_in"]
        return self.input_table[byte]

    # ------------------------------------------------------------------ predictor protocol
    def start_block(self, hist):
        super().start_block(hist)
        self.h = np.zeros((hist.lanes, self.hidden))
        self.records = []                                       # the training window so far

    def start_byte(self, hist):
        if hist.t > 0:
            byte, real = self.score_previous(hist)
            rec = self.records[-1]
            rec["target"] = byte[self.train_lanes]
            rec["mask"] = real[self.train_lanes]
            if len(self.records) == self.cfg["window"]:
                self._train(self.records)
                self.records = []
        else:
            byte = np.zeros(hist.lanes, dtype=np.int64)       # block start: byte 0 as "nothing yet"
        self.records.append(self._forward(byte))

    def state(self):
        out = {f"param.{k}": v for k, v in self.params.items()}
        out.update({f"opt.{k}": v for k, v in self.optimizer.state().items()})
        if self.adapter is not None:
            out.update({f"lora.{k}": v for k, v in self.adapter.params.items()})
            out.update({f"lora_opt.{k}": v for k, v in self.adapter_optimizer.state().items()})
        out["hidden"] = self.h
        return out

    # ------------------------------------------------------------------ forward
    def _forward(self, byte):
        """One step for every lane; returns the record the backward pass needs (training lanes)."""
        h, w, n_h = self.h, self.w, self.hidden
        gi = self._input_gates(byte)                                              # (L, 3H)
        gh = _matmul(h, w["w_h"], A_GRID, W_GRID, self.exact) + w["b_h"]          # (L, 3H)
        r = self._sigmoid(gi[:, :n_h] + gh[:, :n_h])
        z = self._sigmoid(gi[:, n_h:2 * n_h] + gh[:, n_h:2 * n_h])
        gh_n = gh[:, 2 * n_h:]
        n = self._tanh(gi[:, 2 * n_h:] + r * gh_n)
        h_new = self._grid(n + z * (h - n), A_GRID)
        logits = _matmul(h_new, w["w_out"], A_GRID, W_GRID, self.exact) + w["b_out"]
        weights = self._softmax_weights(logits)                                   # (L, 256)
        self.dist.set(weights)
        self.h = h_new
        s = self.train_lanes
        return dict(byte=byte[s], h_prev=h[s], r=r[s], z=z[s], n=n[s], gh_n=gh_n[s],
                    h=h_new[s], weights=weights[s])

    # ------------------------------------------------------------------ backward + update
    def _train(self, records):
        """One optimiser step on the window's mean gradient (clipped by its global norm)."""
        grads, count = self.window_gradients(records)
        if count == 0:
            return
        grads, _ = clip_by_global_norm(grads, self.cfg["clip_norm"], grid_bits=12)
        if self.adapter is not None:     # the gradient of the effective w_out, through A @ B
            self.adapter_optimizer.step(self.adapter.grads(grads["w_out"]))
            for v in self.adapter.params.values():
                np.clip(v, -4.0, 4.0, out=v)
        self.optimizer.step(grads, lr=self.schedule(self.optimizer.steps + 1))
        for v in self.params.values():
            np.clip(v, -W_GRID[1], W_GRID[1], out=v)
        self.metrics.record_update()
        self._use_weights()

    def window_gradients(self, records):
        """Mean gradient of the cross-entropy (nats) of the window's predictions, over the
        training lanes whose targets were real bytes; back-propagated through the window."""
        w, ex = self.w, self.exact
        masks = [rec["mask"] for rec in records]
        count = int(sum(m.sum() for m in masks))
        if count == 0:
            return {}, 0
        d_logits, d_gates_h, d_gates_in = [], [], []
        dh_next = 0.0
        for rec, mask in zip(reversed(records), reversed(masks)):
            p = rec["weights"] / rec["weights"].sum(axis=1, keepdims=True)
            p[np.arange(len(mask)), rec["target"]] -= 1.0
            dl = self._grid(p * mask[:, None], P_GRID)                            # (S, 256)
            dh = _matmul(dl, w["w_out"].T, P_GRID, W_GRID, ex) + dh_next           # (S, H)
            r, z, n = rec["r"], rec["z"], rec["n"]
            dn = dh * (1.0 - z)
            dz = dh * (rec["h_prev"] - n)
            da_n = dn * (1.0 - n * n)
            dr = da_n * rec["gh_n"]
            da_r = dr * r * (1.0 - r)
            da_z = dz * z * (1.0 - z)
            dgh = self._grid(np.concatenate([da_r, da_z, da_n * r], axis=1), G_GRID)   # (S, 3H)
            dgi = self._grid(np.concatenate([da_r, da_z, da_n], axis=1), G_GRID)
            dh_next = dh * z + _matmul(dgh, w["w_h"].T, G_GRID, W_GRID, ex)
            d_logits.append(dl)
            d_gates_h.append(dgh)
            d_gates_in.append(dgi)
        rev = list(reversed(records))
        h_all = np.concatenate([rec["h"] for rec in rev])                         # (N, H)
        h_prev_all = np.concatenate([rec["h_prev"] for rec in rev])
        bytes_all = np.concatenate([rec["byte"] for rec in rev])                  # (N,)
        dl_all, dgh_all, dgi_all = (np.concatenate(d) for d in (d_logits, d_gates_h, d_gates_in))
        # sums over samples of grid values are exact in any order; then the mean per sample
        # the gradient of the input table (embed @ w_in + b_in) lives only in the rows of the
        # bytes that occurred, so the embedding's products run over those rows alone (the
        # other rows would add exact zeros: the result is the same)
        used, d_table = _sum_rows_by_index(bytes_all, dgi_all)                   # (K,), (K, 3H)
        d_table = self._grid(d_table / count, G_GRID)
        d_embed = np.zeros_like(w["embed"])
        d_embed[used] = _matmul(d_table, w["w_in"].T, G_GRID, W_GRID, ex)
        grads = {
            "w_out": _matmul(h_all.T, dl_all, A_GRID, P_GRID, ex) / count,
            "b_out": dl_all.sum(axis=0) / count,
            "w_h": _matmul(h_prev_all.T, dgh_all, A_GRID, G_GRID, ex) / count,
            "b_h": dgh_all.sum(axis=0) / count,
            "b_in": dgi_all.sum(axis=0) / count,
            "w_in": _matmul(w["embed"][used].T, d_table, W_GRID, G_GRID, ex),
            "embed": d_embed,
        }
        return grads, count
