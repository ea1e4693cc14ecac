"""Gradient accumulation: average gradients over lanes and over several codec steps.

A learner hands over, per call, the SUM of the per-sample gradients of `count` samples (for
example one step's lanes; that sum must itself be portable, e.g. a grid_matmul).  After `every`
calls, mean() is the sum of everything added divided by the number of samples: one optimiser
step for every `every` codec steps, on a less noisy gradient.  Sums are element-wise float64
adds in call order: portable.
"""
import numpy as np


class GradientAccumulator:
    def __init__(self, every=1):
        if not (isinstance(every, int) and every >= 1):
            raise ValueError(f"every must be an int >= 1, got {every!r}")
        self.every = every
        self.reset()

    def reset(self):
        self.sums = {}
        self.count = 0          # samples added since the last reset
        self.calls = 0          # add() calls since the last reset

    def add(self, grads, count):
        if not count >= 0:
            raise ValueError(f"count must be >= 0, got {count!r}")
        for name, g in grads.items():
            if name in self.sums:
                self.sums[name] += g
            else:
                self.sums[name] = np.array(g, dtype=np.float64)      # our own copy
        self.count += int(count)
        self.calls += 1

    def ready(self):
        return self.calls >= self.every

    def mean(self):
        if self.count == 0:
            raise ValueError("no samples accumulated")
        return {name: s / self.count for name, s in self.sums.items()}
