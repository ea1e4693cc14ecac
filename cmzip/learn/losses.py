"""Losses and their gradients, in the forms cmzip's learners use.

The gradients feed training, so they are portable (element-wise float64 or integers); the
costs in bits are display/metrics only and use np.log2 freely.
"""
import numpy as np

_EXACT_LIMIT = float(1 << 53)


def byte_cross_entropy(weights, targets):
    """Cross-entropy of byte predictions.

    weights: (L, 256) non-negative integer-valued float64, proportional to the predicted
    distribution (exact.softmax_weights of the logits); targets: (L,) the bytes that came.
    Returns (bits (L,), grad (L, 256)):
      bits  the cost of each target in bits, -log2 p[target] (display only: np.log2);
      grad  d(cost in nats)/d(logits) = p - onehot(target), with p = weights / rowsum.  (The cost
            in bits has gradient grad / ln 2; the constant belongs in the learning rate.)
    The row sums are exact -- and so portable even with np.sum's CPU-dependent order -- because
    the weights are integers whose total stays below 2^53; this is checked.  The rest is
    element-wise division and one subtraction."""
    weights = np.asarray(weights, dtype=np.float64)
    targets = np.asarray(targets)
    if weights.ndim != 2 or targets.shape != weights.shape[:1]:
        raise ValueError(f"need weights (L, n) and targets (L,), got {weights.shape} "
                         f"and {targets.shape}")
    if weights.size and (weights.min() < 0 or not np.array_equal(weights, np.floor(weights))
                         or weights.max() * weights.shape[1] >= _EXACT_LIMIT):
        raise ValueError("weights must be non-negative integers whose row totals stay below "
                         "2^53 (use exact.softmax_weights), or their sums are not exact")
    rows = np.arange(len(targets))
    p = weights / weights.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        bits = -np.log2(p[rows, targets])
    grad = p.copy()
    grad[rows, targets] -= 1.0
    return bits, grad


def binary_cross_entropy_stretch_grad(bits, p16, weight=1):
    """weight * ((bit << 16) - p16) as int64: the error term of the logistic mixer.

    For p = squash(s), the cost of bit y is  C = -w (y ln p + (1 - y) ln(1 - p)), and
    dC/ds = -w (y - p).  This returns MINUS that gradient (the descent direction) scaled to p16
    units, 65536 w (y - p): exactly the `err` that mixer.Mixer.update multiplies by each input
    x_i to move weight i -- the mixer's update is gradient descent on this loss.  (The stretch
    domain's 1/256-nat unit is another constant factor that lives in the learning rate.)
    Integers in, integers out: portable.  weight must be an integer (array or scalar)."""
    bits, p16, weight = np.asarray(bits), np.asarray(p16), np.asarray(weight)
    for name, a in (("bits", bits), ("p16", p16), ("weight", weight)):
        if a.dtype.kind not in "iub":
            raise TypeError(f"{name} must be integers, got {a.dtype}")
    return weight.astype(np.int64) * ((bits.astype(np.int64) << 16) - p16.astype(np.int64))


def weighted_binary_cross_entropy(p, bits, weight=1.0):
    """Cost in bits of each bit, -weight * log2(p if bit else 1 - p), with p the predicted
    probability of a 1 (float).  Display/metrics only: uses np.log2."""
    p = np.asarray(p, dtype=np.float64)
    bits = np.asarray(bits)
    with np.errstate(divide="ignore"):
        return -np.asarray(weight, dtype=np.float64) * np.log2(np.where(bits != 0, p, 1.0 - p))
