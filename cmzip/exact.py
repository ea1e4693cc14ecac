"""Portable arithmetic: the fixed-point logistic tables every coded probability goes through.

Probabilities are integers P in [1, 65535] meaning P / 65536 (P = 16-bit "p16").  The logistic
("stretch") domain is integers in units of 1/256 nat, clipped to [-SMAX, SMAX].

The tables are built with the project's own exp (exp_portable: element-wise operations only,
never a library `np.exp`/`math.exp`, which are not guaranteed to round alike), and every entry is
far enough from a rounding tie that it is the correctly rounded value on every machine.
Everything downstream is integer arithmetic, table look-ups, or float64 element-wise + - * /
and floor (correctly rounded by IEEE 754, so identical everywhere) whose sums stay exact
integers below 2^53.
"""
import math
import os

import numpy as np

P_BITS = 16
P_ONE = 1 << P_BITS          # probability 1.0
P_MAX = P_ONE - 1
SMAX = 3071                  # |stretch| limit: 12 nat, beyond the 16-bit probability floor


# ---------------------------------------------------------------------------------------------
# Real-valued learners (GRU, QCT): portable float64 building blocks.
#
# Element-wise float64 + - * / sqrt are correctly rounded, so identical on every machine.  Sums
# and matrix products are made exact by putting the operands on fixed-point grids first: then
# every product and partial sum is an integer multiple of a power of two below 2^53, and BLAS
# (any kernel, any thread count, FMA or not) returns the same float64.  Transcendentals come
# from exp_portable (range reduction + polynomial, element-wise only) or from tables built
# with it at import, indexed by quantised inputs.

_LN2_HI = 6.93147180369123816490e-01    # ln 2 split so that k * _LN2_HI is exact for |k| < 2^11
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e+00
_EXP_COEFFS = [1.0 / math.factorial(i) for i in range(14, -1, -1)]   # Taylor, highest first


def exp_portable(x):
    """e^x for float64 arrays, from element-wise operations only (|relative error| < 1e-15).

    x = k ln2 + r with |r| <= ln2 / 2; e^r by a degree-14 Taylor polynomial (Horner: separate
    multiply and add ufuncs, never fused); scaling by 2^k is exact.  Inputs are clipped to
    [-700, 700]."""
    x = np.clip(np.asarray(x, dtype=np.float64), -700.0, 700.0)
    k = np.rint(x * _INV_LN2)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = np.full_like(r, _EXP_COEFFS[0])
    for c in _EXP_COEFFS[1:]:
        p = p * r + c
    return np.ldexp(p, k.astype(np.int64))


# ---------------------------------------------------------------------------------------------
# The logistic tables every coded probability goes through, built with exp_portable.

def _build_squash():
    """SQUASH[x + SMAX] = round(65536 / (1 + e^(-x/256))), clipped to [1, 65535].

    From exp_portable (relative error < 1e-15, so an absolute error < 1e-10 here): no value of
    the logistic function at these points lies within 3e-4 of a rounding tie, so this is the
    correctly rounded table on every machine (tests/test_exact.py checks it against 34-digit
    decimal arithmetic, which took 60 ms of every start-up when it built the table)."""
    x = np.arange(-SMAX, SMAX + 1, dtype=np.float64)
    table = np.rint(P_ONE / (1.0 + exp_portable(-x / 256.0))).astype(np.int64)
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


def to_grid(x, bits, limit):
    """x clipped to [-limit, limit] and rounded to a multiple of 2^-bits (half to even)."""
    scale = float(1 << bits)
    return np.rint(np.clip(x, -limit, limit) * scale) * (1.0 / scale)


def check_exact_products(terms, a_bits, a_limit, b_bits, b_limit):
    """Raise if a sum of `terms` products of grid values (a on 2^-a_bits within +-a_limit, b on
    2^-b_bits within +-b_limit) could leave the range where float64 sums are exact."""
    bound = terms * (a_limit * 2.0 ** a_bits) * (b_limit * 2.0 ** b_bits)
    if bound >= 2.0 ** 53:
        raise ValueError(f"grid product of {terms} terms is not exact in float64 "
                         f"(bound 2^{math.log2(bound):.1f})")


