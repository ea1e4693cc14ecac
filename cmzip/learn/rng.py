"""A portable pseudo-random generator for initialising learned weights.

np.random's streams are allowed to change between numpy versions, and an encoder and decoder
must start from bit-identical weights, so initial values come from here instead: SplitMix64
(Steele, Lea & Flood 2014) in wrapping uint64 integer arithmetic, whose top 53 bits become an
exact float64 in [0, 1).  Integer ops and one multiply-add per element: identical everywhere.
"""
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)      # SplitMix64's increment: 2^64 / golden ratio
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)


def splitmix64(seed, n):
    """The first n outputs of SplitMix64 started from `seed` (any int, taken mod 2^64)."""
    state = np.uint64(seed % (1 << 64)) + np.arange(1, n + 1, dtype=np.uint64) * _GOLDEN
    z = (state ^ (state >> np.uint64(30))) * _MUL1          # uint64 arrays wrap mod 2^64
    z = (z ^ (z >> np.uint64(27))) * _MUL2
    return z ^ (z >> np.uint64(31))


def uniform(shape, seed, low=-1.0, high=1.0):
    """float64 array of `shape`, uniform in [low, high), the same bits on every machine."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    n = int(np.prod(shape, dtype=np.int64))
    unit = (splitmix64(seed, n) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))   # exact
    return (low + (high - low) * unit).reshape(shape)
