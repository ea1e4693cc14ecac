"""OnlineTrainer: optimiser, accumulation, clipping and schedule wired in the usual order.

    grads of a step's lanes --add()--> accumulate (every `accumulate` steps) --> mean
        --> clip by value --> clip by global norm --> optimiser step at lr = schedule(t) * lr_scale

built from one dict of settings checked against OPTIMIZER_SPEC.  Everything is portable, as its
parts are.
"""
from .accumulate import GradientAccumulator
from .clip import clip_by_global_norm, clip_by_value
from .hparams import OPTIMIZER_SPEC, defaults, raise_for_errors, validate_optimizer
from .optim import SGD, AdamW
from .schedule import WarmupDecay


def make_optimizer(params, settings):
    """SGD or AdamW from (already validated) OPTIMIZER_SPEC settings; absent ones default."""
    s = {**defaults(OPTIMIZER_SPEC), **settings}
    if s["name"] == "sgd":
        return SGD(params, s["lr"], momentum=s["momentum"], weight_decay=s["weight_decay"])
    return AdamW(params, s["lr"], betas=(s["beta1"], s["beta2"]), eps=s["eps"],
                 weight_decay=s["weight_decay"])


class OnlineTrainer:
    def __init__(self, params, settings, what="optimizer settings"):
        self.warnings = raise_for_errors(validate_optimizer(settings), what)
        s = {**defaults(OPTIMIZER_SPEC), **settings}
        self.optimizer = make_optimizer(params, s)
        self.schedule = WarmupDecay(s["lr"], s["warmup"], s["decay"], s["floor"], s["half_life"])
        self.accumulator = GradientAccumulator(s["accumulate"])
        self.clip_value, self.clip_norm = s["clip_value"], s["clip_norm"]
        self.last_norm = None           # global norm before clipping, at the last update

    def add(self, grads, count, lr_scale=1.0):
        """Add the summed gradients of `count` samples; step the optimiser when enough have been
        accumulated.  lr_scale multiplies the scheduled lr (e.g. a curriculum's multiplier).
        Returns True when an update was made."""
        self.accumulator.add(grads, count)
        if not self.accumulator.ready():
            return False
        grads = self.accumulator.mean()
        self.accumulator.reset()
        if self.clip_value is not None:
            grads = clip_by_value(grads, self.clip_value)
        if self.clip_norm is not None:
            grads, self.last_norm = clip_by_global_norm(grads, self.clip_norm)
        self.optimizer.step(grads, lr=self.schedule(self.optimizer.steps + 1) * lr_scale)
        return True
