"""Learning-rate schedules and curricula: what changes as a learner sees more of the file.

Portable: the lr comes from the compiled kernel (learn/kernels.py) that the compiled learners
call too: float64 + - * / and sqrt (correctly rounded), and the one exponential is
exact.exp_portable's algorithm, never a library exp or a float power.
"""
import bisect

from ..errors import CmzipError
from . import kernels

DECAYS = ("constant", "inverse_sqrt", "linear", "exponential")


class WarmupDecay:
    """lr(step) for optimiser steps 1, 2, 3, ... (pass optimiser.steps + 1 for the next step;
    step 0, before any, gives 0 during a warm-up and peak without one).

    Warm-up: peak * step / warmup for step <= warmup (a fresh learner's first gradients are the
    noisiest, and Adam's moment estimates are the least reliable).  Then, with s = step - warmup:

      constant       peak
      inverse_sqrt   peak * sqrt(warmup / step), at least floor (warmup 0 counts as 1)
      linear         from peak down to floor, half-way after half_life steps, floor from
                     2 * half_life on
      exponential    floor + (peak - floor) * 2^(-s / half_life): the distance to floor halves
                     every half_life steps

    Online, data never repeat, so decaying towards a non-zero floor keeps the learner able to
    follow a file whose statistics change."""

    def __init__(self, peak, warmup, decay="inverse_sqrt", floor=0.0, half_life=0):
        if decay not in DECAYS:
            raise CmzipError(f"unknown decay {decay!r} (one of {', '.join(DECAYS)})")
        if not (peak >= 0 and 0 <= floor <= peak):
            raise CmzipError(f"need 0 <= floor <= peak, got floor {floor!r}, peak {peak!r}")
        if not (isinstance(warmup, int) and warmup >= 0):
            raise CmzipError(f"warmup must be an int >= 0, got {warmup!r}")
        needs_half_life = decay in ("linear", "exponential")
        if needs_half_life and not (isinstance(half_life, int) and half_life > 0):
            raise CmzipError(f"decay {decay!r} needs an int half_life > 0, got {half_life!r}")
        self.peak, self.warmup, self.decay = float(peak), warmup, decay
        self.floor, self.half_life = float(floor), half_life

    def __call__(self, step):
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        # the compiled learners' kernel: the same lr in Python and in the coding loop
        return float(kernels.schedule_lr(step, self.peak, self.warmup,
                                         kernels.DECAY_IDS[self.decay], self.floor,
                                         self.half_life))


class Curriculum:
    """Settings that change in stages: stages = [(start_step, {key: value}), ...].

    at(step) gives every key in force at that step: each stage started at or before `step`, in
    order of start, overrides the keys it names and keeps the others.  Before the first stage
    starts nothing is in force (an empty dict)."""

    def __init__(self, stages):
        self.stages = sorted(((int(start), dict(settings)) for start, settings in stages),
                             key=lambda stage: stage[0])
        self.starts = [start for start, _ in self.stages]
        if len(set(self.starts)) != len(self.starts):
            raise CmzipError(f"two curriculum stages start at the same step: {self.starts}")

    def stage(self, step):
        """Index of the last stage started at or before step (-1 if none has)."""
        return bisect.bisect_right(self.starts, step) - 1

    def at(self, step):
        settings = {}
        for _, stage_settings in self.stages[:self.stage(step) + 1]:
            settings.update(stage_settings)
        return settings
