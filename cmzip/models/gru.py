"""GRU byte predictor: a recurrent network that reads the coded bytes and predicts the next one,
trained online with truncated back-propagation through time over a sliding window.

The network, its learning and its exactness are in gru_core.py (compiled, inside the coding
loop); this is the Python side: settings (checked), the deterministic initial weights, the
per-block hooks the codec calls, and the learner's own metrics.
"""
import math

import numpy as np

from ..learn import DECAYS, OnlineMetrics, Param, raise_for_errors, uniform, validate
from ..learn.kernels import DECAY_IDS
from . import gru_core as core
from .gru_core import (CLIPS, F_LOG2_MANT, HP_BETA1, HP_BETA2, HP_CLIP, HP_EPS, HP_LR,
                       HP_LR_FLOOR, HP_MOMENTUM, HP_WD, IP_CLIP, IP_DECAY, IP_EVERY,
                       IP_HALF_LIFE, IP_OPTIMIZER, IP_WARMUP, OPTIMIZERS, S_BYTES, S_LOG2_EXP,
                       S_UPDATES)

DEFAULT_CONFIG = dict(hidden=128, window=10, every=10, optimizer="adamw", lr=0.002, warmup=0,
                      decay="constant", lr_floor=0.0, half_life=1, beta1=0.9, beta2=0.999,
                      eps=1e-8, weight_decay=0.0, momentum=0.0, clip="norm", clip_limit=5.0,
                      z_bias=0.0, seed=1)

# Checked before anything is built: a bad setting is a one-line CmzipError, not a crash.
GRU_SPEC = {
    "hidden": Param(int, 8, 512, warn_high=256, high_note="slow for little gain",
                    doc="GRU width (a multiple of 8)"),
    "window": Param(int, 1, 256, doc="BPTT window: steps back-propagated through"),
    "every": Param(int, 1, 256, doc="bytes between updates (at most the window)"),
    "optimizer": Param(str, choices=tuple(OPTIMIZERS)),
    "lr": Param(float, 0.0, 1.0, low_open=True),
    "warmup": Param(int, 0, 1 << 40),
    "decay": Param(str, choices=DECAYS),
    "lr_floor": Param(float, 0.0, 1.0),
    "half_life": Param(int, 1, 1 << 40, doc="steps, for the linear and exponential decays"),
    "beta1": Param(float, 0.0, 1.0, high_open=True),
    "beta2": Param(float, 0.0, 1.0, high_open=True),
    "eps": Param(float, 0.0, 1.0, low_open=True),
    "weight_decay": Param(float, 0.0, 1.0),
    "momentum": Param(float, 0.0, 1.0, high_open=True, doc="SGD's"),
    "clip": Param(str, choices=tuple(CLIPS), doc="clip the gradient by global norm or by value"),
    "clip_limit": Param(float, 0.0, 1e6, low_open=True),
    "z_bias": Param(float, -8.0, 8.0, doc="initial bias of the update gate (> 0: remember)"),
    "seed": Param(int, 0, 1 << 62),
}


def _initial_weights(hidden, seed, z_bias):
    """Deterministic initial weights (the toolkit's portable generator: numpy's random streams
    are not promised to stay the same across versions)."""
    h3 = 3 * hidden
    b_h = np.zeros(h3)
    b_h[hidden:2 * hidden] = z_bias
    scale = 1.0 / math.sqrt(hidden)
    return {"x_table": uniform((256, h3), seed, -0.5, 0.5),
            "w_h": uniform((hidden, h3), seed + 1, -scale, scale), "b_h": b_h,
            "w_o": uniform((hidden, 256), seed + 2, -scale, scale), "b_o": np.zeros(256)}


def _check(cfg):
    warnings = raise_for_errors(validate(GRU_SPEC, cfg), "GRU settings")
    problems = []
    if cfg["hidden"] % 8:
        problems.append(f"hidden must be a multiple of 8, got {cfg['hidden']}")
    if cfg["every"] > cfg["window"]:
        problems.append(f"every ({cfg['every']}) must not exceed window ({cfg['window']})")
    if problems:
        from ..errors import CmzipError
        raise CmzipError("invalid GRU settings: " + "; ".join(problems))
    return [str(w) for w in warnings]


class GRUPredictor:
    """The codec's handle on a compiled GRU (gru_core.GRU in self.core)."""

    name = "gru"
    compiled = True             # the codec can run it inside its compiled block loop

    def __init__(self, config=None):
        cfg = dict(DEFAULT_CONFIG, **(config or {}))
        self.warnings = _check(cfg)
        self.cfg = cfg
        hp = np.zeros(8)
        hp[[HP_LR, HP_LR_FLOOR, HP_BETA1, HP_BETA2, HP_EPS, HP_WD, HP_CLIP, HP_MOMENTUM]] = [
            cfg["lr"], cfg["lr_floor"], cfg["beta1"], cfg["beta2"], cfg["eps"],
            cfg["weight_decay"], cfg["clip_limit"], cfg["momentum"]]
        ip = np.zeros(6, dtype=np.int64)
        ip[[IP_EVERY, IP_OPTIMIZER, IP_CLIP, IP_WARMUP, IP_DECAY, IP_HALF_LIFE]] = [
            cfg["every"], OPTIMIZERS[cfg["optimizer"]], CLIPS[cfg["clip"]], cfg["warmup"],
            DECAY_IDS[cfg["decay"]], cfg["half_life"]]
        self.core = core.new_gru(cfg["hidden"], cfg["window"], cfg["every"],
                                 _initial_weights(cfg["hidden"], cfg["seed"], cfg["z_bias"]),
                                 hp, ip)
        self.metrics = OnlineMetrics("gru")
        self._scored = (0, 0.0)         # (bytes, bits) already in self.metrics

    # ------------------------------------------------------------------ the codec's hooks
    def start_block(self, hist=None):
        core.gru_start_block(self.core)

    def start_byte(self, hist):
        """The Python-driven loop (levels whose other learners are not compiled): before byte
        hist.t, learn from the byte before it and read it."""
        if hist.t > 0:
            core.gru_step(self.core, int(hist.buf[hist.t - 1]))

    def tree(self):
        """Stretched P(bit = 1 | the bits so far) at every node c0 of the next byte's bit tree."""
        return self.core.ext

    def end_block(self):
        """Charge this block's predictions to the metrics (display only)."""
        s, f = self.core.s, self.core.f
        n = int(s[S_BYTES])
        bits = -(math.log2(f[F_LOG2_MANT]) + int(s[S_LOG2_EXP]))
        done_n, done_bits = self._scored
        if n > done_n:
            self.metrics.record_total(bits - done_bits, n - done_n)
        self._scored = (n, bits)
        self.metrics.updates = int(s[S_UPDATES])

    def state(self):
        """Everything that decides later predictions (copies), for encoder/decoder parity."""
        return {name: np.array(value) for name, value in self.core._asdict().items()
                if name not in ("x_table", "w_h", "b_h", "w_o", "b_o")}      # views of theta
