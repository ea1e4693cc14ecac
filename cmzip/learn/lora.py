"""Low-rank adapter: a fast-learning path beside a slowly learned weight matrix.

The effective weight is W + scale * (A @ B), A (n_in, rank), B (rank, n_out).  W can learn
slowly (small lr, or rarely) while A and B get a larger learning rate: a cheap way to follow
local statistics without disturbing what W has accumulated.  B starts at zero, so the adapter
starts as a no-op; A starts small and random from the portable generator in rng.py.

Exactness: both products go through exact.grid_matmul on these grids (keyword arguments):
  A, B      multiples of 2^-weight_bits within +-weight_limit   (default 2^-16, +-4)
  grad_w    multiples of 2^-grad_bits within +-grad_limit       (default 2^-20, +-8)
Every product is then an integer times 2^-(sum of the bits), and a sum of k of them is exact
while k * (limit_a * 2^bits_a) * (limit_b * 2^bits_b) < 2^53; the constructor checks that for
  delta()  k = rank:   rank  * 2^36 < 2^53  (defaults: rank < 131072)
  dA       k = n_out:  n_out * 2^41 < 2^53  (defaults: n_out < 4096)
  dB       k = n_in:   n_in  * 2^41 < 2^53  (defaults: n_in  < 4096)
Values beyond the limits are clipped by the grid, so keep A, B within +-weight_limit (the
optimiser may move them off the grid in between: only the gridded values are ever used).
"""
import math

import numpy as np

from ..exact import check_exact_products, grid_matmul, to_grid
from .rng import uniform


class LowRankAdapter:
    def __init__(self, n_in, n_out, rank, seed=0, scale=1.0, weight_bits=16, weight_limit=4.0,
                 grad_bits=20, grad_limit=8.0):
        self.n_in, self.n_out, self.rank, self.scale = n_in, n_out, rank, float(scale)
        self.weight_grid = (weight_bits, weight_limit)
        self.grad_grid = (grad_bits, grad_limit)
        check_exact_products(rank, *self.weight_grid, *self.weight_grid)
        check_exact_products(max(n_in, n_out), *self.grad_grid, *self.weight_grid)
        bound = 1.0 / math.sqrt(n_in)          # the usual fan-in scale for A's init
        self.A = to_grid(uniform((n_in, rank), seed, -bound, bound), *self.weight_grid)
        self.B = np.zeros((rank, n_out))
        self.params = {"A": self.A, "B": self.B}     # the same arrays: optimisers update them

    def delta(self):
        """scale * (A @ B), (n_in, n_out): what the adapter adds to W."""
        return self.scale * grid_matmul(self.A, *self.weight_grid, self.B, *self.weight_grid)

    def grads(self, grad_w):
        """{"A": dA, "B": dB} from grad_w = dLoss/d(effective weight), (n_in, n_out):
        dA = scale * grad_w @ B.T, dB = scale * A.T @ grad_w."""
        if grad_w.shape != (self.n_in, self.n_out):
            raise ValueError(f"grad_w has shape {grad_w.shape}, expected {(self.n_in, self.n_out)}")
        g = to_grid(grad_w, *self.grad_grid)
        d_a = grid_matmul(g, *self.grad_grid, self.B.T, *self.weight_grid)
        d_b = grid_matmul(self.A.T, *self.weight_grid, g, *self.grad_grid)
        return {"A": self.scale * d_a, "B": self.scale * d_b}
