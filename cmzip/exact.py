"""Portable arithmetic: the fixed-point logistic tables every coded probability goes through.

Probabilities are integers P in [1, 65535] meaning P / 65536 (P = 16-bit "p16").  The logistic
("stretch") domain is integers in units of 1/256 nat, clipped to [-SMAX, SMAX].

The tables are built with the `decimal` module, whose exp() is correctly rounded in software, so
they are bit-identical on every machine (library `np.exp`/`math.exp` are not guaranteed to be).
Everything downstream is integer arithmetic, table look-ups, or float64 element-wise + - * /
and floor (correctly rounded by IEEE 754, so identical everywhere) whose sums stay exact
integers below 2^53.
"""
from decimal import Decimal, localcontext

import numpy as np

P_BITS = 16
P_ONE = 1 << P_BITS          # probability 1.0
P_MAX = P_ONE - 1
SMAX = 3071                  # |stretch| limit: 12 nat, beyond the 16-bit probability floor


def _build_squash():
    """SQUASH[x + SMAX] = round(65536 / (1 + e^(-x/256))), clipped to [1, 65535]."""
    table = np.empty(2 * SMAX + 1, dtype=np.int64)
    with localcontext() as ctx:
        ctx.prec = 34
        for i, x in enumerate(range(-SMAX, SMAX + 1)):
            p = Decimal(P_ONE) / (1 + (Decimal(-x) / 256).exp())
            table[i] = int(p.to_integral_value())
    return np.clip(table, 1, P_MAX)


SQUASH = _build_squash()


def _build_stretch():
    """STRETCH[p] = the x whose squash is nearest to p (ties and flat stretches of SQUASH resolved
    towards x = 0): the inverse of SQUASH, computed from it with integer comparisons only, and
    made exactly antisymmetric, STRETCH[65536 - p] = -STRETCH[p]."""
    p = np.arange(1, P_ONE // 2, dtype=np.int64)
    below = np.searchsorted(SQUASH, p, side="right") - 1          # last x with SQUASH <= p
    above = below + 1
    take_above = (SQUASH[above] - p) <= (p - SQUASH[below])
    x = np.where(take_above, above, below) - SMAX
    table = np.zeros(P_ONE, dtype=np.int64)
    table[1:P_ONE // 2] = x
    table[P_ONE // 2 + 1:] = -x[::-1]
    table[0] = table[1]
    return table


STRETCH = _build_stretch()


def squash(x):
    """Stretch-domain integers (any shape) -> p16 integers."""
    return SQUASH[np.minimum(np.maximum(x, -SMAX), SMAX) + SMAX]


def stretch(p16):
    """p16 integers (0..65535) -> stretch-domain integers."""
    return STRETCH[p16]
