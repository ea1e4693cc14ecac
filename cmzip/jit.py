"""How cmzip compiles its coding loop: numba, imported only by the modules that need it.

Every compiled function of the coding path is `njit`-ed here with the same options:

- cache=True: compiled once per machine and kept on disk.  numba keeps the cache beside the
  source in __pycache__; where the package directory is read-only it falls back by itself to a
  per-user cache directory (~/.cache/numba or $NUMBA_CACHE_DIR).
- nogil=True: a block is coded without holding the GIL, so independent streams can be coded on
  threads side by side.
- never fastmath and never parallel: the order of every float operation is the one written in
  the code, and no a*b+c is fused (the exactness contract; the coding path is integer anyway).
- error_model="numpy": integer division by zero does not raise (every divisor in the loop is
  nonzero by construction) and no exception branch sits in the inner loops.

numba does not check array bounds: every index computed from data is bounded by construction
(masked to a power-of-two table or clamped), and the fuzz tests run the decoder with
NUMBA_BOUNDSCHECK=1 in a fresh cache directory to prove it.
"""
import numba


def njit(function):
    """Compile `function` for the coding path (see the module docstring)."""
    return numba.njit(cache=True, nogil=True, fastmath=False, error_model="numpy", _nrt=False)(function)


def inline(function):
    """Compile a component function of the coding path, inlined into its callers (numba IR
    inlining): the block loop then holds each model array once, instead of taking and releasing
    a reference to it at every access (measured: those reference counts made a bit cost 0.7 us)."""
    return numba.njit(cache=True, nogil=True, fastmath=False, error_model="numpy",
                      inline="always", _nrt=False)(function)