# Which library multiplies matrices.  Products of grid values are exact, so every BLAS gives the
# same bits; CMZIP_MATMUL=torch runs them through torch's (MKL) instead of numpy's (OpenBLAS),
# which the portability tests use to show exactly that.
MATMUL_BACKENDS = ("numpy", "torch")
MATMUL_BACKEND = os.environ.get("CMZIP_MATMUL", "numpy")
if MATMUL_BACKEND not in MATMUL_BACKENDS:
    raise ImportError(f"CMZIP_MATMUL must be one of {', '.join(MATMUL_BACKENDS)}, "
                      f"not {MATMUL_BACKEND!r}")


def matmul(a, b):
    """a @ b with the configured library (callers guarantee grid operands: see grid_matmul)."""
    if MATMUL_BACKEND == "numpy":
        return a @ b
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return (torch.from_numpy(np.ascontiguousarray(a)) @ torch.from_numpy(np.ascontiguousarray(b))).numpy()
    finally:
        torch.set_num_threads(threads)


def grid_matmul(a, a_bits, a_limit, b, b_bits, b_limit):
    """a @ b with both operands put on their grids first: an exact, machine-independent result.
    Operands already on their grids pass through unchanged (to_grid is idempotent)."""
    check_exact_products(a.shape[-1], a_bits, a_limit, b_bits, b_limit)
    return matmul(to_grid(a, a_bits, a_limit), to_grid(b, b_bits, b_limit))


# Activation tables: input quantised to 2^-ACT_IN_BITS within +-ACT_RANGE, output on the
# 2^-ACT_BITS grid.  Beyond the range sigmoid is within 2^-11 of its limits, tanh within 2^-21.
ACT_IN_BITS = 10
ACT_RANGE = 8
ACT_BITS = 16
_ACT_X = np.arange(-ACT_RANGE << ACT_IN_BITS, (ACT_RANGE << ACT_IN_BITS) + 1) / float(1 << ACT_IN_BITS)
SIGMOID_TABLE = to_grid(1.0 / (1.0 + exp_portable(-_ACT_X)), ACT_BITS, 1.0)
TANH_TABLE = to_grid(2.0 / (1.0 + exp_portable(-2.0 * _ACT_X)) - 1.0, ACT_BITS, 1.0)
_ACT_OFFSET = ACT_RANGE << ACT_IN_BITS


def _act_index(a):
    q = np.rint(np.asarray(a) * float(1 << ACT_IN_BITS))
    return (np.clip(q, -_ACT_OFFSET, _ACT_OFFSET) + _ACT_OFFSET).astype(np.intp)


def sigmoid_q(a):
    """Portable sigmoid: its value at a rounded to 2^-10, on the 2^-16 grid."""
    return SIGMOID_TABLE[_act_index(a)]


def tanh_q(a):
    """Portable tanh: its value at a rounded to 2^-10, on the 2^-16 grid."""
    return TANH_TABLE[_act_index(a)]


# Softmax weights: e^(logit - max) with the difference rounded to 2^-8 (down to -SOFTMAX_RANGE),
# as integers in units of 2^-SOFTMAX_BITS, at least 1: 256 of them sum exactly (< 2^53), so
# partial sums over byte ranges (bit probabilities) are exact.
SOFTMAX_IN_BITS = 8
SOFTMAX_RANGE = 40
SOFTMAX_BITS = 44
_SM_X = -np.arange((SOFTMAX_RANGE << SOFTMAX_IN_BITS) + 1) / float(1 << SOFTMAX_IN_BITS)
SOFTMAX_TABLE = np.maximum(np.rint(exp_portable(_SM_X) * 2.0 ** SOFTMAX_BITS), 1.0)


def softmax_weights(logits):
    """logits (..., n) -> integer-valued float64 weights (..., n), proportional to softmax."""
    d = np.rint((logits.max(axis=-1, keepdims=True) - logits) * float(1 << SOFTMAX_IN_BITS))
    return SOFTMAX_TABLE[np.minimum(d, SOFTMAX_RANGE << SOFTMAX_IN_BITS).astype(np.intp)]
