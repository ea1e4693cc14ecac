"""cmzip.learn: the toolkit every online learner in cmzip (GRU, QCT, adapters) trains with.

A learner in cmzip never sees a dataset up front: at every codec step it predicts the next byte
of each lane, is told the bytes that came, and learns -- identically in encoder and decoder.
The pieces, in the order one training step uses them:

  losses      byte_cross_entropy(weights, targets) turns the step's predictions into bits (to
              display) and the gradient at the logits, p - onehot, per lane; the learner's own
              backward pass carries it to its weights and sums over lanes.
  accumulate  GradientAccumulator(every=k).add(summed_grads, count=lanes) for k steps, then
              mean(): one update per k steps on a k * lanes sample average.
  clip        clip_by_value / clip_by_global_norm tame the rare huge gradient (a surprise byte
              after a long run) before it wrecks weights learned over many steps.
  schedule    WarmupDecay gives the lr for optimiser step t; Curriculum.at(step) gives settings
              that change as more of the file has been seen (BPTT horizon, lr multiplier, ...).
  optim       SGD / AdamW .step(grads, lr) update the learner's float64 arrays in place.
  metrics     OnlineMetrics.record(bits) / record_update(): bits per byte, recent EMA, trend.
  hparams     validate(spec, settings) checks a learner's config before anything is built:
              errors and warnings with reasons; raise_for_errors turns errors into CmzipError.
  lora        LowRankAdapter: a fast low-rank path beside a slowly learned matrix.
  trainer     OnlineTrainer wires accumulate -> clip -> schedule -> optimiser from one
              OPTIMIZER_SPEC settings dict.

    trainer = OnlineTrainer(params, {"name": "adamw", "lr": 2e-3, "warmup": 50,
                                     "decay": "inverse_sqrt", "clip_norm": 1.0})
    metrics = OnlineMetrics("gru")
    ...each codec step:
        bits, d_logits = byte_cross_entropy(exact.softmax_weights(logits), next_bytes)
        metrics.record(bits)
        if trainer.add(backward(d_logits), count=len(next_bytes)):
            metrics.record_update()

Everything that changes a model is portable (see "The exactness contract" in docs/design.md):
element-wise float64 + - * / sqrt, integers, reductions that are exact (fixed-point grids,
integer-valued sums) or correctly rounded (math.fsum), exact.exp_portable rather than a library
exp, and rng.uniform rather than np.random.  Only what is displayed -- the bits of losses and
metrics -- uses np.log2 and numpy sums.
"""
from .accumulate import GradientAccumulator
from .clip import clip_by_global_norm, clip_by_value, global_norm, grid_norm
from .hparams import (ADAMW_LR_WARN, OPTIMIZER_SPEC, Diagnostic, Param, defaults,
                      raise_for_errors, validate, validate_optimizer)
from .lora import LowRankAdapter
from .losses import (binary_cross_entropy_stretch_grad, byte_cross_entropy,
                     weighted_binary_cross_entropy)
from .metrics import OnlineMetrics
from .optim import SGD, AdamW
from .rng import splitmix64, uniform
from .schedule import DECAYS, Curriculum, WarmupDecay
from .trainer import OnlineTrainer, make_optimizer

__all__ = [
    "SGD", "AdamW", "make_optimizer", "OnlineTrainer",
    "clip_by_value", "global_norm", "grid_norm", "clip_by_global_norm",
    "GradientAccumulator",
    "WarmupDecay", "Curriculum", "DECAYS",
    "byte_cross_entropy", "binary_cross_entropy_stretch_grad", "weighted_binary_cross_entropy",
    "Diagnostic", "Param", "validate", "validate_optimizer", "raise_for_errors", "defaults",
    "OPTIMIZER_SPEC", "ADAMW_LR_WARN",
    "OnlineMetrics",
    "LowRankAdapter",
    "splitmix64", "uniform",
]
