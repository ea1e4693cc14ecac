"""Portable small-matrix arithmetic for the QCT predictor.

Everything here obeys the exactness contract (docs/design.md): element-wise float64 + - * / only,
sums in a fixed order (`tree_sum`: a pairwise tree that depends only on the array's shape, never
on the CPU), sin/cos from our own range reduction and polynomials, e^x from exact.exp_portable,
and large products through `exact_matmul`, which rounds both operands onto block-floating-point
grids small enough that every partial sum is an exact float64 (then BLAS may add in any order,
on any number of threads, with or without FMA, and still return the same bits).

Complex matrices are (real, imaginary) float64 pairs.  The matrix exponential works on the real
representation  [[Re, -Im], [Im, Re]]  (an algebra homomorphism: exp of the representation is
the representation of exp), so it needs real products only; its backward pass differentiates
the exact sequence of operations the forward pass performs (Taylor polynomial in Horner form,
then repeated squaring), so its gradient is the exact derivative of the U we actually use.
"""
import math
from fractions import Fraction

import numpy as np

from ..exact import check_exact_products, exp_portable

PHI = (1.0 + math.sqrt(5.0)) / 2.0          # sqrt is correctly rounded: portable
INV_PHI = PHI - 1.0

# ---------------------------------------------------------------------------------------------
# sin / cos: x = k pi/2 + r with |r| <= pi/4 (Cody-Waite: k * _PIO2_HI is exact for |k| < 2^22),
# then Taylor polynomials in r^2 (degree 19 / 18: truncation < 1e-19 on |r| <= pi/4), and the
# quadrant k mod 4 picks and signs the pair.

_PI_40 = Fraction("3.1415926535897932384626433832795028841971693993751")
_PIO2_HI = float(Fraction(round(_PI_40 / 2 * 2 ** 30), 2 ** 30))       # 31 significant bits
_PIO2_LO = float(_PI_40 / 2 - Fraction(_PIO2_HI))
_TWO_OVER_PI = float(2 / _PI_40)
_SIN_COEFFS = [(-1.0) ** i / math.factorial(2 * i + 1) for i in range(9, -1, -1)]   # r^(2i+1)
_COS_COEFFS = [(-1.0) ** i / math.factorial(2 * i) for i in range(9, -1, -1)]       # r^(2i)


def sincos(x):
    """(sin x, cos x) for a float64 array, element-wise only; |error| < 2e-16 for |x| <= 60
    (tested), slowly growing with |x| through the reduction."""
    x = np.asarray(x, dtype=np.float64)
    k = np.rint(x * _TWO_OVER_PI)
    r = (x - k * _PIO2_HI) - k * _PIO2_LO
    r2 = r * r
    s = np.full_like(r, _SIN_COEFFS[0])
    c = np.full_like(r, _COS_COEFFS[0])
    for a, b in zip(_SIN_COEFFS[1:], _COS_COEFFS[1:]):
        s = s * r2 + a
        c = c * r2 + b
    s = s * r
    quadrant = k.astype(np.int64) & 3
    sin = np.choose(quadrant, [s, c, -s, -c])
    cos = np.choose(quadrant, [c, -s, -c, s])
    return sin, cos


def sigmoid(z):
    """1 / (1 + e^-z), smooth and portable (exp_portable clips its argument to +-700)."""
    return 1.0 / (1.0 + exp_portable(-z))


# ---------------------------------------------------------------------------------------------
# Fixed-order sums and small products.

def tree_sum(x, axis):
    """Sum over `axis` as a pairwise tree fixed by the length alone: x[:h] + x[h:2h], an odd
    last element carried to the next round.  Element-wise adds only, so portable."""
    x = np.asarray(x)
    axis %= x.ndim
    lead = (slice(None),) * axis
    while x.shape[axis] > 1:
        n = x.shape[axis]
        h = n // 2
        s = x[lead + (slice(0, h),)] + x[lead + (slice(h, 2 * h),)]
        x = np.concatenate([s, x[lead + (slice(2 * h, n),)]], axis=axis) if n % 2 else s
    return x[lead + (0,)]


def small_matmul(a, b):
    """a @ b for small stacked real matrices (..., n, k) @ (..., k, m), summed in fixed order:
    portable for any float64 values (used on the per-stream tables, never on per-lane data)."""
    return tree_sum(a[..., :, :, None] * b[..., None, :, :], axis=-2)


def real_rep(re, im):
    """(..., n, n) complex pair -> (..., 2n, 2n) real matrix [[re, -im], [im, re]]."""
    top = np.concatenate([re, -im], axis=-1)
    bottom = np.concatenate([im, re], axis=-1)
    return np.concatenate([top, bottom], axis=-2)


def real_rep_grad(g):
    """Gradient of a (..., 2n, 2n) real representation -> gradient of its (re, im) pair."""
    n = g.shape[-1] // 2
    g11, g12, g21, g22 = g[..., :n, :n], g[..., :n, n:], g[..., n:, :n], g[..., n:, n:]
    return g11 + g22, g21 - g12


# ---------------------------------------------------------------------------------------------
# Matrix exponential by scaling and squaring with a Taylor polynomial, and its exact backward.

EXPM_THETA = 0.25           # scale A by 2^-s until its inf-norm is at most this
EXPM_DEGREE = 10            # remainder <= 0.25^11 / 11! * e^0.25 < 7e-15 (relative, per factor)


def expm(a):
    """exp(a) for stacked real (N, n, n) matrices.  Returns (exp(a), cache for expm_backward).

    One squaring count s serves the whole stack (the largest needed), chosen from the inf-norm
    (fixed-order row sums, then the max: exact) with frexp (exact): deterministic."""
    n = a.shape[-1]
    norm = float(np.max(tree_sum(np.abs(a), axis=-1))) if a.size else 0.0
    s = max(0, math.frexp(norm / EXPM_THETA)[1]) if norm > EXPM_THETA else 0
    b = a * math.ldexp(1.0, -s)                                   # exact scaling
    eye = np.broadcast_to(np.eye(n), a.shape)
    horner = [eye]                                                # P_{m+1} = I
    for j in range(EXPM_DEGREE, 0, -1):                           # P_j = I + (B P_{j+1}) / j
        horner.append(eye + small_matmul(b, horner[-1]) / j)
    squares = [horner[-1]]
    for _ in range(s):
        squares.append(small_matmul(squares[-1], squares[-1]))
    return squares[-1], (b, horner, squares, s)


def expm_backward(cache, g):
    """dL/da from dL/d exp(a), by reverse-mode through exactly the operations expm performed."""
    b, horner, squares, s = cache
    for q in reversed(squares[:-1]):                              # Q' = Q Q
        qt = np.swapaxes(q, -1, -2)
        g = small_matmul(g, qt) + small_matmul(qt, g)
    g_b = np.zeros_like(b)
    bt = np.swapaxes(b, -1, -2)
    # horner[i] is P_{m+1-i}; walk back from P_1 = horner[-1] to P_m = I + B P_{m+1} / m
    for i in range(len(horner) - 1, 0, -1):
        j = EXPM_DEGREE + 1 - i                                   # P_j = I + B P_{j+1} / j
        g_bp = g / j
        g_b = g_b + small_matmul(g_bp, np.swapaxes(horner[i - 1], -1, -2))
        g = small_matmul(bt, g_bp)
    return g_b * math.ldexp(1.0, -s)


# ---------------------------------------------------------------------------------------------
# Exact products of large arrays.

EXACT_BITS = 52             # integer magnitudes times terms stay below 2^52 (< 2^53: a margin
                            # for operands that exceed their stated bound by rounding)


def grid_bits(n_terms):
    """(bits for a, bits for b) so that n_terms products of |a| <= 2^bits_a, |b| <= 2^bits_b
    (in grid units) sum exactly."""
    budget = EXACT_BITS - max(0, (int(n_terms) - 1).bit_length())
    return budget // 2, budget - budget // 2


def quantise(x, bits, bound=None):
    """x rounded to multiples of 2^(e - bits), where 2^e > bound (default: max |x|): a block
    floating-point grid with `bits` bits below the largest magnitude.  The max is exact and
    frexp is exact, so the grid is the same on every machine."""
    if bound is None:
        bound = float(np.max(np.abs(x))) if x.size else 0.0
    if bound == 0.0:
        return np.zeros_like(x)
    step_exp = math.frexp(bound)[1] - bits
    out = np.multiply(x, math.ldexp(1.0, -step_exp))
    np.rint(out, out=out)
    out *= math.ldexp(1.0, step_exp)
    return out


def exact_matmul(a, b, n_terms, a_bound=None, b_bound=None, exact=True):
    """a @ b (numpy broadcasting rules) computed exactly from grid-rounded operands.

    n_terms: how many products each output sums (the contraction length); a_bound / b_bound: a
    known bound on |a| / |b| (saves a pass; values may exceed it by rounding, EXACT_BITS leaves
    room), else the max is taken.  exact=False: the plain float product (gradient checks)."""
    if not exact:
        return a @ b
    bits_a, bits_b = grid_bits(n_terms)
    check_exact_products(n_terms, bits_a, 1.0, bits_b, 1.0)
    return quantise(a, bits_a, a_bound) @ quantise(b, bits_b, b_bound)
